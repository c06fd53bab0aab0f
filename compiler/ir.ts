// tinym2's own intermediate representation of a float model.
//
// The ONNX importer (compiler/onnx/) produces a Graph; everything downstream (float reference,
// inspect, quantization, sensitivity, lowering to kernels) reads it. Semantics follow ONNX:
// activations are NCHW (or NCL for 1-D), batch is always 1 after import (a symbolic batch
// dimension becomes 1), every tensor has a static shape. Ops that only exist to serve
// training (Dropout, Identity) are gone; BatchNormalization is folded into the Conv / Dense
// before it where possible and otherwise kept as a per-channel ScaleShift; Gemm and
// MatMul(+Add) become Dense; Flatten, Squeeze, Unsqueeze and constant-shape Reshape become
// Reshape.
import type { NodeOf } from './ops/op.ts';
import type { OPS } from './ops/registry.ts';

export type DType = 'float32' | 'int64' | 'int32';

export interface TensorInfo {
  name: string;
  shape: number[];
  dtype: DType;
}

/** A constant tensor (initializer or folded Constant). Float data is always Float32Array. */
export interface Constant extends TensorInfo {
  data: Float32Array | BigInt64Array | Int32Array;
}

export interface NodeBase {
  /** Unique node name (ONNX node name, or `<op_type>_<index>` when the file had none). */
  name: string;
  /** ONNX op type(s) this node came from, for messages and inspect (e.g. "Conv+BatchNormalization"). */
  source: string;
  /** Activation inputs first; weights / biases are named by the fields below, not listed here. */
  inputs: string[];
  outputs: string[];
}

// Each op's node type lives with the rest of the op in compiler/ops/<op>.ts; the union is the
// registry's (compiler/ops/registry.ts), so an op is in the IR exactly when it is registered.
export type { ConvNode } from './ops/conv.ts';
export type { DenseNode } from './ops/dense.ts';
export type { ScaleShiftNode } from './ops/scale-shift.ts';
export type { ReluNode } from './ops/relu.ts';
export type { ClipNode } from './ops/clip.ts';
export type { LeakyReluNode } from './ops/leaky-relu.ts';
export type { SigmoidNode } from './ops/sigmoid.ts';
export type { PoolNode } from './ops/pool.ts';
export type { GlobalAveragePoolNode } from './ops/global-average-pool.ts';
export type { PadNode } from './ops/pad.ts';
export type { ReshapeNode } from './ops/reshape.ts';
export type { TransposeNode } from './ops/transpose.ts';
export type { ConcatNode } from './ops/concat.ts';
export type { BinaryNode } from './ops/binary.ts';
export type { SoftmaxNode } from './ops/softmax.ts';

export type Node = NodeOf<(typeof OPS)[keyof typeof OPS]>;

export type OpType = Node['op'];

export interface Graph {
  name: string;
  /** The ONNX file it came from (for messages). */
  file: string;
  opset: number;
  /** One per modality in a multimodal model, in ONNX order. */
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Topologically ordered. */
  nodes: Node[];
  /** Shape and type of every activation tensor (inputs, intermediates, outputs). */
  tensors: Map<string, TensorInfo>;
  /** Weights, biases and other constants by name. */
  constants: Map<string, Constant>;
  /** The batch size the exporter fixed (> 1) when the graph was imported as batch 1 (compiler/onnx/batch.ts). */
  exportedBatch?: number;
  /** What the importer changed that the user should know; commands print them as notes. */
  notes?: string[];
  /** The model's metadata_props (key -> value) as the file had them; e.g. ADMN block declarations (compiler/admn/). */
  metadata?: Record<string, string>;
}

export function tensorSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function constantFloat(graph: Graph, name: string): Float32Array {
  const c = graph.constants.get(name);
  if (!c) throw new Error(`internal: constant ${name} not found in graph ${graph.name}`);
  if (!(c.data instanceof Float32Array)) throw new Error(`internal: constant ${name} is ${c.dtype}, expected float32`);
  return c.data;
}

export function tensorInfo(graph: Graph, name: string): TensorInfo {
  const t = graph.tensors.get(name);
  if (!t) throw new Error(`internal: tensor ${name} not found in graph ${graph.name}`);
  return t;
}
