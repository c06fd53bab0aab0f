// One importer per supported ONNX op type: each reads the ONNX node (attributes with their
// defaults, which differ between opsets) and emits IR nodes through the ImportContext.
import type { ConvNode, DenseNode, PoolNode } from '../ir.ts';
import { tensorSize } from '../ir.ts';
import type { ImportContext, SourceNode } from './context.ts';
import { constantValues, makeConstant, resolveReshape } from './fold.ts';
import { ShapeError } from './shapes.ts';
import { decodeTensor, toNumber, type TensorProto } from './proto.ts';

type Importer = (ctx: ImportContext, node: SourceNode) => void;

/** numeric_limits<float>::max(): ONNX's Clip bounds when none are given. */
export const FLOAT_MAX = 3.4028234663852886e38;

const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** strides / dilations / pads of a Conv or pool, with auto_pad resolved against the input shape. */
function windowAttrs(
  ctx: ImportContext, node: SourceNode, inShape: number[], kernel: number[],
): { strides: number[]; dilations: number[]; pads: number[] } {
  const r = kernel.length;
  const strides = node.attrs.ints('strides') ?? new Array<number>(r).fill(1);
  const dilations = node.attrs.ints('dilations') ?? new Array<number>(r).fill(1);
  let pads = node.attrs.ints('pads') ?? new Array<number>(2 * r).fill(0);
  const autoPad = node.attrs.string('auto_pad', 'NOTSET');
  if (strides.length !== r || dilations.length !== r || pads.length !== 2 * r) {
    ctx.fail(node, `strides [${strides}] / dilations [${dilations}] / pads [${pads}] do not match kernel [${kernel}]`);
  }
  if (strides.some((s) => s < 1) || dilations.some((d) => d < 1)) ctx.fail(node, 'strides and dilations must be >= 1');
  if (kernel.some((k) => k < 1)) ctx.fail(node, `kernel [${kernel}] must be >= 1 in every dimension`);
  if (pads.some((p) => p < 0)) ctx.fail(node, `negative pads [${pads}] (cropping) are not supported`);
  if (autoPad === 'VALID') pads = new Array<number>(2 * r).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = new Array<number>(2 * r).fill(0);
    for (let i = 0; i < r; i++) {
      const inLen = inShape[2 + i];
      const out = Math.ceil(inLen / strides[i]);
      const total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - inLen);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[r + i] = total - pads[i];
    }
  } else if (autoPad !== 'NOTSET') ctx.fail(node, `auto_pad '${autoPad}' is not an ONNX value (NOTSET, SAME_UPPER, SAME_LOWER, VALID)`);
  return { strides, dilations, pads };
}

function spatialRank(ctx: ImportContext, node: SourceNode, shape: number[]): number {
  const r = shape.length - 2;
  if (r !== 1 && r !== 2) ctx.fail(node, `input shape [${shape}]: tinym2 supports 1-D (N,C,L) and 2-D (N,C,H,W) windows only`);
  return r;
}

function requireFloat(ctx: ImportContext, node: SourceNode, c: { name: string; dtype: string }, what: string): void {
  if (c.dtype !== 'float32') ctx.fail(node, `the ${what} '${c.name}' is ${c.dtype}; tinym2 expects float32`);
}

const conv: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const w = ctx.constant(node, 1, 'weight');
  const b = ctx.optionalConstant(node, 2, 'bias');
  requireFloat(ctx, node, w, 'weight');
  if (b) requireFloat(ctx, node, b, 'bias');
  const r = spatialRank(ctx, node, x.shape);
  const kernel = node.attrs.ints('kernel_shape') ?? w.shape.slice(2);
  if (kernel.length !== r) ctx.fail(node, `kernel [${kernel}] does not match a ${r}-D input [${x.shape}]`);
  const ir: ConvNode = {
    op: 'Conv', name: node.name, source: 'Conv', inputs: [x.name], outputs: [node.outputs[0]],
    weight: w.name, kernel, ...windowAttrs(ctx, node, x.shape, kernel), group: node.attrs.int('group', 1),
  };
  if (b) ir.bias = b.name;
  ctx.emit(node, ir);
};

