// PRelu with one slope per channel (runtime-c/src/prelu.c): d = q - inZp; d >= 0 requantizes with
// (posMultiplier, posShift), d < 0 with the channel's (negMultiplier, negShift). A negative slope
// is stored as a negative multiplier and applied as rq(-d, -M, s), so rq only ever sees M >= 0.
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
