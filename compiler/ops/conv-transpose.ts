// Float forward of ONNX ConvTranspose (1-D and 2-D, strides, dilations, pads, output_padding,
// groups) on NCHW / NCL with batch 1, generic over float32 and float64. Weight as ONNX stores it:
// [Cin, Cout/group, KH, KW] (1-D: [Cin, Cout/group, K]). Input (iy, ix) adds x * w to output
// (iy*stride - padBegin + ky*dilation, ...); output_padding only extends the output shape.
type FloatArray = Float32Array | Float64Array;

export interface ConvTransposeAttrs {
  kernel: number[];
  strides: number[];
  /** ONNX order [begin..., end...]. */
  pads: number[];
  dilations: number[];
  group: number;
}

export function convTransposeForward<T extends FloatArray>(
  x: T, xShape: readonly number[], w: ArrayLike<number>, bias: ArrayLike<number> | undefined, p: ConvTransposeAttrs, outShape: readonly number[],
): T {
  const twoD = xShape.length === 4;
  const cin = xShape[1], cout = outShape[1];
  const IH = twoD ? xShape[2] : 1, IW = xShape[xShape.length - 1];
  const OH = twoD ? outShape[2] : 1, OW = outShape[outShape.length - 1];
  const KH = twoD ? p.kernel[0] : 1, KW = p.kernel[p.kernel.length - 1];
  const [sh, sw] = twoD ? [p.strides[0], p.strides[1]] : [1, p.strides[0]];
  const [dh, dw] = twoD ? [p.dilations[0], p.dilations[1]] : [1, p.dilations[0]];
  const [ph, pw] = twoD ? [p.pads[0], p.pads[1]] : [0, p.pads[0]];
  const cinG = cin / p.group, coutG = cout / p.group;
  const acc = new Float64Array(cout * OH * OW);
  for (let o = 0; o < cout; o++) acc.fill(bias ? bias[o] : 0, o * OH * OW, (o + 1) * OH * OW);
  for (let ci = 0; ci < cin; ci++) {
    const g = Math.floor(ci / cinG);
    for (let oc = 0; oc < coutG; oc++) {
      const o = g * coutG + oc;
      const wBase = (ci * coutG + oc) * KH * KW;
      for (let iy = 0; iy < IH; iy++) {
        for (let ix = 0; ix < IW; ix++) {
          const v = x[(ci * IH + iy) * IW + ix];
          for (let ky = 0; ky < KH; ky++) {
            const oy = iy * sh - ph + ky * dh;
            if (oy < 0 || oy >= OH) continue;
            for (let kx = 0; kx < KW; kx++) {
              const ox = ix * sw - pw + kx * dw;
              if (ox < 0 || ox >= OW) continue;
              acc[(o * OH + oy) * OW + ox] += v * w[wBase + ky * KW + kx];
            }
          }
        }
      }
    }
  }
  const y = new (x.constructor as new (n: number) => T)(acc.length);
  y.set(acc);
  return y;
}

/** Output extent per spatial axis: (in - 1)*stride + (k - 1)*dilation + 1 + outputPadding - padBegin - padEnd. */
export function convTransposeOutSize(inSize: number, k: number, stride: number, dilation: number, padBegin: number, padEnd: number, outputPadding: number): number {
  return (inSize - 1) * stride + (k - 1) * dilation + 1 + outputPadding - padBegin - padEnd;
}
