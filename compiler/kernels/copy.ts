// Data movement with no arithmetic: reshape (a view when memory order is unchanged; the arena
// usually gives it its input's bytes) and permute (a permutation copy of the [H, W, C] axes).
import type { QOpBase, QTensor } from '../quant/qgraph.ts';
import { tensorBytes } from '../codegen/arena.ts';
import { list, size, type KernelDef } from './kernel.ts';

/**
 * Data movement with no arithmetic: reshape (a view when order is unchanged) or a permutation
 * copy. `perm` permutes the [H, W, C] axes of the input; absent means order is unchanged.
 */
export interface QCopyOp extends QOpBase {
  op: 'reshape' | 'permute';
  perm?: [number, number, number];
}


/**
 * reshape: memory order unchanged (a view; here a copy). permute: numpy-transpose semantics on the
 * [H, W, C] axes: out.shape[i] = in.shape[perm[i]], out[i0, i1, i2] = in[j] with j[perm[i]] = i_i.
 */
export function copy(op: QCopyOp, x: Int8Array, inT: QTensor, outT: QTensor): Int8Array {
  if (op.op === 'reshape' || !op.perm) return x.slice();
  const perm = op.perm;
  const inStrides = [inT.shape[1] * inT.shape[2], inT.shape[2], 1];
  const s0 = inStrides[perm[0]], s1 = inStrides[perm[1]], s2 = inStrides[perm[2]];
  const [D0, D1, D2] = outT.shape;
  const out = new Int8Array(size(outT));
  let i = 0;
  for (let a = 0; a < D0; a++) for (let b = 0; b < D1; b++) for (let c = 0; c < D2; c++) out[i++] = x[a * s0 + b * s1 + c * s2];
  return out;
}

function copyKernel(kind: 'reshape' | 'permute'): KernelDef<QCopyOp> {
  return {
    emulate: (op, [x], [inT], outT) => copy(op, x, inT, outT),
    validate(op, [x], out, v) {
      v.sameParams(x, out);
      if (kind === 'reshape') {
        if (size(x) !== size(out)) v.bad('reshape changes the element count');
        return;
      }
      const p = op.perm ?? [0, 1, 2];
      if ([...p].sort().join() !== '0,1,2' || out.shape.some((d, i) => d !== x.shape[p[i]])) v.bad(`perm [${p}] does not map [${x.shape}] to [${out.shape}]`);
    },
    emitC(op, e) {
      if (op.op === 'permute' && op.perm) {
        const inShape = e.q.tensors.get(op.inputs[0])!.shape;
        e.param(`static const int32_t ${e.id}_dims[3] = {${inShape.join(', ')}}, ${e.id}_perm[3] = {${op.perm.join(', ')}};`);
        e.statement(`${e.comment}\n  tm2_permute_s8(${e.at(op.inputs[0])}, ${e.id}_dims, ${e.id}_perm, ${e.at(op.output)});`);
      } else if (e.at(op.inputs[0]) === e.at(op.output)) {
        e.statement(`${e.comment.replace(' */', ' (a view: same bytes) */')}`);
      } else {
        e.statement(`${e.comment}\n  memcpy(${e.at(op.output)}, ${e.at(op.inputs[0])}, ${tensorBytes(e.q, op.output)});`);
      }
    },
    scratchBytes: () => 0,
    inPlace: false,
    runOps: kind === 'permute' ? (op, [x], [inT]) => `permute ${inT.shape.join(' ')} ${(op.perm ?? [0, 1, 2]).join(' ')} ${list(x)}` : null,
  };
}

export const reshapeKernel = copyKernel('reshape');
export const permuteKernel = copyKernel('permute');