const batchNorm: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  if (node.attrs.int('training_mode', 0) !== 0) ctx.fail(node, 'training_mode=1 is not supported; export the model in eval() mode');
  // Older exports list running mean / var outputs too: harmless as long as nothing reads them
  // (a reader would be refused for reading a tensor no node produces).
  const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => ctx.constant(node, i, ['', 'scale', 'bias', 'mean', 'var'][i]));
  const eps = node.attrs.float('epsilon', 1e-5);
  const c = x.shape[1];
  for (const t of [gamma, beta, mean, variance]) {
    if (tensorSize(t.shape) !== c) ctx.fail(node, `'${t.name}' has ${tensorSize(t.shape)} values for ${c} channels of input [${x.shape}]`);
  }
  const g = constantValues(gamma), bt = constantValues(beta), m = constantValues(mean), v = constantValues(variance);
  const scale = g.map((gi, i) => gi / Math.sqrt(v[i] + eps));
  const shift = bt.map((bi, i) => bi - m[i] * scale[i]);
  const scaleName = ctx.freshTensorName(`${node.name}.scale`);
  ctx.addConstant(makeConstant(scaleName, 'float32', [c], scale));
  const shiftName = ctx.freshTensorName(`${node.name}.shift`);
  ctx.addConstant(makeConstant(shiftName, 'float32', [c], shift));
  ctx.emit(node, {
    op: 'ScaleShift', name: node.name, source: 'BatchNormalization', inputs: [x.name], outputs: [node.outputs[0]], scale: scaleName, shift: shiftName,
  });
};

const unary = (op: 'Relu' | 'Sigmoid'): Importer => (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  ctx.emit(node, { op, name: node.name, source: op, inputs: [x.name], outputs: [node.outputs[0]] });
};

const leakyRelu: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  ctx.emit(node, { op: 'LeakyRelu', name: node.name, source: 'LeakyRelu', inputs: [x.name], outputs: [node.outputs[0]], alpha: node.attrs.float('alpha', 0.01) });
};

const clip: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  let min = -FLOAT_MAX, max = FLOAT_MAX;
  if (ctx.opset < 11) {
    min = node.attrs.float('min', -FLOAT_MAX);
    max = node.attrs.float('max', FLOAT_MAX);
  } else {
    const lo = ctx.optionalConstant(node, 1, 'min');
    const hi = ctx.optionalConstant(node, 2, 'max');
    const scalar = (c: typeof lo, what: string): number => {
      const v = constantValues(c!);
      if (v.length !== 1) ctx.fail(node, `${what} must be one number, got ${v.length}`);
      return v[0];
    };
    if (lo) min = scalar(lo, 'min');
    if (hi) max = scalar(hi, 'max');
  }
  if (!Number.isFinite(min) || !Number.isFinite(max)) ctx.fail(node, `min ${min} and max ${max} must be finite`);
  if (min > max) ctx.fail(node, `min ${min} is greater than max ${max}`);
  ctx.emit(node, { op: 'Clip', name: node.name, source: 'Clip', inputs: [x.name], outputs: [node.outputs[0]], min, max });
};

const pool = (op: 'MaxPool' | 'AveragePool'): Importer => (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const r = spatialRank(ctx, node, x.shape);
  const kernel = node.attrs.ints('kernel_shape');
  if (!kernel || kernel.length !== r) ctx.fail(node, `kernel_shape [${kernel ?? ''}] must have ${r} values for input [${x.shape}]`);
  if (node.outputs[1]) ctx.fail(node, 'the Indices output is not supported');
  const ir: PoolNode = {
    op, name: node.name, source: op, inputs: [x.name], outputs: [node.outputs[0]], kernel, ...windowAttrs(ctx, node, x.shape, kernel),
    ceilMode: node.attrs.int('ceil_mode', 0) === 1,
    countIncludePad: op === 'AveragePool' && node.attrs.int('count_include_pad', 0) === 1,
  };
  ctx.emit(node, ir);
};

const globalAveragePool: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  ctx.emit(node, { op: 'GlobalAveragePool', name: node.name, source: 'GlobalAveragePool', inputs: [x.name], outputs: [node.outputs[0]] });
};

