// Resize on H and W of an [H, W, C] activation (runtime-c/src/resize.c): the source tables the
// compiler passes to the kernel, and the kernel's arithmetic. In and out share scale and zero point.
//   nearest:  out[oy][ox][c] = in[y0[oy]][x0[ox]][c]
//   bilinear: Q10 weights, acc = (1024-wy)*((1024-wx)*d00 + wx*d01) + wy*((1024-wx)*d10 + wx*d11),
//             d = q - zp, out = clamp(zp + ((acc + 2^19) >> 20))
import type { QOpBase } from '../quant/qgraph.ts';
import { list, type KernelDef } from './kernel.ts';
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

// ---- the QGraph op and its KernelDefs -------------------------------------------------------

/** Resize of H and W through source tables (see above); in and out share scale and zero point. */
export interface QResizeOp extends QOpBase, ResizeTables {
  op: 'resize_nearest' | 'resize_bilinear';
  actMin: number;
  actMax: number;
}

function resizeKernel(mode: 'nearest' | 'bilinear'): KernelDef<QResizeOp> {
  return {
    emulate: (op, [x], [inT], outT) => emulateResize({ ...op, mode, zp: inT.zeroPoint }, x, inT.shape, outT.shape),
    validate(op, [x], out, v) {
      v.sameParams(x, out);
      v.checkClamp(op, out);
      if (out.shape[2] !== x.shape[2]) v.bad('resize changes the channel count');
      const rows = [op.y0, op.y1, op.wy], cols = [op.x0, op.x1, op.wx];
      if (rows.some((t) => t.length !== out.shape[0]) || cols.some((t) => t.length !== out.shape[1])) v.bad('source tables do not match the output shape');
      const inRange = (t: Int32Array, n: number) => t.every((i) => i >= 0 && i < n);
      if (!inRange(op.y0, x.shape[0]) || !inRange(op.y1, x.shape[0]) || !inRange(op.x0, x.shape[1]) || !inRange(op.x1, x.shape[1])) v.bad('a source index leaves the input');
      if (![...op.wy, ...op.wx].every((w) => w >= 0 && w <= RESIZE_WEIGHT_ONE)) v.bad('a weight leaves [0, 1024]');
    },
    emitC(op, e) {
      const inT = e.q.tensors.get(op.inputs[0])!;
      const t = (k: keyof ResizeTables) => `${e.prefix}_${e.id}_${k}`;
      const used: Array<keyof ResizeTables> = mode === 'nearest' ? ['y0', 'x0'] : ['y0', 'y1', 'wy', 'x0', 'x1', 'wx'];
      for (const k of used) e.defineArray('int32_t', t(k), op[k], `${op.name}: resize table ${k}`, 16);
      const ref = (k: keyof ResizeTables) => (used.includes(k) ? t(k) : 'NULL');
      e.param(`static const tm2_resize_params ${e.id} = {${inT.shape.join(', ')}, ${e.outT.shape[0]}, ${e.outT.shape[1]}, ${ref('y0')}, ${ref('y1')}, ${ref('wy')}, ${ref('x0')}, ${ref('x1')}, ${ref('wx')}, ${inT.zeroPoint}, ${op.actMin}, ${op.actMax}};`);
      e.statement(`${e.comment}\n  tm2_resize_${mode}_s8(&${e.id}, ${e.at(op.inputs[0])}, ${e.at(op.output)});`);
    },
    scratchBytes: () => 0,
    inPlace: false,
    runOps: (op, [x], [inT], outT) =>
      `resize_${mode} ${[...inT.shape, outT.shape[0], outT.shape[1], inT.zeroPoint, op.actMin, op.actMax].join(' ')} ${[op.y0, op.y1, op.wy, op.x0, op.x1, op.wx].map(list).join(' ')} ${list(x)}`,
  };
}

export const resizeNearestKernel = resizeKernel('nearest');
export const resizeBilinearKernel = resizeKernel('bilinear');
