// Strided slice of an [H, W, C] activation: the integer side of ONNX Slice and Split
// (runtime-c/src/slice.c, tm2_slice_s8). Pure data movement: in and out share scale and zero point.

export type Dims3 = [number, number, number];

export interface SliceParams {
  /** First input index per [H, W, C] axis. */
  start: Dims3;
  /** Step per axis (negative walks backwards). */
  step: Dims3;
}

/** out[i0][i1][i2] = in[start[0] + i0*step[0]][start[1] + i1*step[1]][start[2] + i2*step[2]]. */
export function emulateSlice(p: SliceParams, x: Int8Array, inShape: Dims3, outShape: Dims3): Int8Array {
  const [, W, C] = inShape;
  const [O0, O1, O2] = outShape;
  const out = new Int8Array(O0 * O1 * O2);
  let k = 0;
  for (let i0 = 0; i0 < O0; i0++) {
    const plane = (p.start[0] + i0 * p.step[0]) * W * C;
    for (let i1 = 0; i1 < O1; i1++) {
      const row = plane + (p.start[1] + i1 * p.step[1]) * C + p.start[2];
      for (let i2 = 0; i2 < O2; i2++) out[k++] = x[row + i2 * p.step[2]];
    }
  }
  return out;
}
