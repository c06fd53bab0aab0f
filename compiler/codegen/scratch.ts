// Work-buffer sizes of the runtime-c kernels, known at compile time so that scratch lives in the
// static arena. Each kernel's figure is its KernelDef's scratchBytes (compiler/kernels/), which
// test/scratch-sizes.test.ts checks equal to runtime-c's tm2_*_scratch_size on random shapes; the
// generated test harness also calls the C functions and fails if a kernel ever asks for more.
// An op that reads or writes packed INT4 activations runs through its s4a entry point, whose
// scratch (compiler/kernels/packed-act.ts) adds the unpacked window to the kernel's own.
import { convS4aScratch, elementwiseS4aScratch, poolS4aScratch } from '../kernels/packed-act.ts';
import { kernelOf } from '../kernels/registry.ts';
import { packedIO } from '../quant/act-storage.ts';
import type { QGraph, QOp } from '../quant/qgraph.ts';

/** Scratch bytes the kernel of `op` needs (0: it takes none). */
export function scratchBytes(q: QGraph, op: QOp): number {
  const ins = op.inputs.map((n) => q.tensors.get(n)!);
  const own = kernelOf(op).scratchBytes(op, ins);
  const io = packedIO(q, op).flags;
  if (!io) return own;
  const outT = q.tensors.get(op.output)!;
  switch (op.op) {
    case 'conv': case 'depthwise': case 'pointwise': case 'dense':
      return convS4aScratch(op, ins[0], outT, own, io);
    case 'maxpool': case 'avgpool':
      return poolS4aScratch(op, ins[0]);
    case 'add': case 'mul': case 'lut':
      return elementwiseS4aScratch(outT.shape[0] * outT.shape[1] * outT.shape[2]);
    case 'gap': case 'reshape': case 'permute': case 'concat':
      return own;
    default:
      throw new Error(`internal: ${op.op} ${op.name} touches a packed tensor but has no packed entry point`);
  }
}
