// The fusion-strategy study: every fusion variant of an example (early, intermediate, late; the single-modality
// models as references) compiled for one board and measured the same way, side by side: FP32 / INT8 / mixed
// top-1, instructions per inference (QEMU, exact), flash, RAM (arena + peak stack) and energy per inference on the
// board's power model, with the Pareto front over (instructions, top-1). TinyM²Net's study found late fusion the
// most accurate and early fusion the fastest; this is the same comparison on tinym2's output.
//
// Each variant goes through benchmarks/examples-bench.ts (compile + verify --json through the CLI, accuracy over
// the whole test set in the integer emulator, bit-exact with the device on the rows verify ran).
//
//   nice npx tsx benchmarks/fusion-study.ts [--example av-digits] [--board mps2-an386] [--precision int8,mixed] [--rows 20]
//        [--json | --markdown] [--svg pareto.svg]
//
// An ADMN model (admn.onnx, compiler/admn/) is also measured at every uniform depth d (each modality runs its
// first d blocks, tm2_<name>_run_layers): INT8 top-1 over the whole test set in the masked emulator, FP32 top-1 from
// the training script's record, instructions = the full-depth count minus the skipped blocks' instructions counted
// under QEMU (run_layers with each depth mask on one row).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { depthMask } from '../compiler/admn/blocks.ts';
import { runCasesOnDevice } from '../compiler/admn/device.ts';
import { blockOfOp, emulateLayers } from '../compiler/admn/emulate.ts';
import { quantizeAdmn } from '../compiler/admn/pipeline.ts';
import { generateModel } from '../compiler/codegen/generate.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { calibrateGraph, loadDataSet } from '../compiler/quant/evaluate.ts';
import { quantizeInputs } from '../compiler/quant/io.ts';
import { loadBoard } from '../compiler/target/boards.ts';
import { paretoChart } from '../compiler/report/pareto.ts';
import { renderSvg } from '../compiler/report/render.ts';
import type { BenchRow } from './examples-bench.ts';

const ROOT = resolve(import.meta.dirname, '..');
const { values: opt } = parseArgs({
  options: {
    example: { type: 'string', default: 'av-digits' }, board: { type: 'string', default: 'mps2-an386' },
    precision: { type: 'string', default: 'int8,mixed' }, rows: { type: 'string', default: '20' },
    json: { type: 'boolean' }, markdown: { type: 'boolean' }, svg: { type: 'string' },
  },
});

/** Which fusion strategy a model file is, by the names the examples use. */
function strategyOf(variant: string): string {
  if (variant === 'model') return 'intermediate';
  // ADMN (compiler/admn/): late fusion over per-modality backbones of skippable residual blocks, here with every block.
  if (variant === 'admn') return 'late, ADMN backbones (every block)';
  const m = /^(early|intermediate|late)_fusion$/.exec(variant);
  if (m) return m[1];
  if (variant.endsWith('_only')) return `single modality (${variant.slice(0, -'_only'.length)})`;
  return variant;
}

const dir = join(ROOT, 'examples', opt.example);
const variants = readdirSync(dir).filter((f) => f.endsWith('.onnx')).map((f) => f.slice(0, -'.onnx'.length)).sort();
const only = variants.flatMap((v) => ['--only', v === 'model' ? opt.example : `${opt.example}/${v}`]);
const args = [join(ROOT, 'benchmarks', 'examples-bench.ts'), '--variants', ...only, '--board', opt.board, '--precision', opt.precision,
  '--rows', opt.rows, '--out', join(ROOT, 'out', 'fusion-study'), '--json'];
console.error(`fusion study on ${opt.example}: ${variants.join(', ')} at ${opt.precision} on ${opt.board} (through examples-bench.ts; this takes minutes)`);

const bench = await new Promise<{ rows: BenchRow[]; seconds: number }>((done, fail) => {
  const child = execFile(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), ...args], { cwd: ROOT, maxBuffer: 256 * 1024 * 1024 }, (err, stdout) => {
    try {
      done(JSON.parse(stdout));
    } catch {
      fail(new Error(`examples-bench.ts failed: ${err?.message ?? 'no JSON'}`));
    }
  });
  child.stderr?.pipe(process.stderr);
});