/** ReduceMean over every spatial axis (torch's x.mean(dim=[2, 3])) is a GlobalAveragePool. */
const reduceMean: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const rank = x.shape.length;
  let axes: number[] | undefined;
  if (ctx.opset >= 18) {
    const c = ctx.optionalConstant(node, 1, 'axes');
    axes = c ? constantValues(c) : undefined;
  } else axes = node.attrs.ints('axes');
  const spatial = x.shape.map((_, i) => i).slice(2);
  const sorted = (axes ?? x.shape.map((_, i) => i)).map((a) => normAxis(a, rank)).sort((a, b) => a - b);
  if (rank < 3 || sorted.join() !== spatial.join()) {
    ctx.fail(node, `mean over axes [${sorted}] of [${x.shape}]: tinym2 supports ReduceMean over all spatial axes [${spatial}] (global average pooling) only`);
  }
  const keep = node.attrs.int('keepdims', 1) === 1;
  const pooled = keep ? node.outputs[0] : ctx.freshTensorName(`${node.outputs[0]}.pooled`);
  ctx.emit(node, { op: 'GlobalAveragePool', name: node.name, source: 'ReduceMean', inputs: [x.name], outputs: [pooled] });
  if (!keep) {
    ctx.emit(node, { op: 'Reshape', name: ctx.uniqueName(`${node.name}.squeeze`), source: 'ReduceMean', inputs: [pooled], outputs: [node.outputs[0]], shape: x.shape.slice(0, 2) });
  }
};

const pad: Importer = (ctx: ImportContext, node: SourceNode) => {
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

function reshapeTo(ctx: ImportContext, node: SourceNode, shape: number[]): void {
  const x = ctx.activation(node, 0);
  ctx.emit(node, { op: 'Reshape', name: node.name, source: node.op, inputs: [x.name], outputs: [node.outputs[0]], shape });
}

const flatten: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const raw = node.attrs.int('axis', 1);
  if (raw < -x.shape.length || raw > x.shape.length) ctx.fail(node, `axis ${raw} is out of range for input [${x.shape}]`);
  const axis = normAxis(raw, x.shape.length);
  reshapeTo(ctx, node, [tensorSize(x.shape.slice(0, axis)), tensorSize(x.shape.slice(axis))]);
};

const reshape: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const target = ctx.opset < 5 ? (node.attrs.ints('shape') ?? []) : constantValues(ctx.constant(node, 1, 'shape'));
  try {
    reshapeTo(ctx, node, resolveReshape(x.shape, target, node.attrs.int('allowzero', 0) === 1));
  } catch (e) {
    if (e instanceof ShapeError) ctx.fail(node, `shape mismatch: ${e.message}`);
    throw e;
  }
};

function axesOf(ctx: ImportContext, node: SourceNode): number[] | undefined {
  if (ctx.opset >= 13) {
    const c = ctx.optionalConstant(node, 1, 'axes');
    return c ? constantValues(c) : undefined;
  }
  return node.attrs.ints('axes');
}

const squeeze: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const axes = axesOf(ctx, node)?.map((a) => normAxis(a, x.shape.length));
  if (axes) for (const a of axes) if (x.shape[a] !== 1) ctx.fail(node, `cannot squeeze axis ${a} of size ${x.shape[a]} (input [${x.shape}])`);
  reshapeTo(ctx, node, x.shape.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)));
};

const unsqueeze: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const list = axesOf(ctx, node);
  if (!list) ctx.fail(node, 'axes are required');
  const rank = x.shape.length + list.length;
  const axes = list.map((a) => normAxis(a, rank));
  if (axes.some((a) => !Number.isInteger(a) || a < 0 || a >= rank) || new Set(axes).size !== axes.length) {
    ctx.fail(node, `axes [${list}] are out of range or repeated for an output of rank ${rank}`);
  }
  const shape: number[] = [];
  for (let i = 0, j = 0; i < rank; i++) shape.push(axes.includes(i) ? 1 : x.shape[j++]);
  reshapeTo(ctx, node, shape);
};

const transpose: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const perm = node.attrs.ints('perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
  ctx.emit(node, { op: 'Transpose', name: node.name, source: 'Transpose', inputs: [x.name], outputs: [node.outputs[0]], perm });
};

