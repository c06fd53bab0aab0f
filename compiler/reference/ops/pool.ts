// MaxPool, AveragePool (ceil_mode, count_include_pad) and GlobalAveragePool forwards, NCHW / NCL.
import { nchw, window2d, type WindowParams } from './window.ts';

export function maxPool(x: Float32Array, xShape: readonly number[], p: WindowParams, outShape: readonly number[]): Float32Array {
  const [n, c, ih, iw] = nchw(xShape);
  const [, , oh, ow] = nchw(outShape);
  const k = window2d(p);
  const y = new Float32Array(n * c * oh * ow);
  for (let plane = 0; plane < n * c; plane++) {
    const xBase = plane * ih * iw;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let m = -Infinity;
        for (let ky = 0; ky < k.kh; ky++) {
          const iy = oy * k.sh - k.padTop + ky * k.dh;
          if (iy < 0 || iy >= ih) continue;
          for (let kx = 0; kx < k.kw; kx++) {
            const ix = ox * k.sw - k.padLeft + kx * k.dw;
            if (ix < 0 || ix >= iw) continue;
            const v = x[xBase + iy * iw + ix];
            if (v > m) m = v;
          }
        }
        y[(plane * oh + oy) * ow + ox] = m;
      }
    }
  }
  return y;
}

/**
 * Average over the window. The divisor counts the window positions inside the input, plus with
 * countIncludePad those inside the explicit pads (never those beyond them, which ceil_mode adds).
 */
export function averagePool(
  x: Float32Array, xShape: readonly number[], p: WindowParams, countIncludePad: boolean, outShape: readonly number[],
): Float32Array {
  const [n, c, ih, iw] = nchw(xShape);
  const [, , oh, ow] = nchw(outShape);
  const k = window2d(p);
  const y = new Float32Array(n * c * oh * ow);
  for (let plane = 0; plane < n * c; plane++) {
    const xBase = plane * ih * iw;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let sum = 0, count = 0;
        for (let ky = 0; ky < k.kh; ky++) {
          const iy = oy * k.sh - k.padTop + ky * k.dh;
          const inY = iy >= 0 && iy < ih;
          const inPadY = iy >= -k.padTop && iy < ih + k.padBottom;
          for (let kx = 0; kx < k.kw; kx++) {
            const ix = ox * k.sw - k.padLeft + kx * k.dw;
            const inX = ix >= 0 && ix < iw;
            if (inY && inX) {
              sum += x[xBase + iy * iw + ix];
              count++;
            } else if (countIncludePad && inPadY && ix >= -k.padLeft && ix < iw + k.padRight) {
              count++;
            }
          }
        }
        y[(plane * oh + oy) * ow + ox] = count > 0 ? sum / count : 0;
      }
    }
  }
  return y;
}

export function globalAveragePool(x: Float32Array, xShape: readonly number[]): Float32Array {
  const planes = xShape[0] * xShape[1];
  const size = x.length / planes;
  const y = new Float32Array(planes);
  for (let p = 0; p < planes; p++) {
    let sum = 0;
    for (let i = 0; i < size; i++) sum += x[p * size + i];
    y[p] = sum / size;
  }
  return y;
}
