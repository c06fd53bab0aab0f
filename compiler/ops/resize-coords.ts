// ONNX Resize's coordinate rules (opset 10-19), shared by the float forward (compiler/ops/resize.ts)
// and the integer kernel's source tables (compiler/kernels/resize.ts), so the two read the same
// input positions.

export type ResizeCoordMode = 'half_pixel' | 'pytorch_half_pixel' | 'align_corners' | 'asymmetric' | 'tf_half_pixel_for_nn';
export type ResizeNearestMode = 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil';

export const RESIZE_COORD_MODES: readonly ResizeCoordMode[] = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn'];
export const RESIZE_NEAREST_MODES: readonly ResizeNearestMode[] = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];

/** One spatial axis of a resize: sizes and the scale ONNX uses in its formulas (out / in when given by sizes). */
export interface ResizeAxis {
  inSize: number;
  outSize: number;
  scale: number;
}

/** The input coordinate (real) that output index `o` maps to. */
export function sourceCoordinate(o: number, a: ResizeAxis, mode: ResizeCoordMode): number {
  switch (mode) {
    case 'half_pixel': return (o + 0.5) / a.scale - 0.5;
    case 'pytorch_half_pixel': return a.outSize > 1 ? (o + 0.5) / a.scale - 0.5 : 0;
    case 'align_corners': return a.outSize > 1 ? (o * (a.inSize - 1)) / (a.outSize - 1) : 0;
    case 'asymmetric': return o / a.scale;
    case 'tf_half_pixel_for_nn': return (o + 0.5) / a.scale;
  }
}

/** Nearest mode: the input index for output index o, clamped into [0, inSize). */
export function nearestIndex(o: number, a: ResizeAxis, mode: ResizeCoordMode, rounding: ResizeNearestMode): number {
  const x = sourceCoordinate(o, a, mode);
  let i: number;
  switch (rounding) {
    case 'round_prefer_floor': i = x === Math.floor(x) + 0.5 ? Math.floor(x) : Math.round(x); break;
    case 'round_prefer_ceil': i = Math.round(x); break; // Math.round takes .5 up
    case 'floor': i = Math.floor(x); break;
    case 'ceil': i = Math.ceil(x); break;
  }
  return Math.min(Math.max(i, 0), a.inSize - 1);
}

/** Linear mode: the two input indices and the weight of the second, coordinate clamped into [0, inSize - 1]. */
export function linearTaps(o: number, a: ResizeAxis, mode: ResizeCoordMode): { i0: number; i1: number; w: number } {
  const x = Math.min(Math.max(sourceCoordinate(o, a, mode), 0), a.inSize - 1);
  const i0 = Math.floor(x);
  return { i0, i1: Math.min(i0 + 1, a.inSize - 1), w: x - i0 };
}
