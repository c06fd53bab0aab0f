// Conv (1-D / 2-D, groups, stride, pad, dilation) and Dense: the weighted layers.
import type { ConvNode, DenseNode } from '../../ir.ts';
import { window2d, type OpImpl } from './op.ts';

export const conv: OpImpl<ConvNode> = {
  forward(ctx, [x]) {
    const n = ctx.node;
    const g = window2d(ctx.inShapes[0], ctx.outShape, n.kernel, n.strides, n.pads, n.dilations);
    const w = ctx.param(n.weight);
    const b = n.bias ? ctx.param(n.bias) : null;
    const cinPg = g.c / n.group;
    const coutPg = g.oc / n.group;
    const y = new Float64Array(g.oc * g.oh * g.ow);
    for (let o = 0; o < g.oc; o++) {
      const grp = Math.floor(o / coutPg);
      for (let oy = 0; oy < g.oh; oy++) {
        for (let ox = 0; ox < g.ow; ox++) {
          let acc = b ? b[o] : 0;
          for (let ci = 0; ci < cinPg; ci++) {
            const xc = (grp * cinPg + ci) * g.h * g.w;
            const wc = (o * cinPg + ci) * g.kh * g.kw;
            for (let ky = 0; ky < g.kh; ky++) {
              const iy = oy * g.sh - g.padTop + ky * g.dh;
              if (iy < 0 || iy >= g.h) continue;
              for (let kx = 0; kx < g.kw; kx++) {
                const ix = ox * g.sw - g.padLeft + kx * g.dw;
                if (ix < 0 || ix >= g.w) continue;
                acc += x[xc + iy * g.w + ix] * w[wc + ky * g.kw + kx];
              }
            }
          }
          y[(o * g.oh + oy) * g.ow + ox] = acc;
        }
      }
    }
    return y;
  },
  backward(ctx, [x], _y, gy) {
    const n = ctx.node;
    const g = window2d(ctx.inShapes[0], ctx.outShape, n.kernel, n.strides, n.pads, n.dilations);
    const w = ctx.param(n.weight);
    const cinPg = g.c / n.group;
    const coutPg = g.oc / n.group;
    const gx = new Float64Array(x.length);
    const gw = new Float64Array(w.length);
    const gb = new Float64Array(g.oc);
    for (let o = 0; o < g.oc; o++) {
      const grp = Math.floor(o / coutPg);
      for (let oy = 0; oy < g.oh; oy++) {
        for (let ox = 0; ox < g.ow; ox++) {
          const d = gy[(o * g.oh + oy) * g.ow + ox];
          if (d === 0) continue;
          gb[o] += d;
          for (let ci = 0; ci < cinPg; ci++) {
            const xc = (grp * cinPg + ci) * g.h * g.w;
            const wc = (o * cinPg + ci) * g.kh * g.kw;
            for (let ky = 0; ky < g.kh; ky++) {
              const iy = oy * g.sh - g.padTop + ky * g.dh;
              if (iy < 0 || iy >= g.h) continue;
              for (let kx = 0; kx < g.kw; kx++) {
                const ix = ox * g.sw - g.padLeft + kx * g.dw;
                if (ix < 0 || ix >= g.w) continue;
                const xi = xc + iy * g.w + ix;
                const wi = wc + ky * g.kw + kx;
                gx[xi] += d * w[wi];
                gw[wi] += d * x[xi];
              }
            }
          }
        }
      }
    }
    const params: Record<string, Float64Array> = { [n.weight]: gw };
    if (n.bias) params[n.bias] = gb;
    return { inputs: [gx], params };
  },
};

/** y[r][o] = sum_i x[r][i] W[o][i] + b[o] over every leading row r (Dense acts on the last axis). */
export const dense: OpImpl<DenseNode> = {
  forward(ctx, [x]) {
    const n = ctx.node;
    const w = ctx.param(n.weight);
    const b = n.bias ? ctx.param(n.bias) : null;
    const [out, inn] = ctx.paramShape(n.weight);
    const rows = x.length / inn;
    const y = new Float64Array(rows * out);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < out; o++) {
        let acc = b ? b[o] : 0;
        const wo = o * inn;
        const xr = r * inn;
        for (let i = 0; i < inn; i++) acc += x[xr + i] * w[wo + i];
        y[r * out + o] = acc;
      }
    }
    return y;
  },
  backward(ctx, [x], _y, gy) {
    const n = ctx.node;
    const w = ctx.param(n.weight);
    const [out, inn] = ctx.paramShape(n.weight);
    const rows = x.length / inn;
    const gx = new Float64Array(x.length);
    const gw = new Float64Array(w.length);
    const gb = new Float64Array(out);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < out; o++) {
        const d = gy[r * out + o];
        if (d === 0) continue;
        gb[o] += d;
        const wo = o * inn;
        const xr = r * inn;
        for (let i = 0; i < inn; i++) {
          gx[xr + i] += d * w[wo + i];
          gw[wo + i] += d * x[xr + i];
        }
      }
    }
    const params: Record<string, Float64Array> = { [n.weight]: gw };
    if (n.bias) params[n.bias] = gb;
    return { inputs: [gx], params };
  },
};
