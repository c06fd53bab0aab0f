// tinym2's kernels against CMSIS-NN's, side by side, per layer: for a model tinym2 compiles, one
// firmware per board and precision holds the generated model (its test harness, one instruction-count
// region per layer, outputs checked bit for bit against the emulator) and CMSIS-NN's kernels called on
// the same layer shapes with the same weights (benchmarks/cmsis-nn-layers.ts), all built with the
// board's compiler and flags and counted under QEMU with the project's TCG plugin in one run.
// Prints instructions per layer and in total for both, and the ratio tinym2 / CMSIS-NN.
//
//   nice npx tsx benchmarks/vs-cmsis-nn.ts [--model kws|examples|tests|PATH.onnx ...] [--board NAME ...]
//        [--precision int8,int4w] [--layers] [--json] [--write]
//
// Models: "kws" is the MLPerf Tiny KWS DS-CNN shape (benchmarks/kws-dscnn.ts); "examples" every example
// and its variants; "tests" every test/models/*.onnx; a path any other model (seeded random rows unless
// <stem>.npz or calib.npz sits next to it). Precisions: int8 (INT8 weights and activations: CMSIS-NN's
// s8 kernels) and int4w (INT4 weights, INT8 activations: CMSIS-NN's s4 kernels).
// --write puts the markdown tables into benchmarks/RESULTS.md between the vs-cmsis-nn markers and the KWS
// DS-CNN rows into runtime-c/README.md's speed table.
//
// CMSIS-NN comes from ../shared/anchors/cmsis-nn (a benchmark-only input: never shipped, never
// committed); without it the script says so and exits 0 without measuring anything.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateModel } from '../compiler/codegen/generate.ts';
import { writeOutputDir } from '../compiler/codegen/output.ts';
import { harnessSource, layerProfile, parseHarnessOutput } from '../compiler/codegen/testvectors.ts';
import { tensorSize, type Graph } from '../compiler/ir.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { calibrateGraph, loadDataSet, weightedLayers } from '../compiler/quant/evaluate.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import type { PrecisionPlan } from '../compiler/quant/plan.ts';
import type { QGraph } from '../compiler/quant/qgraph.ts';
import { loadBoard } from '../compiler/target/boards.ts';
import { buildFirmware } from '../compiler/target/build.ts';
import { runFirmware } from '../compiler/target/run.ts';
import { cmsisKernel, cmsisLayersSource } from './cmsis-nn-layers.ts';
import { exampleModels } from './example-models.ts';
import { writeKwsDsCnn } from './kws-dscnn.ts';
import { lowerPriority } from './low-priority.ts';

const ROOT = resolve(import.meta.dirname, '..');
/**
 * ../shared/anchors/cmsis-nn next to the checkout; from a git worktree elsewhere, next to the main
 * checkout (the directory holding the common .git); TM2_CMSIS_NN_DIR, when set, first.
 */
function findCmsisNn(): string {
  const candidates = [resolve(ROOT, '..', 'shared', 'anchors', 'cmsis-nn')];
  if (process.env.TM2_CMSIS_NN_DIR) candidates.unshift(resolve(process.env.TM2_CMSIS_NN_DIR));
  try {
    const common = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    candidates.push(resolve(dirname(common), '..', 'shared', 'anchors', 'cmsis-nn'));
  } catch {
    /* not a git checkout: only the first place */
  }
  return candidates.find((d) => existsSync(join(d, 'Include', 'arm_nnfunctions.h'))) ?? candidates[0]!;
}
export const CMSIS_NN_DIR = findCmsisNn();
const PRECISIONS = ['int8', 'int4w'] as const;
export type Precision = (typeof PRECISIONS)[number];
const BOARDS = ['mps2-an386', 'mps2-an500'];
const CALIB_ROWS = 64;
const HARNESS_ENTRY = 'tm2_harness_main';

export interface BenchModel {
  label: string;
  onnx: string;
  calib: Array<Record<string, Float32Array>>;
  /** One row run on the device (the harness checks it against the emulator). */
  test: Array<Record<string, Float32Array>>;
}

