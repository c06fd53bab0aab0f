// Conv forward (1-D and 2-D, any group count), NCHW / NCL, accumulating in float64.
import { nchw, window2d, type WindowParams } from './window.ts';

export interface ConvParams extends WindowParams {
  group: number;
}

/** First and one-past-last kernel tap whose input position o*s - pad + k*d lies in [0, size). */
function validTaps(o: number, stride: number, pad: number, dilation: number, kernel: number, size: number): [number, number] {
  const start = o * stride - pad;
  const lo = start >= 0 ? 0 : Math.ceil(-start / dilation);
  const hi = Math.min(kernel, Math.floor((size - 1 - start) / dilation) + 1);
  return [lo, Math.max(lo, hi)];
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
  const kSize = k.kh * k.kw;
  const y = new Float32Array(n * cout * oh * ow);
  // Valid kernel ranges depend only on the output position: compute them once.
  const xRanges = Array.from({ length: ow }, (_, ox) => validTaps(ox, k.sw, k.padLeft, k.dw, k.kw, iw));
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < cout; oc++) {
      const g = Math.floor(oc / coutG);
      const wBase = oc * cinG * kSize;
      const xGroup = (b * cin + g * cinG) * ih * iw;
      const init = bias ? bias[oc] : 0;
      for (let oy = 0; oy < oh; oy++) {
        const [ky0, ky1] = validTaps(oy, k.sh, k.padTop, k.dh, k.kh, ih);
        const iy0 = oy * k.sh - k.padTop;
        for (let ox = 0; ox < ow; ox++) {
          const [kx0, kx1] = xRanges[ox];
          const ix0 = ox * k.sw - k.padLeft;
          let acc = init;
          for (let ic = 0; ic < cinG; ic++) {
            const xc = xGroup + ic * ih * iw;
            const wc = wBase + ic * kSize;
            for (let ky = ky0; ky < ky1; ky++) {
              const xr = xc + (iy0 + ky * k.dh) * iw + ix0;
              const wr = wc + ky * k.kw;
              for (let kx = kx0; kx < kx1; kx++) acc += x[xr + kx * k.dw] * w[wr + kx];
            }
          }
          y[((b * cout + oc) * oh + oy) * ow + ox] = acc;
        }
      }
    }
  }
  return y;
}
