// Empirical per-layer sensitivity: quantize one layer to 4 bits (every other layer at 8), run the
// integer emulator on held-out rows, and measure what changed against the all-INT8 model.
//
// Why: the second-order Omega of HAWQ-V3 is a model of the loss increase; on the examples it did not
// rank layers by what quantizing them costs in accuracy (compiler/sensitivity/README.md has the
// rank correlations). Measuring the quantized model itself needs no model of the error at all: it
// sees the real rounding, the real requantization and the real activation ranges, on rows the
// network was not trained on (on training rows it is confident and every layer looks harmless).
//
// Two read-outs per layer, both paired differences over the same rows against all-INT8, so the row
// to row variation of the model's own error cancels:
//   - kl:       mean over rows of sum over outputs of KL(float softmax || quantized softmax), minus
//               the same for all-INT8. Continuous, so it ranks layers that flip no decision too.
//   - accuracy: all-INT8 top-1 minus the layer's top-1 (against labels; against the float argmax
//               for outputs without labels), mean over outputs. Coarse: one row is 1/rows.
// Each comes with its standard error over rows. A negative mean (4 bits measured no worse than 8)
// is reported as it is; the planner notes it rather than hiding it.
//
// Layers interact: what one layer's 4 bits cost depends on what the others carry. A layer alone at
// 4 bits in an all-INT8 model is one end of that; `restoreFromInt4` measures the other end, the gain of
// putting that one layer back to 8 bits in an all-INT4 model (W4A4 everywhere, the layer W8A8). The
// `-two-sided` criteria (criteria.ts) average the two per row: the layer's marginal cost at both
// ends of the budget range the planner works in, for twice the emulator runs.
import type { Graph } from '../ir.ts';
import type { LayerInfo } from '../ilp/from-graph.ts';
import type { Calibration } from '../quant/calibrate.ts';
import { argmax, floatOutputs, labelsFor, type DataSet } from '../quant/evaluate.ts';
import { dequantizeOutput } from '../quant/io.ts';
import type { LowerOptions } from '../quant/lower.ts';
import { PlanAccuracy } from './plan-accuracy.ts';
import { uniformPlan, type PrecisionPlan } from '../quant/plan.ts';
import type { Bits } from '../quant/qgraph.ts';
import type { Estimate } from './hutchinson.ts';

export interface EmpiricalLayer {
  name: string;
  /** W4A4 (tied) or W4A8 (untied weights) against all-INT8. */
  weights: { kl: Estimate; accuracyDrop: Estimate };
  /** W8A4 against all-INT8 (untied only). */
  activations?: { kl: Estimate; accuracyDrop: Estimate };
}

export interface EmpiricalResult {
  layers: EmpiricalLayer[];
  rows: number;
  /** All-INT8 figures the differences are taken against. */
  int8: { kl: number; accuracy: number };
  seconds: number;
}

export interface EmpiricalOptions {
  /** Also measure W8A4 per layer (for untied planning): twice the emulator runs. */
  untied?: boolean;
  lowerOptions?: LowerOptions;
  onProgress?: (p: { run: number; runs: number }) => void;
}

export function summarize(samples: number[]): Estimate {
  const n = samples.length;
  const mean = samples.reduce((a, b) => a + b, 0) / Math.max(n, 1);
  let v = 0;
  for (const s of samples) v += (s - mean) * (s - mean);
  return { mean, stdErr: n > 1 ? Math.sqrt(v / (n - 1) / n) : Infinity, samples };
}

function softmax(z: ArrayLike<number>): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < z.length; i++) m = Math.max(m, z[i]);
  const p = new Float64Array(z.length);
  let s = 0;
  for (let i = 0; i < z.length; i++) s += p[i] = Math.exp(z[i] - m);
  for (let i = 0; i < z.length; i++) p[i] /= s;
  return p;
}

/** Per-row KL summed over outputs and per-row correctness averaged over outputs, for one plan. */
function perRow(graph: Graph, emulator: PlanAccuracy, rows: DataSet, plan: PrecisionPlan): { kl: number[]; correct: number[] } {
  const { q, outputs } = emulator.outputValues(plan);
  const floats = floatOutputs(graph, rows);
  const producer = new Map(graph.nodes.map((n) => [n.outputs[0], n.op]));
  const kl: number[] = [];
  const correct: number[] = [];
  rows.rows.forEach((_row, r) => {
    let k = 0;
    let c = 0;
    for (const [j, o] of graph.outputs.entries()) {
      const f = floats[r].get(o.name)!;
      const g = dequantizeOutput(q, q.outputs[j], outputs[j][r]);
      const labels = labelsFor(rows, graph, o.name);
      const truth = labels ? labels[r] : argmax(f);
      c += argmax(g) === truth ? 1 : 0;
      if (f.length < 2) continue;
      // Outputs that are already probabilities (a final Softmax) are used as they are.
      const isProb = producer.get(o.name) === 'Softmax';
      const p = isProb ? Float64Array.from(f) : softmax(f);
      const pq = isProb ? Float64Array.from(g) : softmax(g);
      for (let i = 0; i < p.length; i++) if (p[i] > 0) k += p[i] * (Math.log(p[i]) - Math.log(Math.max(pq[i], 1e-30)));
    }
    kl.push(k);
    correct.push(c / graph.outputs.length);
  });
  return { kl, correct };
}

