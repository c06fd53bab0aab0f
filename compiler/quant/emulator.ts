// The integer emulator: executes a QGraph with exactly the arithmetic of runtime-c/ARITHMETIC.md,
// so that its outputs are the C kernels' outputs bit for bit. Each QOp kind's arithmetic is its
// KernelDef's emulate (compiler/kernels/); this module runs a graph of them.
//
// All arithmetic is on JS numbers holding integers: accumulators stay far below 2^53, and the
// 64-bit requantization uses the exact split multiply of fixedpoint.ts (see there why not BigInt).
import { kernelOf } from '../kernels/registry.ts';
import type { QGraph, QOp, QTensor } from './qgraph.ts';

export { convFamily } from '../kernels/conv.ts';
export { maxPool, avgPool } from '../kernels/pool.ts';
export { globalAvgPool } from '../kernels/gap.ts';
export { add } from '../kernels/add.ts';
export { mul } from '../kernels/mul.ts';
export { lut } from '../kernels/lut.ts';
export { softmax } from '../kernels/softmax.ts';
export { concat } from '../kernels/concat.ts';
export { pad } from '../kernels/pad.ts';
export { copy } from '../kernels/copy.ts';
export { divRound } from '../kernels/kernel.ts';

/** Tensor values by name; every activation is int8 storage in [H][W][C] order. */
export type QValues = Map<string, Int8Array>;

/** Runs the whole graph. Returns every tensor (inputs, intermediates, outputs) by name. */
export function emulate(q: QGraph, inputs: Record<string, Int8Array>): QValues {
  const values: QValues = new Map();
  for (const name of q.inputs) {
    const data = inputs[name];
    const t = tensorOf(q, name);
    if (!data) throw new Error(`internal: no data for graph input ${name}`);
    if (data.length !== size(t)) throw new Error(`internal: input ${name} has ${data.length} values, expected ${size(t)}`);
    values.set(name, data);
  }
  for (const op of q.ops) values.set(op.output, runOp(q, op, values));
  return values;
}

/** Executes one op given the values of its inputs. */
export function runOp(q: QGraph, op: QOp, values: QValues): Int8Array {
  const ins = op.inputs.map((n) => {
    const v = values.get(n);
    if (!v) throw new Error(`internal: op ${op.name} reads ${n} before it is computed`);
    return v;
  });
  return kernelOf(op).emulate(op, ins, op.inputs.map((n) => tensorOf(q, n)), tensorOf(q, op.output));
}

export function tensorOf(q: QGraph, name: string): QTensor {
  const t = q.tensors.get(name);
  if (!t) throw new Error(`internal: QGraph ${q.name} has no tensor ${name}`);
  return t;
}

function size(t: QTensor): number {
  return t.shape[0] * t.shape[1] * t.shape[2];
}

