// Element-wise forwards: activations, the per-channel ScaleShift and broadcasting binary ops.

export function relu(x: Float32Array): Float32Array {
  return x.map((v) => (v > 0 ? v : 0));
}

export function clip(x: Float32Array, min: number, max: number): Float32Array {
  return x.map((v) => (v < min ? min : v > max ? max : v));
}

export function leakyRelu(x: Float32Array, alpha: number): Float32Array {
  return x.map((v) => (v >= 0 ? v : v * alpha));
}

export function sigmoid(x: Float32Array): Float32Array {
  return x.map((v) => 1 / (1 + Math.exp(-v)));
}

/** y = x * scale[c] + shift[c] with c the index on axis 1. */
export function scaleShift(x: Float32Array, xShape: readonly number[], scale: Float32Array, shift: Float32Array): Float32Array {
  const c = xShape[1];
  const inner = xShape.slice(2).reduce((a, b) => a * b, 1);
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const ch = Math.floor(i / inner) % c;
    y[i] = x[i] * scale[ch] + shift[ch];
  }
  return y;
}

export type BinaryOp = 'Add' | 'Sub' | 'Mul';

const APPLY: Record<BinaryOp, (a: number, b: number) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
};

/** a <op> b with numpy broadcasting to outShape. */
export function binary(
  op: BinaryOp, a: Float32Array, aShape: readonly number[], b: Float32Array, bShape: readonly number[], outShape: readonly number[],
): Float32Array {
  const f = APPLY[op];
  const rank = outShape.length;
  const size = outShape.reduce((p, d) => p * d, 1);
  const y = new Float32Array(size);
  if (a.length === size && b.length === size) {
    for (let i = 0; i < size; i++) y[i] = f(a[i], b[i]);
    return y;
  }
  // Per-axis strides of each operand inside the output (0 where it broadcasts).
  const stridesIn = (shape: readonly number[]): number[] => {
    const s = new Array<number>(rank).fill(0);
    let m = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      s[rank - shape.length + d] = shape[d] === 1 ? 0 : m;
      m *= shape[d];
    }
    return s;
  };
  const sa = stridesIn(aShape), sb = stridesIn(bShape);
  const idx = new Array<number>(rank).fill(0);
  let ia = 0, ib = 0;
  for (let i = 0; i < size; i++) {
    y[i] = f(a[ia], b[ib]);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      ia += sa[d];
      ib += sb[d];
      if (idx[d] < outShape[d]) break;
      ia -= sa[d] * outShape[d];
      ib -= sb[d] * outShape[d];
      idx[d] = 0;
    }
  }
  return y;
}
