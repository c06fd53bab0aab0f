// Float forward of ONNX Slice (and Split, one slice per output) on any rank, generic over
// float32 and float64. starts / steps are resolved per axis (ONNX clamping done at import):
// out[i] = x[start + i * step] on every axis.
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import { tensorInfo, type NodeBase, type TensorInfo } from '../ir.ts';
import { constantValues } from '../onnx/fold.ts';
import { NO_WEIGHTS, type Importer, type OpDef } from './op.ts';
import { normAxis } from './onnx-attrs.ts';
import { check, fmt } from './shape-rules.ts';
type FloatArray = Float32Array | Float64Array;

export interface SliceAttrs {
  /** Per axis of the input (all axes, resolved): first index and step. */
  starts: number[];
  steps: number[];
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let a = shape.length - 2; a >= 0; a--) s[a] = s[a + 1] * shape[a + 1];
  return s;
}

export function sliceForward<T extends FloatArray>(x: T, xShape: readonly number[], p: SliceAttrs, outShape: readonly number[]): T {
  const n = outShape.reduce((a, b) => a * b, 1);
  const y = new (x.constructor as new (n: number) => T)(n);
  const xs = strides(xShape);
  const idx = new Array<number>(outShape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let src = 0;
    for (let a = 0; a < idx.length; a++) src += (p.starts[a] + idx[a] * p.steps[a]) * xs[a];
    y[k] = x[src];
    for (let a = idx.length - 1; a >= 0; a--) {
      if (++idx[a] < outShape[a]) break;
      idx[a] = 0;
    }
  }
  return y;
}

/**
 * ONNX Slice's index rules for one axis: negative starts / ends count from the end, then clamp
 * (to [0, dim] for a positive step, [-1, dim - 1] for a negative one). Returns the first index and
 * the number of elements taken.
 */
export function resolveSliceAxis(dim: number, start: number, end: number, step: number): { start: number; count: number } {
  if (step === 0) throw new Error('internal: Slice step 0');
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), dim);
    e = Math.min(Math.max(e, 0), dim);
  } else {
    s = Math.min(Math.max(s, -1), dim - 1);
    e = Math.min(Math.max(e, -1), dim - 1);
  }
  const count = Math.max(0, Math.ceil((e - s) / step));
  return { start: s, count };
}

/** Vector-Jacobian product of sliceForward: gy scattered back to the sliced positions. */
export function sliceBackward(gy: Float64Array, xShape: readonly number[], p: SliceAttrs, outShape: readonly number[]): Float64Array {
  const gx = new Float64Array(xShape.reduce((a, b) => a * b, 1));
  const xs = strides(xShape);
  const idx = new Array<number>(outShape.length).fill(0);
  for (let k = 0; k < gy.length; k++) {
    let src = 0;
    for (let a = 0; a < idx.length; a++) src += (p.starts[a] + idx[a] * p.steps[a]) * xs[a];
    gx[src] += gy[k];
    for (let a = idx.length - 1; a >= 0; a--) {
      if (++idx[a] < outShape[a]) break;
      idx[a] = 0;
    }
  }
  return gx;
}

// ---- IR op, importers and quantization (the OpDef) ------------------------------------------

/** A strided slice over every axis (ONNX Slice, and Split as one Slice per output). */
export interface SliceNode extends NodeBase {
  op: 'Slice';
  /** Per input axis: first index, step (negative walks back) and element count. */
  starts: number[];
  steps: number[];
  counts: number[];
}

function emitSlice(ctx: ImportContext, node: SourceNode, x: TensorInfo, name: string, output: string, starts: number[], steps: number[], counts: number[]): void {
  if (counts.some((c) => c === 0)) ctx.fail(node, `output '${output}' would be empty ([${counts}]); tinym2 needs non-empty tensors`);
  ctx.emit(node, { op: 'Slice', name, source: node.op, inputs: [x.name], outputs: [output], starts, steps, counts });
}