interface StudyRow {
  model: string;
  strategy: string;
  precision: string;
  /** Top-1 % of the model's decision output (the fused output of a late-fusion model). */
  fp32: number | null;
  top1: number | null;
  instructions: number | null;
  flashBytes: number | null;
  ramBytes: number | null;
  energyUJ: number | null;
  latencyMs: number | null;
  bitExact: boolean | null;
  pareto: boolean;
}

const rows: StudyRow[] = bench.rows.map((r) => {
  const variant = r.model.includes('/') ? r.model.split('/')[1] : 'model';
  const estimate = r.estimates.find((e) => e.board === opt.board) ?? r.estimates[0];
  return {
    model: `${variant}.onnx`,
    strategy: strategyOf(variant),
    precision: r.precision,
    fp32: r.floatAccuracy === null ? null : 100 * r.floatAccuracy,
    top1: r.accuracy === null ? null : 100 * r.accuracy,
    instructions: r.instructions === null ? null : r.instructions.mean,
    flashBytes: r.flashBytes,
    ramBytes: r.arenaBytes === null ? null : r.arenaBytes + (r.stackPeakBytes ?? 0),
    energyUJ: estimate ? estimate.energyJoules * 1e6 : null,
    latencyMs: estimate ? estimate.latencySeconds * 1e3 : null,
    bitExact: r.bitExact,
    pareto: false,
  };
});
// ADMN at each uniform depth below the full one (the full depth is the admn row above).
const admnFile = join(dir, 'admn.onnx');
const admnFull = rows.find((r) => r.model === 'admn.onnx' && r.precision === 'int8');
if (existsSync(admnFile) && admnFull && admnFull.instructions !== null) {
  const graph = loadOnnx(admnFile);
  const calib = loadDataSet(graph, join(dir, 'calib.npz'));
  const test = loadDataSet(graph, join(dir, 'test.npz'));
  const labels = test.labels.get('labels')!;
  const { q, admn } = quantizeAdmn(graph, calibrateGraph(graph, calib.rows));
  const D = Math.min(...admn.modalities.map((m) => admn.blocksOf[m].length));
  const maskAt = (d: number) => depthMask(admn, Object.fromEntries(admn.modalities.map((m) => [m, d])));
  const work = mkdtempSync(join(tmpdir(), 'tm2-fusion-admn-'));
  const model = generateModel(q, { name: 'admn', source: 'admn.onnx', precision: 'INT8', admn });
  const row0 = quantizeInputs(q, test.rows[0]);
  const counted = await runCasesOnDevice(q, model, [row0], Array.from({ length: D + 1 }, (_, d) => ({ row: 0, blockMask: maskAt(d) })), loadBoard(opt.board), work);
  rmSync(work, { recursive: true, force: true });
  const decision = q.outputs[q.outputs.length - 1];
  const blockOf = blockOfOp(q, admn);
  const quantized = test.rows.map((r) => quantizeInputs(q, r));
  // FP32 by depth as train_admn.py recorded it (av-digits results.json, dsa-har metrics.json).
  const fp32At = (d: number): number | null => {
    for (const f of ['results.json', 'metrics.json']) {
      if (!existsSync(join(dir, f))) continue;
      const j = JSON.parse(readFileSync(join(dir, f), 'utf8'));
      const byDepth = j.models?.admn?.test_accuracy_fp32_by_depth ?? j.admn?.test_accuracy_fp32_by_depth;
      const e = byDepth?.[`${d},${d}`] ?? byDepth?.[String(d)];
      if (e) return 100 * (e.logits ?? e.fused);
    }
    return null;
  };
  for (let d = 0; d < D; d++) {
    let correct = 0;
    quantized.forEach((x, r) => {
      const out = emulateLayers(q, admn, x, maskAt(d), blockOf).get(decision)!;
      let best = 0;
      for (let c = 1; c < out.length; c++) if (out[c] > out[best]) best = c;
      if (best === labels[r]) correct++;
    });
    const instructions = admnFull.instructions - (counted.instructions[D] - counted.instructions[d]);
    rows.push({
      ...admnFull, model: 'admn.onnx', strategy: `late, ADMN backbones at depth ${d} of ${D}`, fp32: fp32At(d),
      top1: (100 * correct) / labels.length, instructions,
      energyUJ: admnFull.energyUJ === null ? null : (admnFull.energyUJ * instructions) / admnFull.instructions,
      latencyMs: admnFull.latencyMs === null ? null : (admnFull.latencyMs * instructions) / admnFull.instructions,
      bitExact: null, pareto: false,
    });
  }
}

