// Float forward of ONNX ConvTranspose (1-D and 2-D, strides, dilations, pads, output_padding,
// groups) on NCHW / NCL with batch 1, generic over float32 and float64. Weight as ONNX stores it:
// [Cin, Cout/group, KH, KW] (1-D: [Cin, Cout/group, K]). Input (iy, ix) adds x * w to output
// (iy*stride - padBegin + ky*dilation, ...); output_padding only extends the output shape.
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import { constantFloat, tensorInfo, type NodeBase } from '../ir.ts';
import { perSample, type Importer, type OpDef } from './op.ts';
import { convOperands } from './onnx-attrs.ts';
import { check, fmt } from './shape-rules.ts';
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

// ---- IR op, importer and quantization (the OpDef) -------------------------------------------

/** ConvTranspose 1-D or 2-D. Weight as ONNX: [Cin, Cout/group, ...kernel]. */
export interface ConvTransposeNode extends NodeBase, ConvTransposeAttrs {
  op: 'ConvTranspose';
  weight: string;
  bias?: string;
  outputPadding: number[];
}

const importConvTranspose: Importer = (ctx: ImportContext, node: SourceNode) => {
  const { x, w, b, r, kernel } = convOperands(ctx, node);
  const strides = node.attrs.ints('strides') ?? new Array<number>(r).fill(1);
  const dilations = node.attrs.ints('dilations') ?? new Array<number>(r).fill(1);
  const outputPadding = node.attrs.ints('output_padding') ?? new Array<number>(r).fill(0);
  let pads = node.attrs.ints('pads') ?? new Array<number>(2 * r).fill(0);
  if (strides.length !== r || dilations.length !== r || outputPadding.length !== r || pads.length !== 2 * r) ctx.fail(node, 'strides / dilations / output_padding / pads do not match the kernel');
  if (strides.some((s) => s < 1) || dilations.some((d) => d < 1) || kernel.some((k) => k < 1)) ctx.fail(node, 'kernel, strides and dilations must be >= 1');
  if (kernel.some((k) => k > 32)) ctx.fail(node, `kernel [${kernel}]: tinym2's transposed convolution takes at most 32 taps per axis`);
  const autoPad = node.attrs.string('auto_pad', 'NOTSET');
  const outputShape = node.attrs.ints('output_shape');
  if (outputShape || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    // ONNX: total = stride*(in-1) + output_padding + (k-1)*d + 1 - out; SAME_UPPER puts the smaller half first.
    const target = outputShape ? outputShape.slice(-r) : x.shape.slice(2).map((n, i) => n * strides[i]);
    pads = new Array<number>(2 * r).fill(0);
    for (let i = 0; i < r; i++) {
      const total = strides[i] * (x.shape[2 + i] - 1) + outputPadding[i] + (kernel[i] - 1) * dilations[i] + 1 - target[i];
      if (total < 0) ctx.fail(node, `output_shape [${target}] is larger than the transposed convolution produces`);
      const half = Math.floor(total / 2);
      [pads[i], pads[r + i]] = autoPad === 'SAME_UPPER' ? [half, total - half] : [total - half, half];
    }
  } else if (autoPad === 'VALID') pads = new Array<number>(2 * r).fill(0);
  else if (autoPad !== 'NOTSET') ctx.fail(node, `auto_pad '${autoPad}' is not an ONNX value`);
  if (pads.some((p) => p < 0)) ctx.fail(node, `negative pads [${pads}] are not supported`);
  const ir: ConvTransposeNode = {
    op: 'ConvTranspose', name: node.name, source: 'ConvTranspose', inputs: [x.name], outputs: [node.outputs[0]],
    weight: w.name, kernel, strides, pads, dilations, group: node.attrs.int('group', 1), outputPadding,
  };
  if (b) ir.bias = b.name;
  ctx.emit(node, ir);
};

/** ONNX weight [Cin][Cout/g][KH][KW] -> the kernel's OHWI [Cout][KH][KW][Cin/g]. */
export function convTransposeWeightsOhwi(w: Float32Array, cin: number, cout: number, group: number, kh: number, kw: number): Float32Array {
  const cinG = cin / group, coutG = cout / group;
  const out = new Float32Array(w.length);
  for (let ci = 0; ci < cin; ci++) {
    const g = Math.floor(ci / cinG);
    for (let oc = 0; oc < coutG; oc++) {
      const o = g * coutG + oc;
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) out[((o * kh + ky) * kw + kx) * cinG + (ci - g * cinG)] = w[((ci * coutG + oc) * kh + ky) * kw + kx];
      }
    }
  }
  return out;
}

