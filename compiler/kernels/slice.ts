// Strided slice of an [H, W, C] activation: the integer side of ONNX Slice and Split
// (runtime-c/src/slice.c, tm2_slice_s8). Pure data movement: in and out share scale and zero point.
import type { QOpBase } from '../quant/qgraph.ts';
import { list, type KernelDef } from './kernel.ts';

export type Dims3 = [number, number, number];

export interface SliceParams {
  /** First input index per [H, W, C] axis. */
  start: Dims3;
  /** Step per axis (negative walks backwards). */
  step: Dims3;
}

/** out[i0][i1][i2] = in[start[0] + i0*step[0]][start[1] + i1*step[1]][start[2] + i2*step[2]]. */
export function emulateSlice(p: SliceParams, x: Int8Array, inShape: Dims3, outShape: Dims3): Int8Array {
  const [, W, C] = inShape;
  const [O0, O1, O2] = outShape;
  const out = new Int8Array(O0 * O1 * O2);
  let k = 0;
  for (let i0 = 0; i0 < O0; i0++) {
    const plane = (p.start[0] + i0 * p.step[0]) * W * C;
    for (let i1 = 0; i1 < O1; i1++) {
      const row = plane + (p.start[1] + i1 * p.step[1]) * C + p.start[2];
      for (let i2 = 0; i2 < O2; i2++) out[k++] = x[row + i2 * p.step[2]];
    }
  }
  return out;
}

// ---- the QGraph op and its KernelDef --------------------------------------------------------

/** Strided slice of [H, W, C] (ONNX Slice / Split); out shape = the output tensor's. Shares scale and zero point. */
export interface QSliceOp extends QOpBase {
  op: 'slice';
  start: Dims3;
  step: Dims3;
}

export const sliceKernel: KernelDef<QSliceOp> = {
  emulate: (op, [x], [inT], outT) => emulateSlice(op, x, inT.shape, outT.shape),
  validate(op, [x], out, v) {
    v.sameParams(x, out);
    for (let a = 0; a < 3; a++) {
      const last = op.start[a] + (out.shape[a] - 1) * op.step[a];
      if (op.step[a] === 0 || op.start[a] < 0 || op.start[a] >= x.shape[a] || last < 0 || last >= x.shape[a]) v.bad(`axis ${a}: start ${op.start[a]}, step ${op.step[a]}, ${out.shape[a]} elements leave [0, ${x.shape[a]})`);
    }
  },
  emitC(op, e) {
    const inT = e.q.tensors.get(op.inputs[0])!;
    e.param(`static const int32_t ${e.id}_slice[12] = {${[...inT.shape, ...op.start, ...op.step, ...e.outT.shape].join(', ')}}; /* in dims, start, step, out dims */`);
    e.statement(`${e.comment}\n  tm2_slice_s8(${e.at(op.inputs[0])}, ${e.id}_slice, ${e.id}_slice + 3, ${e.id}_slice + 6, ${e.id}_slice + 9, ${e.at(op.output)});`);
  },
  scratchBytes: () => 0,
  inPlace: false,
  runOps: (op, [x], [inT], outT) => `slice ${[...inT.shape, ...op.start, ...op.step, ...outT.shape].join(' ')} ${list(x)}`,
};
