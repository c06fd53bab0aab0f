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

/** Calls f(xi, o, yi, wi) for every (input element, output channel, output element, weight) product. */
function forEachProduct(xShape: readonly number[], p: ConvTransposeAttrs, outShape: readonly number[], f: (xi: number, o: number, yi: number, wi: number) => void): void {
  const twoD = xShape.length === 4;
  const cin = xShape[1], cout = outShape[1];
  const IH = twoD ? xShape[2] : 1, IW = xShape[xShape.length - 1];
  const OH = twoD ? outShape[2] : 1, OW = outShape[outShape.length - 1];
  const KH = twoD ? p.kernel[0] : 1, KW = p.kernel[p.kernel.length - 1];
  const [sh, sw] = twoD ? [p.strides[0], p.strides[1]] : [1, p.strides[0]];
  const [dh, dw] = twoD ? [p.dilations[0], p.dilations[1]] : [1, p.dilations[0]];
  const [ph, pw] = twoD ? [p.pads[0], p.pads[1]] : [0, p.pads[0]];
  const cinG = cin / p.group, coutG = cout / p.group;
  for (let ci = 0; ci < cin; ci++) {
    const g = Math.floor(ci / cinG);
    for (let oc = 0; oc < coutG; oc++) {
      const o = g * coutG + oc;
      const wBase = (ci * coutG + oc) * KH * KW;
      for (let iy = 0; iy < IH; iy++) {
        for (let ix = 0; ix < IW; ix++) {
          const xi = (ci * IH + iy) * IW + ix;
          for (let ky = 0; ky < KH; ky++) {
            const oy = iy * sh - ph + ky * dh;
            if (oy < 0 || oy >= OH) continue;
            for (let kx = 0; kx < KW; kx++) {
              const ox = ix * sw - pw + kx * dw;
              if (ox < 0 || ox >= OW) continue;
              f(xi, o, (o * OH + oy) * OW + ox, wBase + ky * KW + kx);
            }
          }
        }
      }
    }
  }
}

export function convTransposeForward<T extends FloatArray>(
  x: T, xShape: readonly number[], w: ArrayLike<number>, bias: ArrayLike<number> | undefined, p: ConvTransposeAttrs, outShape: readonly number[],
): T {
  const cout = outShape[1], plane = outShape.slice(2).reduce((a, b) => a * b, 1);
  const acc = new Float64Array(cout * plane);
  for (let o = 0; o < cout; o++) acc.fill(bias ? bias[o] : 0, o * plane, (o + 1) * plane);
  forEachProduct(xShape, p, outShape, (xi, _o, yi, wi) => {
    acc[yi] += x[xi] * w[wi];
  });
  const y = new (x.constructor as new (n: number) => T)(acc.length);
  y.set(acc);
  return y;
}

/** Output extent per spatial axis: (in - 1)*stride + (k - 1)*dilation + 1 + outputPadding - padBegin - padEnd. */
export function convTransposeOutSize(inSize: number, k: number, stride: number, dilation: number, padBegin: number, padEnd: number, outputPadding: number): number {
  return (inSize - 1) * stride + (k - 1) * dilation + 1 + outputPadding - padBegin - padEnd;
}

/** Vector-Jacobian product: gradients of the input, the weight ([Cin, Cout/group, ...k]) and the bias. */
export function convTransposeBackward(
  x: ArrayLike<number>, xShape: readonly number[], w: ArrayLike<number>, p: ConvTransposeAttrs, outShape: readonly number[], gy: Float64Array,
): { gx: Float64Array; gw: Float64Array; gb: Float64Array } {
  const gx = new Float64Array(x.length), gw = new Float64Array(w.length), gb = new Float64Array(outShape[1]);
  const plane = outShape.slice(2).reduce((a, b) => a * b, 1);
  for (let i = 0; i < gy.length; i++) gb[Math.floor(i / plane)] += gy[i];
  forEachProduct(xShape, p, outShape, (xi, _o, yi, wi) => {
    gx[xi] += gy[yi] * w[wi];
    gw[wi] += gy[yi] * x[xi];
  });
  return { gx, gw, gb };
}
