// Float forward of ONNX LogSoftmax on one axis, generic over float32 and float64:
// y = x - max - ln(sum exp(x - max)) over the axis.
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import { tensorInfo, tensorSize, type NodeBase } from '../ir.ts';
import { logSoftmaxParams, type LogSoftmaxParams } from '../kernels/log-softmax.ts';
import { activationRange } from '../quant/fixedpoint.ts';
import { NO_WEIGHTS, type Importer, type OpDef } from './op.ts';
import { normAxis } from './onnx-attrs.ts';
import { check } from './shape-rules.ts';
type FloatArray = Float32Array | Float64Array;

export function logSoftmaxForward<T extends FloatArray>(x: T, xShape: readonly number[], axis: number): T {
  const a = axis < 0 ? axis + xShape.length : axis;
  const depth = xShape[a];
  const inner = xShape.slice(a + 1).reduce((p, d) => p * d, 1);
  const outer = x.length / (depth * inner);
  const y = new (x.constructor as new (n: number) => T)(x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * depth * inner + i;
      let max = -Infinity, sum = 0;
      for (let k = 0; k < depth; k++) max = Math.max(max, x[base + k * inner]);
      for (let k = 0; k < depth; k++) sum += Math.exp(x[base + k * inner] - max);
      const lse = max + Math.log(sum);
      for (let k = 0; k < depth; k++) y[base + k * inner] = x[base + k * inner] - lse;
    }
  }
  return y;
}

/** Vector-Jacobian product: gx = gy - exp(y) * sum(gy) over the axis. */
export function logSoftmaxBackward(y: ArrayLike<number>, xShape: readonly number[], axis: number, gy: Float64Array): Float64Array {
  const a = axis < 0 ? axis + xShape.length : axis;
  const depth = xShape[a];
  const inner = xShape.slice(a + 1).reduce((p, d) => p * d, 1);
  const outer = y.length / (depth * inner);
  const gx = new Float64Array(y.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * depth * inner + i;
      let s = 0;
      for (let k = 0; k < depth; k++) s += gy[base + k * inner];
      for (let k = 0; k < depth; k++) gx[base + k * inner] = gy[base + k * inner] - Math.exp(y[base + k * inner]) * s;
    }
  }
  return gx;
}

// ---- IR op, importer and quantization (the OpDef) -------------------------------------------

export interface LogSoftmaxNode extends NodeBase { op: 'LogSoftmax'; axis: number }

const importLogSoftmax: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const rank = x.shape.length;
  const axis = normAxis(node.attrs.int('axis', ctx.opset < 13 ? 1 : -1), rank);
  const out = node.outputs[0];
  if (ctx.opset >= 13 || axis === rank - 1) {
    ctx.emit(node, { op: 'LogSoftmax', name: node.name, source: 'LogSoftmax', inputs: [x.name], outputs: [out], axis });
    return;
  }
  // Before opset 13 LogSoftmax works on the input flattened to 2-D at `axis`: express that exactly.
  const flat = [tensorSize(x.shape.slice(0, axis)), tensorSize(x.shape.slice(axis))];
  const t1 = ctx.freshTensorName(`${out}.flat`), t2 = ctx.freshTensorName(`${out}.logsoftmax`);
  ctx.emit(node, { op: 'Reshape', name: ctx.uniqueName(`${node.name}.flatten`), source: 'LogSoftmax', inputs: [x.name], outputs: [t1], shape: flat });
  ctx.emit(node, { op: 'LogSoftmax', name: node.name, source: 'LogSoftmax', inputs: [t1], outputs: [t2], axis: 1 });
  ctx.emit(node, { op: 'Reshape', name: ctx.uniqueName(`${node.name}.unflatten`), source: 'LogSoftmax', inputs: [t2], outputs: [out], shape: [...x.shape] });
};

export const logSoftmax: OpDef<LogSoftmaxNode> = {
  mixesSamples: (node) => (node.axis === 0 ? 'log-softmax over axis 0' : undefined),
  importers: { LogSoftmax: importLogSoftmax },
  ...NO_WEIGHTS,
  shape(node, [x]) {
    check(node.axis >= 0 && node.axis < x.length, `axis ${node.axis} out of range for rank ${x.length}`);
    return [...x];
  },
  forward: (ctx, [x]) => logSoftmaxForward(x, ctx.inShapes[0], ctx.node.axis),
  backward: (ctx, _xs, y, gy) => ({ inputs: [logSoftmaxBackward(y, ctx.inShapes[0], ctx.node.axis, gy)], params: {} }),
  quant: {
    outputBits: 8,
    share: 'none',
    fusesClamp: () => false,
    lower(lc, node) {
      const inP = lc.placed(node.inputs[0]);
      const inShape = tensorInfo(lc.graph, node.inputs[0]).shape;
      const axis = node.axis;
      const overChannels = axis === 1 && (inP.kind === 'spatial' || inShape.length === 2);
      const overLast = axis === inShape.length - 1 && tensorSize(inShape) === inShape[axis];
      if (!overChannels && !overLast) lc.unsupported(node, `log-softmax over axis ${node.axis} of [${inShape.join(', ')}] is not supported (only over channels / the feature axis)`);
      if (inP.kind === 'vector' && inP.perm) lc.unsupported(node, 'log-softmax of a flattened channels-last tensor is not supported');
      const inT = lc.qtensor(inP.q);
      const out = lc.inheritPlacement(inP, node.outputs[0], tensorInfo(lc.graph, node.outputs[0]).shape);
      const outT = lc.qtensor(out.q);
      const [lo, hi] = activationRange(outT.bits);
      const p = ((): LogSoftmaxParams => {
        try {
          return logSoftmaxParams(inT.scale, outT.scale, outT.zeroPoint, inT.shape[2], lo, hi, `node '${node.name}'`);
        } catch (e) {
          return lc.unsupported(node, e instanceof Error ? e.message : String(e));
        }
      })();
      lc.emit({ op: 'log_softmax', name: node.name, inputs: [inP.q], output: out.q, expTable: p.expTable, log2Table: p.log2Table, dScale: p.dScale, multiplier: p.multiplier, shift: p.shift, actMin: lo, actMax: hi });
    },
  },
};
