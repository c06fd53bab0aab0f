// Float forward of ONNX PRelu with a slope per channel (axis 1) or one slope, generic over
// float32 and float64: y = x >= 0 ? x : slope[c] * x.
type FloatArray = Float32Array | Float64Array;

/** `slope` has C entries (per channel of axis 1) or one. */
export function preluForward<T extends FloatArray>(x: T, xShape: readonly number[], slope: ArrayLike<number>): T {
  const C = xShape.length > 1 ? xShape[1] : 1;
  const inner = xShape.slice(2).reduce((a, b) => a * b, 1);
  const y = new (x.constructor as new (n: number) => T)(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    y[i] = v >= 0 ? v : v * slope[slope.length === 1 ? 0 : Math.floor(i / inner) % C];
  }
  return y;
}

/** Vector-Jacobian product: gx = gy * (x >= 0 ? 1 : slope), gslope[c] = sum of gy * x where x < 0. */
export function preluBackward(x: ArrayLike<number>, xShape: readonly number[], slope: ArrayLike<number>, gy: Float64Array): { gx: Float64Array; gslope: Float64Array } {
  const C = xShape.length > 1 ? xShape[1] : 1;
  const inner = xShape.slice(2).reduce((a, b) => a * b, 1);
  const gx = new Float64Array(x.length), gslope = new Float64Array(slope.length);
  for (let i = 0; i < x.length; i++) {
    const c = slope.length === 1 ? 0 : Math.floor(i / inner) % C;
    if (x[i] >= 0) gx[i] = gy[i];
    else {
      gx[i] = gy[i] * slope[c];
      gslope[c] += gy[i] * x[i];
    }
  }
  return { gx, gslope };
}
