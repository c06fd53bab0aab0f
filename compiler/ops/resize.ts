// Float forward and backward of ONNX Resize (nearest and linear) on the spatial axes of NCHW / NCL,
// generic over float32 and float64 (the reference and the sensitivity engine). Each output element
// is a weighted sum of at most four inputs (one for nearest): resizeTaps lists them once for both.
import { linearTaps, nearestIndex, type ResizeAxis, type ResizeCoordMode, type ResizeNearestMode } from './resize-coords.ts';

export interface ResizeAttrs {
  mode: 'nearest' | 'linear';
  coordMode: ResizeCoordMode;
  nearestMode: ResizeNearestMode;
  /** Scale per spatial axis as ONNX's formulas use it. */
  scales: number[];
}

type FloatArray = Float32Array | Float64Array;

interface Tap { offset: number; weight: number }

/** Per output (oy, ox) of one plane: the input offsets within the plane and their weights. */
function resizeTaps(xShape: readonly number[], p: ResizeAttrs, outShape: readonly number[]): { taps: Tap[][]; inPlane: number; outPlane: number; planes: number } {
  const twoD = xShape.length === 4;
  const IH = twoD ? xShape[2] : 1, IW = xShape[xShape.length - 1];
  const OH = twoD ? outShape[2] : 1, OW = outShape[outShape.length - 1];
  const ay: ResizeAxis = { inSize: IH, outSize: OH, scale: twoD ? p.scales[0] : 1 };
  const ax: ResizeAxis = { inSize: IW, outSize: OW, scale: p.scales[p.scales.length - 1] };
  const axis = (a: ResizeAxis, o: number, on: boolean): Array<[number, number]> => {
    if (!on) return [[0, 1]];
    if (p.mode === 'nearest') return [[nearestIndex(o, a, p.coordMode, p.nearestMode), 1]];
    const t = linearTaps(o, a, p.coordMode);
    return [[t.i0, 1 - t.w], [t.i1, t.w]];
  };
  const taps: Tap[][] = [];
  for (let oy = 0; oy < OH; oy++) {
    const ys = axis(ay, oy, twoD);
    for (let ox = 0; ox < OW; ox++) {
      const xs = axis(ax, ox, true);
      taps.push(ys.flatMap(([iy, wy]) => xs.map(([ix, wx]) => ({ offset: iy * IW + ix, weight: wy * wx }))));
    }
  }
  return { taps, inPlane: IH * IW, outPlane: OH * OW, planes: xShape[0] * xShape[1] };
}

/** [N, C, ...spatial] -> [N, C, ...outSpatial]; 1-D signals have one spatial axis. */
export function resizeForward<T extends FloatArray>(x: T, xShape: readonly number[], p: ResizeAttrs, outShape: readonly number[]): T {
  const { taps, inPlane, outPlane, planes } = resizeTaps(xShape, p, outShape);
  const y = new (x.constructor as new (n: number) => T)(planes * outPlane);
  for (let pl = 0; pl < planes; pl++) {
    for (let o = 0; o < outPlane; o++) {
      let v = 0;
      // Bilinear as ONNX computes it: interpolate along W, then along H (the weight products are equal).
      for (const t of taps[o]) v += x[pl * inPlane + t.offset] * t.weight;
      y[pl * outPlane + o] = v;
    }
  }
  return y;
}

/** Vector-Jacobian product: each output's gradient goes back to its taps, weighted. */
export function resizeBackward(xShape: readonly number[], p: ResizeAttrs, outShape: readonly number[], gy: Float64Array): Float64Array {
  const { taps, inPlane, outPlane, planes } = resizeTaps(xShape, p, outShape);
  const gx = new Float64Array(planes * inPlane);
  for (let pl = 0; pl < planes; pl++) {
    for (let o = 0; o < outPlane; o++) for (const t of taps[o]) gx[pl * inPlane + t.offset] += gy[pl * outPlane + o] * t.weight;
  }
  return gx;
}
