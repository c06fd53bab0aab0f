// MaxPool, AveragePool (1-D / 2-D) and GlobalAveragePool.
import type { GlobalAveragePoolNode, PoolNode } from '../../ir.ts';
import { window2d, type OpImpl, type Window2d } from './op.ts';

/** Visits every output position with the list of valid input offsets (within one channel plane) of its window. */
function forEachWindow(g: Window2d, visit: (outIndexInPlane: number, taps: number[], divisorIncludePad: number) => void): void {
  for (let oy = 0; oy < g.oh; oy++) {
    for (let ox = 0; ox < g.ow; ox++) {
      const taps: number[] = [];
      let padded = 0;
      for (let ky = 0; ky < g.kh; ky++) {
        const iy = oy * g.sh - g.padTop + ky * g.dh;
        const yInPad = iy >= -g.padTop && iy < g.h + g.padBottom;
        for (let kx = 0; kx < g.kw; kx++) {
          const ix = ox * g.sw - g.padLeft + kx * g.dw;
          const xInPad = ix >= -g.padLeft && ix < g.w + g.padRight;
          if (yInPad && xInPad) padded++;
          if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) taps.push(iy * g.w + ix);
        }
      }
      visit(oy * g.ow + ox, taps, padded);
    }
  }
}

function geometry(ctx: { node: PoolNode; inShapes: number[][]; outShape: number[] }): Window2d {
  const n = ctx.node;
  return window2d(ctx.inShapes[0], ctx.outShape, n.kernel, n.strides, n.pads, n.dilations);
}

/** Offset of the first maximum of the window in `ref` (the input, or the frozen reference input), or -1. */
function argmaxTap(ref: Float64Array, base: number, taps: number[]): number {
  let best = -1;
  for (const t of taps) if (best < 0 || ref[base + t] > ref[base + best]) best = t;
  return best;
}

export const maxPool: OpImpl<PoolNode> = {
  forward(ctx, [x]) {
    const g = geometry(ctx);
    const ref = ctx.frozen?.[0] ?? x;
    const y = new Float64Array(g.c * g.oh * g.ow);
    forEachWindow(g, (o, taps) => {
      for (let c = 0; c < g.c; c++) {
        const base = c * g.h * g.w;
        const best = argmaxTap(ref, base, taps);
        y[c * g.oh * g.ow + o] = best >= 0 ? x[base + best] : -Infinity;
      }
    });
    return y;
  },
  backward(ctx, [x], _y, gy) {
    const g = geometry(ctx);
    const ref = ctx.frozen?.[0] ?? x;
    const gx = new Float64Array(x.length);
    forEachWindow(g, (o, taps) => {
      for (let c = 0; c < g.c; c++) {
        const base = c * g.h * g.w;
        // The gradient goes to the first maximum (ties are measure-zero for real data).
        const best = argmaxTap(ref, base, taps);
        if (best >= 0) gx[base + best] += gy[c * g.oh * g.ow + o];
      }
    });
    return { inputs: [gx], params: {} };
  },
};

export const averagePool: OpImpl<PoolNode> = {
  forward(ctx, [x]) {
    const g = geometry(ctx);
    const y = new Float64Array(g.c * g.oh * g.ow);
    forEachWindow(g, (o, taps, padded) => {
      const n = ctx.node.countIncludePad ? padded : taps.length;
      for (let c = 0; c < g.c; c++) {
        const base = c * g.h * g.w;
        let s = 0;
        for (const t of taps) s += x[base + t];
        y[c * g.oh * g.ow + o] = n > 0 ? s / n : 0;
      }
    });
    return y;
  },
  backward(ctx, [x], _y, gy) {
    const g = geometry(ctx);
    const gx = new Float64Array(x.length);
    forEachWindow(g, (o, taps, padded) => {
      const n = ctx.node.countIncludePad ? padded : taps.length;
      if (n === 0) return;
      for (let c = 0; c < g.c; c++) {
        const base = c * g.h * g.w;
        const d = gy[c * g.oh * g.ow + o] / n;
        for (const t of taps) gx[base + t] += d;
      }
    });
    return { inputs: [gx], params: {} };
  },
};

export const globalAveragePool: OpImpl<GlobalAveragePoolNode> = {
  forward(ctx, [x]) {
    const c = ctx.inShapes[0][1];
    const plane = x.length / c;
    const y = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      for (let i = 0; i < plane; i++) s += x[ch * plane + i];
      y[ch] = s / plane;
    }
    return y;
  },
  backward(ctx, [x], _y, gy) {
    const c = ctx.inShapes[0][1];
    const plane = x.length / c;
    const gx = new Float64Array(x.length);
    for (let ch = 0; ch < c; ch++) for (let i = 0; i < plane; i++) gx[ch * plane + i] = gy[ch] / plane;
    return { inputs: [gx], params: {} };
  },
};
