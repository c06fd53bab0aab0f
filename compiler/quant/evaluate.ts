// Calibration and accuracy evaluation over data sets: the float reference vs the integer
// emulator for uniform INT8, uniform INT4 or any precision plan.
import { TinyM2Error } from '../errors.ts';
import type { InputLimits } from '../limits.ts';
import { readNpz } from '../data/npz.ts';
import { LABELS_KEY, loadDataset } from '../data/dataset.ts';
import { tensorSize, type Graph } from '../ir.ts';
import { runFloat } from '../reference/interpreter.ts';
import { RangeObserver, type Calibration, type CalibrationOptions } from './calibrate.ts';
import { emulate } from './emulator.ts';
import { dequantizeOutput, quantizeInputs } from './io.ts';
import { quantizeGraph, type LowerOptions } from './lower.ts';
import { uniformPlan, weightedLayers, type PrecisionPlan } from './plan.ts';
import type { Bits, QGraph } from './qgraph.ts';

/** Rows of a data set: one float sample per row (ONNX layout, batch 1), and labels if present. */
export interface DataSet {
  file: string;
  rows: Array<Record<string, Float32Array>>;
  /** labels[k][row]: one label array per output (a single `labels` key labels every output; `labels_<output>` one). */
  labels: Map<string, Int32Array>;
}

/**
 * Reads a data set npz (compiler/data/dataset.ts checks the arrays against the graph inputs) as
 * rows, plus `labels` and any per-output `labels_<output>` arrays.
 */
export function loadDataSet(graph: Graph, file: string, maxRows = Infinity, limits: Partial<InputLimits> = {}): DataSet {
  const ds = loadDataset(file, graph, limits);
  const n = Math.min(ds.rows, maxRows);
  const rows: DataSet['rows'] = [];
  for (let r = 0; r < n; r++) rows.push(Object.fromEntries(graph.inputs.map((i) => [i.name, ds.inputs[i.name][r]])));
  const labels = new Map<string, Int32Array>();
  if (ds.labels) labels.set(LABELS_KEY, ds.labels.subarray(0, n));
  // Per-output labels are a tinym2 extension the shared reader does not know; one more read of the file.
  const npz = graph.outputs.length > 1 ? readNpz(file, limits) : new Map();
  for (const o of graph.outputs) {
    const a = npz.get(`labels_${o.name}`);
    if (!a) continue;
    const classes = o.shape[o.shape.length - 1] ?? 1;
    if (a.shape.length !== 1 || a.shape[0] < n) throw new TinyM2Error(`${file}: 'labels_${o.name}' must have shape [${ds.rows}], got [${a.shape}]`);
    const values = Int32Array.from({ length: n }, (_, r) => {
      const v = Number(a.data[r]);
      if (!Number.isInteger(v) || v < 0 || v >= classes) throw new TinyM2Error(`${file}: 'labels_${o.name}' row ${r} is ${v}; class indices of output '${o.name}' are 0 to ${classes - 1}`);
      return v;
    });
    labels.set(`labels_${o.name}`, values);
  }
  return { file, rows, labels };
}

/** Activation ranges of every IR tensor over the rows, from the float reference. */
export function calibrateGraph(graph: Graph, rows: DataSet['rows'], options: CalibrationOptions = {}, onRow?: (done: number, total: number) => void): Calibration {
  const obs = new RangeObserver(options);
  rows.forEach((row, r) => {
    onRow?.(r, rows.length);
    const values = runFloat(graph, row, { keepAll: true });
    for (const [name, data] of values) {
      for (let i = 0; i < data.length; i++) {
        if (Number.isFinite(data[i])) continue;
        const producer = graph.nodes.find((n) => n.outputs.includes(name));
        throw new TinyM2Error(
          `${graph.file}: tensor '${name}'${producer ? ` (output of node '${producer.name}', ${producer.source})` : ''} is ${data[i]} on calibration row ${r}: ` +
            'the float model overflows float32 (weights or inputs too large)',
          { details: { tensor: name, node: producer?.name, row: r } },
        );
      }
    }
    obs.observe(values);
    for (const input of graph.inputs) if (input.shape.length >= 3 && input.shape[0] === 1) obs.observeChannels(input.name, row[input.name], input.shape[1]);
  });
  onRow?.(rows.length, rows.length);
  return obs.result();
}

// A planner evaluates many plans on the same graph and sets: calibration and the float outputs
// do not depend on the plan, so they are computed once per (graph, set, options).
const calibrationCache = new WeakMap<Graph, WeakMap<DataSet, Map<string, Calibration>>>();
const floatCache = new WeakMap<Graph, WeakMap<DataSet, Array<Map<string, Float32Array>>>>();

/** calibrateGraph over a data set, cached. */
export function calibrateOnSet(graph: Graph, set: DataSet, options: CalibrationOptions = {}): Calibration {
  let bySet = calibrationCache.get(graph);
  if (!bySet) calibrationCache.set(graph, (bySet = new WeakMap()));
  let byOpts = bySet.get(set);
  if (!byOpts) bySet.set(set, (byOpts = new Map()));
  const key = JSON.stringify(options);
  let calib = byOpts.get(key);
  if (!calib) byOpts.set(key, (calib = calibrateGraph(graph, set.rows, options)));
  return calib;
}

