// Float forward of ONNX Slice (and Split, one slice per output) on any rank, generic over
// float32 and float64. starts / steps are resolved per axis (ONNX clamping done at import):
// out[i] = x[start + i * step] on every axis.
type FloatArray = Float32Array | Float64Array;

export interface SliceAttrs {
  /** Per axis of the input (all axes, resolved): first index and step. */
  starts: number[];
  steps: number[];
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let a = shape.length - 2; a >= 0; a--) s[a] = s[a + 1] * shape[a + 1];
  return s;
}

export function sliceForward<T extends FloatArray>(x: T, xShape: readonly number[], p: SliceAttrs, outShape: readonly number[]): T {
  const n = outShape.reduce((a, b) => a * b, 1);
  const y = new (x.constructor as new (n: number) => T)(n);
  const xs = strides(xShape);
  const idx = new Array<number>(outShape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let src = 0;
    for (let a = 0; a < idx.length; a++) src += (p.starts[a] + idx[a] * p.steps[a]) * xs[a];
    y[k] = x[src];
    for (let a = idx.length - 1; a >= 0; a--) {
      if (++idx[a] < outShape[a]) break;
      idx[a] = 0;
    }
  }
  return y;
}

/**
 * ONNX Slice's index rules for one axis: negative starts / ends count from the end, then clamp
 * (to [0, dim] for a positive step, [-1, dim - 1] for a negative one). Returns the first index and
 * the number of elements taken.
 */
export function resolveSliceAxis(dim: number, start: number, end: number, step: number): { start: number; count: number } {
  if (step === 0) throw new Error('internal: Slice step 0');
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), dim);
    e = Math.min(Math.max(e, 0), dim);
  } else {
    s = Math.min(Math.max(s, -1), dim - 1);
    e = Math.min(Math.max(e, -1), dim - 1);
  }
  const count = Math.max(0, Math.ceil((e - s) / step));
  return { start: s, count };
}

/** Vector-Jacobian product of sliceForward: gy scattered back to the sliced positions. */
export function sliceBackward(gy: Float64Array, xShape: readonly number[], p: SliceAttrs, outShape: readonly number[]): Float64Array {
  const gx = new Float64Array(xShape.reduce((a, b) => a * b, 1));
  const xs = strides(xShape);
  const idx = new Array<number>(outShape.length).fill(0);
  for (let k = 0; k < gy.length; k++) {
    let src = 0;
    for (let a = 0; a < idx.length; a++) src += (p.starts[a] + idx[a] * p.steps[a]) * xs[a];
    gx[src] += gy[k];
    for (let a = idx.length - 1; a >= 0; a--) {
      if (++idx[a] < outShape[a]) break;
      idx[a] = 0;
    }
  }
  return gx;
}
