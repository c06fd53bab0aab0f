// Attribute readers shared by several ops' ONNX importers.
import type { ImportContext, SourceNode } from '../onnx/context.ts';

/** numeric_limits<float>::max(): ONNX's Clip bounds when none are given. */
export const FLOAT_MAX = 3.4028234663852886e38;

export const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** strides / dilations / pads of a Conv or pool, with auto_pad resolved against the input shape. */
export function windowAttrs(
  ctx: ImportContext, node: SourceNode, inShape: number[], kernel: number[],
): { strides: number[]; dilations: number[]; pads: number[] } {
  const r = kernel.length;
  const strides = node.attrs.ints('strides') ?? new Array<number>(r).fill(1);
  const dilations = node.attrs.ints('dilations') ?? new Array<number>(r).fill(1);
  let pads = node.attrs.ints('pads') ?? new Array<number>(2 * r).fill(0);
  const autoPad = node.attrs.string('auto_pad', 'NOTSET');
  if (strides.length !== r || dilations.length !== r || pads.length !== 2 * r) {
    ctx.fail(node, `strides [${strides}] / dilations [${dilations}] / pads [${pads}] do not match kernel [${kernel}]`);
  }
  if (strides.some((s) => s < 1) || dilations.some((d) => d < 1)) ctx.fail(node, 'strides and dilations must be >= 1');
  if (kernel.some((k) => k < 1)) ctx.fail(node, `kernel [${kernel}] must be >= 1 in every dimension`);
  if (pads.some((p) => p < 0)) ctx.fail(node, `negative pads [${pads}] (cropping) are not supported`);
  if (autoPad === 'VALID') pads = new Array<number>(2 * r).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = new Array<number>(2 * r).fill(0);
    for (let i = 0; i < r; i++) {
      const inLen = inShape[2 + i];
      const out = Math.ceil(inLen / strides[i]);
      const total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - inLen);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[r + i] = total - pads[i];
    }
  } else if (autoPad !== 'NOTSET') ctx.fail(node, `auto_pad '${autoPad}' is not an ONNX value (NOTSET, SAME_UPPER, SAME_LOWER, VALID)`);
  return { strides, dilations, pads };
}

export function spatialRank(ctx: ImportContext, node: SourceNode, shape: number[]): number {
  const r = shape.length - 2;
  if (r !== 1 && r !== 2) ctx.fail(node, `input shape [${shape}]: tinym2 supports 1-D (N,C,L) and 2-D (N,C,H,W) windows only`);
  return r;
}

export function requireFloat(ctx: ImportContext, node: SourceNode, c: { name: string; dtype: string }, what: string): void {
  if (c.dtype !== 'float32') ctx.fail(node, `the ${what} '${c.name}' is ${c.dtype}; tinym2 expects float32`);
}

/**
 * The operands and kernel of a Conv-like node (Conv, ConvTranspose): the activation X, the float weight
 * W, the optional float bias B, the spatial rank, and kernel_shape (default: W's spatial dims).
 */
export function convOperands(ctx: ImportContext, node: SourceNode) {
  const x = ctx.activation(node, 0);
  const w = ctx.constant(node, 1, 'weight');
  const b = ctx.optionalConstant(node, 2, 'bias');
  requireFloat(ctx, node, w, 'weight');
  if (b) requireFloat(ctx, node, b, 'bias');
  const r = spatialRank(ctx, node, x.shape);
  const kernel = node.attrs.ints('kernel_shape') ?? w.shape.slice(2);
  if (kernel.length !== r) ctx.fail(node, `kernel [${kernel}] does not match a ${r}-D input [${x.shape}]`);
  return { x, w, b, r, kernel };
}
