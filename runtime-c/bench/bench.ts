// Kernel micro-benchmark driver: builds bench_dscnn.c with runtime-c for a Cortex-M board,
// runs it under QEMU with the instruction-count plugin and prints instructions per layer,
// reference vs optimized, INT8 and INT4 weights, against the CMSIS-NN figures of
// ../shared/target-notes.md (KWS DS-CNN on Cortex-M4: 7.84 M INT8, 13.34 M INT4).
//
//   npx tsx runtime-c/bench/bench.ts [--board mps2-an386|mps2-an500] [--json]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildFirmware } from '../../compiler/target/build.ts';
import { runFirmware } from '../../compiler/target/run.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const RT = path.resolve(HERE, '..');
const CMSIS_NN = { 'mps2-an386': { s8: 7.84e6, s4: 13.34e6 }, 'mps2-an500': { s8: 7.75e6, s4: 13.41e6 } } as Record<string, { s8: number; s4: number }>;

export interface BenchRow {
  variant: string;
  layer: string;
  macs: number;
  instructions: number;
}

export interface BenchResult {
  board: string;
  macs: number;
  /** Instructions of the whole network per variant: ref/opt kernels, INT8 / INT4 weights. */
  totals: Record<'ref-s8' | 'opt-s8' | 'ref-s4' | 'opt-s4', number>;
  cmsisNn: { s8: number; s4: number } | null;
  rows: BenchRow[];
}

/**
 * Builds and runs the benchmark firmware; throws if it fails or if an optimized layer's output
 * differs from the reference output on the target (the firmware checks that itself).
 */
export async function benchDsCnn(board = 'mps2-an386'): Promise<BenchResult> {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tm2-bench-'));
  try {
    const sources = [path.join(HERE, 'bench_dscnn.c'), ...fs.readdirSync(path.join(RT, 'src')).filter((f) => f.endsWith('.c')).map((f) => path.join(RT, 'src', f))];
    const build = await buildFirmware({ board, sources, includeDirs: [path.join(RT, 'include')], outDir, name: 'bench', extraCflags: ['-std=c99', '-Wall', '-Wextra'] });
    const run = await runFirmware(build.elf, build.board, { timeoutMs: 300_000 });
    if (run.exitCode !== 0) throw new Error(`bench firmware failed (exit ${run.exitCode}):\n${run.stdout}${run.stderr}`);
    const labels = run.stdout.split('\n').filter((l) => l.startsWith('region '));
    if (labels.length !== run.regions.length) throw new Error(`${labels.length} labels but ${run.regions.length} counted regions`);
    const rows: BenchRow[] = labels.map((l, i) => {
      const [, variant, layer, macs] = l.split(' ');
      return { variant: variant!, layer: layer!, macs: Number(macs), instructions: run.regions[i]! };
    });
    const total = (variant: string) => rows.filter((r) => r.variant === variant).reduce((s, r) => s + r.instructions, 0);
    return {
      board,
      macs: rows.filter((r) => r.variant === 'opt-s8').reduce((s, r) => s + r.macs, 0),
      totals: { 'ref-s8': total('ref-s8'), 'opt-s8': total('opt-s8'), 'ref-s4': total('ref-s4'), 'opt-s4': total('opt-s4') },
      cmsisNn: CMSIS_NN[board] ?? null,
      rows,
    };
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

function table(r: BenchResult): string {
  const layers = [...new Set(r.rows.map((x) => x.layer))];
  const get = (variant: string, layer: string) => r.rows.find((x) => x.variant === variant && x.layer === layer)!;
  const fmt = (n: number) => n.toLocaleString('en-US');
  const lines = [`KWS DS-CNN layers on ${r.board} (instructions counted by QEMU; MAC/instr in parentheses)`, ''];
  lines.push(['layer', 'MACs', 'ref s8', 'opt s8', 'ref s4', 'opt s4'].map((h, i) => (i ? h.padStart(22) : h.padEnd(6))).join(''));
  for (const layer of layers) {
    const cells = ['ref-s8', 'opt-s8', 'ref-s4', 'opt-s4'].map((v) => {
      const x = get(v, layer);
      return `${fmt(x.instructions)}${x.macs ? ` (${(x.macs / x.instructions).toFixed(2)})` : ''}`.padStart(22);
    });
    lines.push(layer.padEnd(6) + fmt(get('opt-s8', layer).macs).padStart(22) + cells.join(''));
  }
  const t = r.totals;
  lines.push('');
  lines.push(`total  ${fmt(r.macs)} MACs: ref s8 ${fmt(t['ref-s8'])}, opt s8 ${fmt(t['opt-s8'])} (${(r.macs / t['opt-s8']).toFixed(2)} MAC/instr), ref s4 ${fmt(t['ref-s4'])}, opt s4 ${fmt(t['opt-s4'])} (${(r.macs / t['opt-s4']).toFixed(2)} MAC/instr)`);
  if (r.cmsisNn)
    lines.push(`CMSIS-NN on the same model: ${fmt(r.cmsisNn.s8)} INT8, ${fmt(r.cmsisNn.s4)} INT4 -> tinym2 kernels use ${((100 * t['opt-s8']) / r.cmsisNn.s8).toFixed(0)}% and ${((100 * t['opt-s4']) / r.cmsisNn.s4).toFixed(0)}% of those instructions`);
  return lines.join('\n') + '\n';
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { board: { type: 'string', default: 'mps2-an386' }, json: { type: 'boolean', default: false } } });
  const result = await benchDsCnn(values.board);
  process.stdout.write(values.json ? JSON.stringify(result, null, 2) + '\n' : table(result));
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
