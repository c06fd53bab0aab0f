// ONNX's own backend node tests (one small model per operator variant, with input and expected output
// tensors) run through tinym2: generated from the installed onnx package by generate-onnx-node-tests.py
// into tinym2's cache, then every test whose operators tinym2 lists as supported is imported and run by
// the float reference, and, where that passes, quantized at uniform INT8 and INT4 and run on the integer
// emulator. Each test ends as one outcome:
//   pass     the float reference matches the expected outputs (ONNX's tolerance, rtol 1e-3, atol 1e-7)
//   refused  tinym2 refuses the model with a TinyM2Error (an attribute, data type or shape it lacks)
//   wrong    it imports and runs, and an output differs
//   crash    anything else thrown: a bug
// The node tests feed weights, shapes and axes as graph inputs; tinym2 compiles them as constants, so
// inputs are baked into initializers: first the non-float ones, then, if that is refused, all but the
// first. A test with a batch of N (dim 0) runs as batch 1, one row at a time, when every op works per
// sample (the importer's fixed-batch rule, compiler/onnx/batch.ts); otherwise it is refused.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureCacheDir } from '../../compiler/cache.ts';
import { TinyM2Error } from '../../compiler/errors.ts';
import { tensorSize, type Graph } from '../../compiler/ir.ts';
import { FOLDED_ONLY_OPS, IMPORTED_OPS, loadOnnxBytes } from '../../compiler/onnx/import.ts';
import { decodeTensor, onnx, toNumber, type ModelProto, type TensorProto, type ValueInfoProto } from '../../compiler/onnx/proto.ts';
import { calibrateGraph, runQuantized, uniform } from '../../compiler/quant/evaluate.ts';
import { quantizeGraph } from '../../compiler/quant/lower.ts';
import { runFloat } from '../../compiler/reference/interpreter.ts';
import { resolveLimits } from '../../compiler/limits.ts';

export const PYTHON = '/usr/bin/python3';
const GENERATOR = join(import.meta.dirname, 'generate-onnx-node-tests.py');
/** ONNX's backend test defaults (onnx/backend/test/runner: rtol=1e-3, atol=1e-7). */
export const RTOL = 1e-3;
export const ATOL = 1e-7;

export type Outcome = 'pass' | 'refused' | 'wrong' | 'crash' | 'differs';

/**
 * Tests where ONNX's own reference (onnx 1.12's expected outputs) and onnxruntime disagree, and tinym2
 * follows onnxruntime and PyTorch (what users validate their exports against): a mismatch here is
 * 'differs', listed with its reason in docs/operators.md, not 'wrong'. test/onnx-conformance.test.ts
 * requires each entry to still differ (a fixed reference leaves no stale entry behind), and the
 * onnxruntime comparison of the same op (test/ops-newops-float.test.ts) keeps tinym2's side checked.
 */
export const KNOWN_DISAGREEMENTS: Record<string, string> = {
  test_resize_downsample_scales_linear_align_corners:
    "onnx 1.12's reference divides by the unrounded resized length (4 x 0.6 = 2.4) for align_corners; onnxruntime and PyTorch use the output size (2), as tinym2 does",
};
/** What a quantized run of a float-passing test did: lowered and emulated, refused, or crashed. */
export type QuantOutcome = 'runs' | 'refused' | 'crash';

export interface NodeTestResult {
  name: string;
  /** Operator types of the test's graph (sorted, distinct). */
  ops: string[];
  /** Whether tinym2 lists every op (only those tests are run). */
  run: boolean;
  outcome?: Outcome;
  /** The refusal, the mismatch or the crash. */
  detail?: string;
  /** Samples run one at a time (the test's batch, when the importer compiled it as batch 1). */
  rows?: number;
  /** IR ops the imported graph holds (after folding). */
  irOps?: string[];
  int8?: QuantOutcome;
  int4?: QuantOutcome;
  /** Largest error of the dequantized emulator output against the float reference, over the float output's range. */
  int8Error?: number;
  int4Error?: number;
  quantDetail?: string;
}

export interface Schemas {
  onnx: string;
  /** Per default-domain op, the opset versions in which it changed. */
  ops: Record<string, number[]>;
}

/** The ONNX operator types tinym2 lists as supported: imported, and evaluated on constants only. */
export function supportedOps(): { imported: readonly string[]; foldedOnly: readonly string[] } {
  return { imported: IMPORTED_OPS, foldedOnly: FOLDED_ONLY_OPS };
}

