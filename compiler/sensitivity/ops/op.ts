// The shape of one differentiable op in the sensitivity engine.
//
// The engine runs in float64 (not the float32 of the reference) because Hessian-vector products
// are taken by central differences of gradients: float32 round-off divided by a small step would
// swamp the curvature signal. Every op has a forward and a backward (vector-Jacobian product)
// written directly from its definition in compiler/ir.ts.
import type { Node } from '../../ir.ts';

export interface OpContext<N extends Node = Node> {
  node: N;
  /** Shapes of the activation inputs (node.inputs order). */
  inShapes: number[][];
  outShape: number[];
  /** Float64 copy of a constant (weights, bias, scale, ...), possibly perturbed. */
  param(name: string): Float64Array;
  paramShape(name: string): number[];
  /** ONNX opset of the model (Softmax semantics changed at 13). */
  opset: number;
  /**
   * Inputs of this node in a reference pass. When present, piecewise ops (ReLU, Clip, LeakyReLU,
   * MaxPool) take their region / argmax from these instead of from their own inputs, so the
   * network is smooth around the reference point (second derivative of ReLU = 0, as autograd's
   * double backward has it). Finite-difference Hessian-vector products then cross no kinks.
   */
  frozen?: Float64Array[];
}

export interface OpGradients {
  /** Gradient per activation input, in node.inputs order. */
  inputs: Float64Array[];
  /** Gradient per constant the op reads, by constant name. */
  params: Record<string, Float64Array>;
}

export interface OpImpl<N extends Node = Node> {
  forward(ctx: OpContext<N>, xs: Float64Array[]): Float64Array;
  backward(ctx: OpContext<N>, xs: Float64Array[], y: Float64Array, gy: Float64Array): OpGradients;
}

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

/**
 * Spatial geometry of a 1-D or 2-D window op (Conv, pools) as 2-D: a 1-D op is H = 1.
 * Input [1, C, H, W] / [1, C, L]; ONNX pads [begin..., end...].
 */
export interface Window2d {
  c: number;
  h: number;
  w: number;
  oc: number;
  oh: number;
  ow: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
  dh: number;
  dw: number;
}

export function window2d(
  inShape: number[],
  outShape: number[],
  kernel: number[],
  stride: number[],
  pads: number[],
  dilations: number[],
): Window2d {
  if (inShape.length === 3) {
    return {
      c: inShape[1], h: 1, w: inShape[2], oc: outShape[1], oh: 1, ow: outShape[2],
      kh: 1, kw: kernel[0], sh: 1, sw: stride[0] ?? 1,
      padTop: 0, padLeft: pads[0] ?? 0, padBottom: 0, padRight: pads[1] ?? 0,
      dh: 1, dw: dilations[0] ?? 1,
    };
  }
  if (inShape.length !== 4) throw new Error(`internal: window op on rank-${inShape.length} input`);
  return {
    c: inShape[1], h: inShape[2], w: inShape[3], oc: outShape[1], oh: outShape[2], ow: outShape[3],
    kh: kernel[0], kw: kernel[1], sh: stride[0] ?? 1, sw: stride[1] ?? 1,
    padTop: pads[0] ?? 0, padLeft: pads[1] ?? 0, padBottom: pads[2] ?? 0, padRight: pads[3] ?? 0,
    dh: dilations[0] ?? 1, dw: dilations[1] ?? 1,
  };
}
