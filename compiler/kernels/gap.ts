// Global average pool over H and W; input and output share scale and zero point.
import { activationRange, clamp } from '../quant/fixedpoint.ts';
import type { QOpBase, QTensor } from '../quant/qgraph.ts';
import { packedIO } from '../quant/act-storage.ts';
import { divRound, list, storageRange, type KernelDef } from './kernel.ts';

/** Global average pool over H and W. In and out share scale and zero point. */
export interface QGlobalAvgPoolOp extends QOpBase { op: 'gap' }


/** Average over H and W with n = H * W, same rounding as avgPool. */
export function globalAvgPool(_op: QGlobalAvgPoolOp, x: Int8Array, inT: QTensor, outT: QTensor): Int8Array {
  const [H, W, C] = inT.shape;
  const zp = inT.zeroPoint;
  const [lo, hi] = storageRange(outT);
  const n = H * W;
  const out = new Int8Array(C);
  for (let c = 0; c < C; c++) {
    let acc = 0;
    for (let p = 0; p < n; p++) acc += x[p * C + c] - zp;
    out[c] = clamp(zp + divRound(acc, n), lo, hi);
  }
  return out;
}

export const gapKernel: KernelDef<QGlobalAvgPoolOp> = {
  emulate: (op, [x], [inT], outT) => globalAvgPool(op, x, inT, outT),
  validate(_op, [x], out, v) {
    v.sameParams(x, out);
    if (out.shape[0] !== 1 || out.shape[1] !== 1 || out.shape[2] !== x.shape[2]) v.bad(`global average pool output is [${out.shape}]`);
  },
  emitC(op, e) {
    const [h, w, c] = e.q.tensors.get(op.inputs[0])!.shape;
    const [actMin, actMax] = activationRange(e.outT.bits);
    const io = packedIO(e.q, op).flags;
    if (io) {
      e.statement(`${e.comment}\n  tm2_gap_s4a(${e.at(op.inputs[0])}, ${h}, ${w}, ${c}, ${e.outT.zeroPoint}, ${actMin}, ${actMax}, ${e.at(op.output)}, ${io});`);
      return;
    }
    e.statement(`${e.comment}\n  tm2_gap_s8(${e.at(op.inputs[0])}, ${h}, ${w}, ${c}, ${e.outT.zeroPoint}, ${actMin}, ${actMax}, ${e.at(op.output)});`);
  },
  scratchBytes: () => 0,
  inPlace: false,
  runOps(_op, [x], [inT], outT) {
    const [lo, hi] = activationRange(outT.bits);
    return `gap ${inT.shape.join(' ')} ${inT.zeroPoint} ${lo} ${hi} ${list(x)}`;
  },
};
