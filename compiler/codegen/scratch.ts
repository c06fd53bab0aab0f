// Work-buffer sizes of the runtime-c kernels, known at compile time so that scratch lives in the
// static arena. Each kernel's figure is its KernelDef's scratchBytes (compiler/kernels/), which
// test/scratch-sizes.test.ts checks equal to runtime-c's tm2_*_scratch_size on random shapes; the
// generated test harness also calls the C functions and fails if a kernel ever asks for more.
import { kernelOf } from '../kernels/registry.ts';
import type { QGraph, QOp } from '../quant/qgraph.ts';

/** Scratch bytes the kernel of `op` needs (0: it takes none). */
export function scratchBytes(q: QGraph, op: QOp): number {
  return kernelOf(op).scratchBytes(op, op.inputs.map((n) => q.tensors.get(n)!));
}