/** The installed onnx package's version, or undefined (with why) when python3 or onnx is missing. */
export function onnxVersion(): { version?: string; problem?: string } {
  if (!existsSync(PYTHON)) return { problem: `${PYTHON} is missing (Debian package python3)` };
  try {
    const v = execFileSync(PYTHON, ['-c', 'import onnx; print(onnx.__version__)'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    return { version: v };
  } catch {
    return { problem: 'the python onnx package is missing (Debian package python3-onnx; test/install-deps.sh installs it)' };
  }
}

/**
 * The generated tests, cached per onnx version under tinym2's cache directory
 * (<cache>/onnx-node-tests/onnx-<version>: node/<test>/..., schemas.json). Generated into a temporary
 * folder and renamed into place, so concurrent callers never see half a set.
 */
export function nodeTestsDir(version: string): string {
  const root = ensureCacheDir('onnx-node-tests');
  const dir = join(root, `onnx-${version}`);
  if (existsSync(join(dir, 'schemas.json'))) return dir;
  const tmp = mkdtempSync(join(root, 'generating-'));
  try {
    execFileSync(PYTHON, [GENERATOR, tmp], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000 });
    rmSync(join(tmp, 'real'), { recursive: true, force: true }); // links to model zoo downloads: not used
    try {
      renameSync(tmp, dir);
    } catch (e) {
      if (!existsSync(join(dir, 'schemas.json'))) throw e; // else another process finished first
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

export function readSchemas(dir: string): Schemas {
  return JSON.parse(readFileSync(join(dir, 'schemas.json'), 'utf8')) as Schemas;
}

export function listNodeTests(dir: string): string[] {
  return readdirSync(join(dir, 'node')).filter((n) => existsSync(join(dir, 'node', n, 'model.onnx'))).sort();
}

const readTensor = (file: string): TensorProto => onnx.TensorProto.decode(readFileSync(file));

interface DataSet { inputs: TensorProto[]; outputs: TensorProto[] }

function dataSets(testDir: string): DataSet[] {
  return readdirSync(testDir).filter((d) => d.startsWith('test_data_set_')).sort().map((d) => {
    const files = readdirSync(join(testDir, d));
    const pick = (prefix: string) => files.filter((f) => f.startsWith(prefix)).sort((a, b) => parseInt(a.slice(prefix.length)) - parseInt(b.slice(prefix.length))).map((f) => readTensor(join(testDir, d, f)));
    return { inputs: pick('input_'), outputs: pick('output_') };
  });
}

/** The model with the graph inputs `bake` turned into initializers holding the data set's values. */
function withBakedInputs(model: ModelProto, inputs: TensorProto[], bake: (index: number, t: TensorProto) => boolean): Uint8Array {
  const copy = onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish());
  const g = copy.graph!;
  const kept: ValueInfoProto[] = [];
  (g.input ?? []).forEach((vi, i) => {
    const t = inputs[i];
    if (t && bake(i, t)) g.initializer = [...(g.initializer ?? []), { ...t, name: vi.name }];
    else kept.push(vi);
  });
  g.input = kept;
  return onnx.ModelProto.encode(copy).finish();
}

const FLOAT = 1;

/** |a - e| <= atol + rtol |e| element-wise (NaN equals NaN); the first violation, or undefined. */
export function firstMismatch(actual: Float32Array, expected: ArrayLike<number>): string | undefined {
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = Number(expected[i]);
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue; // equal infinities
    if (!(Math.abs(a - e) <= ATOL + RTOL * Math.abs(e))) return `element ${i}: ${a} where ONNX expects ${e}`;
  }
  return undefined;
}

function describeError(e: unknown): string {
  if (e instanceof TinyM2Error) return e.message.replace(/^[^:]*model\.onnx: /, '');
  const err = e as Error;
  return `${err?.name ?? 'Error'}: ${err?.message ?? String(e)} ${(err?.stack ?? '').split('\n').slice(1, 3).map((l) => l.trim()).join(' ')}`;
}

/** Runs `graph` (batch 1) on the data set's inputs, `rows` samples one at a time; outputs with the rows put back on axis 0. */
function runRows(graph: Graph, feeds: Map<string, Float32Array>, rows: number, run: (row: Record<string, Float32Array>) => Map<string, Float32Array>): Map<string, Float32Array> {
  const out = new Map(graph.outputs.map((o) => [o.name, new Float32Array(rows * tensorSize(o.shape))]));
  for (let r = 0; r < rows; r++) {
    const row: Record<string, Float32Array> = {};
    for (const i of graph.inputs) {
      const size = tensorSize(i.shape);
      row[i.name] = feeds.get(i.name)!.subarray(r * size, (r + 1) * size);
    }
    const y = run(row);
    for (const o of graph.outputs) out.get(o.name)!.set(y.get(o.name)!, r * tensorSize(o.shape));
  }
  return out;
}

/** Imports with the inputs baked per `bake`: the graph and the float feeds of its remaining inputs. */
function importVariant(model: ModelProto, set: DataSet, bake: (index: number, t: TensorProto) => boolean): { graph: Graph; feeds: Map<string, Float32Array> } {
  const bytes = withBakedInputs(model, set.inputs, bake);
  const graph = loadOnnxBytes(bytes, 'model.onnx');
  const feeds = new Map<string, Float32Array>();
  const limits = resolveLimits();
  (model.graph!.input ?? []).forEach((vi, i) => {
    const name = vi.name ?? '';
    if (!graph.inputs.some((g) => g.name === name)) return;
    const c = decodeTensor(set.inputs[i], name, limits);
    if (typeof c === 'string' || !(c.data instanceof Float32Array)) throw new TinyM2Error(`input '${name}': ${typeof c === 'string' ? c : 'not float'}`);
    feeds.set(name, c.data);
  });
  return { graph, feeds };
}

/** Runs one node test (the caller checked that tinym2 lists its ops) on each of its data sets; the first that does not pass decides. */
export function runNodeTest(dir: string, name: string, options: { quantized?: boolean } = {}): NodeTestResult {
  const testDir = join(dir, 'node', name);
  const model = onnx.ModelProto.decode(readFileSync(join(testDir, 'model.onnx')));
  const ops = [...new Set((model.graph!.node ?? []).map((n) => n.opType ?? ''))].sort();
  let last: NodeTestResult = { name, ops, run: true };
  for (const set of dataSets(testDir)) {
    last = runDataSet(model, set, { name, ops, run: true }, options);
    if (last.outcome !== 'pass') break;
  }
  return last;
}

function runDataSet(model: ModelProto, set: DataSet, result: NodeTestResult, options: { quantized?: boolean }): NodeTestResult {
  // Which inputs become constants: the non-float ones; else all but the first. Inputs that are not
  // tensors (sequences, optionals) stay inputs, for the importer to refuse.
  const isTensor = (i: number) => Boolean(model.graph!.input?.[i]?.type?.tensorType);
  const variants: Array<(i: number, t: TensorProto) => boolean> = [
    (i, t) => isTensor(i) && t.dataType !== FLOAT,
    (i) => isTensor(i) && i > 0,
  ];
  let imported: { graph: Graph; feeds: Map<string, Float32Array> } | undefined;
  const refusals: string[] = [];
  for (const bake of variants) {
    try {
      imported = importVariant(model, set, bake);
      break;
    } catch (e) {
      if (!(e instanceof TinyM2Error)) return { ...result, outcome: 'crash', detail: describeError(e) };
      const why = describeError(e);
      if (!refusals.includes(why)) refusals.push(why);
    }
  }
  if (!imported) return { ...result, outcome: 'refused', detail: refusals.join(' | ') };
  const { graph, feeds } = imported;
  result = { ...result, irOps: [...new Set(graph.nodes.map((n) => n.op))].sort() };
  const rows = graph.exportedBatch ?? 1;
  result.rows = rows;
  for (const [n, data] of feeds) {
    const expected = rows * tensorSize(graph.inputs.find((i) => i.name === n)!.shape);
    if (data.length !== expected) return { ...result, outcome: 'crash', detail: `input '${n}' has ${data.length} values, the imported graph takes ${expected}` };
  }
  let ours: Map<string, Float32Array>;
  try {
    ours = runRows(graph, feeds, rows, (row) => runFloat(graph, row));
  } catch (e) {
    return { ...result, outcome: e instanceof TinyM2Error ? 'refused' : 'crash', detail: describeError(e) };
  }
  const limits = resolveLimits();
  for (const [k, vi] of (model.graph!.output ?? []).entries()) {
    const o = graph.outputs.find((g) => g.name === vi.name);
    if (!o) return { ...result, outcome: 'wrong', detail: `output '${vi.name}' is missing` };
    const expected = decodeTensor(set.outputs[k], vi.name ?? '', limits);
    if (typeof expected === 'string') return { ...result, outcome: 'wrong', detail: expected };
    const shape = rows > 1 ? [rows, ...o.shape.slice(1)] : o.shape;
    const eShape = (set.outputs[k].dims ?? []).map(toNumber);
    if (shape.join() !== eShape.join()) return { ...result, outcome: 'wrong', detail: `output '${vi.name}' has shape [${shape}], ONNX expects [${eShape}]` };
    const values = expected.data instanceof BigInt64Array ? Array.from(expected.data, Number) : expected.data;
    const bad = firstMismatch(ours.get(o.name)!, values);
    if (bad) return { ...result, outcome: result.name in KNOWN_DISAGREEMENTS ? 'differs' : 'wrong', detail: `output '${vi.name}' ${bad}` };
  }
  result.outcome = 'pass';
  if (options.quantized) quantizedRuns(graph, feeds, rows, result);
  return result;
}

/**
 * INT8 and INT4: calibrated on the test's own rows, lowered with a uniform plan (weights and every
 * activation at those bits) and run on the integer emulator. Records whether that works (an op's
 * quantized support) and the largest error against the float reference over the output's range: a
 * figure, not a pass mark, since the rows are the calibration set too and a test whose inputs span a
 * wide range (test_softmax_large_number: rows near 0 and near 10,000 in one tensor) loses what a
 * per-tensor scale cannot hold.
 */
function quantizedRuns(graph: Graph, feeds: Map<string, Float32Array>, rows: number, result: NodeTestResult): void {
  const samples: Array<Record<string, Float32Array>> = [];
  for (let r = 0; r < rows; r++) {
    samples.push(Object.fromEntries(graph.inputs.map((i) => {
      const size = tensorSize(i.shape);
      return [i.name, feeds.get(i.name)!.subarray(r * size, (r + 1) * size)];
    })));
  }
  for (const bits of [8, 4] as const) {
    let outcome: QuantOutcome;
    try {
      // INT4: weights, and every activation from the graph inputs on (inputBits), so that ops without weights run at INT4 too.
      const plan = { ...uniform(graph, bits), inputBits: Object.fromEntries(graph.inputs.map((i) => [i.name, bits])) };
      const q = quantizeGraph(graph, calibrateGraph(graph, samples), plan);
      const quantized = runRows(graph, feeds, rows, (row) => runQuantized(graph, q, row));
      const float = runRows(graph, feeds, rows, (row) => runFloat(graph, row));
      let worst = 0;
      for (const [name, f] of float) worst = Math.max(worst, rangeError(quantized.get(name)!, f));
      if (bits === 8) result.int8Error = worst;
      else result.int4Error = worst;
      outcome = 'runs';
    } catch (e) {
      outcome = e instanceof TinyM2Error ? 'refused' : 'crash';
      result.quantDetail ??= `INT${bits}: ${describeError(e)}`;
    }
    if (bits === 8) result.int8 = outcome;
    else result.int4 = outcome;
  }
}

/** max |q - f| over the float output's range over all rows (max - min; its largest magnitude when constant, or 1). */
export function rangeError(q: Float32Array, f: Float32Array): number {
  let lo = Infinity, hi = -Infinity, diff = 0;
  for (let i = 0; i < f.length; i++) {
    lo = Math.min(lo, f[i]);
    hi = Math.max(hi, f[i]);
    diff = Math.max(diff, Math.abs(q[i] - f[i]));
  }
  const range = hi > lo ? hi - lo : Math.max(Math.abs(hi), Math.abs(lo)) || 1;
  return diff / range;
}

/** Every node test: those whose ops tinym2 lists are run, the others only listed. */
export function runNodeTests(dir: string, options: { quantized?: boolean } = {}): NodeTestResult[] {
  const { imported, foldedOnly } = supportedOps();
  const known = new Set([...imported, ...foldedOnly]);
  return listNodeTests(dir).map((name) => {
    const model = onnx.ModelProto.decode(readFileSync(join(dir, 'node', name, 'model.onnx')));
    const ops = [...new Set((model.graph!.node ?? []).map((n) => n.opType ?? ''))].sort();
    const domainOk = (model.graph!.node ?? []).every((n) => !n.domain || n.domain === 'ai.onnx');
    if (!domainOk || !ops.every((op) => known.has(op))) return { name, ops, run: false };
    return runNodeTest(dir, name, options);
  });
}

/** Writes results as JSON (for a look at the details; not committed). */
export function writeResults(file: string, results: NodeTestResult[]): void {
  writeFileSync(file, `${JSON.stringify(results, null, 1)}\n`);
}