const importSlice: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const rank = x.shape.length;
  let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
  if (ctx.opset < 10) {
    starts = node.attrs.ints('starts') ?? ctx.fail(node, 'has no starts attribute');
    ends = node.attrs.ints('ends') ?? ctx.fail(node, 'has no ends attribute');
    axes = node.attrs.ints('axes');
  } else {
    starts = constantValues(ctx.constant(node, 1, 'starts'));
    ends = constantValues(ctx.constant(node, 2, 'ends'));
    const a = ctx.optionalConstant(node, 3, 'axes'), s = ctx.optionalConstant(node, 4, 'steps');
    axes = a ? constantValues(a) : undefined;
    steps = s ? constantValues(s) : undefined;
  }
  axes ??= starts.map((_, i) => i);
  steps ??= starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
    ctx.fail(node, `starts [${starts}], ends [${ends}], axes [${axes}] and steps [${steps}] differ in length`);
  }
  const st = x.shape.map(() => 0), sp = x.shape.map(() => 1), counts = [...x.shape];
  const seen = new Set<number>();
  axes.forEach((a0, i) => {
    const a = normAxis(a0, rank);
    if (a < 0 || a >= rank || seen.has(a)) ctx.fail(node, `axes [${axes}] are out of range or repeated for rank ${rank}`);
    seen.add(a);
    if (steps![i] === 0) ctx.fail(node, 'a step of 0 is not allowed');
    const r = resolveSliceAxis(x.shape[a], starts[i], ends[i], steps![i]);
    st[a] = r.start;
    sp[a] = steps![i];
    counts[a] = r.count;
  });
  emitSlice(ctx, node, x, node.name, node.outputs[0], st, sp, counts);
};

const importSplit: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const rank = x.shape.length;
  const axis = normAxis(node.attrs.int('axis', 0), rank);
  if (axis < 0 || axis >= rank) ctx.fail(node, `axis ${node.attrs.int('axis', 0)} is out of range for rank ${rank}`);
  const dim = x.shape[axis];
  const n = node.outputs.length;
  let parts: number[] | undefined;
  if (ctx.opset >= 13) {
    const c = ctx.optionalConstant(node, 1, 'split');
    parts = c ? constantValues(c) : undefined;
  } else parts = node.attrs.ints('split');
  if (!parts) {
    if (ctx.opset >= 18 && node.attrs.has('num_outputs')) {
      const chunk = Math.ceil(dim / n); // opset 18: the last part may be smaller
      parts = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
    } else {
      if (dim % n !== 0) ctx.fail(node, `cannot split ${dim} elements of axis ${axis} into ${n} equal parts`);
      parts = new Array<number>(n).fill(dim / n);
    }
  }
  if (parts.length !== n || parts.reduce((a, b) => a + b, 0) !== dim) ctx.fail(node, `split [${parts}] does not divide the ${dim} elements of axis ${axis} into ${n} outputs`);
  let offset = 0;
  parts.forEach((len, i) => {
    const out = node.outputs[i];
    if (out) {
      const st = x.shape.map(() => 0), counts = [...x.shape];
      st[axis] = offset;
      counts[axis] = len;
      emitSlice(ctx, node, x, i === 0 ? node.name : ctx.uniqueName(`${node.name}.${i}`), out, st, x.shape.map(() => 1), counts);
    }
    offset += len;
  });
};

/**
 * Gather of an activation by constant indices along one axis: a Slice when the indices are one index
 * (a scalar, then a Reshape drops the axis: PyTorch's `y[-1]`, `y[:, -1]`) or an arithmetic progression.
 */
