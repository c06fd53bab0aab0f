// Constant padding of H and W with the quantized pad value; input and output share parameters.
import type { QOpBase, QTensor } from '../quant/qgraph.ts';
import { list, size, type KernelDef } from './kernel.ts';

/** Constant padding with the quantized pad value. */
export interface QPadOp extends QOpBase {
  op: 'pad';
  pad: [number, number, number, number];
  value: number;
}


/** Constant padding of H and W: [top, left, bottom, right], filled with op.value. */
export function pad(op: QPadOp, x: Int8Array, inT: QTensor, outT: QTensor): Int8Array {
  const out = new Int8Array(size(outT)).fill(op.value);
  const [IH, IW, C] = inT.shape;
  const OW = outT.shape[1];
  for (let ih = 0; ih < IH; ih++) {
    for (let iw = 0; iw < IW; iw++) {
      const src = (ih * IW + iw) * C;
      const dst = ((ih + op.pad[0]) * OW + iw + op.pad[1]) * C;
      out.set(x.subarray(src, src + C), dst);
    }
  }
  return out;
}

export const padKernel: KernelDef<QPadOp> = {
  emulate: (op, [x], [inT], outT) => pad(op, x, inT, outT),
  validate(op, [x], out, v) {
    v.sameParams(x, out);
    const [IH, IW, C] = x.shape;
    const [OH, OW, OC] = out.shape;
    if (OH !== IH + op.pad[0] + op.pad[2] || OW !== IW + op.pad[1] + op.pad[3] || OC !== C) v.bad('output shape does not follow from the padding');
  },
  emitC(op, e) {
    const [h, w, c] = e.q.tensors.get(op.inputs[0])!.shape;
    e.statement(`${e.comment}\n  tm2_pad_s8(${e.at(op.inputs[0])}, ${h}, ${w}, ${c}, ${op.pad.join(', ')}, ${op.value}, ${e.at(op.output)});`);
  },
  scratchBytes: () => 0,
  inPlace: false,
  runOps: (op, [x], [inT]) => `pad ${inT.shape.join(' ')} ${op.pad.join(' ')} ${op.value} ${list(x)}`,
};
