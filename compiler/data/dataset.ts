// A dataset for a model: one array per graph input in an .npz (named as the input, batch first)
// and optional integer `labels`. Used by `tinym2 run`, calibration and accuracy checks.
import type { Graph } from '../ir.ts';
import { tensorSize } from '../ir.ts';
import { TinyM2Error } from '../errors.ts';
import type { InputLimits } from '../limits.ts';
import { readNpz, type NpyArray } from './npz.ts';

export interface Dataset {
  rows: number;
  /** Per graph input: one Float32Array per row, in C order of the input's ONNX shape without batch. */
  inputs: Record<string, Float32Array[]>;
  labels?: Int32Array;
}

function toFloat32(a: NpyArray): Float32Array {
  if (a.data instanceof Float32Array) return a.data;
  if (a.data instanceof BigInt64Array) return Float32Array.from(a.data, Number);
  return Float32Array.from(a.data);
}

function toInt32(a: NpyArray): Int32Array {
  if (a.data instanceof Int32Array) return a.data;
  if (a.data instanceof BigInt64Array) return Int32Array.from(a.data, Number);
  return Int32Array.from(a.data);
}

export const LABELS_KEY = 'labels';

export function loadDataset(file: string, graph: Graph, limits: Partial<InputLimits> = {}): Dataset {
  return datasetFromArrays(readNpz(file, limits), file, graph);
}

/** Index of the first NaN or infinity in `a`, or -1. */
function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return i;
  return -1;
}

/**
 * Checks the arrays of an .npz against the graph inputs: shapes, row counts, finite values (a NaN
 * row would reach calibration ranges and C literals), labels whole, non-negative and 32-bit.
 */
export function datasetFromArrays(arrays: Map<string, NpyArray>, file: string, graph: Graph): Dataset {
  let rows: number | undefined;
  let rowsFrom = '';
  const inputs: Record<string, Float32Array[]> = {};
  const keys = [...arrays.keys()].join(', ') || '(none)';
  for (const inp of graph.inputs) {
    const perRow = inp.shape.slice(1);
    const expected = `[rows, ${perRow.join(', ')}]`;
    const a = arrays.get(inp.name);
    if (!a) {
      throw new TinyM2Error(`${file}: no array '${inp.name}' for model input '${inp.name}' (expected shape ${expected}); the file has ${keys}`);
    }
    if (a.shape.length !== inp.shape.length || a.shape.slice(1).join() !== perRow.join()) {
      throw new TinyM2Error(`${file}: array '${inp.name}' has shape [${a.shape.join(', ')}], model input '${inp.name}' needs ${expected}`);
    }
    if (a.dtype === 'bool') throw new TinyM2Error(`${file}: array '${inp.name}' is bool; model input '${inp.name}' needs numbers (float32)`);
    if (rows === undefined) {
      rows = a.shape[0];
      rowsFrom = inp.name;
    } else if (a.shape[0] !== rows) {
      throw new TinyM2Error(`${file}: array '${inp.name}' has ${a.shape[0]} rows but '${rowsFrom}' has ${rows}; every input needs the same number of rows`);
    }
    const data = toFloat32(a);
    const size = tensorSize(perRow);
    const bad = firstNonFinite(data);
    if (bad >= 0) {
      throw new TinyM2Error(`${file}: array '${inp.name}' row ${Math.floor(bad / Math.max(size, 1))} holds ${data[bad]} (element ${bad % Math.max(size, 1)}); data must be finite numbers`);
    }
    inputs[inp.name] = Array.from({ length: a.shape[0] }, (_, r) => data.subarray(r * size, (r + 1) * size));
  }
  const n = rows ?? 0;
  const dataset: Dataset = { rows: n, inputs };
  const labels = arrays.get(LABELS_KEY);
  if (labels) {
    const integer = ['int64', 'int32', 'int16', 'uint16', 'uint8', 'int8'].includes(labels.dtype);
    if (!integer || tensorSize(labels.shape) !== n || labels.shape.length !== 1) {
      throw new TinyM2Error(`${file}: 'labels' must be integer class indices of shape [${n}], got ${labels.dtype} [${labels.shape.join(', ')}]`);
    }
    const values = labels.data instanceof BigInt64Array ? Array.from(labels.data, Number) : Array.from(labels.data);
    const classes = Math.max(...graph.outputs.map((o) => o.shape[o.shape.length - 1] ?? 1));
    values.forEach((v, row) => {
      if (!Number.isInteger(v) || v < 0 || v >= classes) {
        throw new TinyM2Error(`${file}: 'labels' row ${row} is ${v}; class indices must be 0 to ${classes - 1} (the model's widest output has ${classes} classes)`);
      }
    });
    dataset.labels = toInt32(labels);
  }
  return dataset;
}
