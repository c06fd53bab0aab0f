// Work-buffer sizes of the runtime-c kernels, known at compile time so that scratch lives in the
// static arena. These mirror tm2_conv_scratch_size / tm2_pointwise_scratch_size /
// tm2_dense_scratch_size in runtime-c/src (conv.c, pointwise.c, dense.c, tm2_mm.h); the generated
// test harness calls the C functions and fails if a kernel ever asks for more than planned.
import type { QConvOp, QGraph, QOp } from '../quant/qgraph.ts';

/** Bytes of a two-pixel column buffer for k values (tm2_col_pair_bytes). */
function colPairBytes(k: number): number {
  return ((k + 7) >> 3) * 8 * 4;
}

/** Scratch bytes the kernel of `op` needs (0: it takes none). */
export function scratchBytes(q: QGraph, op: QOp): number {
  if (op.op !== 'conv' && op.op !== 'pointwise' && op.op !== 'dense') return 0;
  const conv = op as QConvOp;
  const [h, w, c] = q.tensors.get(conv.inputs[0])!.shape;
  switch (conv.op) {
    case 'conv': {
      // Column pair + one receptive field gathered as bytes (rounded up to words).
      const k = conv.kernel[0] * conv.kernel[1] * (c / conv.groups);
      return colPairBytes(k) + ((k + 3) & ~3);
    }
    case 'pointwise':
      return colPairBytes(c);
    case 'dense': {
      const k = h * w * c;
      return ((k + 7) >> 3) * 4 * 4;
    }
  }
  return 0;
}