export interface LayerRow {
  index: number;
  name: string;
  kind: string;
  output: [number, number, number];
  macs: number;
  tinym2: number;
  /** null when CMSIS-NN has no kernel for the op. */
  cmsisKernel: string | null;
  cmsis: number | null;
}

export interface ModelResult {
  model: string;
  board: string;
  precision: Precision;
  macs: number;
  layers: LayerRow[];
  /** Sums over the layers CMSIS-NN has a kernel for (the compared set), and tinym2's over all layers. */
  tinym2Compared: number;
  cmsisCompared: number;
  tinym2All: number;
  ratio: number;
  /** Largest per-layer ratio among compared layers with more than 1,000 CMSIS-NN instructions. */
  worstLayer: { index: number; kind: string; ratio: number } | null;
}

function seededRows(graph: Graph, n: number, seed: number): Array<Record<string, Float32Array>> {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
  return Array.from({ length: n }, () => Object.fromEntries(graph.inputs.map((i) => [i.name, Float32Array.from({ length: tensorSize(i.shape) }, rand)])));
}

/** Calibration and test rows of a model file: <stem>.npz, <stem>.calib/.test.npz or the folder's calib/test.npz, else seeded random rows. */
function rowsFor(file: string, graph: Graph): { calib: BenchModel['calib']; test: BenchModel['test'] } {
  const stem = file.replace(/\.onnx$/, '');
  const pairs: Array<[string, string]> = [[`${stem}.calib.npz`, `${stem}.test.npz`], [`${stem}.npz`, `${stem}.npz`], [join(dirname(file), 'calib.npz'), join(dirname(file), 'test.npz')]];
  for (const [c, t] of pairs) {
    if (!existsSync(c) || !existsSync(t)) continue;
    try {
      return { calib: loadDataSet(graph, c, CALIB_ROWS).rows, test: loadDataSet(graph, t, 1).rows };
    } catch {
      continue; // another model's inputs
    }
  }
  const rows = seededRows(graph, 16, 7);
  return { calib: rows, test: rows.slice(0, 1) };
}

function modelFromFile(file: string, label: string): BenchModel {
  const graph = loadOnnx(file);
  return { label, onnx: file, ...rowsFor(file, graph) };
}

/** The models a --model argument names. */
export function benchModels(spec: string, work: string): BenchModel[] {
  if (spec === 'kws') {
    const { onnx, rows } = writeKwsDsCnn(work);
    return [{ label: 'kws-dscnn', onnx, calib: rows, test: rows.slice(0, 1) }];
  }
  if (spec === 'examples') return exampleModels(join(ROOT, 'examples'), true).map((m) => modelFromFile(m.onnx, m.label));
  if (spec === 'tests') {
    const dir = join(ROOT, 'test', 'models');
    return readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort().map((f) => modelFromFile(join(dir, f), `test/${f.replace(/\.onnx$/, '')}`));
  }
  if (existsSync(spec) && statSync(spec).isFile()) return [modelFromFile(resolve(spec), relative(ROOT, resolve(spec)))];
  throw new Error(`--model ${spec}: not kws, examples, tests or an ONNX file`);
}

export function planFor(graph: Graph, precision: Precision): PrecisionPlan {
  const layers: PrecisionPlan['layers'] = {};
  for (const n of weightedLayers(graph)) layers[n] = { weightBits: precision === 'int8' ? 8 : 4, activationBits: 8 };
  return { model: graph.file, layers };
}

/** CMSIS-NN's C sources: every s8/s4 kernel and support file (float ones left out; gc-sections drops what is unused). */
function cmsisSources(): string[] {
  const src = join(CMSIS_NN_DIR, 'Source');
  const out: string[] = [];
  for (const d of readdirSync(src).sort()) {
    const dir = join(src, d);
    if (!statSync(dir).isDirectory()) continue;
    for (const f of readdirSync(dir).sort()) if (f.endsWith('.c') && !/_f16|_f32|flt/.test(f)) out.push(join(dir, f));
  }
  return out;
}

