// Integer LogSoftmax over the last axis (runtime-c/src/log_softmax.c):
//   d = max - q, sum = sum of expTable[d] (Q16; expTable[0] = 65536, so sum >= 2^16),
//   k = floor(log2(sum)), lg = (k - 16) * 65536 + log2Table[(sum >> (k - 8)) - 256]  (Q16 log2(sum / 2^16)),
//   acc = d * dScale + lg,  out = clamp(outZp - rq(acc, M, s))
// with dScale = round(65536 * inScale / ln 2) and real multiplier ln 2 / (65536 * outScale), so
// out * outScale ~ -(d * inScale + ln(sum / 2^16)) = x - max - ln(sum of exp(x - max)).
import type { QOpBase } from '../quant/qgraph.ts';
import { list, type KernelDef } from './kernel.ts';
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

// ---- the QGraph op and its KernelDef --------------------------------------------------------

export interface QLogSoftmaxOp extends QOpBase, Omit<LogSoftmaxParams, 'outZp'> {
  op: 'log_softmax';
}

export const logSoftmaxKernel: KernelDef<QLogSoftmaxOp> = {
  emulate: (op, [x], [inT], outT) => emulateLogSoftmax({ ...op, outZp: outT.zeroPoint }, x, inT.shape[2]),
  validate(op, [x], out, v) {
    if (x.shape.join() !== out.shape.join()) v.bad('input and output shapes differ');
    if (op.expTable.length !== 256 || op.log2Table.length !== 256) v.bad('tables must have 256 entries');
    if (op.expTable[0] !== 65536) v.bad('exp table must start at 65536');
    if (op.dScale < 0 || op.dScale * 255 + 65536 * 32 >= 2 ** 31) v.bad(`d_scale ${op.dScale} would overflow the accumulator`);
    if (x.shape[2] >= 65536) v.bad('rows of 65,536 values or more would overflow the sum');
    v.checkRequant({ multiplier: Int32Array.of(op.multiplier), shift: Int32Array.of(op.shift) }, 1, 'output multiplier');
    v.checkClamp(op, out);
  },
  emitC(op, e) {
    const et = `${e.prefix}_${e.id}_exp`, lt = `${e.prefix}_${e.id}_log2`;
    e.defineArray('uint32_t', et, op.expTable, `${op.name}: exp table, round(65536 * exp(-k * input scale))`, 8);
    e.defineArray('uint16_t', lt, op.log2Table, `${op.name}: round(65536 * log2(1 + (i + 0.5) / 256))`, 16);
    e.param(`static const tm2_log_softmax_params ${e.id} = {${e.outT.shape[0] * e.outT.shape[1]}, ${e.outT.shape[2]}, ${et}, ${lt}, ${op.dScale}, ${op.multiplier}, ${op.shift}, ${e.outT.zeroPoint}, ${op.actMin}, ${op.actMax}};`);
    e.statement(`${e.comment}\n  tm2_log_softmax_s8(&${e.id}, ${e.at(op.inputs[0])}, ${e.at(op.output)});`);
  },
  scratchBytes: () => 0,
  inPlace: false,
  runOps: (op, [x], [inT], outT) =>
    `log_softmax ${[inT.shape[0] * inT.shape[1], inT.shape[2], op.dScale, op.multiplier, op.shift, outT.zeroPoint, op.actMin, op.actMax].join(' ')} ${list(op.expTable)} ${list(op.log2Table)} ${list(x)}`,
};
