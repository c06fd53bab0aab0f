// Builds generated C with a host compiler and runs its test-vector harness: the quick local proof
// that the C computes what the integer emulator computed (`tinym2 compile --check`, and the tests).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { EXIT_TOOL_MISSING, TinyM2Error } from '../errors.ts';
import { requireHostToolchain } from '../target/toolchain.ts';
import { parseHarnessOutput, type HarnessResult } from './testvectors.ts';

/** The flags every generated file must pass without a warning. */
export const STRICT_C99 = ['-std=c99', '-Wall', '-Wextra', '-Werror', '-pedantic'];

export interface Compiler {
  cc: string;
  flags: string[];
}

export function haveTool(tool: string): boolean {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Include directories of a generated output directory. */
export function includeFlags(outDir: string): string[] {
  return [`-I${outDir}`, `-I${join(outDir, 'runtime', 'include')}`, `-I${join(outDir, 'runtime', 'src')}`];
}

function compilerError(cc: string, args: string[], e: unknown): TinyM2Error {
  const err = e as { stderr?: Buffer | string; message: string };
  const text = err.stderr ? err.stderr.toString() : err.message;
  return new TinyM2Error(`${cc} failed on the generated C (${args.filter((a) => a.endsWith('.c')).map((a) => basename(a)).join(', ')}):\n${text.trim()}`, { exitCode: 1 });
}

/** Compiles each source to an object in objDir (one process per file); returns the object paths. */
export function compileObjects(c: Compiler, sources: string[], objDir: string, extraFlags: string[] = []): string[] {
  mkdirSync(objDir, { recursive: true });
  return sources.map((src) => {
    const obj = join(objDir, `${basename(src).replace(/\.c$/, '')}.o`);
    const args = [...c.flags, ...extraFlags, '-c', src, '-o', obj];
    try {
      execFileSync(c.cc, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      throw compilerError(c.cc, args, e);
    }
    return obj;
  });
}

/** Links objects (and compiles any .c given with them) into an executable. */
export function link(c: Compiler, inputs: string[], exe: string, extraFlags: string[] = []): void {
  const args = [...c.flags, ...extraFlags, ...inputs, '-o', exe];
  try {
    execFileSync(c.cc, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw compilerError(c.cc, args, e);
  }
}

/** Runs a harness program and parses what it printed (device outputs in API order, mismatch counts). */
export function runHarness(exe: string): HarnessResult & { exitCode: number | null; stdout: string; stderr: string } {
  const r = spawnSync(exe, [], { encoding: 'utf8', maxBuffer: 256 << 20, timeout: 120_000 });
  if (r.error) throw new TinyM2Error(`cannot run ${exe}: ${r.error.message}`, { exitCode: 1 });
  let parsed: HarnessResult;
  try {
    parsed = parseHarnessOutput(r.stdout);
  } catch (e) {
    throw new TinyM2Error(`${basename(exe)} ${r.signal ? `was killed by ${r.signal}` : `exited with ${r.status}`} before its summary: ${(e as Error).message}\n${r.stderr.slice(0, 4000)}`, { exitCode: 1 });
  }
  return { ...parsed, exitCode: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Builds <outDir>/<name>_test.c with the model and its runtime copy using `cc` (strict C99, plus
 * AddressSanitizer/UBSan when asked), runs it, and returns the harness result.
 */
export function checkOnHost(outDir: string, name: string, options: { cc?: string; sanitize?: boolean; buildDir: string; runtimeSources: string[] }): ReturnType<typeof runHarness> {
  const cc = options.cc ?? 'gcc';
  if (!haveTool(cc)) throw new TinyM2Error(`--check needs a host C compiler (${cc}); install gcc or leave out --check`, { exitCode: EXIT_TOOL_MISSING });
  if (cc === 'gcc') requireHostToolchain('for --check (the host self-check build)');
  const flags = [...STRICT_C99, ...(options.sanitize ? ['-O1', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all'] : ['-O2']), '-DTM2_SELF_CHECK', ...includeFlags(outDir)];
  const sources = [`${name}.c`, `${name}_weights.c`, `${name}_test.c`].map((f) => join(outDir, f));
  const objects = [
    ...compileObjects({ cc, flags }, sources, options.buildDir),
    // Runtime objects apart: a model may be called like a kernel file (conv.c).
    ...compileObjects({ cc, flags }, options.runtimeSources.map((f) => join(outDir, 'runtime', f)), join(options.buildDir, 'runtime')),
  ];
  const exe = join(options.buildDir, `${name}_test`);
  link({ cc, flags }, objects, exe);
  return runHarness(exe);
}
