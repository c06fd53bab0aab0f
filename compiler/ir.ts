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

interface NodeBase {
  /** Unique node name (ONNX node name, or `<op_type>_<index>` when the file had none). */
  name: string;
  /** ONNX op type(s) this node came from, for messages and inspect (e.g. "Conv+BatchNormalization"). */
  source: string;
  /** Activation inputs first; weights / biases are named by the fields below, not listed here. */
  inputs: string[];
  outputs: string[];
}

/** Conv 1-D or 2-D. Kernel rank = input rank - 2. Weight [Cout, Cin/group, ...kernel]. */
export interface ConvNode extends NodeBase {
  op: 'Conv';
  weight: string;
  bias?: string;
  kernel: number[];
  strides: number[];
  /** ONNX order: [begin_0, begin_1, ..., end_0, end_1, ...]; auto_pad resolved at import. */
  pads: number[];
  dilations: number[];
  group: number;
}

/** Fully connected: y[o] = sum_i x[i] * W[o][i] + b[o]. Input [1, in] (or [1, ..., in]). */
export interface DenseNode extends NodeBase {
  op: 'Dense';
  /** Weight [out, in] (transposed at import when the source was MatMul or Gemm without transB). */
  weight: string;
  bias?: string;
}

/** Per-channel affine y = x * scale[c] + shift[c] on axis 1: an unfolded BatchNormalization. */
export interface ScaleShiftNode extends NodeBase {
  op: 'ScaleShift';
  scale: string;
  shift: string;
}

export interface ReluNode extends NodeBase { op: 'Relu' }
export interface ClipNode extends NodeBase { op: 'Clip'; min: number; max: number }
export interface LeakyReluNode extends NodeBase { op: 'LeakyRelu'; alpha: number }
export interface SigmoidNode extends NodeBase { op: 'Sigmoid' }

export interface PoolNode extends NodeBase {
  op: 'MaxPool' | 'AveragePool';
  kernel: number[];
  strides: number[];
  pads: number[];
  dilations: number[];
  ceilMode: boolean;
  /** AveragePool only: count padded elements in the divisor. */
  countIncludePad: boolean;
}

export interface GlobalAveragePoolNode extends NodeBase { op: 'GlobalAveragePool' }

/** Constant-mode Pad. pads in ONNX order over all axes: [begin_0.., end_0..]. */
export interface PadNode extends NodeBase { op: 'Pad'; pads: number[]; value: number }

/** Any static reshape (Flatten, Squeeze, Unsqueeze, Reshape): data order unchanged. */
export interface ReshapeNode extends NodeBase { op: 'Reshape'; shape: number[] }
export interface TransposeNode extends NodeBase { op: 'Transpose'; perm: number[] }
export interface ConcatNode extends NodeBase { op: 'Concat'; axis: number }

/**
 * Elementwise binary op with numpy broadcasting. Either operand may be a constant:
 * `constant` names it and `constantIndex` says which side it was on (matters for Sub).
 * With no constant, inputs has two activations.
 */
export interface BinaryNode extends NodeBase {
  op: 'Add' | 'Sub' | 'Mul';
  constant?: string;
  constantIndex?: 0 | 1;
}

export interface SoftmaxNode extends NodeBase { op: 'Softmax'; axis: number }

export type Node =
  | ConvNode
  | DenseNode
  | ScaleShiftNode
  | ReluNode
  | ClipNode
  | LeakyReluNode
  | SigmoidNode
  | PoolNode
  | GlobalAveragePoolNode
  | PadNode
  | ReshapeNode
  | TransposeNode
  | ConcatNode
  | BinaryNode
  | SoftmaxNode;

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