export const convTranspose: OpDef<ConvTransposeNode> = {
  mixesSamples: perSample,
  importers: { ConvTranspose: importConvTranspose },
  constants: (n) => (n.bias ? [n.weight, n.bias] : [n.weight]),
  macs(node, graph) {
    const w = graph.constants.get(node.weight)!.shape;
    const x = graph.tensors.get(node.inputs[0])!.shape;
    // Every input element meets every tap of its group's Cout/group output channels.
    return x.slice(1).reduce((a, b) => a * b, 1) * w.slice(1).reduce((a, b) => a * b, 1);
  },
  shape(node, [x], constants) {
    const w = constants.get(node.weight)?.shape;
    check(w !== undefined, `constant '${node.weight}' is missing`);
    const r = x.length - 2;
    check(r === 1 || r === 2, `expects a 1-D (N,C,L) or 2-D (N,C,H,W) input, got ${fmt(x)}`);
    check(w.length === x.length && w[0] === x[1], `weight ${fmt(w)} does not match input ${fmt(x)}`);
    check(x[1] % node.group === 0, `input channels ${x[1]} must divide by group ${node.group}`);
    if (node.bias) check(constants.get(node.bias)?.shape.join() === String(w[1] * node.group), `bias '${node.bias}' must have ${w[1] * node.group} values`);
    const out = [x[0], w[1] * node.group];
    for (let i = 0; i < r; i++) {
      const n = convTransposeOutSize(x[2 + i], node.kernel[i], node.strides[i], node.dilations[i], node.pads[i], node.pads[r + i], node.outputPadding[i]);
      check(n >= 1, `output length ${n} on axis ${2 + i}`);
      out.push(n);
    }
    return out;
  },
  forward: (ctx, [x]) => convTransposeForward(x, ctx.inShapes[0], ctx.param(ctx.node.weight), ctx.node.bias ? ctx.param(ctx.node.bias) : undefined, ctx.node, ctx.outShape),
  backward(ctx, [x], _y, gy) {
    const n = ctx.node;
    const { gx, gw, gb } = convTransposeBackward(x, ctx.inShapes[0], ctx.param(n.weight), n, ctx.outShape, gy);
    return { inputs: [gx], params: n.bias ? { [n.weight]: gw, [n.bias]: gb } : { [n.weight]: gw } };
  },
  quant: {
    outputBits: 'plan',
    share: 'none',
    fusesClamp: () => true,
    lower(lc, node) {
      const inP = lc.spatialInput(node, node.inputs[0]);
      const inT = lc.qtensor(inP.q);
      const outName = lc.resultTensor(node);
      const out = lc.place(outName, tensorInfo(lc.graph, node.outputs[0]).shape);
      const outT = lc.qtensor(out.q);
      const twoD = node.kernel.length === 2;
      const [KH, KW] = twoD ? [node.kernel[0], node.kernel[1]] : [1, node.kernel[0]];
      const cin = inT.shape[2], cout = outT.shape[2];
      const w = convTransposeWeightsOhwi(constantFloat(lc.graph, node.weight), cin, cout, node.group, KH, KW);
      const { weightBits } = lc.layerBits(node);
      const { q, scale, bias, requant } = lc.convParams(node, w, cout, node.bias, weightBits, inT.scale, outT.scale);
      const pick = (v: number[], one: number): [number, number] => (twoD ? [v[0], v[1]] : [one, v[0]]);
      const r = node.kernel.length;
      // End pads minus output_padding (the kernel derives the extent from the output shape; validate checks it).
      const pad: [number, number, number, number] = twoD
        ? [node.pads[0], node.pads[1], node.pads[2] - node.outputPadding[0], node.pads[3] - node.outputPadding[1]]
        : [0, node.pads[0], 0, node.pads[r] - node.outputPadding[0]];
      lc.emit({
        op: 'conv_transpose', name: node.name, inputs: [inP.q], output: out.q,
        weights: q, weightBits, weightScale: scale, bias, requant,
        kernel: [KH, KW], stride: pick(node.strides, 1), pad, dilation: pick(node.dilations, 1), groups: node.group, channelMultiplier: 1,
        macs: inT.shape[0] * inT.shape[1] * cin * (cout / node.group) * KH * KW,
        ...lc.clampFor(node, out.q),
      });
    },
  },
};
