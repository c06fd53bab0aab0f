// Benchmark of every example model at INT8, INT4 and mixed precision: compiles it with
// `tinym2 compile --json`, runs a few test rows on the board with `tinym2 verify --json` (QEMU counts
// the instructions of each inference exactly), and measures top-1 accuracy on the whole test set in
// the integer emulator (bit-exact with the device on the rows verify ran; --full runs every row on the
// device instead). Prints per model and precision: weight, flash (model inside the firmware) and arena
// bytes, MACs, instructions per inference, MACs per instruction, accuracy and bit-exactness.
//
//   nice npx tsx benchmarks/examples-bench.ts [--board NAME ...] [--only NAME ...] [--variants]
//        [--precision int8,int4,mixed] [--rows N] [--full] [--out DIR] [--json | --markdown]
//
// The CLI is spawned (rather than its modules called) because compile and verify report through
// their --json output; what they print there is what a user sees.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { calibrateOnSet, evaluateQGraph, loadDataSet } from '../compiler/quant/evaluate.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import type { PrecisionPlan } from '../compiler/quant/plan.ts';
import { listBoards, loadBoard } from '../compiler/target/boards.ts';
import { exampleModels, type ExampleModel } from './example-models.ts';
import { lowerPriority } from './low-priority.ts';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin', 'tinym2.js');
const PRECISIONS = ['int8', 'int4', 'mixed'] as const;
type Precision = (typeof PRECISIONS)[number];

const HELP = `usage: npx tsx benchmarks/examples-bench.ts [--board NAME ...] [--only NAME ...] [--variants]
         [--precision int8,int4,mixed] [--rows N] [--full] [--out DIR] [--json | --markdown]

For every example model (examples/<name>/model.onnx; --variants adds the other .onnx files) at each
precision: compile, run N test rows on the board (QEMU instruction counts, bit-exact check against the
integer emulator), and top-1 accuracy on the full test set in the emulator (--full: on the device).

  --board NAME      board to run on (default mps2-an386; repeat for more, e.g. --board mps2-an500)
  --only NAME       an example or variant (av-digits, av-digits/late_fusion); repeat for more
  --variants        also the variants of each example
  --precision LIST  comma-separated subset of int8,int4,mixed (default all three; mixed = the planner at
                    20% of the FP32 weight bytes)
  --rows N          test rows run on the device for the instruction count (default 20)
  --full            run every test row on the device (slow: ~1 min per model under load)
  --out DIR         compiled models and results (default out/bench)
  --json            machine-readable results
  --markdown        the table as markdown (for benchmarks/RESULTS.md)`;

interface Options {
  boards: string[];
  only: string[];
  variants: boolean;
  precisions: Precision[];
  rows: number;
  full: boolean;
  out: string;
  json: boolean;
  markdown: boolean;
}

class UsageError extends Error {}

