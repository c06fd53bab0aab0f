// What one float IR op is made of. Every op of the IR (compiler/ir.ts) has one OpDef in
// ./registry.ts, and tsc refuses the registry when a piece is missing:
// - importers: the ONNX op types that produce it (attributes with their opset defaults);
// - shape: its output shape from its input shapes (the importer checks every node with it);
// - forward: ONE forward, generic over Float32Array (the float reference, compiler/reference/)
//   and Float64Array (the sensitivity engine, compiler/sensitivity/);
// - backward: its vector-Jacobian product (sensitivity);
// - quant: how the quantizer treats it (compiler/quant/lower.ts asks these hooks; so does the
//   ILP planner, compiler/ilp/from-graph.ts, so the two cannot disagree).
import type { Graph, NodeBase } from '../ir.ts';
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import type { Lowering } from '../quant/lower.ts';

/** The float arrays the engines compute in. */
export type FloatArray = Float32Array | Float64Array;

/** Any IR node: the common fields and an `op` tag. */
export type IrNode = NodeBase & { op: string };

export type Importer = (ctx: ImportContext, node: SourceNode) => void;

export interface OpContext<N extends IrNode, A extends FloatArray = FloatArray> {
  node: N;
  /** Shapes of the activation inputs (node.inputs order). */
  inShapes: number[][];
  outShape: number[];
  /** A constant (weights, bias, scale, ...) in the engine's float type, possibly perturbed. */
  param(name: string): A;
  paramShape(name: string): number[];
  /** ONNX opset of the model. */
  opset: number;
  /** A zero-filled array of the engine's float type. */
  alloc(length: number): A;
  /**
   * Inputs of this node in a reference pass (sensitivity only). When present, piecewise ops
   * (ReLU, Clip, LeakyReLU, MaxPool) take their region / argmax from these instead of from their
   * own inputs, so the network is smooth around the reference point (second derivative of ReLU
   * = 0, as autograd's double backward has it). Finite-difference Hessian-vector products then
   * cross no kinks.
   */
  frozen?: A[];
}

export interface OpGradients {
  /** Gradient per activation input, in node.inputs order. */
  inputs: Float64Array[];
  /** Gradient per constant the op reads, by constant name. */
  params: Record<string, Float64Array>;
}

/**
 * Where a node's output bits come from (lower.ts step 2):
 * - 'plan': the precision plan's activation bits of this layer (a weighted layer the ILP plans);
 * - 'inputs': the widest bits of its inputs;
 * - 8: always INT8 (a fixed output encoding such as softmax's).
 */
export type OutputBits = 'plan' | 'inputs' | 8;

export interface QuantHooks<N extends IrNode> {
  outputBits: OutputBits;
  /**
   * Quantization parameters the output shares with its inputs ("share groups" in lower.ts):
   * 'first' with its (first) activation input, 'all' with every input, 'none' its own range.
   */
  share: 'none' | 'first' | 'all';
  /** Fixed output scale and zero point (softmax), or undefined. */
  fixedOutput?: { scale: number; zeroPoint: number };
  /** A Relu / Clip that is the only reader of this node's output folds into its output clamp. */
  fusesClamp(node: N, graph: Graph): boolean;
  /** For Relu / Clip: the real bounds it clamps to when folded into its producer. */
  clampBounds?(node: N): [lo: number, hi: number];
  /** A constant-zero spatial Pad read only by such nodes folds into their padding. */
  absorbsZeroPad?(node: N): boolean;
  /** Emits the node's QGraph op(s) (not called for nodes folded into another). */
  lower(lc: Lowering, node: N): void;
}

export interface OpDef<N extends IrNode> {
  /** ONNX op type -> importer emitting this IR op (several ONNX ops may map to one IR op). */
  importers: Record<string, Importer>;
  /** Output shape from the activation input shapes; throws ShapeError (ops/shape-rules.ts). */
  shape(node: N, inShapes: readonly (readonly number[])[], constants: Graph['constants']): number[];
  forward<A extends FloatArray>(ctx: OpContext<N, A>, xs: A[]): A;
  backward(ctx: OpContext<N, Float64Array>, xs: Float64Array[], y: Float64Array, gy: Float64Array): OpGradients;
  quant: QuantHooks<N>;
  /** Names of the constants the node reads (weights, bias, scale, a constant operand). */
  constants(node: N): string[];
  /** Multiply-accumulates of the float node (inspect, reports); 0 for ops without weights. */
  macs(node: N, graph: Graph): number;
}

const none = (): string[] => [];
const zero = (): number => 0;
/** For ops that read no constants and count no MACs. */
export const NO_WEIGHTS = { constants: none, macs: zero };

/** The IR node type an OpDef is for. */
export type NodeOf<D> = D extends OpDef<infer N> ? N : never;

export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** The node's single activation input, unchanged shape: the shape rule of every elementwise op. */
export function sameShape(_node: IrNode, inShapes: readonly (readonly number[])[]): number[] {
  return [...inShapes[0]];
}
