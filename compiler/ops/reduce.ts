// Float forward of ONNX ReduceMean / ReduceMax over any set of axes (keepdims: reduced axes keep
// extent 1; dropping them is a reshape), generic over float32 and float64.
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import { tensorInfo, type NodeBase } from '../ir.ts';
import { constantValues } from '../onnx/fold.ts';
import { activationRange, encodeMultiplier } from '../quant/fixedpoint.ts';
import { NO_WEIGHTS, type Importer, type OpDef } from './op.ts';
import { normAxis } from './onnx-attrs.ts';
import { check, fmt } from './shape-rules.ts';
type FloatArray = Float32Array | Float64Array;

/** Output index of every input element (keepdims layout) and the number of values per output. */
function reduceMap(xShape: readonly number[], axes: readonly number[]): { map: Int32Array; n: number; count: number } {
  const reduced = xShape.map((_, a) => axes.includes(a));
  const outShape = xShape.map((d, a) => (reduced[a] ? 1 : d));
  const total = xShape.reduce((a, b) => a * b, 1);
  const map = new Int32Array(total);
  const idx = new Array<number>(xShape.length).fill(0);
  for (let k = 0; k < total; k++) {
    let o = 0;
    for (let a = 0; a < idx.length; a++) o = o * outShape[a] + (reduced[a] ? 0 : idx[a]);
    map[k] = o;
    for (let a = idx.length - 1; a >= 0; a--) {
      if (++idx[a] < xShape[a]) break;
      idx[a] = 0;
    }
  }
  return { map, n: outShape.reduce((a, b) => a * b, 1), count: total / outShape.reduce((a, b) => a * b, 1) };
}

/**
 * Vector-Jacobian product: mean spreads gy / count over each window; max sends gy to the first
 * maximum of each window (taken from `ref`, the frozen reference input when given, else x).
 */
export function reduceBackward(kind: 'mean' | 'max', x: ArrayLike<number>, xShape: readonly number[], axes: readonly number[], gy: Float64Array, ref: ArrayLike<number> = x): Float64Array {
  const { map, n, count } = reduceMap(xShape, axes);
  const gx = new Float64Array(map.length);
  if (kind === 'mean') {
    for (let k = 0; k < map.length; k++) gx[k] = gy[map[k]] / count;
    return gx;
  }
  const best = new Int32Array(n).fill(-1);
  for (let k = 0; k < map.length; k++) if (best[map[k]] < 0 || ref[k] > ref[best[map[k]]]) best[map[k]] = k;
  for (let o = 0; o < n; o++) if (best[o] >= 0) gx[best[o]] += gy[o];
  return gx;
}

export function reduceForward<T extends FloatArray>(kind: 'mean' | 'max', x: T, xShape: readonly number[], axes: readonly number[]): T {
  const reduced = xShape.map((_, a) => axes.includes(a));
  const outShape = xShape.map((d, a) => (reduced[a] ? 1 : d));
  const n = outShape.reduce((a, b) => a * b, 1);
  const count = xShape.reduce((acc, d, a) => acc * (reduced[a] ? d : 1), 1);
  const y = new (x.constructor as new (n: number) => T)(n);
  const acc = new Float64Array(n).fill(kind === 'max' ? -Infinity : 0);
  const idx = new Array<number>(xShape.length).fill(0);
  const total = xShape.reduce((a, b) => a * b, 1);
  for (let k = 0; k < total; k++) {
    let o = 0;
    for (let a = 0; a < idx.length; a++) o = o * outShape[a] + (reduced[a] ? 0 : idx[a]);
    acc[o] = kind === 'max' ? Math.max(acc[o], x[k]) : acc[o] + x[k];
    for (let a = idx.length - 1; a >= 0; a--) {
      if (++idx[a] < xShape[a]) break;
      idx[a] = 0;
    }
  }
  for (let o = 0; o < n; o++) y[o] = kind === 'max' ? acc[o] : acc[o] / count;
  return y;
}

// ---- IR ops, importers and quantization (the OpDefs) ----------------------------------------

/** ReduceMean / ReduceMax over `axes` (sorted, non-negative), keepdims: reduced axes have extent 1. */
export interface ReduceMeanNode extends NodeBase { op: 'ReduceMean'; axes: number[] }
export interface ReduceMaxNode extends NodeBase { op: 'ReduceMax'; axes: number[] }
type ReduceNode = ReduceMeanNode | ReduceMaxNode;

function readAxes(ctx: ImportContext, node: SourceNode, rank: number): number[] {
  let axes: number[] | undefined;
  if (ctx.opset >= 18) {
    const c = ctx.optionalConstant(node, 1, 'axes');
    axes = c ? constantValues(c) : undefined;
  } else axes = node.attrs.ints('axes');
  if (!axes || axes.length === 0) {
    if (node.attrs.int('noop_with_empty_axes', 0) === 1) ctx.fail(node, 'noop_with_empty_axes = 1 with no axes (an identity) is not supported');
    axes = Array.from({ length: rank }, (_, i) => i);
  }
  const sorted = [...new Set(axes.map((a) => normAxis(a, rank)))].sort((a, b) => a - b);
  if (sorted.some((a) => a < 0 || a >= rank)) ctx.fail(node, `axes [${axes}] are out of range for rank ${rank}`);
  return sorted;
}

