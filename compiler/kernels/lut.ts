// Any unary elementwise map as a 256-entry table indexed by q + 128 (sigmoid, tanh, hard-swish, ...).
import type { QOpBase } from '../quant/qgraph.ts';
import { packedIO } from '../quant/act-storage.ts';
import { list, size, type KernelDef } from './kernel.ts';
import { emitElementwiseS4a } from './packed-act.ts';

/** Any unary elementwise map as a 256-entry table indexed by q + 128 (sigmoid, leaky ReLU, ...). */
export interface QLutOp extends QOpBase {
  op: 'lut';
  table: Int8Array;
  /** What the table computes, for messages ("Sigmoid", "LeakyRelu 0.01", ...). */
  what: string;
}


/** out = table[q + 128]. */
export function lut(op: QLutOp, x: Int8Array): Int8Array {
  const out = new Int8Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = op.table[x[i] + 128];
  return out;
}

export const lutKernel: KernelDef<QLutOp> = {
  emulate: (op, [x]) => lut(op, x),
  validate(op, [x], out, v) {
    if (op.table.length !== 256) v.bad(`table has ${op.table.length} entries`);
    if (size(x) !== size(out)) v.bad('input and output differ in size');
  },
  emitC(op, e) {
    e.defineArray('int8_t', `${e.prefix}_${e.id}_table`, op.table, `${op.name}: ${op.what}, table[q + 128]`);
    if (emitElementwiseS4a(e, 'TM2_S4A_LUT', `${e.prefix}_${e.id}_table`, op.inputs, op.output, packedIO(e.q, op))) return;
    e.statement(`${e.comment}\n  tm2_lut_s8(${e.at(op.inputs[0])}, ${e.at(op.output)}, ${size(e.outT)}, ${e.prefix}_${e.id}_table);`);
  },
  scratchBytes: () => 0,
  inPlace: true,
  runOps: (op, [x]) => `lut ${list(op.table)} ${list(x)}`,
};
