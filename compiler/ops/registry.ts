// The registry of float IR ops: IR op name -> its OpDef (./op.ts). compiler/ir.ts derives the
// Node union from it, so an op exists in the IR exactly when it has a line here, and tsc
// refuses a line whose module lacks a piece (importer, shape, forward, backward, quant hooks).
import { binary } from './binary.ts';
import { clip } from './clip.ts';
import { concat } from './concat.ts';
import { conv } from './conv.ts';
import { dense } from './dense.ts';
import { globalAveragePool } from './global-average-pool.ts';
import { hardSigmoid } from './hard-sigmoid.ts';
import { hardSwish } from './hard-swish.ts';
import { leakyRelu } from './leaky-relu.ts';
import type { NodeOf, OpDef } from './op.ts';
import { pad } from './pad.ts';
import { averagePool, maxPool } from './pool.ts';
import { relu } from './relu.ts';
import { rnn } from './rnn.ts';
import { reshape } from './reshape.ts';
import { scaleShift } from './scale-shift.ts';
import { sigmoid } from './sigmoid.ts';
import { softmax } from './softmax.ts';
import { slice } from './slice.ts';
import { reduceMax, reduceMean } from './reduce.ts';
import { resize } from './resize.ts';
import { prelu } from './prelu.ts';
import { logSoftmax } from './log-softmax.ts';
import { convTranspose } from './conv-transpose.ts';
import { tanh } from './tanh.ts';
import { transpose } from './transpose.ts';

export const OPS = {
  Conv: conv,
  ScaleShift: scaleShift,
  Relu: relu,
  Sigmoid: sigmoid,
  LeakyRelu: leakyRelu,
  Clip: clip,
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
  Pad: pad,
  Dense: dense,
  Reshape: reshape,
  Transpose: transpose,
  Concat: concat,
  Add: binary,
  Sub: binary,
  Mul: binary,
  Softmax: softmax,
  LSTM: rnn,
  GRU: rnn,
  Slice: slice,
  ReduceMean: reduceMean,
  ReduceMax: reduceMax,
  Resize: resize,
  PRelu: prelu,
  LogSoftmax: logSoftmax,
  ConvTranspose: convTranspose,
  Tanh: tanh,
  HardSigmoid: hardSigmoid,
  HardSwish: hardSwish,
};

type Registry = typeof OPS;
type RegisteredNode = NodeOf<Registry[keyof Registry]>;

/** Every registry key is an `op` of the node its def is for, and every such `op` has a key. */
type KeyProblems =
  | { [K in keyof Registry]: K extends NodeOf<Registry[K]>['op'] ? never : `registry key ${K} is not an op of its OpDef's node` }[keyof Registry]
  | (Exclude<RegisteredNode['op'], keyof Registry> extends never ? never : `op ${Exclude<RegisteredNode['op'], keyof Registry>} has no registry key`);
const registryIsConsistent: [KeyProblems] extends [never] ? true : KeyProblems = true;
void registryIsConsistent;

/** A layer the precision plan gives bits to (OpDef.quant.outputBits 'plan'): it has a weight. */
export type WeightedNode = Extract<RegisteredNode, { weight: string }>;

export function isWeighted(node: RegisteredNode): node is WeightedNode {
  const planned = opDef(node).quant.outputBits === 'plan';
  if (planned && !('weight' in node)) throw new Error(`internal: ${node.op} takes planned bits but has no weight`);
  return planned;
}

/** The OpDef of a node, typed for that node. */
export function opDef<N extends RegisteredNode>(node: N): OpDef<N> {
  return OPS[node.op as keyof Registry] as unknown as OpDef<N>;
}