/** Float reference outputs of every row of a set, cached per (graph, set). */
export function floatOutputs(graph: Graph, set: DataSet): Array<Map<string, Float32Array>> {
  let bySet = floatCache.get(graph);
  if (!bySet) floatCache.set(graph, (bySet = new WeakMap()));
  let outs = bySet.get(set);
  if (!outs) bySet.set(set, (outs = set.rows.map((row) => runFloat(graph, row))));
  return outs;
}

export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

/**
 * The labels for one output: `labels_<output>` if the set has it, else `labels` for every output
 * with as many classes as the first output (multi-head models predict the same label from each
 * modality and from the fused features; an output of another size predicts something else).
 */
export function labelsFor(ds: DataSet, graph: Graph, output: string): Int32Array | undefined {
  const own = ds.labels.get(`labels_${output}`);
  if (own) return own;
  const classes = (name: string) => tensorSize(graph.outputs.find((o) => o.name === name)!.shape);
  return classes(output) === classes(graph.outputs[0].name) ? ds.labels.get('labels') : undefined;
}

export interface PlanEvaluation {
  /** Top-1 accuracy per graph output of the quantized model (NaN where the set has no labels for it). */
  accuracyPerOutput: Record<string, number>;
  /** Top-1 accuracy per output of the float reference. */
  floatAccuracyPerOutput: Record<string, number>;
  /** Fraction of rows where the quantized argmax equals the float argmax, per output. */
  agreementWithFloat: Record<string, number>;
  /** Weight storage: INT4 packed, INT8 one byte, + int32 bias + int32 multiplier + int32 shift per channel. */
  weightBytes: number;
  rows: number;
}

/** Weight bytes of a QGraph as the C code stores them. */
export function weightBytes(q: QGraph): number {
  let bytes = 0;
  for (const op of q.ops) {
    if (op.op !== 'conv' && op.op !== 'depthwise' && op.op !== 'pointwise' && op.op !== 'dense') continue;
    bytes += op.weightBits === 4 ? Math.ceil(op.weights.length / 2) : op.weights.length;
    bytes += op.bias.length * 4 + op.requant.multiplier.length * 4 + op.requant.shift.length * 4;
  }
  return bytes;
}

/** Runs the emulator on one float sample and returns the dequantized outputs by ONNX output name. */
export function runQuantized(graph: Graph, q: QGraph, row: Record<string, Float32Array>): Map<string, Float32Array> {
  const values = emulate(q, quantizeInputs(q, row));
  const out = new Map<string, Float32Array>();
  graph.outputs.forEach((o, k) => out.set(o.name, dequantizeOutput(q, q.outputs[k], values.get(q.outputs[k])!)));
  return out;
}

/** Quantizes with `plan` (calibrated on calibSet) and measures accuracy and agreement on testSet. */
export function evaluatePlan(graph: Graph, calibSet: DataSet, testSet: DataSet, plan: PrecisionPlan, options: CalibrationOptions = {}, calibration?: Calibration, lowerOptions: LowerOptions = {}): PlanEvaluation {
  const calib = calibration ?? calibrateOnSet(graph, calibSet, options);
  const q = quantizeGraph(graph, calib, plan, lowerOptions);
  return evaluateQGraph(graph, q, testSet);
}

export function evaluateQGraph(graph: Graph, q: QGraph, testSet: DataSet): PlanEvaluation {
  const names = graph.outputs.map((o) => o.name);
  const correctQ = new Map(names.map((n) => [n, 0]));
  const correctF = new Map(names.map((n) => [n, 0]));
  const agree = new Map(names.map((n) => [n, 0]));
  const floats = floatOutputs(graph, testSet);
  testSet.rows.forEach((row, r) => {
    const fl = floats[r];
    const qo = runQuantized(graph, q, row);
    for (const n of names) {
      const fa = argmax(fl.get(n)!), qa = argmax(qo.get(n)!);
      if (fa === qa) agree.set(n, agree.get(n)! + 1);
      const labels = labelsFor(testSet, graph, n);
      if (labels) {
        if (qa === labels[r]) correctQ.set(n, correctQ.get(n)! + 1);
        if (fa === labels[r]) correctF.set(n, correctF.get(n)! + 1);
      }
    }
  });
  const rows = testSet.rows.length;
  const frac = (m: Map<string, number>, labelled: boolean) =>
    Object.fromEntries(names.map((n) => [n, labelled && !labelsFor(testSet, graph, n) ? NaN : m.get(n)! / rows]));
  return {
    accuracyPerOutput: frac(correctQ, true),
    floatAccuracyPerOutput: frac(correctF, true),
    agreementWithFloat: frac(agree, false),
    weightBytes: weightBytes(q),
    rows,
  };
}

/** Names of the weighted layers (Conv, Dense) a precision plan covers. */
export { weightedLayers };

export function uniform(graph: Graph, bits: Bits): PrecisionPlan {
  return uniformPlan(graph.file, weightedLayers(graph), bits);
}
