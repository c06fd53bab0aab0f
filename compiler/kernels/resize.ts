// Resize on H and W of an [H, W, C] activation (runtime-c/src/resize.c): the source tables the
// compiler passes to the kernel, and the kernel's arithmetic. In and out share scale and zero point.
//   nearest:  out[oy][ox][c] = in[y0[oy]][x0[ox]][c]
//   bilinear: Q10 weights, acc = (1024-wy)*((1024-wx)*d00 + wx*d01) + wy*((1024-wx)*d10 + wx*d11),
//             d = q - zp, out = clamp(zp + ((acc + 2^19) >> 20))
import { clamp } from '../quant/fixedpoint.ts';
import { linearTaps, nearestIndex, type ResizeAxis, type ResizeCoordMode, type ResizeNearestMode } from '../ops/resize-coords.ts';
import type { Dims3 } from './slice.ts';

export const RESIZE_WEIGHT_ONE = 1024;

export interface ResizeTables {
  y0: Int32Array; y1: Int32Array; wy: Int32Array;
  x0: Int32Array; x1: Int32Array; wx: Int32Array;
}

export interface ResizeParams extends ResizeTables {
  mode: 'nearest' | 'bilinear';
  zp: number;
  actMin: number;
  actMax: number;
}

function axisTables(a: ResizeAxis, mode: 'nearest' | 'bilinear', coord: ResizeCoordMode, rounding: ResizeNearestMode): [Int32Array, Int32Array, Int32Array] {
  const i0 = new Int32Array(a.outSize), i1 = new Int32Array(a.outSize), w = new Int32Array(a.outSize);
  for (let o = 0; o < a.outSize; o++) {
    if (mode === 'nearest') {
      i0[o] = i1[o] = nearestIndex(o, a, coord, rounding);
    } else {
      const t = linearTaps(o, a, coord);
      i0[o] = t.i0;
      i1[o] = t.i1;
      w[o] = Math.round(t.w * RESIZE_WEIGHT_ONE);
    }
  }
  return [i0, i1, w];
}

/** The kernel's tables for one resize (H axis ay, W axis ax). */
export function resizeTables(ay: ResizeAxis, ax: ResizeAxis, mode: 'nearest' | 'bilinear', coord: ResizeCoordMode, rounding: ResizeNearestMode): ResizeTables {
  const [y0, y1, wy] = axisTables(ay, mode, coord, rounding);
  const [x0, x1, wx] = axisTables(ax, mode, coord, rounding);
  return { y0, y1, wy, x0, x1, wx };
}

export function emulateResize(p: ResizeParams, x: Int8Array, inShape: Dims3, outShape: Dims3): Int8Array {
  const [, W, C] = inShape;
  const [OH, OW] = outShape;
  const out = new Int8Array(OH * OW * C);
  const zp = p.zp;
  let k = 0;
  for (let oy = 0; oy < OH; oy++) {
    const r0 = p.y0[oy] * W * C, r1 = p.y1[oy] * W * C, wy = p.wy[oy];
    for (let ox = 0; ox < OW; ox++) {
      const a = p.x0[ox] * C, b = p.x1[ox] * C, wx = p.wx[ox];
      for (let c = 0; c < C; c++) {
        if (p.mode === 'nearest') {
          out[k++] = x[r0 + a + c];
          continue;
        }
        const top = (1024 - wx) * (x[r0 + a + c] - zp) + wx * (x[r0 + b + c] - zp);
        const bot = (1024 - wx) * (x[r1 + a + c] - zp) + wx * (x[r1 + b + c] - zp);
        const acc = (1024 - wy) * top + wy * bot;
        out[k++] = clamp(zp + Math.floor((acc + 524288) / 1048576), p.actMin, p.actMax);
      }
    }
  }
  return out;
}
