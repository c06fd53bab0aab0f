// Instructions of the small-model kernels (residual add, dense with few outputs, first-layer,
// grouped and 1-D convolutions) on Cortex-M (QEMU, instruction-count plugin, the board's flags):
// builds bench_small.c with runtime-c, runs it (each optimized output checked against the
// reference on the target) and prints one row per kernel and shape. test/runtime-c.test.ts pins
// these counts exactly; benchmarks/vs-cmsis-nn.ts puts them next to CMSIS-NN's on whole models.
//
//   npx tsx runtime-c/bench/bench-small.ts [--board mps2-an386|mps2-an500]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildFirmware } from '../../compiler/target/build.ts';
import { runFirmware } from '../../compiler/target/run.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const RT = path.resolve(HERE, '..');

export interface SmallRow {
  kernel: string;
  macs: number;
  instructions: number;
}

export async function benchSmall(board = 'mps2-an386'): Promise<SmallRow[]> {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tm2-bench-small-'));
  try {
    const sources = [path.join(HERE, 'bench_small.c'), ...fs.readdirSync(path.join(RT, 'src')).filter((f) => f.endsWith('.c')).map((f) => path.join(RT, 'src', f))];
    const build = await buildFirmware({ board, sources, includeDirs: [path.join(RT, 'include')], outDir, name: 'bench-small', extraCflags: ['-std=c99', '-Wall', '-Wextra'] });
    const run = await runFirmware(build.elf, build.board, { timeoutMs: 300_000 });
    if (run.exitCode !== 0) throw new Error(`bench firmware failed (exit ${run.exitCode}):\n${run.stdout}${run.stderr}`);
    const labels = run.stdout.split('\n').filter((l) => l.startsWith('region '));
    if (labels.length !== run.regions.length) throw new Error(`${labels.length} labels but ${run.regions.length} counted regions`);
    return labels.map((l, i) => {
      const [, kernel, macs] = l.split(' ');
      return { kernel: kernel!, macs: Number(macs), instructions: run.regions[i]! };
    });
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { board: { type: 'string', default: 'mps2-an386' } } });
  const rows = await benchSmall(values.board);
  const fmt = (n: number) => n.toLocaleString('en-US');
  for (const r of rows) process.stdout.write(`${r.kernel.padEnd(34)}${fmt(r.macs).padStart(10)}${fmt(r.instructions).padStart(12)}${r.macs ? (r.macs / r.instructions).toFixed(2).padStart(8) : ''}\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then((code) => process.exit(code), (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
