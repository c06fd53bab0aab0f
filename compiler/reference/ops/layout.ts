// Data-movement forwards: constant Pad, Transpose, Concat. Reshape needs no code (same data).

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** Constant padding; pads in ONNX order [begin_0.., end_0..]. */
export function pad(x: Float32Array, xShape: readonly number[], pads: readonly number[], value: number, outShape: readonly number[]): Float32Array {
  const rank = xShape.length;
  const y = new Float32Array(outShape.reduce((a, b) => a * b, 1)).fill(value);
  const xs = strides(xShape), ys = strides(outShape);
  for (let i = 0; i < x.length; i++) {
    let off = 0;
    for (let d = 0; d < rank; d++) off += (Math.floor(i / xs[d]) % xShape[d] + pads[d]) * ys[d];
    y[off] = x[i];
  }
  return y;
}

export function transpose(x: Float32Array, xShape: readonly number[], perm: readonly number[]): Float32Array {
  const outShape = perm.map((p) => xShape[p]);
  const xs = strides(xShape), ys = strides(outShape);
  const y = new Float32Array(x.length);
  for (let i = 0; i < y.length; i++) {
    let off = 0;
    for (let d = 0; d < perm.length; d++) off += (Math.floor(i / ys[d]) % outShape[d]) * xs[perm[d]];
    y[i] = x[off];
  }
  return y;
}

export function concat(parts: Float32Array[], shapes: readonly (readonly number[])[], axis: number): Float32Array {
  const outer = shapes[0].slice(0, axis).reduce((a, b) => a * b, 1);
  const chunks = shapes.map((s) => s.slice(axis).reduce((a, b) => a * b, 1));
  const y = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (let o = 0; o < outer; o++) {
    parts.forEach((p, k) => {
      y.set(p.subarray(o * chunks[k], (o + 1) * chunks[k]), off);
      off += chunks[k];
    });
  }
  return y;
}