function parse(argv: string[]): Options | null {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        board: { type: 'string', multiple: true },
        only: { type: 'string', multiple: true },
        variants: { type: 'boolean' },
        precision: { type: 'string' },
        rows: { type: 'string' },
        full: { type: 'boolean' },
        out: { type: 'string' },
        json: { type: 'boolean' },
        markdown: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${HELP}`);
  }
  if (v.help) return null;
  if (v.json && v.markdown) throw new UsageError('--json and --markdown both choose the output format: give one');
  const boards = (v.board ?? ['mps2-an386']).flatMap((b) => b.split(','));
  const known = listBoards();
  for (const b of boards) {
    if (!known.includes(b)) throw new UsageError(`--board '${b}' is not one of ${known.join(', ')}`);
    const board = loadBoard(b);
    if (board.run.kind === 'none') throw new UsageError(`board ${b} cannot run here (${board.run.reason}); benchmark on a QEMU board with the same core`);
  }
  const precisions = (v.precision ?? PRECISIONS.join(',')).split(',') as Precision[];
  for (const p of precisions) if (!PRECISIONS.includes(p)) throw new UsageError(`--precision '${p}' is not one of ${PRECISIONS.join(', ')}`);
  const rows = v.rows === undefined ? 20 : Number(v.rows);
  if (!Number.isInteger(rows) || rows < 1) throw new UsageError(`--rows '${v.rows}' must be a positive whole number`);
  return {
    boards,
    only: v.only ?? [],
    variants: Boolean(v.variants) || (v.only ?? []).some((n) => n.includes('/')),
    precisions,
    rows,
    full: Boolean(v.full),
    out: v.out ?? join(ROOT, 'out', 'bench'),
    json: Boolean(v.json),
    markdown: Boolean(v.markdown),
  };
}

/** What one run of the CLI printed with --json (its exit code kept: verify exits 1 on a mismatch). */
async function tinym2Json(args: string[]): Promise<{ code: number; json: Record<string, any> }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args, '--json'], { cwd: ROOT, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      try {
        done({ code, json: JSON.parse(stdout) as Record<string, any> });
      } catch {
        done({ code: code || 1, json: { ok: false, error: (stderr || stdout || String(err)).trim().split('\n').slice(0, 3).join(' ') } });
      }
    });
  });
}

export interface BenchRow {
  model: string;
  onnx: string;
  precision: Precision;
  board: string;
  /** Set when compile or verify could not produce the figures (the rest are then null). */
  error: string | null;
  weightBytes: number | null;
  /** The model inside the firmware image: its code, const weights and data (not the harness or libc). */
  flashBytes: number | null;
  arenaBytes: number | null;
  arenaLowerBound: number | null;
  macs: number | null;
  instructions: { mean: number; min: number; max: number } | null;
  macsPerInstruction: number | null;
  /** The head the table reports: the only output, or the last labelled one (the fused head of multi-head models). */
  head: string | null;
  accuracy: number | null;
  floatAccuracy: number | null;
  /** Where accuracy was measured: 'device' (verify on every row, --full) or 'emulator'. */
  accuracyFrom: 'device' | 'emulator' | null;
  accuracyRows: number | null;
  accuracyPerHead: Record<string, number | null>;
  bitExact: boolean | null;
  deviceRows: number | null;
  stackPeakBytes: number | null;
  /** verify's latency and energy per inference for the board and real boards with the same core: board-model estimates. */
  estimates: Array<{ board: string; latencySeconds: number; energyJoules: number; label: string }>;
  seconds: { compile: number; verify: number; emulator: number };
}

/** Emulator accuracy per output on the whole test set, for the plan compile used (same calibration as compile). */
function emulatorAccuracy(m: ExampleModel, plan: PrecisionPlan): { perHead: Record<string, number | null>; float: Record<string, number | null>; rows: number } {
  const graph = cachedGraph(m);
  const q = quantizeGraph(graph.graph, calibrateOnSet(graph.graph, graph.calib), plan);
  const ev = evaluateQGraph(graph.graph, q, graph.test);
  const clean = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, x]) => [k, Number.isNaN(x) ? null : x]));
  return { perHead: clean(ev.accuracyPerOutput), float: clean(ev.floatAccuracyPerOutput), rows: ev.rows };
}

// One graph and data set per model, so calibration and the float outputs (cached by evaluate.ts per
// graph and set) are computed once for all precisions.
const graphs = new Map<string, { graph: ReturnType<typeof loadOnnx>; calib: ReturnType<typeof loadDataSet>; test: ReturnType<typeof loadDataSet> }>();
function cachedGraph(m: ExampleModel) {
  let g = graphs.get(m.onnx);
  if (!g) {
    const graph = loadOnnx(m.onnx);
    g = { graph, calib: loadDataSet(graph, m.calib), test: loadDataSet(graph, m.test) };
    graphs.set(m.onnx, g);
  }
  return g;
}

function reportedHead(perHead: Record<string, number | null>): string | null {
  const labelled = Object.keys(perHead).filter((k) => perHead[k] !== null);
  return labelled.length ? labelled[labelled.length - 1]! : (Object.keys(perHead)[0] ?? null);
}

const progress = (text: string) => {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
};

async function benchModel(m: ExampleModel, precision: Precision, o: Options, step: string): Promise<BenchRow[]> {
  const dir = join(o.out, `${m.label.replace('/', '-')}-${precision}`);
  const seconds = { compile: 0, verify: 0, emulator: 0 };
  const empty = (board: string, error: string): BenchRow => ({
    model: m.label, onnx: m.onnx, precision, board, error, weightBytes: null, flashBytes: null, arenaBytes: null, arenaLowerBound: null,
    macs: null, instructions: null, macsPerInstruction: null, head: null, accuracy: null, floatAccuracy: null, accuracyFrom: null,
    accuracyRows: null, accuracyPerHead: {}, bitExact: null, deviceRows: null, stackPeakBytes: null, estimates: [], seconds,
  });

  progress(`${step} ${m.label} ${precision}: compile`);
  let t = Date.now();
  const compiled = await tinym2Json(['compile', m.onnx, '--calib', m.calib, '--precision', precision, '-o', dir]);
  seconds.compile = (Date.now() - t) / 1000;
  if (compiled.code !== 0 || !compiled.json.ok) return o.boards.map((b) => empty(b, `compile: ${compiled.json.error ?? `exit ${compiled.code}`}`));
  const c = compiled.json;

  let emulator: ReturnType<typeof emulatorAccuracy> | null = null;
  if (!o.full) {
    progress(`${step} ${m.label} ${precision}: emulator accuracy`);
    t = Date.now();
    emulator = emulatorAccuracy(m, c.plan as PrecisionPlan);
    seconds.emulator = (Date.now() - t) / 1000;
  }

  const rows: BenchRow[] = [];
  for (const board of o.boards) {
    progress(`${step} ${m.label} ${precision}: verify on ${board}${o.full ? ' (all rows)' : ` (${o.rows} rows)`}`);
    t = Date.now();
    const verified = await tinym2Json(['verify', dir, '--data', m.test, '--board', board, ...(o.full ? [] : ['--rows', String(o.rows)])]);
    seconds.verify = (Date.now() - t) / 1000;
    const v = verified.json;
    // verify exits 1 with a full report on a mismatch; without 'outputs' it did not get that far.
    if (!Array.isArray(v.outputs)) {
      rows.push(empty(board, `verify: ${v.error ?? `exit ${verified.code}`}`));
      continue;
    }
    const devicePerHead = Object.fromEntries((v.outputs as Array<{ name: string; accuracy: number | null }>).map((x) => [x.name, x.accuracy]));
    const deviceFloat = Object.fromEntries((v.outputs as Array<{ name: string; floatAccuracy: number | null }>).map((x) => [x.name, x.floatAccuracy]));
    const perHead = emulator ? emulator.perHead : devicePerHead;
    const head = reportedHead(perHead);
    const ipi = v.instructionsPerInference as BenchRow['instructions'];
    rows.push({
      ...empty(board, ''),
      error: v.ok ? null : `verify: ${(v.failures as string[]).join('; ')}`,
      weightBytes: c.weightBytes,
      flashBytes: v.modelBytes.flash,
      arenaBytes: c.arenaBytes,
      arenaLowerBound: c.arenaLowerBound,
      macs: c.macs,
      instructions: ipi,
      macsPerInstruction: ipi ? c.macs / ipi.mean : null,
      head,
      accuracy: head ? perHead[head] ?? null : null,
      floatAccuracy: head ? (emulator ? emulator.float : deviceFloat)[head] ?? null : null,
      accuracyFrom: emulator ? 'emulator' : 'device',
      accuracyRows: emulator ? emulator.rows : v.rows,
      accuracyPerHead: perHead,
      bitExact: v.bitExact,
      deviceRows: v.rows,
      stackPeakBytes: v.modelBytes.stackPeak,
      estimates: (v.estimates as BenchRow['estimates']).map((e) => ({ board: e.board, latencySeconds: e.latencySeconds, energyJoules: e.energyJoules, label: e.label })),
      seconds: { ...seconds },
    });
  }
  return rows;
}

const int = (n: number | null) => (n === null ? '-' : Math.round(n).toLocaleString('en-US'));
const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);

/** The table as rows of cells (header first); the first two columns are text, the rest numbers. */
function cells(rows: BenchRow[], multiBoard: boolean): string[][] {
  const header = ['model', 'precision', 'weight B', 'flash B', 'arena B (bound)', 'MACs', 'instr/inference', 'MACs/instr', 'top-1 (rows)', 'float top-1', 'bit-exact (rows)'];
  if (multiBoard) header.splice(2, 0, 'board');
  const out = [header];
  for (const r of rows) {
    const line = [
      r.head && Object.keys(r.accuracyPerHead).length > 1 ? `${r.model} (${r.head})` : r.model,
      r.precision.toUpperCase().replace('MIXED', 'mixed'),
      int(r.weightBytes),
      int(r.flashBytes),
      r.arenaBytes === null ? '-' : `${int(r.arenaBytes)} (${int(r.arenaLowerBound)})`,
      int(r.macs),
      r.instructions === null ? '-' : int(r.instructions.mean),
      r.macsPerInstruction === null ? '-' : r.macsPerInstruction.toFixed(3),
      r.accuracy === null ? '-' : `${pct(r.accuracy)} (${r.accuracyRows}${r.accuracyFrom === 'emulator' ? ' emu' : ''})`,
      pct(r.floatAccuracy),
      r.bitExact === null ? '-' : `${r.bitExact ? 'yes' : 'NO'} (${r.deviceRows})`,
    ];
    if (multiBoard) line.splice(2, 0, r.board);
    out.push(line);
  }
  return out;
}

function textTable(t: string[][], textColumns: number): string {
  const widths = t[0]!.map((_, c) => Math.max(...t.map((r) => r[c]!.length)));
  return t.map((r) => r.map((cell, c) => (c >= textColumns ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n');
}

function markdownTable(t: string[][], textColumns: number): string {
  const lines = [`| ${t[0]!.join(' | ')} |`, `|${t[0]!.map((_, c) => (c >= textColumns ? '---:' : '---')).join('|')}|`];
  for (const r of t.slice(1)) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  let o: Options | null;
  try {
    o = parse(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (!o) {
    console.log(HELP);
    return 0;
  }
  let models = exampleModels(join(ROOT, 'examples'), o.variants);
  if (o.only.length) {
    const unknown = o.only.filter((n) => !models.some((m) => m.label === n || m.example === n));
    if (unknown.length) {
      process.stderr.write(`--only ${unknown.join(', ')}: no such example model; there are ${models.map((m) => m.label).join(', ')}\n`);
      return 2;
    }
    models = models.filter((m) => o!.only.includes(m.label) || (m.variant === null && o!.only.includes(m.example)));
  }
  mkdirSync(o.out, { recursive: true });
  const started = Date.now();
  const rows: BenchRow[] = [];
  const total = models.length * o.precisions.length;
  let k = 0;
  for (const m of models) {
    for (const p of o.precisions) {
      k++;
      rows.push(...(await benchModel(m, p, o, `[${k}/${total}]`)));
    }
  }
  progress('');
  const seconds = (Date.now() - started) / 1000;
  const result = {
    date: new Date().toISOString(),
    command: `npx tsx benchmarks/examples-bench.ts ${argv.join(' ')}`.trim(),
    boards: o.boards,
    deviceRows: o.full ? 'all' : o.rows,
    seconds,
    rows,
  };
  writeFileSync(join(o.out, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
  const table = cells(rows, o.boards.length > 1);
  const textColumns = o.boards.length > 1 ? 3 : 2;
  writeFileSync(join(o.out, 'results.md'), `${markdownTable(table, textColumns)}\n`);
  if (o.json) {
    console.log(JSON.stringify(result, null, 2));
  } else if (o.markdown) {
    console.log(markdownTable(table, textColumns));
  } else {
    console.log(`examples at ${o.precisions.join(', ')} on ${o.boards.join(', ')} (instructions: QEMU, exact; ${o.full ? 'every test row on the device' : `${o.rows} test rows on the device, accuracy over the whole test set in the integer emulator`})\n`);
    console.log(textTable(table, textColumns));
    for (const r of rows.filter((x) => x.error)) console.log(`${r.model} ${r.precision} on ${r.board}: ${r.error}`);
    console.log(`\n${rows.length} runs in ${seconds.toFixed(0)} s; results in ${join(o.out, 'results.json')}`);
  }
  return rows.some((r) => r.error) ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  // Benchmarks share the machine: run (and let compile/verify, which inherit it) at a low priority.
  lowerPriority();
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
