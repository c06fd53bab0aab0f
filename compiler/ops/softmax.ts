// Softmax over one axis (max-subtracted for stability, as onnxruntime does); lowered to the
// integer softmax kernel over channels / the feature axis, output scale 1/256, zero point -128.
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import { tensorInfo, tensorSize, type NodeBase } from '../ir.ts';
import type { Importer, OpDef } from './op.ts';
import { NO_WEIGHTS, size } from './op.ts';
import { normAxis } from './onnx-attrs.ts';
import { check } from './shape-rules.ts';

export interface SoftmaxNode extends NodeBase { op: 'Softmax'; axis: number }

const importSoftmax: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const rank = x.shape.length;
  const axis = normAxis(node.attrs.int('axis', ctx.opset < 13 ? 1 : -1), rank);
  const out = node.outputs[0];
  if (ctx.opset >= 13 || axis === rank - 1) {
    ctx.emit(node, { op: 'Softmax', name: node.name, source: 'Softmax', inputs: [x.name], outputs: [out], axis });
    return;
  }
  // Before opset 13 Softmax works on the input flattened to 2-D at `axis`: express that exactly.
  const flat = [tensorSize(x.shape.slice(0, axis)), tensorSize(x.shape.slice(axis))];
  const t1 = ctx.freshTensorName(`${out}.flat`), t2 = ctx.freshTensorName(`${out}.softmax`);
  ctx.emit(node, { op: 'Reshape', name: ctx.uniqueName(`${node.name}.flatten`), source: 'Softmax', inputs: [x.name], outputs: [t1], shape: flat });
  ctx.emit(node, { op: 'Softmax', name: node.name, source: 'Softmax', inputs: [t1], outputs: [t2], axis: 1 });
  ctx.emit(node, { op: 'Reshape', name: ctx.uniqueName(`${node.name}.unflatten`), source: 'Softmax', inputs: [t2], outputs: [out], shape: [...x.shape] });
};

/**
 * Softmax groups: the IR node normalises along `axis` alone (the importer rewrites opset < 13
 * Softmax, which flattens at `axis`, into Reshape + Softmax + Reshape).
 */
function groups(shape: number[], axis: number): { outer: number; len: number; inner: number } {
  const a = axis < 0 ? axis + shape.length : axis;
  return { outer: size(shape.slice(0, a)), len: shape[a], inner: size(shape.slice(a + 1)) };
}

export const softmax: OpDef<SoftmaxNode> = {
  ...NO_WEIGHTS,
  importers: { Softmax: importSoftmax },

  shape(node, [x]) {
    check(node.axis >= 0 && node.axis < x.length, `axis ${node.axis} out of range for rank ${x.length}`);
    return [...x];
  },

  forward(ctx, [x]) {
    const { outer, len, inner } = groups(ctx.inShapes[0], ctx.node.axis);
    const y = ctx.alloc(x.length);
    const e = new Float64Array(len);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const at = (k: number) => (o * len + k) * inner + i;
        let m = -Infinity;
        for (let k = 0; k < len; k++) m = Math.max(m, x[at(k)]);
        let s = 0;
        for (let k = 0; k < len; k++) s += e[k] = Math.exp(x[at(k)] - m);
        for (let k = 0; k < len; k++) y[at(k)] = e[k] / s;
      }
    }
    return y;
  },

  backward(ctx, [x], y, gy) {
    const { outer, len, inner } = groups(ctx.inShapes[0], ctx.node.axis);
    const gx = new Float64Array(x.length);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const at = (k: number) => (o * len + k) * inner + i;
        let dot = 0;
        for (let k = 0; k < len; k++) dot += gy[at(k)] * y[at(k)];
        for (let k = 0; k < len; k++) gx[at(k)] = y[at(k)] * (gy[at(k)] - dot);
      }
    }
    return { inputs: [gx], params: {} };
  },

  quant: {
    outputBits: 8,
    share: 'none',
    fixedOutput: { scale: 1 / 256, zeroPoint: -128 },
    fusesClamp: () => false,
    lower(lc, node) {
      const inP = lc.placed(node.inputs[0]);
      const inShape = tensorInfo(lc.graph, node.inputs[0]).shape;
      const axis = node.axis < 0 ? node.axis + inShape.length : node.axis;
      const overChannels = axis === 1 && (inP.kind === 'spatial' || inShape.length === 2);
      const overLast = axis === inShape.length - 1 && tensorSize(inShape) === inShape[axis];
      if (!overChannels && !overLast) lc.unsupported(node, `softmax over axis ${node.axis} of [${inShape.join(', ')}] is not supported (only over channels / the feature axis)`);
      if (inP.kind === 'vector' && inP.perm) lc.unsupported(node, 'softmax of a flattened channels-last tensor is not supported');
      const inT = lc.qtensor(inP.q);
      const out = lc.inheritPlacement(inP, node.outputs[0], tensorInfo(lc.graph, node.outputs[0]).shape);
      const expTable = new Uint32Array(256);
      for (let k = 0; k < 256; k++) expTable[k] = Math.round(65536 * Math.exp(-k * inT.scale));
      lc.emit({ op: 'softmax', name: node.name, inputs: [inP.q], output: out.q, expTable });
    },
  },
};