const concat: Importer = (ctx: ImportContext, node: SourceNode) => {
  if (node.inputs.length === 0 || node.inputs.some((n) => n === '')) ctx.fail(node, 'Concat needs one or more inputs, none omitted');
  const inputs = node.inputs.map((_, i) => ctx.activation(node, i));
  const axis = normAxis(node.attrs.int('axis', 0), inputs[0].shape.length);
  ctx.emit(node, { op: 'Concat', name: node.name, source: 'Concat', inputs: inputs.map((t) => t.name), outputs: [node.outputs[0]], axis });
};

const binary: Importer = (ctx: ImportContext, node: SourceNode) => {
  const [a, b] = node.inputs;
  const ca = ctx.isConstant(a), cb = ctx.isConstant(b);
  let op = node.op as 'Add' | 'Sub' | 'Mul' | 'Div';
  const base = { name: node.name, source: node.op, outputs: [node.outputs[0]] };
  if (!ca && !cb) {
    if (op === 'Div') ctx.fail(node, 'division of two activations is not supported (tinym2 supports Div by a constant)');
    ctx.emit(node, { ...base, op, inputs: [ctx.activation(node, 0).name, ctx.activation(node, 1).name] });
    return;
  }
  const constantIndex: 0 | 1 = ca ? 0 : 1;
  const c = ctx.constant(node, constantIndex, 'operand');
  const x = ctx.activation(node, 1 - constantIndex);
  let constant = c.name;
  if (c.dtype !== 'float32') {
    constant = ctx.freshTensorName(`${c.name}.f32`);
    ctx.addConstant(makeConstant(constant, 'float32', [...c.shape], constantValues(c)));
  }
  if (op === 'Div') {
    // x / c == x * (1/c); c / x has no IR form.
    if (constantIndex === 0) ctx.fail(node, 'a constant divided by an activation is not supported (tinym2 supports Div by a constant)');
    constant = ctx.freshTensorName(`${c.name}.reciprocal`);
    ctx.addConstant(makeConstant(constant, 'float32', [...c.shape], constantValues(c).map((v) => 1 / v)));
    op = 'Mul';
  }
  ctx.emit(node, { ...base, op, inputs: [x.name], constant, constantIndex });
};

