// Integer softmax over the innermost axis (C) for every (h, w), with a 256-entry exp table.
import { clamp } from '../quant/fixedpoint.ts';
import type { QOpBase, QTensor } from '../quant/qgraph.ts';
import { list, size, type KernelDef } from './kernel.ts';

/**
 * Integer softmax over the last axis: exp table of 256 uint32 entries,
 * table[k] = round(65536 * exp(-k * inputScale)); output scale 1/256, zero point -128.
 */
export interface QSoftmaxOp extends QOpBase {
  op: 'softmax';
  expTable: Uint32Array;
}


/**
 * Softmax over C for every (h, w): d = max - q, e = expTable[d], sum = sum of e,
 * out = clamp(floor((e * 256 + floor(sum / 2)) / sum) - 128, -128, 127), all unsigned 32-bit.
 */
export function softmax(op: QSoftmaxOp, x: Int8Array, inT: QTensor, _outT: QTensor): Int8Array {
  const C = inT.shape[2];
  const out = new Int8Array(x.length);
  const e = new Uint32Array(C);
  for (let base = 0; base < x.length; base += C) {
    let max = -128;
    for (let c = 0; c < C; c++) if (x[base + c] > max) max = x[base + c];
    let sum = 0;
    for (let c = 0; c < C; c++) {
      e[c] = op.expTable[max - x[base + c]];
      sum = (sum + e[c]) >>> 0;
    }
    const half = Math.floor(sum / 2);
    for (let c = 0; c < C; c++) {
      const v = Math.floor(((e[c] * 256 + half) >>> 0) / sum) - 128;
      out[base + c] = clamp(v, -128, 127);
    }
  }
  return out;
}

export const softmaxKernel: KernelDef<QSoftmaxOp> = {
  emulate: (op, [x], [inT], outT) => softmax(op, x, inT, outT),
  validate(op, [x], out, v) {
    if (op.expTable.length !== 256) v.bad(`exp table has ${op.expTable.length} entries`);
    if (out.scale !== 1 / 256 || out.zeroPoint !== -128) v.bad(`output must have scale 1/256 and zero point -128`);
    if (size(x) !== size(out) || out.shape[2] !== x.shape[2]) v.bad('input and output shapes differ');
  },
  emitC(op, e) {
    e.defineArray('uint32_t', `${e.prefix}_${e.id}_exp`, op.expTable, `${op.name}: exp table, round(65536 * exp(-k * input scale))`, 8);
    e.statement(`${e.comment}\n  tm2_softmax_s8(${e.at(op.inputs[0])}, ${e.at(op.output)}, ${e.outT.shape[0] * e.outT.shape[1]}, ${e.outT.shape[2]}, ${e.prefix}_${e.id}_exp);`);
  },
  scratchBytes: () => 0,
  inPlace: false,
  runOps: (op, [x], [inT]) => `softmax ${inT.shape[0] * inT.shape[1]} ${inT.shape[2]} ${list(op.expTable)} ${list(x)}`,
};
