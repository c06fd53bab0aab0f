// Same-shape elementwise add (residual), TFLite-style: left shift, two input requants, sum, output requant.
import { clamp, requantRaw } from '../quant/fixedpoint.ts';
import type { Clamp, QOpBase, QTensor, Requant } from '../quant/qgraph.ts';
import { packedIO } from '../quant/act-storage.ts';
import { cInt } from '../codegen/cformat.ts';
import { commentText } from '../codegen/names.ts';
import { list, size, type KernelDef } from './kernel.ts';
import { emitElementwiseS4a } from './packed-act.ts';

/** Same-shape elementwise add (residual), TFLite-style: left shift 20 then three requants. */
export interface QAddOp extends QOpBase, Clamp {
  op: 'add';
  leftShift: number;
  inputRequant: [Requant, Requant];
  outputRequant: Requant;
}


/** TFLite-style add: inputs shifted left by leftShift, rescaled to a common scale, summed, requantized. */
export function add(op: QAddOp, a: Int8Array, b: Int8Array, aT: QTensor, bT: QTensor, outT: QTensor): Int8Array {
  const out = new Int8Array(size(outT));
  const shiftMul = 2 ** op.leftShift;
  const [ra, rb] = op.inputRequant;
  const ma = ra.multiplier[0], sa = ra.shift[0];
  const mb = rb.multiplier[0], sb = rb.shift[0];
  const mo = op.outputRequant.multiplier[0], so = op.outputRequant.shift[0];
  const zpOut = outT.zeroPoint;
  for (let i = 0; i < out.length; i++) {
    const av = (a[i] - aT.zeroPoint) * shiftMul;
    const bv = (b[i] - bT.zeroPoint) * shiftMul;
    const s = requantRaw(av, ma, sa) + requantRaw(bv, mb, sb);
    out[i] = clamp(requantRaw(s, mo, so) + zpOut, op.actMin, op.actMax);
  }
  return out;
}

export const addKernel: KernelDef<QAddOp> = {
  emulate: (op, [a, b], [aT, bT], outT) => add(op, a, b, aT, bT, outT),
  validate(op, [a, b], out, v) {
    if (size(a) !== size(out) || size(b) !== size(out)) v.bad('operands and output differ in size');
    v.checkClamp(op, out);
    v.checkRequant(op.inputRequant[0], 1, 'input a requant');
    v.checkRequant(op.inputRequant[1], 1, 'input b requant');
    v.checkRequant(op.outputRequant, 1, 'output requant');
  },
  emitC(op, e) {
    const a = e.q.tensors.get(op.inputs[0])!, b = e.q.tensors.get(op.inputs[1])!;
    const [ra, rb] = op.inputRequant;
    const p = [
      `${size(e.outT)}`,
      `${a.zeroPoint}, ${b.zeroPoint}, ${e.outT.zeroPoint}`,
      `${op.leftShift}`,
      `${cInt(ra.multiplier[0])}, ${ra.shift[0]}`,
      `${cInt(rb.multiplier[0])}, ${rb.shift[0]}`,
      `${cInt(op.outputRequant.multiplier[0])}, ${op.outputRequant.shift[0]}`,
      `${op.actMin}, ${op.actMax}`,
    ];
    e.param(
      `/* ${commentText(op.name)}: size, zero points a/b/out, left shift, a/b/out multiplier and shift, clamp */\n` +
        `static const tm2_add_params ${e.id} = {\n  ${p.join(',\n  ')}\n};`,
    );
    if (emitElementwiseS4a(e, 'TM2_S4A_ADD', `&${e.id}`, op.inputs, op.output, packedIO(e.q, op))) return;
    e.statement(`${e.comment}\n  tm2_add_s8(&${e.id}, ${e.at(op.inputs[0])}, ${e.at(op.inputs[1])}, ${e.at(op.output)});`);
  },
  scratchBytes: () => 0,
  inPlace: true,
  runOps(op, [a, b], [aT, bT], oT) {
    const [ra, rb] = op.inputRequant, oq = op.outputRequant;
    const head = [aT.zeroPoint, bT.zeroPoint, oT.zeroPoint, op.leftShift, ra.multiplier[0], ra.shift[0], rb.multiplier[0], rb.shift[0], oq.multiplier[0], oq.shift[0], op.actMin, op.actMax];
    return `add ${head.join(' ')} ${list(a)} ${list(b)}`;
  },
};