// Pareto front over (fewer instructions, higher top-1) among the multimodal models at every precision: a point is
// on it when no other point is at least as good on both and better on one.
const candidates = rows.filter((r) => !r.strategy.startsWith('single') && r.top1 !== null && r.instructions !== null);
for (const r of candidates) {
  r.pareto = !candidates.some((o) => o !== r && o.instructions! <= r.instructions! && o.top1! >= r.top1! && (o.instructions! < r.instructions! || o.top1! > r.top1!));
}

if (opt.svg) {
  const chart = paretoChart('fusion-pareto', `Fusion strategies of ${opt.example} on ${opt.board}: top-1 vs instructions (dashed: Pareto front)`,
    candidates.map((r) => ({ label: `${r.strategy.replace(/^late, ADMN backbones at depth (\d+) of \d+$/, 'ADMN d$1').replace(/^late, ADMN backbones \(every block\)$/, 'ADMN full')} ${r.precision}`, group: r.strategy.startsWith('late, ADMN') ? 'ADMN' : r.strategy, instructions: r.instructions!, top1: r.top1!, pareto: r.pareto })));
  writeFileSync(opt.svg, await renderSvg(chart));
  console.error(`wrote ${opt.svg}`);
}

const report = { example: opt.example, board: opt.board, precisions: opt.precision.split(','), seconds: bench.seconds, rows };
if (opt.json) {
  console.log(JSON.stringify(report, null, 2));
} else {
  const f = (x: number | null, d = 1) => (x === null ? '-' : x.toFixed(d));
  const n = (x: number | null) => (x === null ? '-' : Math.round(x).toLocaleString('en-US'));
  const lines = [
    `| strategy | model | precision | FP32 top-1 % | top-1 % | instructions / inference | flash B | RAM B (arena + stack) | energy uJ (${opt.board}) | bit-exact | Pareto |`,
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.strategy} | \`${r.model}\` | ${r.precision} | ${f(r.fp32)} | ${f(r.top1)} | ${n(r.instructions)} | ${n(r.flashBytes)} | ${n(r.ramBytes)} | ${f(r.energyUJ)} | ${r.bitExact === null ? '-' : r.bitExact ? 'yes' : 'NO'} | ${r.pareto ? 'yes' : ''} |`),
  ];
  if (!opt.markdown) console.log(`fusion strategies of ${opt.example} on ${opt.board} (instructions counted under QEMU; top-1 over the whole test set in the integer emulator)\n`);
  console.log(lines.join('\n'));
  const best = (key: 'top1' | 'instructions', better: (a: number, b: number) => boolean) =>
    candidates.filter((r) => r.precision === 'int8').reduce((a, b) => (better(b[key]!, a[key]!) ? b : a));
  if (candidates.some((r) => r.precision === 'int8')) {
    const acc = best('top1', (a, b) => a > b), fast = best('instructions', (a, b) => a < b);
    console.log(`\nINT8: most accurate ${acc.strategy} (${f(acc.top1)} %), fewest instructions ${fast.strategy} (${n(fast.instructions)}); ` +
      `TinyM²Net found late fusion the most accurate and early fusion the fastest. ${bench.seconds.toFixed(0)} s`);
  }
}
