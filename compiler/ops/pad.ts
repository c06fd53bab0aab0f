// Constant-mode Pad. A zero Pad before convolutions folds into their padding (lower.ts); any
// other is lowered to the pad kernel.
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import { tensorInfo, type NodeBase } from '../ir.ts';
import { constantValues } from '../onnx/fold.ts';
import { activationRange, clamp } from '../quant/fixedpoint.ts';
import { roundHalfAway } from '../quant/weights.ts';
import type { Importer, OpDef } from './op.ts';
import { NO_WEIGHTS, size, strides } from './op.ts';
import { normAxis } from './onnx-attrs.ts';
import { check, fmt } from './shape-rules.ts';

/** Constant-mode Pad. pads in ONNX order over all axes: [begin_0.., end_0..]. */
export interface PadNode extends NodeBase { op: 'Pad'; pads: number[]; value: number }

const importPad: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const mode = node.attrs.string('mode', 'constant');
  if (mode !== 'constant') ctx.fail(node, `mode '${mode}' is not supported; tinym2 supports constant padding`);
  const rank = x.shape.length;
  let pads: number[];
  let value = 0;
  if (ctx.opset < 11) {
    pads = node.attrs.ints('pads') ?? node.attrs.ints('paddings') ?? [];
    value = node.attrs.float('value', 0);
  } else {
    pads = constantValues(ctx.constant(node, 1, 'pads'));
    const v = ctx.optionalConstant(node, 2, 'constant_value');
    if (v) value = constantValues(v)[0] ?? 0;
    const axesC = ctx.optionalConstant(node, 3, 'axes');
    if (axesC) {
      const axes = constantValues(axesC).map((a) => {
        if (!Number.isInteger(a) || a < -rank || a >= rank) ctx.fail(node, `axis ${a} is out of range for input [${x.shape}]`);
        return normAxis(a, rank);
      });
      if (pads.length !== 2 * axes.length) ctx.fail(node, `pads [${pads}] need ${2 * axes.length} values for axes [${axes}]`);
      const full = new Array<number>(2 * rank).fill(0);
      axes.forEach((a, k) => { full[a] = pads[k]; full[rank + a] = pads[axes.length + k]; });
      pads = full;
    }
  }
  ctx.emit(node, { op: 'Pad', name: node.name, source: 'Pad', inputs: [x.name], outputs: [node.outputs[0]], pads, value });
};

/** For each output element of a constant Pad, the input index it copies, or -1 for padding. */
function padSource(inShape: number[], outShape: number[], pads: number[]): Int32Array {
  const rank = inShape.length;
  const inStrides = strides(inShape);
  const total = size(outShape);
  const src = new Int32Array(total);
  const coord = new Array(rank).fill(0);
  for (let k = 0; k < total; k++) {
    let off = 0;
    for (let d = 0; d < rank; d++) {
      const c = coord[d] - pads[d];
      if (c < 0 || c >= inShape[d]) {
        off = -1;
        break;
      }
      off += c * inStrides[d];
    }
    src[k] = off;
    for (let d = rank - 1; d >= 0; d--) {
      if (++coord[d] < outShape[d]) break;
      coord[d] = 0;
    }
  }
  return src;
}

export const pad: OpDef<PadNode> = {
  ...NO_WEIGHTS,
  importers: { Pad: importPad },

  shape(node, [x]) {
    check(node.pads.length === 2 * x.length, `pads ${fmt(node.pads)} need ${2 * x.length} values for input ${fmt(x)}`);
    check(node.pads.every((p) => p >= 0), `negative pads ${fmt(node.pads)} (cropping) are not supported`);
    return x.map((d, i) => d + node.pads[i] + node.pads[x.length + i]);
  },

  forward(ctx, [x]) {
    const src = padSource(ctx.inShapes[0], ctx.outShape, ctx.node.pads);
    const y = ctx.alloc(src.length);
    for (let k = 0; k < src.length; k++) y[k] = src[k] < 0 ? ctx.node.value : x[src[k]];
    return y;
  },

  backward(ctx, [x], _y, gy) {
    const src = padSource(ctx.inShapes[0], ctx.outShape, ctx.node.pads);
    const gx = new Float64Array(x.length);
    for (let k = 0; k < src.length; k++) if (src[k] >= 0) gx[src[k]] += gy[k];
    return { inputs: [gx], params: {} };
  },

  quant: {
    outputBits: 'inputs',
    share: 'first',
    fusesClamp: () => false,
    lower(lc, node) {
      const inP = lc.spatialInput(node, node.inputs[0]);
      const rank = tensorInfo(lc.graph, node.inputs[0]).shape.length;
      const p = node.pads;
      if (p[0] !== 0 || p[1] !== 0 || p[rank] !== 0 || p[rank + 1] !== 0) lc.unsupported(node, 'padding of the batch or channel axis is not supported');
      if (p.some((v) => v < 0)) lc.unsupported(node, 'negative padding (cropping) is not supported');
      const out = lc.place(node.outputs[0], tensorInfo(lc.graph, node.outputs[0]).shape);
      const outT = lc.qtensor(out.q);
      const [lo, hi] = activationRange(outT.bits);
      lc.emit({
        op: 'pad', name: node.name, inputs: [inP.q], output: out.q,
        pad: rank === 4 ? [p[2], p[3], p[6], p[7]] : [0, p[2], 0, p[5]],
        value: clamp(outT.zeroPoint + roundHalfAway(node.value / outT.scale), lo, hi),
      });
    },
  },
};
