// The registry of quantized kernels: QGraph op kind -> its KernelDef (./kernel.ts). tsc refuses
// it when a kind of QOp (compiler/quant/qgraph.ts) has no line, or a line lacks a piece.
import type { QOp } from '../quant/qgraph.ts';
import { addKernel } from './add.ts';
import { concatKernel } from './concat.ts';
import { convKernels } from './conv.ts';
import { permuteKernel, reshapeKernel } from './copy.ts';
import { gapKernel } from './gap.ts';
import type { KernelDef, OpOfKernel } from './kernel.ts';
import { lutKernel } from './lut.ts';
import { rnnKernel } from './rnn.ts';
import { mulKernel } from './mul.ts';
import { padKernel } from './pad.ts';
import { avgpoolKernel, maxpoolKernel } from './pool.ts';
import { softmaxKernel } from './softmax.ts';
import { sliceKernel } from './slice.ts';
import { reduceMaxKernel, reduceMeanKernel } from './reduce.ts';
import { resizeBilinearKernel, resizeNearestKernel } from './resize.ts';
import { preluKernel } from './prelu.ts';
import { logSoftmaxKernel } from './log-softmax.ts';

export type QOpKind = QOp['op'];

/** The QOp type whose `op` may be K (QConvOp for 'conv', 'depthwise', ...). */
export type QOpOf<K extends QOpKind> = QOp extends infer O ? (O extends { op: infer P } ? (K extends P ? O : never) : never) : never;

type Registry = typeof KERNELS;

/** Every registry key is an `op` of the QOp its def is for, and every such `op` has a key. */
type KeyProblems =
  | { [K in keyof Registry]: K extends OpOfKernel<Registry[K]>['op'] ? never : `kernel key ${K} is not an op of its KernelDef's QOp` }[keyof Registry]
  | (Exclude<QOpKind, keyof Registry> extends never ? never : `QOp kind ${Exclude<QOpKind, keyof Registry>} has no kernel`);
const registryIsConsistent: [KeyProblems] extends [never] ? true : KeyProblems = true;
void registryIsConsistent;

export const KERNELS = {
  ...convKernels,
  maxpool: maxpoolKernel,
  avgpool: avgpoolKernel,
  gap: gapKernel,
  add: addKernel,
  mul: mulKernel,
  lut: lutKernel,
  concat: concatKernel,
  pad: padKernel,
  reshape: reshapeKernel,
  permute: permuteKernel,
  softmax: softmaxKernel,
  lstm: rnnKernel,
  gru: rnnKernel,
  slice: sliceKernel,
  reduce_mean: reduceMeanKernel,
  reduce_max: reduceMaxKernel,
  resize_nearest: resizeNearestKernel,
  resize_bilinear: resizeBilinearKernel,
  prelu: preluKernel,
  log_softmax: logSoftmaxKernel,
};

/** The KernelDef of an op, typed for it. */
export function kernelOf<O extends QOp>(op: O): KernelDef<O> {
  return KERNELS[op.op] as unknown as KernelDef<O>;
}
