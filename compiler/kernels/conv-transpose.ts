// Transposed convolution (runtime-c/src/conv_transpose.c), gathered per output: input (iy, ix)
// feeds output (iy*stride - pad + k*dilation) per axis. Weights OHWI [Cout][KH][KW][Cin/groups]
// like conv (lowering reorders ONNX's [Cin][Cout/groups][KH][KW]); same output stage as conv.
import { clamp, requantRaw } from '../quant/fixedpoint.ts';
import type { Dims3 } from './slice.ts';

export interface ConvTransposeParams {
  weights: Int8Array;
  bias: Int32Array;
  multiplier: Int32Array;
  shift: Int32Array;
  kernel: [number, number];
  stride: [number, number];
  /** [top, left]; the end padding and output_padding follow from the output shape. */
  pad: [number, number];
  dilation: [number, number];
  groups: number;
  inZp: number;
  outZp: number;
  actMin: number;
  actMax: number;
}

/** The input index feeding output o through tap k, or -1. */
function source(o: number, k: number, stride: number, pad: number, dilation: number, size: number): number {
  const t = o + pad - k * dilation;
  if (t < 0 || t % stride !== 0) return -1;
  const i = t / stride;
  return i < size ? i : -1;
}

export function emulateConvTranspose(p: ConvTransposeParams, x: ArrayLike<number>, inShape: Dims3, outShape: Dims3): Int8Array {
  const [IH, IW, CI] = inShape;
  const [OH, OW, CO] = outShape;
  const [KH, KW] = p.kernel;
  const cinG = CI / p.groups, coutG = CO / p.groups;
  const out = new Int8Array(OH * OW * CO);
  let k = 0;
  for (let oy = 0; oy < OH; oy++) {
    for (let ox = 0; ox < OW; ox++) {
      for (let o = 0; o < CO; o++) {
        const g = Math.floor(o / coutG);
        let acc = p.bias[o];
        for (let ky = 0; ky < KH; ky++) {
          const iy = source(oy, ky, p.stride[0], p.pad[0], p.dilation[0], IH);
          if (iy < 0) continue;
          for (let kx = 0; kx < KW; kx++) {
            const ix = source(ox, kx, p.stride[1], p.pad[1], p.dilation[1], IW);
            if (ix < 0) continue;
            const xb = (iy * IW + ix) * CI + g * cinG;
            const wb = ((o * KH + ky) * KW + kx) * cinG;
            for (let c = 0; c < cinG; c++) acc += (x[xb + c] - p.inZp) * p.weights[wb + c];
          }
        }
        out[k++] = clamp(requantRaw(acc, p.multiplier[o], p.shift[o]) + p.outZp, p.actMin, p.actMax);
      }
    }
  }
  return out;
}
