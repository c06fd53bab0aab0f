// Conv 1-D or 2-D (any group count, stride, padding, dilation): import, shape, forward and
// backward over NCHW / NCL, and its lowering to the conv-family kernels.
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import { constantFloat, tensorInfo, tensorSize, type NodeBase } from '../ir.ts';
import type { QConvOp } from '../quant/qgraph.ts';
import type { InputChannelAffine } from '../quant/qgraph.ts';
import type { FloatArray, Importer, OpDef } from './op.ts';
import { perSample } from './op.ts';
import { convOperands, windowAttrs } from './onnx-attrs.ts';
import { check, fmt, spatialOutput, window2d, type Window2d } from './shape-rules.ts';

/** Conv 1-D or 2-D. Kernel rank = input rank - 2. Weight [Cout, Cin/group, ...kernel]. */
export interface ConvNode extends NodeBase {
  op: 'Conv';
  weight: string;
  bias?: string;
  kernel: number[];
  strides: number[];
  /** ONNX order: [begin_0, begin_1, ..., end_0, end_1, ...]; auto_pad resolved at import. */
  pads: number[];
  dilations: number[];
  group: number;
}

const importConv: Importer = (ctx: ImportContext, node: SourceNode) => {
  const { x, w, b, r, kernel } = convOperands(ctx, node);
  const ir: ConvNode = {
    op: 'Conv', name: node.name, source: 'Conv', inputs: [x.name], outputs: [node.outputs[0]],
    weight: w.name, kernel, ...windowAttrs(ctx, node, x.shape, kernel), group: node.attrs.int('group', 1),
  };
  if (b) ir.bias = b.name;
  ctx.emit(node, ir);
};

/** First and one-past-last kernel tap whose input position o*s - pad + k*d lies in [0, size). */
function validTaps(o: number, stride: number, pad: number, dilation: number, kernel: number, size: number): [number, number] {
  const start = o * stride - pad;
  const lo = start >= 0 ? 0 : Math.ceil(-start / dilation);
  const hi = Math.min(kernel, Math.floor((size - 1 - start) / dilation) + 1);
  return [lo, Math.max(lo, hi)];
}

/**
 * y = conv(x, w) + bias, accumulating in double precision. A plain function of its arrays (not a
 * closure over the op context): V8 keeps the hot loop's values in registers.
 */
