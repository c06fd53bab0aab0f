// The data protocol shared by the planner benchmarks: sensitivity is measured on rows held out from
// training, and accuracy on other held-out rows. Not every example's calib.npz is held out (av-digits
// and dsa-har calibrate on training rows), so every example splits its test set the same way:
// even rows measure sensitivity, odd rows measure accuracy. calib.npz only gives activation ranges.
import { labelsForEveryHead } from '../compiler/ilp/planner.ts';
import type { Graph } from '../compiler/ir.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { loadDataSet, type DataSet } from '../compiler/quant/evaluate.ts';
import type { ExampleModel } from './example-models.ts';
import { scoredOutput } from '../compiler/sensitivity/plan-accuracy.ts';

export interface HeldOutModel {
  label: string;
  graph: Graph;
  /** Activation ranges (the example's calibration rows). */
  calib: DataSet;
  /** Even test rows: what sensitivity is measured on. */
  sens: DataSet;
  /** Odd test rows: what accuracy is measured on. */
  evaluation: DataSet;
}

/**
 * The rows `keep` selects; at most maxRows of them, evenly spaced (test files are often sorted by class
 * or speaker, so the first N rows would be one class).
 */
function rowsWhere(set: DataSet, keep: (r: number) => boolean, maxRows: number, tag: string): DataSet {
  const all = set.rows.map((_, r) => r).filter(keep);
  const idx = all.length <= maxRows ? all : Array.from({ length: maxRows }, (_, k) => all[Math.floor((k * all.length) / maxRows)]);
  const labels = new Map([...set.labels].map(([k, v]) => [k, Int32Array.from(idx, (r) => v[r])]));
  return { file: `${set.file} (${tag})`, rows: idx.map((r) => set.rows[r]), labels };
}

export function loadHeldOut(model: ExampleModel, maxRows = Infinity): HeldOutModel {
  const graph = loadOnnx(model.onnx);
  const calib = labelsForEveryHead(graph, loadDataSet(graph, model.calib)).set;
  const test = labelsForEveryHead(graph, loadDataSet(graph, model.test)).set;
  return {
    label: model.label,
    graph,
    calib,
    sens: rowsWhere(test, (r) => r % 2 === 0, maxRows, 'even rows'),
    evaluation: rowsWhere(test, (r) => r % 2 === 1, maxRows, 'odd rows'),
  };
}

/** The output whose accuracy a benchmark reports: the one the plan search scores (the last labelled one, the fused head of multi-head models). */
export const reportedOutput = scoredOutput;
