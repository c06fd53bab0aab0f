// Float forward of ONNX LogSoftmax on one axis, generic over float32 and float64:
// y = x - max - ln(sum exp(x - max)) over the axis.
type FloatArray = Float32Array | Float64Array;

export function logSoftmaxForward<T extends FloatArray>(x: T, xShape: readonly number[], axis: number): T {
  const a = axis < 0 ? axis + xShape.length : axis;
  const depth = xShape[a];
  const inner = xShape.slice(a + 1).reduce((p, d) => p * d, 1);
  const outer = x.length / (depth * inner);
  const y = new (x.constructor as new (n: number) => T)(x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * depth * inner + i;
      let max = -Infinity, sum = 0;
      for (let k = 0; k < depth; k++) max = Math.max(max, x[base + k * inner]);
      for (let k = 0; k < depth; k++) sum += Math.exp(x[base + k * inner] - max);
      const lse = max + Math.log(sum);
      for (let k = 0; k < depth; k++) y[base + k * inner] = x[base + k * inner] - lse;
    }
  }
  return y;
}

/** Vector-Jacobian product: gx = gy - exp(y) * sum(gy) over the axis. */
export function logSoftmaxBackward(y: ArrayLike<number>, xShape: readonly number[], axis: number, gy: Float64Array): Float64Array {
  const a = axis < 0 ? axis + xShape.length : axis;
  const depth = xShape[a];
  const inner = xShape.slice(a + 1).reduce((p, d) => p * d, 1);
  const outer = y.length / (depth * inner);
  const gx = new Float64Array(y.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * depth * inner + i;
      let s = 0;
      for (let k = 0; k < depth; k++) s += gy[base + k * inner];
      for (let k = 0; k < depth; k++) gx[base + k * inner] = gy[base + k * inner] - Math.exp(y[base + k * inner]) * s;
    }
  }
  return gx;
}
