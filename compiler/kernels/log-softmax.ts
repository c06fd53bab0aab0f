// Integer LogSoftmax over the last axis (runtime-c/src/log_softmax.c):
//   d = max - q, sum = sum of expTable[d] (Q16; expTable[0] = 65536, so sum >= 2^16),
//   k = floor(log2(sum)), lg = (k - 16) * 65536 + log2Table[(sum >> (k - 8)) - 256]  (Q16 log2(sum / 2^16)),
//   acc = d * dScale + lg,  out = clamp(outZp - rq(acc, M, s))
// with dScale = round(65536 * inScale / ln 2) and real multiplier ln 2 / (65536 * outScale), so
// out * outScale ~ -(d * inScale + ln(sum / 2^16)) = x - max - ln(sum of exp(x - max)).
import { TinyM2Error } from '../errors.ts';
import { clamp, encodeMultiplier, requantRaw } from '../quant/fixedpoint.ts';

export interface LogSoftmaxParams {
  expTable: Uint32Array;
  log2Table: Uint16Array;
  dScale: number;
  multiplier: number;
  shift: number;
  outZp: number;
  actMin: number;
  actMax: number;
}

/** round(65536 * log2(1 + (i + 0.5) / 256)): the midpoint of each mantissa bucket. */
export const LOG2_TABLE: Uint16Array = Uint16Array.from({ length: 256 }, (_, i) => Math.round(65536 * Math.log2(1 + (i + 0.5) / 256)));

/** The same exp table as softmax: round(65536 * exp(-k * inScale)). */
export function expTable(inScale: number): Uint32Array {
  return Uint32Array.from({ length: 256 }, (_, k) => Math.round(65536 * Math.exp(-k * inScale)));
}

/** The integer parameters for a LogSoftmax of `depth` values from inScale to (outScale, outZp). */
export function logSoftmaxParams(inScale: number, outScale: number, outZp: number, depth: number, actMin: number, actMax: number, what: string): LogSoftmaxParams {
  const dScale = Math.round(65536 * inScale / Math.LN2);
  // acc = d * dScale + lg must stay an int32: d <= 255, lg < 65536 * 32.
  if (dScale * 255 + 65536 * 32 >= 2 ** 31) throw new TinyM2Error(`cannot quantize ${what}: its input scale ${inScale} is too large for the integer LogSoftmax`);
  if (depth >= 65536) throw new TinyM2Error(`cannot quantize ${what}: LogSoftmax over ${depth} values (at most 65,535)`);
  const e = encodeMultiplier(Math.LN2 / (65536 * outScale), `${what} output multiplier`);
  return { expTable: expTable(inScale), log2Table: LOG2_TABLE, dScale, multiplier: e.multiplier, shift: e.shift, outZp, actMin, actMax };
}

/** x is [rows][depth]. */
export function emulateLogSoftmax(p: LogSoftmaxParams, x: Int8Array, depth: number): Int8Array {
  const out = new Int8Array(x.length);
  for (let base = 0; base < x.length; base += depth) {
    let max = -128, sum = 0;
    for (let i = 0; i < depth; i++) max = Math.max(max, x[base + i]);
    for (let i = 0; i < depth; i++) sum += p.expTable[max - x[base + i]];
    sum >>>= 0; // uint32 wrap, as in C (the compiler keeps depth * 65536 < 2^32)
    const k = 31 - Math.clz32(sum);
    const lg = (k - 16) * 65536 + p.log2Table[(sum >>> (k - 8)) - 256];
    for (let i = 0; i < depth; i++) {
      const acc = (max - x[base + i]) * p.dScale + lg;
      out[base + i] = clamp(p.outZp - requantRaw(acc, p.multiplier, p.shift), p.actMin, p.actMax);
    }
  }
  return out;
}