const softmax: Importer = (ctx: ImportContext, node: SourceNode) => {
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

const gemm: Importer = (ctx: ImportContext, node: SourceNode) => {
  if (node.attrs.int('transA', 0) !== 0) ctx.fail(node, 'transA=1 is not supported; tinym2 supports Gemm with an activation A [1, K] and a constant B');
  const x = ctx.activation(node, 0);
  if (x.shape.length !== 2) ctx.fail(node, `A must be 2-D, got [${x.shape}]`);
  const bC = ctx.constant(node, 1, 'B (weight)');
  requireFloat(ctx, node, bC, 'weight');
  if (bC.shape.length !== 2) ctx.fail(node, `B must be 2-D, got [${bC.shape}]`);
  const transB = node.attrs.int('transB', 0) === 1;
  const alpha = node.attrs.float('alpha', 1), beta = node.attrs.float('beta', 1);
  const [k, n] = transB ? [bC.shape[1], bC.shape[0]] : bC.shape;
  const bv = constantValues(bC);
  const w = new Float32Array(n * k);
  for (let o = 0; o < n; o++) for (let i = 0; i < k; i++) w[o * k + i] = alpha * (transB ? bv[o * k + i] : bv[i * n + o]);
  const weight = alpha === 1 && transB ? bC.name : ctx.freshTensorName(`${bC.name}.dense`);
  if (weight !== bC.name) ctx.addConstant({ name: weight, dtype: 'float32', shape: [n, k], data: w });
  const ir: DenseNode = { op: 'Dense', name: node.name, source: 'Gemm', inputs: [x.name], outputs: [node.outputs[0]], weight };
  const cC = ctx.optionalConstant(node, 2, 'C (bias)');
  if (cC && beta !== 0) {
    const cv = constantValues(cC);
    if (cv.length !== n && cv.length !== 1) ctx.fail(node, `C [${cC.shape}] must broadcast to [1, ${n}]`);
    const bias = ctx.freshTensorName(`${cC.name}.bias`);
    ctx.addConstant(makeConstant(bias, 'float32', [n], Array.from({ length: n }, (_, i) => beta * cv[cv.length === 1 ? 0 : i])));
    ir.bias = bias;
  }
  ctx.emit(node, ir);
};

const matMul: Importer = (ctx: ImportContext, node: SourceNode) => {
  if (ctx.isConstant(node.inputs[0]) || !ctx.isConstant(node.inputs[1])) {
    ctx.fail(node, 'tinym2 supports MatMul of an activation by a constant 2-D weight (a fully connected layer) only');
  }
  const x = ctx.activation(node, 0);
  const bC = ctx.constant(node, 1, 'weight');
  requireFloat(ctx, node, bC, 'weight');
  if (bC.shape.length !== 2) ctx.fail(node, `the weight must be 2-D, got [${bC.shape}]`);
  const [k, n] = bC.shape;
  const bv = bC.data as Float32Array;
  const w = new Float32Array(n * k);
  for (let o = 0; o < n; o++) for (let i = 0; i < k; i++) w[o * k + i] = bv[i * n + o];
  const weight = ctx.freshTensorName(`${bC.name}.dense`);
  ctx.addConstant({ name: weight, dtype: 'float32', shape: [n, k], data: w });
  ctx.emit(node, { op: 'Dense', name: node.name, source: 'MatMul', inputs: [x.name], outputs: [node.outputs[0]], weight });
};

/** Identity-like ops: the output is the input. */
const passThrough: Importer = (ctx: ImportContext, node: SourceNode) => {
  if (node.op === 'Cast' && node.attrs.int('to', 1) !== 1) ctx.fail(node, 'Cast of an activation to a non-float type is not supported');
  ctx.activation(node, 0);
  ctx.alias(node.outputs[0], node.inputs[0]);
};

export const IMPORTERS: Record<string, Importer> = {
  Conv: conv,
  BatchNormalization: batchNorm,
  Relu: unary('Relu'),
  Sigmoid: unary('Sigmoid'),
  LeakyRelu: leakyRelu,
  Clip: clip,
  MaxPool: pool('MaxPool'),
  AveragePool: pool('AveragePool'),
  GlobalAveragePool: globalAveragePool,
  ReduceMean: reduceMean,
  Pad: pad,
  Gemm: gemm,
  MatMul: matMul,
  Flatten: flatten,
  Reshape: reshape,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Transpose: transpose,
  Concat: concat,
  Add: binary,
  Sub: binary,
  Mul: binary,
  Div: binary,
  Softmax: softmax,
  Dropout: passThrough,
  Identity: passThrough,
  Cast: passThrough,
};

export const SUPPORTED_OPS = [...Object.keys(IMPORTERS), 'Constant', 'Shape (folded)'].join(', ');

/** Value of a Constant node's attribute (value, value_float(s), value_int(s)). */
export function constantNodeValue(ctx: ImportContext, node: SourceNode): void {
  const out = node.outputs[0];
  const a = node.attrs;
  const t = a.tensor('value');
  if (t) return void ctx.addConstant(ctxDecode(ctx, node, t, out));
  const f = a.raw('value_float'), fs = a.raw('value_floats'), i = a.raw('value_int'), is = a.raw('value_ints');
  if (f) return void ctx.addConstant(makeConstant(out, 'float32', [], [f.f ?? 0]));
  if (fs) return void ctx.addConstant(makeConstant(out, 'float32', [(fs.floats ?? []).length], fs.floats ?? []));
  if (i) return void ctx.addConstant(makeConstant(out, 'int64', [], [toNumber(i.i ?? 0)]));
  if (is) return void ctx.addConstant(makeConstant(out, 'int64', [(is.ints ?? []).length], (is.ints ?? []).map(toNumber)));
  ctx.fail(node, `attribute(s) ${a.names().join(', ') || '(none)'} are not supported; tinym2 reads value, value_float(s) and value_int(s)`);
}

function ctxDecode(ctx: ImportContext, node: SourceNode, t: TensorProto, name: string) {
  const c = decodeTensor(t, name, ctx.limits);
  if (typeof c === 'string') ctx.fail(node, c);
  return c;
}
