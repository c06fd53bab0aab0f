// Float forward of ONNX ReduceMean / ReduceMax over any set of axes (keepdims: reduced axes keep
// extent 1; dropping them is a reshape), generic over float32 and float64.
type FloatArray = Float32Array | Float64Array;

/** Output index of every input element (keepdims layout) and the number of values per output. */
function reduceMap(xShape: readonly number[], axes: readonly number[]): { map: Int32Array; n: number; count: number } {
  const reduced = xShape.map((_, a) => axes.includes(a));
  const outShape = xShape.map((d, a) => (reduced[a] ? 1 : d));
  const total = xShape.reduce((a, b) => a * b, 1);
  const map = new Int32Array(total);
  const idx = new Array<number>(xShape.length).fill(0);
  for (let k = 0; k < total; k++) {
    let o = 0;
    for (let a = 0; a < idx.length; a++) o = o * outShape[a] + (reduced[a] ? 0 : idx[a]);
    map[k] = o;
    for (let a = idx.length - 1; a >= 0; a--) {
      if (++idx[a] < xShape[a]) break;
      idx[a] = 0;
    }
  }
  return { map, n: outShape.reduce((a, b) => a * b, 1), count: total / outShape.reduce((a, b) => a * b, 1) };
}

/**
 * Vector-Jacobian product: mean spreads gy / count over each window; max sends gy to the first
 * maximum of each window (taken from `ref`, the frozen reference input when given, else x).
 */
export function reduceBackward(kind: 'mean' | 'max', x: ArrayLike<number>, xShape: readonly number[], axes: readonly number[], gy: Float64Array, ref: ArrayLike<number> = x): Float64Array {
  const { map, n, count } = reduceMap(xShape, axes);
  const gx = new Float64Array(map.length);
  if (kind === 'mean') {
    for (let k = 0; k < map.length; k++) gx[k] = gy[map[k]] / count;
    return gx;
  }
  const best = new Int32Array(n).fill(-1);
  for (let k = 0; k < map.length; k++) if (best[map[k]] < 0 || ref[k] > ref[best[map[k]]]) best[map[k]] = k;
  for (let o = 0; o < n; o++) if (best[o] >= 0) gx[best[o]] += gy[o];
  return gx;
}

export function reduceForward<T extends FloatArray>(kind: 'mean' | 'max', x: T, xShape: readonly number[], axes: readonly number[]): T {
  const reduced = xShape.map((_, a) => axes.includes(a));
  const outShape = xShape.map((d, a) => (reduced[a] ? 1 : d));
  const n = outShape.reduce((a, b) => a * b, 1);
  const count = xShape.reduce((acc, d, a) => acc * (reduced[a] ? d : 1), 1);
  const y = new (x.constructor as new (n: number) => T)(n);
  const acc = new Float64Array(n).fill(kind === 'max' ? -Infinity : 0);
  const idx = new Array<number>(xShape.length).fill(0);
  const total = xShape.reduce((a, b) => a * b, 1);
  for (let k = 0; k < total; k++) {
    let o = 0;
    for (let a = 0; a < idx.length; a++) o = o * outShape[a] + (reduced[a] ? 0 : idx[a]);
    acc[o] = kind === 'max' ? Math.max(acc[o], x[k]) : acc[o] + x[k];
    for (let a = idx.length - 1; a >= 0; a--) {
      if (++idx[a] < xShape[a]) break;
      idx[a] = 0;
    }
  }
  for (let o = 0; o < n; o++) y[o] = kind === 'max' ? acc[o] : acc[o] / count;
  return y;
}