const importGather: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const rank = x.shape.length;
  const axis = normAxis(node.attrs.int('axis', 0), rank);
  if (axis < 0 || axis >= rank) ctx.fail(node, `axis ${node.attrs.int('axis', 0)} is out of range for rank ${rank}`);
  const ic = ctx.constant(node, 1, 'indices');
  const dim = x.shape[axis];
  const idx = constantValues(ic).map((i) => (i < 0 ? i + dim : i));
  if (idx.some((i) => !Number.isInteger(i) || i < 0 || i >= dim)) ctx.fail(node, `indices [${constantValues(ic)}] are out of range for axis ${axis} of size ${dim}`);
  const step = idx.length > 1 ? idx[1] - idx[0] : 1;
  if (ic.shape.length > 1) ctx.fail(node, `indices of shape [${ic.shape}]: tinym2 gathers activations by a scalar or 1-D constant index`);
  if (step === 0 || idx.some((v, k) => v !== idx[0] + k * step)) {
    ctx.fail(node, `indices [${constantValues(ic)}] are not one index or an evenly spaced run; tinym2 gathers activations by a slice`);
  }
  const st = x.shape.map(() => 0), sp = x.shape.map(() => 1), counts = [...x.shape];
  st[axis] = idx[0];
  sp[axis] = step;
  counts[axis] = idx.length;
  if (ic.shape.length === 1) return emitSlice(ctx, node, x, node.name, node.outputs[0], st, sp, counts);
  const sliced = ctx.freshTensorName(`${node.outputs[0]}.slice`);
  emitSlice(ctx, node, x, ctx.uniqueName(`${node.name}.slice`), sliced, st, sp, counts);
  ctx.emit(node, { op: 'Reshape', name: node.name, source: node.op, inputs: [sliced], outputs: [node.outputs[0]], shape: x.shape.filter((_, a) => a !== axis) });
};

/** ONNX axis -> [H, W, C] axis of the QTensor for each placement (-1: the batch axis). */
function qAxes(rank: number): number[] {
  if (rank === 4) return [-1, 2, 0, 1];
  if (rank === 3) return [-1, 2, 1];
  if (rank === 2) return [-1, 2];
  return [2];
}

export const slice: OpDef<SliceNode> = {
  // A slice that starts past row 0 or steps other than 1 along axis 0 reorders or drops samples.
  mixesSamples: (node) => (node.starts[0] !== 0 || node.steps[0] !== 1 ? 'a slice along axis 0' : undefined),
  importers: { Slice: importSlice, Split: importSplit, Gather: importGather },
  ...NO_WEIGHTS,

  shape(node, [x]) {
    check(node.starts.length === x.length && node.steps.length === x.length && node.counts.length === x.length, `slice of rank ${node.starts.length} on input ${fmt(x)}`);
    for (let a = 0; a < x.length; a++) {
      const last = node.starts[a] + (node.counts[a] - 1) * node.steps[a];
      check(node.counts[a] >= 1 && node.starts[a] >= 0 && node.starts[a] < x[a] && last >= 0 && last < x[a], `slice axis ${a} leaves input ${fmt(x)}`);
    }
    return [...node.counts];
  },

  forward: (ctx, [x]) => sliceForward(x, ctx.inShapes[0], ctx.node, ctx.outShape),

  backward: (ctx, _xs, _y, gy) => ({ inputs: [sliceBackward(gy, ctx.inShapes[0], ctx.node, ctx.outShape)], params: {} }),

  quant: {
    outputBits: 'inputs',
    share: 'first',
    fusesClamp: () => false,
    lower(lc, node) {
      const xShape = tensorInfo(lc.graph, node.inputs[0]).shape;
      let inP = lc.placed(node.inputs[0]);
      if (inP.kind === 'vector' && inP.perm) inP = lc.materializeVector(inP, node.inputs[0]);
      const map = qAxes(xShape.length);
      const start: [number, number, number] = [0, 0, 0], step: [number, number, number] = [1, 1, 1];
      for (let a = 0; a < xShape.length; a++) {
        if (map[a] < 0) {
          if (node.counts[a] !== xShape[a]) lc.unsupported(node, 'it slices the batch axis');
          continue;
        }
        start[map[a]] = node.starts[a];
        step[map[a]] = node.steps[a];
      }
      const out = lc.place(node.outputs[0], tensorInfo(lc.graph, node.outputs[0]).shape);
      lc.emit({ op: 'slice', name: node.name, inputs: [inP.q], output: out.q, start, step });
    },
  },
};