/** The gain of restoring each layer alone to INT8 in an otherwise all-INT4 (W4A4) model, per row. */
export interface RestoreResult {
  layers: Array<{ name: string; kl: Estimate; accuracyDrop: Estimate }>;
  rows: number;
  seconds: number;
}

const restoreCache = new WeakMap<Graph, WeakMap<DataSet, WeakMap<Calibration, Map<string, RestoreResult>>>>();

export function restoreFromInt4(graph: Graph, layers: LayerInfo[], calibration: Calibration, rows: DataSet, options: EmpiricalOptions = {}): RestoreResult {
  if (rows.rows.length === 0) throw new Error('internal: no sensitivity rows');
  let byRows = restoreCache.get(graph);
  if (!byRows) restoreCache.set(graph, (byRows = new WeakMap()));
  let byCalib = byRows.get(rows);
  if (!byCalib) byRows.set(rows, (byCalib = new WeakMap()));
  let byKey = byCalib.get(calibration);
  if (!byKey) byCalib.set(calibration, (byKey = new Map()));
  const key = JSON.stringify([layers.map((l) => l.name), options.lowerOptions ?? {}]);
  const hit = byKey.get(key);
  if (hit) return hit;
  const t0 = performance.now();
  const names = layers.map((l) => l.name);
  const lower = options.lowerOptions ?? {};
  let run = 0;
  const step = () => options.onProgress?.({ run: ++run, runs: 1 + layers.length });
  const emulator = new PlanAccuracy(graph, calibration, rows, lower, SHARED_OP_BYTES);
  const base = perRow(graph, emulator, rows, uniformPlan(graph.file, names, 4));
  step();
  const out = layers.map((l, i) => {
    const plan = uniformPlan(graph.file, names, 4);
    plan.layers[names[i]] = { weightBits: 8, activationBits: 8 };
    // Gain of 8 bits = base (all-INT4) minus the restored run: paired() reads it as a drop.
    const r = paired(perRow(graph, emulator, rows, plan), base);
    step();
    return { name: l.name, ...r };
  });
  const result = { layers: out, rows: rows.rows.length, seconds: (performance.now() - t0) / 1000 };
  byKey.set(key, result);
  return result;
}

/** What one measurement keeps of the ops its plans share (plan-accuracy.ts); dropped when it ends. */
const SHARED_OP_BYTES = 2 ** 29;

function paired(base: { kl: number[]; correct: number[] }, run: { kl: number[]; correct: number[] }): { kl: Estimate; accuracyDrop: Estimate } {
  return {
    kl: summarize(run.kl.map((k, r) => k - base.kl[r])),
    accuracyDrop: summarize(run.correct.map((c, r) => base.correct[r] - c)),
  };
}

// The kl and accuracy criteria read the same emulator runs: cached per (graph, rows, calibration, options).
const cache = new WeakMap<Graph, WeakMap<DataSet, WeakMap<Calibration, Map<string, EmpiricalResult>>>>();

export function empiricalSensitivity(graph: Graph, layers: LayerInfo[], calibration: Calibration, rows: DataSet, options: EmpiricalOptions = {}): EmpiricalResult {
  if (rows.rows.length === 0) throw new Error('internal: no sensitivity rows');
  let byRows = cache.get(graph);
  if (!byRows) cache.set(graph, (byRows = new WeakMap()));
  let byCalib = byRows.get(rows);
  if (!byCalib) byRows.set(rows, (byCalib = new WeakMap()));
  let byKey = byCalib.get(calibration);
  if (!byKey) byCalib.set(calibration, (byKey = new Map()));
  const key = JSON.stringify([layers.map((l) => l.name), Boolean(options.untied), options.lowerOptions ?? {}]);
  const hit = byKey.get(key);
  if (hit) return hit;
  const result = measure(graph, layers, calibration, rows, options);
  byKey.set(key, result);
  return result;
}

function measure(graph: Graph, layers: LayerInfo[], calibration: Calibration, rows: DataSet, options: EmpiricalOptions): EmpiricalResult {
  const t0 = performance.now();
  const names = layers.map((l) => l.name);
  const lower = options.lowerOptions ?? {};
  const runs = 1 + layers.length * (options.untied ? 2 : 1);
  let run = 0;
  const step = () => options.onProgress?.({ run: ++run, runs });
  const with1 = (i: number, w: Bits, a: Bits): PrecisionPlan => {
    const plan = uniformPlan(graph.file, names, 8);
    plan.layers[names[i]] = { weightBits: w, activationBits: a };
    return plan;
  };
  const emulator = new PlanAccuracy(graph, calibration, rows, lower, SHARED_OP_BYTES);
  const base = perRow(graph, emulator, rows, uniformPlan(graph.file, names, 8));
  step();
  const out: EmpiricalLayer[] = layers.map((l, i) => {
    const weights = paired(base, perRow(graph, emulator, rows, with1(i, 4, options.untied ? 8 : 4)));
    step();
    let activations;
    if (options.untied) {
      activations = paired(base, perRow(graph, emulator, rows, with1(i, 8, 4)));
      step();
    }
    return { name: l.name, weights, activations };
  });
  const n = rows.rows.length;
  return {
    layers: out,
    rows: n,
    int8: { kl: base.kl.reduce((a, b) => a + b, 0) / n, accuracy: base.correct.reduce((a, b) => a + b, 0) / n },
    seconds: (performance.now() - t0) / 1000,
  };
}
