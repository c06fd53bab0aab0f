// PRelu with one slope per channel (runtime-c/src/prelu.c): d = q - inZp; d >= 0 requantizes with
// (posMultiplier, posShift), d < 0 with the channel's (negMultiplier, negShift). A negative slope
// is stored as a negative multiplier and applied as rq(-d, -M, s), so rq only ever sees M >= 0.
import type { QOpBase } from '../quant/qgraph.ts';
import { list, type KernelDef } from './kernel.ts';
import { clamp, encodeMultiplier, requantRaw } from '../quant/fixedpoint.ts';

export interface PreluParams {
  inZp: number;
  outZp: number;
  posMultiplier: number;
  posShift: number;
  /** [C]; negative = negative slope. */
  negMultiplier: Int32Array;
  negShift: Int32Array;
  actMin: number;
  actMax: number;
}

/** The integer parameters for slopes `alpha` (per channel) and the tensors' scales. */
export function preluRequant(alpha: ArrayLike<number>, inScale: number, outScale: number): Pick<PreluParams, 'posMultiplier' | 'posShift' | 'negMultiplier' | 'negShift'> {
  const pos = encodeMultiplier(inScale / outScale, 'PRelu positive multiplier');
  const negMultiplier = new Int32Array(alpha.length), negShift = new Int32Array(alpha.length);
  for (let c = 0; c < alpha.length; c++) {
    const e = encodeMultiplier(Math.abs(alpha[c]) * inScale / outScale, 'PRelu slope multiplier');
    negMultiplier[c] = alpha[c] < 0 ? -e.multiplier : e.multiplier;
    negShift[c] = e.shift;
  }
  return { posMultiplier: pos.multiplier, posShift: pos.shift, negMultiplier, negShift };
}

/** x is [rows][C] in memory order (C = negMultiplier.length). */
export function emulatePrelu(p: PreluParams, x: Int8Array): Int8Array {
  const C = p.negMultiplier.length;
  const out = new Int8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const d = x[i] - p.inZp;
    let v: number;
    if (d >= 0) v = requantRaw(d, p.posMultiplier, p.posShift);
    else {
      const c = i % C, m = p.negMultiplier[c];
      v = m < 0 ? requantRaw(-d, -m, p.negShift[c]) : requantRaw(d, m, p.negShift[c]);
    }
    out[i] = clamp(v + p.outZp, p.actMin, p.actMax);
  }
  return out;
}

// ---- the QGraph op and its KernelDef --------------------------------------------------------

export interface QPreluOp extends QOpBase, Omit<PreluParams, 'inZp' | 'outZp'> {
  op: 'prelu';
}

export const preluKernel: KernelDef<QPreluOp> = {
  emulate: (op, [x], [inT], outT) => emulatePrelu({ ...op, inZp: inT.zeroPoint, outZp: outT.zeroPoint }, x),
  validate(op, [x], out, v) {
    if (x.shape.join() !== out.shape.join()) v.bad('input and output shapes differ');
    if (op.negMultiplier.length !== x.shape[2] || op.negShift.length !== x.shape[2]) v.bad(`${op.negMultiplier.length} slopes for ${x.shape[2]} channels`);
    v.checkRequant({ multiplier: Int32Array.of(op.posMultiplier), shift: Int32Array.of(op.posShift) }, 1, 'positive multiplier');
    v.checkRequant({ multiplier: op.negMultiplier.map(Math.abs), shift: op.negShift }, x.shape[2], 'slope multiplier');
    v.checkClamp(op, out);
  },
  emitC(op, e) {
    const inT = e.q.tensors.get(op.inputs[0])!;
    const m = `${e.prefix}_${e.id}_neg_mult`, s = `${e.prefix}_${e.id}_neg_shift`;
    e.defineArray('int32_t', m, op.negMultiplier, `${op.name}: slope multipliers (Q31; negative = negative slope)`, 8);
    e.defineArray('int32_t', s, op.negShift, `${op.name}: slope shifts`, 16);
    e.param(`static const tm2_prelu_params ${e.id} = {${inT.shape[0] * inT.shape[1]}, ${inT.shape[2]}, ${inT.zeroPoint}, ${e.outT.zeroPoint}, ${op.posMultiplier}, ${op.posShift}, ${m}, ${s}, ${op.actMin}, ${op.actMax}};`);
    e.statement(`${e.comment}\n  tm2_prelu_s8(&${e.id}, ${e.at(op.inputs[0])}, ${e.at(op.output)});`);
  },
  scratchBytes: () => 0,
  inPlace: true,
  runOps: (op, [x], [inT], outT) =>
    `prelu ${[inT.shape[0] * inT.shape[1], inT.shape[2], inT.zeroPoint, outT.zeroPoint, op.posMultiplier, op.posShift, op.actMin, op.actMax].join(' ')} ${list(op.negMultiplier)} ${list(op.negShift)} ${list(x)}`,
};