/** Builds and runs one firmware: the model's layers with tinym2's kernels, then with CMSIS-NN's. */
export async function compareModel(m: BenchModel, q: QGraph, boardName: string, precision: Precision, work: string): Promise<ModelResult> {
  const model = generateModel(q, { name: 'm', source: basename(m.onnx), precision });
  model.files.set('m_test.c', harnessSource(q, model, m.test, { entry: HARNESS_ENTRY }));
  model.files.set('vs_cmsis.c', cmsisLayersSource(q, model, HARNESS_ENTRY));
  const out = join(work, 'model');
  rmSync(out, { recursive: true, force: true });
  writeOutputDir(out, model.files);
  const runtime = readdirSync(join(out, 'runtime/src')).filter((f) => f.endsWith('.c')).map((f) => join(out, 'runtime/src', f));
  const board = loadBoard(boardName);
  const fw = await buildFirmware({
    board,
    sources: [join(out, 'vs_cmsis.c'), join(out, 'm_test.c'), join(out, 'm.c'), join(out, 'm_weights.c'), ...runtime, ...cmsisSources()],
    includeDirs: [out, join(out, 'runtime/include'), join(out, 'runtime/src'), join(CMSIS_NN_DIR, 'Include')],
    defines: { TM2_SELF_CHECK: true, TM2_COUNT_MARKERS: true, TM2_PROFILE_LAYERS: true },
    outDir: join(work, 'fw'),
  });
  const r = await runFirmware(fw.elf, board, { timeoutMs: 600_000 });
  const harness = parseHarnessOutput(r.stdout);
  if (r.exitCode !== 0 || harness.mismatches || harness.scratchErrors) {
    throw new Error(`${m.label} ${precision} on ${boardName}: firmware exit ${r.exitCode}, ${harness.mismatches} mismatches with the emulator, ${harness.scratchErrors} scratch errors\n${r.stdout.split('\n').filter((l) => l.startsWith('cmsis_')).join('\n')}`);
  }
  const cmsisOps = r.stdout.split('\n').filter((l) => /^cmsis \d+$/.test(l)).map((l) => Number(l.split(' ')[1]));
  const ops = q.ops.length;
  if (r.regions.length !== ops + cmsisOps.length) throw new Error(`internal: ${r.regions.length} count regions, expected ${ops} + ${cmsisOps.length}`);
  const tinym2 = layerProfile(r.regions.slice(0, ops), ops);
  const cmsis = new Map(cmsisOps.map((i, k) => [i, r.regions[ops + k]!]));
  const layers: LayerRow[] = q.ops.map((op, i) => ({
    index: i,
    name: op.name,
    kind: op.op,
    output: q.tensors.get(op.output)!.shape,
    macs: 'macs' in op ? op.macs : 0,
    tinym2: tinym2[i]!,
    cmsisKernel: cmsisKernel(q, op),
    cmsis: cmsis.get(i) ?? null,
  }));
  const compared = layers.filter((l) => l.cmsis !== null);
  const tinym2Compared = compared.reduce((s, l) => s + l.tinym2, 0);
  const cmsisCompared = compared.reduce((s, l) => s + l.cmsis!, 0);
  let worst: ModelResult['worstLayer'] = null;
  for (const l of compared) {
    if (l.cmsis! < 1000) continue;
    const ratio = l.tinym2 / l.cmsis!;
    if (!worst || ratio > worst.ratio) worst = { index: l.index, kind: l.kind, ratio };
  }
  return {
    model: m.label,
    board: boardName,
    precision,
    macs: layers.reduce((s, l) => s + l.macs, 0),
    layers,
    tinym2Compared,
    cmsisCompared,
    tinym2All: layers.reduce((s, l) => s + l.tinym2, 0),
    ratio: tinym2Compared / cmsisCompared,
    worstLayer: worst,
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export function layerTable(r: ModelResult): string {
  const lines = [`${r.model}, ${r.precision}, ${r.board}: instructions per layer (tinym2 / CMSIS-NN)`];
  lines.push(['#', 'op', 'output', 'MACs', 'tinym2', 'CMSIS-NN', 'ratio', 'CMSIS-NN kernel'].map((h, i) => (i < 3 || i === 7 ? h.padEnd(i === 1 ? 10 : i === 2 ? 14 : 4) : h.padStart(12))).join(' '));
  for (const l of r.layers) {
    lines.push(
      [
        String(l.index).padEnd(4),
        l.kind.padEnd(10),
        `[${l.output.join(',')}]`.padEnd(14),
        fmt(l.macs).padStart(12),
        fmt(l.tinym2).padStart(12),
        (l.cmsis === null ? '-' : fmt(l.cmsis)).padStart(12),
        (l.cmsis === null ? '-' : (l.tinym2 / l.cmsis).toFixed(2)).padStart(12),
        l.cmsisKernel ?? '(no CMSIS-NN kernel)',
      ].join(' '),
    );
  }
  lines.push(`total over compared layers: tinym2 ${fmt(r.tinym2Compared)}, CMSIS-NN ${fmt(r.cmsisCompared)}, ratio ${r.ratio.toFixed(3)}; tinym2 over all layers ${fmt(r.tinym2All)}`);
  return lines.join('\n') + '\n';
}

/** The summary table in markdown: one row per model and precision, a ratio column per board. */
export function markdownSummary(results: ModelResult[]): string {
  const boards = [...new Set(results.map((r) => r.board))];
  const keys = [...new Set(results.map((r) => `${r.model}\u0000${r.precision}`))];
  const head = ['model', 'precision', 'MACs', ...boards.flatMap((b) => [`tinym2 ${b}`, `CMSIS-NN ${b}`, `ratio ${b}`, `worst layer ${b}`])];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`];
  for (const key of keys) {
    const [model, precision] = key.split('\u0000');
    const row = results.filter((r) => r.model === model && r.precision === precision);
    const cells = [model!, precision!, fmt(row[0]!.macs)];
    for (const b of boards) {
      const r = row.find((x) => x.board === b);
      if (!r) cells.push('-', '-', '-', '-');
      else cells.push(fmt(r.tinym2Compared), fmt(r.cmsisCompared), r.ratio.toFixed(2), r.worstLayer ? `${r.worstLayer.index} ${r.worstLayer.kind} ${r.worstLayer.ratio.toFixed(2)}` : '-');
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

const BEGIN = '<!-- vs-cmsis-nn: begin (generated by benchmarks/vs-cmsis-nn.ts --write; do not edit) -->';
const END = '<!-- vs-cmsis-nn: end -->';

function writeResults(results: ModelResult[], command: string): void {
  const file = join(ROOT, 'benchmarks', 'RESULTS.md');
  const perLayer = results.filter((r) => r.model === 'kws-dscnn').map((r) => '```\n' + layerTable(r) + '```').join('\n\n');
  const section = [
    BEGIN,
    `Measured with \`${command}\` (instructions counted by QEMU with the project's plugin; tinym2 and CMSIS-NN`,
    `at commit 99f736a6 in the same firmware and run, the board's compiler and flags: arm-none-eabi-gcc for the Cortex-M`,
    `boards, aarch64-linux-gnu-gcc -O3 -mcpu=cortex-a72 for rpi4, where CMSIS-NN has no Advanced SIMD code and runs its`,
    `portable C, auto-vectorized by gcc, while tinym2 runs its NEON kernels). Totals and ratios are over the`,
    `layers CMSIS-NN has a kernel for (lut, reshape, concat, pad and permute are tinym2-only and not in the ratio); "worst`,
    `layer" is the largest per-layer ratio among layers where CMSIS-NN runs over 1,000 instructions. int4w = INT4 weights,`,
    `INT8 activations (CMSIS-NN's s4 kernels).`,
    '',
    markdownSummary(results),
    perLayer ? `Per layer, KWS DS-CNN:\n\n${perLayer}\n` : '',
    END,
  ].join('\n');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const a = text.indexOf(BEGIN), b = text.indexOf(END);
  const next = a >= 0 && b > a ? text.slice(0, a) + section + text.slice(b + END.length) : `${text.trimEnd()}\n\n## tinym2 vs CMSIS-NN, per layer\n\n${section}\n`;
  writeFileSync(file, next);
}

const README_BEGIN = '<!-- speed table: begin (generated by benchmarks/vs-cmsis-nn.ts --write; do not edit) -->';
const README_END = '<!-- speed table: end -->';

/** runtime-c/README.md's speed table: the KWS DS-CNN per board and precision, tinym2 vs CMSIS-NN measured in the same run. */
function writeReadmeTable(results: ModelResult[]): void {
  const kws = results.filter((r) => r.model === 'kws-dscnn');
  if (kws.length === 0) return;
  const file = join(ROOT, 'runtime-c', 'README.md');
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(README_BEGIN), b = text.indexOf(README_END);
  if (a < 0 || b < a) throw new Error(`runtime-c/README.md has no speed table markers (${README_BEGIN} ... ${README_END})`);
  const rows = kws.map((r) => `| ${r.precision === 'int8' ? 'INT8' : 'INT4 weights'}, ${r.board} | ${fmt(r.tinym2All)} (${(r.macs / r.tinym2All).toFixed(2)} MAC/instr) | ${fmt(r.cmsisCompared)} | ${r.ratio.toFixed(2)} |`);
  const table = [README_BEGIN, '| KWS DS-CNN | tinym2 | CMSIS-NN (same run) | ratio |', '|---|---:|---:|---:|', ...rows, README_END].join('\n');
  writeFileSync(file, text.slice(0, a) + table + text.slice(b + README_END.length));
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string', multiple: true },
      board: { type: 'string', multiple: true },
      precision: { type: 'string' },
      layers: { type: 'boolean' },
      json: { type: 'boolean' },
      write: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write('usage: nice npx tsx benchmarks/vs-cmsis-nn.ts [--model kws|examples|tests|PATH.onnx ...] [--board NAME ...] [--precision int8,int4w] [--layers] [--json] [--write]\n');
    return 0;
  }
  if (!existsSync(join(CMSIS_NN_DIR, 'Include', 'arm_nnfunctions.h'))) {
    process.stdout.write(`vs-cmsis-nn: skipped: CMSIS-NN sources not found at ${CMSIS_NN_DIR} (../shared/anchors/cmsis-nn, a benchmark-only input)\n`);
    return 0;
  }
  lowerPriority();
  const precisions = (values.precision ?? PRECISIONS.join(',')).split(',') as Precision[];
  for (const p of precisions) if (!PRECISIONS.includes(p)) throw new Error(`--precision: ${p} is not one of ${PRECISIONS.join(', ')}`);
  const boards = values.board ?? BOARDS;
  const work = mkdtempSync(join(tmpdir(), 'tm2-vs-cmsis-'));
  const results: ModelResult[] = [];
  const failures: string[] = [];
  try {
    const models = (values.model ?? ['kws', 'examples', 'tests']).flatMap((s) => benchModels(s, work));
    for (const m of models) {
      const graph = loadOnnx(m.onnx);
      const calibration = calibrateGraph(graph, m.calib);
      for (const precision of precisions) {
        const q = quantizeGraph(graph, calibration, planFor(graph, precision));
        for (const board of boards) {
          const dir = join(work, 'run');
          mkdirSync(dir, { recursive: true });
          let r: ModelResult;
          try {
            r = await compareModel(m, q, board, precision, dir);
          } catch (e) {
            // One model's failure (a mismatch with the emulator, a CMSIS-NN argument error) is reported, the rest still run.
            failures.push(`${m.label} ${precision} ${board}: ${e instanceof Error ? e.message : String(e)}`);
            process.stderr.write(`vs-cmsis-nn: FAILED ${failures[failures.length - 1]}\n`);
            continue;
          }
          results.push(r);
          if (!values.json) {
            process.stdout.write(values.layers ? layerTable(r) + '\n' : `${r.model} ${r.precision} ${r.board}: tinym2 ${fmt(r.tinym2Compared)}, CMSIS-NN ${fmt(r.cmsisCompared)}, ratio ${r.ratio.toFixed(3)}${r.worstLayer ? `, worst layer ${r.worstLayer.index} ${r.worstLayer.kind} ${r.worstLayer.ratio.toFixed(2)}` : ''}\n`);
          }
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (values.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  else process.stdout.write('\n' + markdownSummary(results));
  if (values.write) {
    writeResults(results, `npx tsx benchmarks/vs-cmsis-nn.ts ${argv.join(' ')}`.trim());
    writeReadmeTable(results);
  }
  if (failures.length) process.stderr.write(`vs-cmsis-nn: ${failures.length} run(s) failed:\n${failures.join('\n')}\n`);
  return failures.length ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`vs-cmsis-nn: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