function importReduce(op: 'ReduceMean' | 'ReduceMax'): Importer {
  return (ctx: ImportContext, node: SourceNode) => {
    const x = ctx.activation(node, 0);
    const rank = x.shape.length;
    const axes = readAxes(ctx, node, rank);
    const keep = node.attrs.int('keepdims', 1) === 1;
    const kept = x.shape.map((d, a) => (axes.includes(a) ? 1 : d));
    const spatial = x.shape.map((_, i) => i).slice(2);
    const out = keep ? node.outputs[0] : ctx.freshTensorName(`${node.outputs[0]}.keepdims`);
    // The mean over every spatial axis (torch's x.mean(dim=[2, 3])) is a global average pool.
    if (op === 'ReduceMean' && rank >= 3 && axes.join() === spatial.join()) {
      ctx.emit(node, { op: 'GlobalAveragePool', name: node.name, source: 'ReduceMean', inputs: [x.name], outputs: [out] });
    } else {
      ctx.emit(node, { op, name: node.name, source: op, inputs: [x.name], outputs: [out], axes });
    }
    if (!keep) {
      ctx.emit(node, { op: 'Reshape', name: ctx.uniqueName(`${node.name}.squeeze`), source: op, inputs: [out], outputs: [node.outputs[0]], shape: kept.filter((_, a) => !axes.includes(a)) });
    }
  };
}

/** The [H, W, C] axes mask (bit 0 = H, 1 = W, 2 = C) of ONNX axes on a tensor of this rank. */
function qMask(rank: number, axes: readonly number[]): number {
  const map = rank === 4 ? [-1, 2, 0, 1] : rank === 3 ? [-1, 2, 1] : rank === 2 ? [-1, 2] : [2];
  let mask = 0;
  for (const a of axes) if (map[a] >= 0) mask |= 1 << map[a];
  return mask;
}

function reduceDef<N extends ReduceNode>(kind: 'mean' | 'max'): OpDef<N> {
  return {
    importers: { [kind === 'mean' ? 'ReduceMean' : 'ReduceMax']: importReduce(kind === 'mean' ? 'ReduceMean' : 'ReduceMax') },
    mixesSamples: (node) => (node.axes.includes(0) ? `reduce over axis 0` : undefined),
    ...NO_WEIGHTS,
    shape(node, [x]) {
      check(node.axes.every((a) => a >= 0 && a < x.length), `axes [${node.axes}] out of range for ${fmt(x)}`);
      return x.map((d, a) => (node.axes.includes(a) ? 1 : d));
    },
    forward: (ctx, [x]) => reduceForward(kind, x, ctx.inShapes[0], ctx.node.axes),
    backward: (ctx, [x], _y, gy) => ({ inputs: [reduceBackward(kind, x, ctx.inShapes[0], ctx.node.axes, gy, ctx.frozen?.[0])], params: {} }),
    quant: {
      outputBits: 'inputs',
      // Max keeps values: in and out share scale and zero point. Mean has its own range.
      share: kind === 'max' ? 'first' : 'none',
      fusesClamp: () => false,
      lower(lc, node) {
        const xShape = tensorInfo(lc.graph, node.inputs[0]).shape;
        let inP = lc.placed(node.inputs[0]);
        if (inP.kind === 'vector' && inP.perm) inP = lc.materializeVector(inP, node.inputs[0]);
        const inT = lc.qtensor(inP.q);
        const axes = qMask(xShape.length, node.axes);
        const out = lc.place(node.outputs[0], tensorInfo(lc.graph, node.outputs[0]).shape);
        const outT = lc.qtensor(out.q);
        const n = node.axes.reduce((p, a) => p * xShape[a], 1);
        let multiplier = 0, shift = 0;
        if (kind === 'mean') {
          try {
            ({ multiplier, shift } = encodeMultiplier(inT.scale / (n * outT.scale), `requant multiplier of ${node.name}`));
          } catch {
            lc.unsupported(node, 'its output range is so much narrower than its input that the requantization multiplier exceeds 2^30');
          }
        }
        const [actMin, actMax] = activationRange(outT.bits);
        lc.emit({ op: kind === 'mean' ? 'reduce_mean' : 'reduce_max', name: node.name, inputs: [inP.q], output: out.q, axes, multiplier, shift, actMin, actMax });
      },
    },
  };
}

export const reduceMean = reduceDef<ReduceMeanNode>('mean');
export const reduceMax = reduceDef<ReduceMaxNode>('max');
