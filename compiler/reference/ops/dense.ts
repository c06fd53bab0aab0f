// Fully connected forward on the last axis: y[..., o] = sum_i x[..., i] * W[o][i] + b[o].

export function dense(x: Float32Array, w: Float32Array, wShape: readonly number[], bias: Float32Array | undefined): Float32Array {
  const [out, inp] = wShape;
  const rows = x.length / inp;
  const y = new Float32Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let acc = bias ? bias[o] : 0;
      const wo = o * inp, xr = r * inp;
      for (let i = 0; i < inp; i++) acc += x[xr + i] * w[wo + i];
      y[r * out + o] = acc;
    }
  }
  return y;
}
