// Float forward of ONNX Resize (nearest and linear) on the spatial axes of NCHW / NCL, generic over
// float32 and float64 (the reference and the sensitivity engine).
import { linearTaps, nearestIndex, type ResizeAxis, type ResizeCoordMode, type ResizeNearestMode } from './resize-coords.ts';

export interface ResizeAttrs {
  mode: 'nearest' | 'linear';
  coordMode: ResizeCoordMode;
  nearestMode: ResizeNearestMode;
  /** Scale per spatial axis as ONNX's formulas use it. */
  scales: number[];
}

type FloatArray = Float32Array | Float64Array;

/** [N, C, ...spatial] -> [N, C, ...outSpatial]; 1-D signals have one spatial axis. */
export function resizeForward<T extends FloatArray>(x: T, xShape: readonly number[], p: ResizeAttrs, outShape: readonly number[]): T {
  const twoD = xShape.length === 4;
  const [N, C] = xShape;
  const IH = twoD ? xShape[2] : 1, IW = xShape[xShape.length - 1];
  const OH = twoD ? outShape[2] : 1, OW = outShape[outShape.length - 1];
  const ay: ResizeAxis = { inSize: IH, outSize: OH, scale: twoD ? p.scales[0] : 1 };
  const ax: ResizeAxis = { inSize: IW, outSize: OW, scale: p.scales[p.scales.length - 1] };
  const y = new (x.constructor as new (n: number) => T)(N * C * OH * OW);
  const rows = Array.from({ length: OH }, (_, o) => twoD ? linearTaps(o, ay, p.coordMode) : { i0: 0, i1: 0, w: 0 });
  const cols = Array.from({ length: OW }, (_, o) => linearTaps(o, ax, p.coordMode));
  const nRows = Array.from({ length: OH }, (_, o) => twoD ? nearestIndex(o, ay, p.coordMode, p.nearestMode) : 0);
  const nCols = Array.from({ length: OW }, (_, o) => nearestIndex(o, ax, p.coordMode, p.nearestMode));
  let k = 0;
  for (let nc = 0; nc < N * C; nc++) {
    const base = nc * IH * IW;
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        if (p.mode === 'nearest') {
          y[k++] = x[base + nRows[oy] * IW + nCols[ox]];
        } else {
          const r = rows[oy], c = cols[ox];
          const top = x[base + r.i0 * IW + c.i0] * (1 - c.w) + x[base + r.i0 * IW + c.i1] * c.w;
          const bot = x[base + r.i1 * IW + c.i0] * (1 - c.w) + x[base + r.i1 * IW + c.i1] * c.w;
          y[k++] = top * (1 - r.w) + bot * r.w;
        }
      }
    }
  }
  return y;
}