function convForward<A extends FloatArray>(
  x: A, w: A, bias: A | undefined, k: Window2d, group: number, alloc: (n: number) => A,
): A {
  const cin = k.c, ih = k.h, iw = k.w, cout = k.oc, oh = k.oh, ow = k.ow;
  const cinG = cin / group, coutG = cout / group;
  const kSize = k.kh * k.kw;
  const y = alloc(k.n * cout * oh * ow);
  // Valid kernel ranges depend only on the output position: compute them once.
  const xRanges = Array.from({ length: ow }, (_, ox) => validTaps(ox, k.sw, k.padLeft, k.dw, k.kw, iw));
  for (let b = 0; b < k.n; b++) {
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

export const conv: OpDef<ConvNode> = {
  mixesSamples: perSample,
  importers: { Conv: importConv },
  constants: (n) => (n.bias ? [n.weight, n.bias] : [n.weight]),
  /** Output elements x input channels per group x kernel elements. */
  macs(node, graph) {
    const w = graph.constants.get(node.weight)!.shape;
    return tensorSize(graph.tensors.get(node.outputs[0])!.shape) * w[1] * tensorSize(node.kernel);
  },

  shape(node, [x], constants) {
    const w = constants.get(node.weight)?.shape;
    check(w !== undefined, `constant '${node.weight}' is missing`);
    const r = x.length - 2;
    check(w.length === x.length, `weight ${fmt(w)} has rank ${w.length}, input ${fmt(x)} has rank ${x.length}`);
    check(x[1] % node.group === 0 && w[0] % node.group === 0, `input channels ${x[1]} and output channels ${w[0]} must both divide by group ${node.group}`);
    check(w[1] === x[1] / node.group, `weight ${fmt(w)} expects ${w[1] * node.group} input channels (group ${node.group}), input ${fmt(x)} has ${x[1]}`);
    check(node.kernel.join() === w.slice(2).join(), `kernel_shape ${fmt(node.kernel)} differs from weight ${fmt(w)}`);
    if (node.bias) {
      const b = constants.get(node.bias)?.shape;
      check(b !== undefined, `constant '${node.bias}' is missing`);
      check(tensorSize(b) === w[0], `bias has ${tensorSize(b)} values for ${w[0]} output channels`);
    }
    check(node.pads.length === 2 * r && node.strides.length === r && node.dilations.length === r, 'pads / strides / dilations do not match the kernel rank');
    return spatialOutput(x, node, w[0], false);
  },

  forward(ctx, xs) {
    const n = ctx.node;
    return convForward(xs[0], ctx.param(n.weight), n.bias ? ctx.param(n.bias) : undefined, window2d(ctx.inShapes[0], ctx.outShape, n), n.group, ctx.alloc);
  },

  backward(ctx, [x], _y, gy) {
    const n = ctx.node;
    const g = window2d(ctx.inShapes[0], ctx.outShape, n);
    const w = ctx.param(n.weight);
    const cinPg = g.c / n.group;
    const coutPg = g.oc / n.group;
    const gx = new Float64Array(x.length);
    const gw = new Float64Array(w.length);
    const gb = new Float64Array(g.oc);
    for (let b = 0; b < g.n; b++) {
      for (let o = 0; o < g.oc; o++) {
        const grp = Math.floor(o / coutPg);
        for (let oy = 0; oy < g.oh; oy++) {
          for (let ox = 0; ox < g.ow; ox++) {
            const d = gy[((b * g.oc + o) * g.oh + oy) * g.ow + ox];
            if (d === 0) continue;
            gb[o] += d;
            for (let ci = 0; ci < cinPg; ci++) {
              const xc = (b * g.c + grp * cinPg + ci) * g.h * g.w;
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
    }
    const params: Record<string, Float64Array> = { [n.weight]: gw };
    if (n.bias) params[n.bias] = gb;
    return { inputs: [gx], params };
  },

  quant: {
    outputBits: 'plan',
    share: 'none',
    fusesClamp: () => true,
    absorbsZeroPad: () => true,
    lower(lc, node) {
      const inName = lc.activationInput(node);
      const inP = lc.spatialInput(node, inName);
      const inT = lc.qtensor(inP.q);
      const outName = lc.resultTensor(node);
      const outShape = tensorInfo(lc.graph, node.outputs[0]).shape;
      const out = lc.place(outName, outShape);
      const outT = lc.qtensor(out.q);
      const Cin = inT.shape[2];
      const Cout = outT.shape[2];
      const twoD = node.kernel.length === 2;
      if (node.kernel.length > 2) lc.unsupported(node, '3-D convolution is not supported');
      const kernel: [number, number] = twoD ? [node.kernel[0], node.kernel[1]] : [1, node.kernel[0]];
      const stride: [number, number] = twoD ? [node.strides[0], node.strides[1]] : [1, node.strides[0]];
      const dilation: [number, number] = twoD ? [node.dilations[0], node.dilations[1]] : [1, node.dilations[0]];
      const pad: [number, number, number, number] = twoD ? [node.pads[0], node.pads[1], node.pads[2], node.pads[3]] : [0, node.pads[0], 0, node.pads[1]];
      const extra = lc.foldedPadOf(node);
      if (extra) for (let i = 0; i < 4; i++) pad[i] += extra.pad[i];
      const { weightBits } = lc.layerBits(node);
      const group = node.group;
      const cinG = Cin / group;
      let wf = constantFloat(lc.graph, node.weight); // [Cout][Cin/g][KH][KW] (1-D: [Cout][Cin/g][K])
      const KH = kernel[0], KW = kernel[1];
      let biasOverride: Float32Array | undefined;
      const affine = lc.inputAffineOf(inName);
      if (affine) ({ weights: wf, bias: biasOverride } = foldInputAffine(wf, node.bias ? constantFloat(lc.graph, node.bias) : undefined, affine, Cout, group, cinG, KH * KW));
      // Cin = 1 with group 1 stays a plain conv (same arithmetic, and conv kernels handle it well).
      const kind: QConvOp['op'] =
        group === 1 && KH === 1 && KW === 1 && stride[0] === 1 && stride[1] === 1 && pad.every((v) => v === 0) ? 'pointwise'
          : group === Cin && group > 1 ? 'depthwise'
            : 'conv';
      // Reorder to OHWI (conv, pointwise); depthwise below re-lays [KH][KW][Cout].
      const ohwi = new Float32Array(wf.length);
      for (let o = 0; o < Cout; o++)
        for (let c = 0; c < cinG; c++)
          for (let kh = 0; kh < KH; kh++)
            for (let kw = 0; kw < KW; kw++)
              ohwi[((o * KH + kh) * KW + kw) * cinG + c] = wf[((o * cinG + c) * KH + kh) * KW + kw];
      const { q, scale, bias, requant } = lc.convParams(node, ohwi, Cout, node.bias, weightBits, inT.scale, outT.scale, biasOverride);
      let weights = q;
      if (kind === 'depthwise') {
        // cinG = 1: ohwi is [Cout][KH][KW]; depthwise wants [KH][KW][Cout].
        weights = new Int8Array(q.length);
        for (let o = 0; o < Cout; o++) for (let k = 0; k < KH * KW; k++) weights[k * Cout + o] = q[o * KH * KW + k];
      }
      const OH = outT.shape[0], OW = outT.shape[1];
      lc.emit({
        op: kind, name: node.name, inputs: [inP.q], output: out.q,
        weights, weightBits, weightScale: scale, bias, requant,
        kernel, stride, pad, dilation,
        groups: kind === 'depthwise' ? Cin : group,
        channelMultiplier: kind === 'depthwise' ? Cout / Cin : 1,
        macs: OH * OW * Cout * KH * KW * cinG,
        ...lc.clampFor(node, out.q),
      });
    },
  },
};

/**
 * Conv weights and bias on u instead of x, where x_c = scale[c] * u_c + offset[c]:
 * W'[o][ci][k] = W[o][ci][k] * scale[c], b'[o] = b[o] + sum_{ci,k} W[o][ci][k] * offset[c],
 * c = the absolute input channel of ci in o's group. Computed in double precision.
 */
export function foldInputAffine(w: Float32Array, b: Float32Array | undefined, affine: InputChannelAffine, cout: number, groups: number, cinG: number, k: number): { weights: Float32Array; bias: Float32Array } {
  const weights = new Float32Array(w.length);
  const bias = new Float32Array(cout);
  const coutG = cout / groups;
  for (let o = 0; o < cout; o++) {
    const g = Math.floor(o / coutG);
    let acc = b ? b[o] : 0;
    for (let ci = 0; ci < cinG; ci++) {
      const c = g * cinG + ci;
      for (let j = 0; j < k; j++) {
        const idx = (o * cinG + ci) * k + j;
        weights[idx] = w[idx] * affine.scale[c];
        acc += w[idx] * affine.offset[c];
      }
    }
    bias[o] = acc;
  }
  return { weights, bias };
}
