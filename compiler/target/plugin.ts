// Builds the QEMU instruction-count plugin (boards/qemu-plugin/tm2_insn_count.c) with the host gcc,
// once per source version: the .so is cached under <cache>/qemu-plugin/<hash of the source>/ (compiler/cache.ts).
// Concurrent callers (parallel test files) each build to a private name and rename into place.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TinyM2Error, EXIT_TOOL_MISSING } from '../errors.ts';
import { execTool } from './exec.ts';
import { ensureCacheDir } from '../cache.ts';
import { PLUGIN_SOURCE } from './paths.ts';
import { requireHostToolchain } from './toolchain.ts';
import { requireTool, type Env } from './tools.ts';

export async function ensureCountPlugin(env?: Env): Promise<string> {
  const source = fs.readFileSync(PLUGIN_SOURCE);
  const hash = crypto.createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = ensureCacheDir('qemu-plugin', hash);
  const lib = path.join(dir, 'libtm2_insn_count.so');
  if (fs.existsSync(lib)) return lib;
  requireHostToolchain('to build the QEMU instruction-count plugin', env);
  const gcc = requireTool('gcc', 'to build the QEMU instruction-count plugin', env);
  const tmp = `${lib}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  const result = await execTool(gcc, ['-O2', '-shared', '-fPIC', '-fvisibility=hidden', '-Wall', '-o', tmp, PLUGIN_SOURCE], {
    env,
    timeoutMs: 120_000,
  });
  if (result.code !== 0) {
    fs.rmSync(tmp, { force: true });
    throw new TinyM2Error(`building the QEMU plugin ${PLUGIN_SOURCE} with gcc failed:\n${result.stderr.trim()}`, {
      exitCode: EXIT_TOOL_MISSING,
    });
  }
  fs.renameSync(tmp, lib);
  return lib;
}
