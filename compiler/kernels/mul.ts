// Same-shape elementwise multiply of two activations.
import { clamp, requantRaw } from '../quant/fixedpoint.ts';
import type { Clamp, QOpBase, QTensor, Requant } from '../quant/qgraph.ts';
import { packedIO } from '../quant/act-storage.ts';
import { cInt } from '../codegen/cformat.ts';
import { commentText } from '../codegen/names.ts';
import { list, size, type KernelDef } from './kernel.ts';
import { emitElementwiseS4a } from './packed-act.ts';

/** Same-shape elementwise multiply of two activations. */
export interface QMulOp extends QOpBase, Clamp {
  op: 'mul';
  requant: Requant;
}


/** out = clamp(rq((a - zp_a) * (b - zp_b)) + zp_out). */
export function mul(op: QMulOp, a: Int8Array, b: Int8Array, aT: QTensor, bT: QTensor, outT: QTensor): Int8Array {
  const out = new Int8Array(size(outT));
  const m = op.requant.multiplier[0], s = op.requant.shift[0];
  for (let i = 0; i < out.length; i++) {
    const acc = (a[i] - aT.zeroPoint) * (b[i] - bT.zeroPoint);
    out[i] = clamp(requantRaw(acc, m, s) + outT.zeroPoint, op.actMin, op.actMax);
  }
  return out;
}

export const mulKernel: KernelDef<QMulOp> = {
  emulate: (op, [a, b], [aT, bT], outT) => mul(op, a, b, aT, bT, outT),
  validate(op, [a, b], out, v) {
    if (size(a) !== size(out) || size(b) !== size(out)) v.bad('operands and output differ in size');
    v.checkClamp(op, out);
    v.checkRequant(op.requant, 1, 'requant');
  },
  emitC(op, e) {
    const a = e.q.tensors.get(op.inputs[0])!, b = e.q.tensors.get(op.inputs[1])!;
    const p = [
      `${size(e.outT)}`,
      `${a.zeroPoint}, ${b.zeroPoint}, ${e.outT.zeroPoint}`,
      `${cInt(op.requant.multiplier[0])}, ${op.requant.shift[0]}`,
      `${op.actMin}, ${op.actMax}`,
    ];
    e.param(`/* ${commentText(op.name)}: size, zero points a/b/out, multiplier, shift, clamp */\nstatic const tm2_mul_params ${e.id} = {\n  ${p.join(',\n  ')}\n};`);
    if (emitElementwiseS4a(e, 'TM2_S4A_MUL', `&${e.id}`, op.inputs, op.output, packedIO(e.q, op))) return;
    e.statement(`${e.comment}\n  tm2_mul_s8(&${e.id}, ${e.at(op.inputs[0])}, ${e.at(op.inputs[1])}, ${e.at(op.output)});`);
  },
  scratchBytes: () => 0,
  inPlace: true,
  runOps(op, [a, b], [aT, bT], oT) {
    const head = [aT.zeroPoint, bT.zeroPoint, oT.zeroPoint, op.requant.multiplier[0], op.requant.shift[0], op.actMin, op.actMax];
    return `mul ${head.join(' ')} ${list(a)} ${list(b)}`;
  },
};
