// Conv forward (1-D and 2-D, any group count), NCHW / NCL, in float64 accumulation.
import { nchw, window2d, type WindowParams } from './window.ts';

export interface ConvParams extends WindowParams {
  group: number;
}

/** y = conv(x, w) + bias. w is [Cout, Cin/group, ...kernel]; outShape from shape inference. */
export function conv(
  x: Float32Array, xShape: readonly number[], w: Float32Array, bias: Float32Array | undefined,
  p: ConvParams, outShape: readonly number[],
): Float32Array {
  const [n, cin, ih, iw] = nchw(xShape);
  const [, cout, oh, ow] = nchw(outShape);
  const k = window2d(p);
  const cinG = cin / p.group, coutG = cout / p.group;
  const y = new Float32Array(n * cout * oh * ow);
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < cout; oc++) {
      const g = Math.floor(oc / coutG);
      const wBase = oc * cinG * k.kh * k.kw;
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          let acc = bias ? bias[oc] : 0;
          for (let ic = 0; ic < cinG; ic++) {
            const xBase = (b * cin + g * cinG + ic) * ih * iw;
            const wc = wBase + ic * k.kh * k.kw;
            for (let ky = 0; ky < k.kh; ky++) {
              const iy = oy * k.sh - k.padTop + ky * k.dh;
              if (iy < 0 || iy >= ih) continue;
              for (let kx = 0; kx < k.kw; kx++) {
                const ix = ox * k.sw - k.padLeft + kx * k.dw;
                if (ix < 0 || ix >= iw) continue;
                acc += x[xBase + iy * iw + ix] * w[wc + ky * k.kw + kx];
              }
            }
          }
          y[((b * cout + oc) * oh + oy) * ow + ox] = acc;
        }
      }
    }
  }
  return y;
}
