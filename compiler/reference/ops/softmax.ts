// Softmax over one axis, max-subtracted for stability (as onnxruntime does).

export function softmax(x: Float32Array, xShape: readonly number[], axis: number): Float32Array {
  const n = xShape[axis];
  const inner = xShape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = x.length / (n * inner);
  const y = new Float32Array(x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let m = -Infinity;
      for (let k = 0; k < n; k++) m = Math.max(m, x[base + k * inner]);
      let sum = 0;
      for (let k = 0; k < n; k++) sum += Math.exp(x[base + k * inner] - m);
      for (let k = 0; k < n; k++) y[base + k * inner] = Math.exp(x[base + k * inner] - m) / sum;
    }
  }
  return y;
}
