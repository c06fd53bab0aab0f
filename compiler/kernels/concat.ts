// Concatenation along H, W or C; all inputs share the output's scale and zero point. On the
// outermost axis with extent > 1 the arena places each input in its slice (codegen/arena.ts), so
// the generated C copies nothing.
import type { QOpBase, QTensor } from '../quant/qgraph.ts';
import { concatIsContiguous, tensorBytes } from '../codegen/arena.ts';
import { list, size, type KernelDef } from './kernel.ts';

/** Concatenation; all inputs share the output's scale and zero point (the quantizer ensures it). */
export interface QConcatOp extends QOpBase {
  op: 'concat';
  /** Axis in [H, W, C] terms: 0, 1 or 2. */
  axis: 0 | 1 | 2;
}


/** Concatenation along H, W or C (inputs share the output's quantization, so values are copied). */
export function concat(op: QConcatOp, xs: Int8Array[], inTs: QTensor[], outT: QTensor): Int8Array {
  const out = new Int8Array(size(outT));
  const [OH, OW, OC] = outT.shape;
  let offset = 0; // along the concat axis
  for (let k = 0; k < xs.length; k++) {
    const [h, w, c] = inTs[k].shape;
    const x = xs[k];
    for (let ih = 0; ih < h; ih++) {
      for (let iw = 0; iw < w; iw++) {
        for (let ic = 0; ic < c; ic++) {
          const oh = op.axis === 0 ? ih + offset : ih;
          const ow = op.axis === 1 ? iw + offset : iw;
          const oc = op.axis === 2 ? ic + offset : ic;
          out[(oh * OW + ow) * OC + oc] = x[(ih * w + iw) * c + ic];
        }
      }
    }
    offset += inTs[k].shape[op.axis];
  }
  if (offset !== outT.shape[op.axis] || OH * OW * OC !== out.length) throw new Error(`internal: concat ${op.name} shapes do not add up`);
  return out;
}

const inner = (s: readonly number[], axis: number) => s.slice(axis).reduce((a, b) => a * b, 1);

export const concatKernel: KernelDef<QConcatOp> = {
  emulate: (op, xs, inTs, outT) => concat(op, xs, inTs, outT),
  validate(op, ins, out, v) {
    let total = 0;
    for (const t of ins) {
      v.sameParams(t, out);
      total += t.shape[op.axis];
      for (let a = 0; a < 3; a++) if (a !== op.axis && t.shape[a] !== out.shape[a]) v.bad(`input ${t.name} [${t.shape}] does not fit output [${out.shape}] on axis ${a}`);
    }
    if (total !== out.shape[op.axis]) v.bad(`inputs add up to ${total} on axis ${op.axis}, output has ${out.shape[op.axis]}`);
  },
  emitC(op, e) {
    const { q, at } = e;
    const lines: string[] = [];
    if (concatIsContiguous(q, op)) {
      const placed = e.memory.concatInPlace.get(e.index)!;
      let offset = 0;
      op.inputs.forEach((x, k) => {
        const n = tensorBytes(q, x);
        if (!placed[k]) lines.push(`  memcpy(${at(op.output)} + ${offset}, ${at(x)}, ${n});`);
        offset += n;
      });
      if (lines.length === 0) lines.push('  /* every input was produced straight into its slice: nothing to copy */');
    } else {
      const outShape = e.outT.shape;
      const outer = outShape.slice(0, op.axis).reduce((p, d) => p * d, 1);
      const outInner = inner(outShape, op.axis);
      let offset = 0;
      for (const x of op.inputs) {
        const n = inner(q.tensors.get(x)!.shape, op.axis);
        lines.push(`  tm2_concat_copy_s8(${at(x)}, ${outer}, ${n}, ${at(op.output)}, ${outInner}, ${offset});`);
        offset += n;
      }
    }
    e.statement(`${e.comment}\n${lines.join('\n')}`);
  },
  scratchBytes: () => 0,
  inPlace: false,
  runOps(op, xs, inTs, outT) {
    const outer = outT.shape.slice(0, op.axis).reduce((a, b) => a * b, 1);
    return `concat ${outer} ${inner(outT.shape, op.axis)} ${xs.length} ${xs.map((x, k) => `${inner(inTs[k].shape, op.axis)} ${list(x)}`).join(' ')}`;
  },
};
