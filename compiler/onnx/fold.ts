// Constant folding at import: evaluates the shape arithmetic PyTorch exports around Reshape /
// Flatten (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, ...) and any other small op whose
// inputs are all constants, so that the IR only ever sees static shapes.
import type { Constant, DType } from '../ir.ts';
import { tensorSize } from '../ir.ts';
import type { ImportContext, SourceNode } from './context.ts';
import { broadcastShapes, ShapeError } from './shapes.ts';
import { irDType, dataTypeName } from './proto.ts';
import { shapeProblem } from '../limits.ts';

export function constantValues(c: Constant): number[] {
  return c.data instanceof BigInt64Array ? Array.from(c.data, Number) : Array.from(c.data);
}

export function makeConstant(name: string, dtype: DType, shape: number[], values: ArrayLike<number>): Constant {
  if (dtype !== 'float32') {
    for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) throw new ShapeError(`${dtype} constant '${name}' would hold ${values[i]}`);
  }
  const data =
    dtype === 'float32' ? Float32Array.from(values)
    : dtype === 'int32' ? Int32Array.from(values)
    : BigInt64Array.from(Array.from(values, (v) => BigInt(Math.trunc(v))));
  return { name, dtype, shape, data };
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Element-wise op over broadcast constants. */
function broadcastMap(a: Constant, b: Constant, f: (x: number, y: number) => number): { shape: number[]; values: number[] } {
  const shape = broadcastShapes(a.shape, b.shape);
  const av = constantValues(a), bv = constantValues(b);
  const os = strides(shape);
  const index = (src: Constant, flat: number): number => {
    let off = 0, mult = 1;
    for (let d = shape.length - 1, sd = src.shape.length - 1; sd >= 0; d--, sd--) {
      const coord = Math.floor(flat / os[d]) % shape[d];
      off += (src.shape[sd] === 1 ? 0 : coord) * mult;
      mult *= src.shape[sd];
    }
    return off;
  };
  const values = new Array<number>(tensorSize(shape));
  for (let i = 0; i < values.length; i++) values[i] = f(av[index(a, i)], bv[index(b, i)]);
  return { shape, values };
}

/** Ops this module can evaluate when all their inputs are constants. */
export const FOLDABLE = new Set([
  'Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Concat', 'Cast', 'Reshape', 'Flatten', 'Add', 'Sub', 'Mul', 'Div',
  'Slice', 'ConstantOfShape', 'Transpose', 'Sqrt', 'Neg', 'Range', 'Expand',
]);

/** Inputs each foldable op needs (before opset 10 Slice reads its bounds from attributes). */
function requiredInputs(op: string, opset: number): number {
  switch (op) {
    case 'Gather': case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Expand': return 2;
    case 'Reshape': return opset < 5 ? 1 : 2;
    case 'Slice': return opset < 10 ? 1 : 3;
    case 'Range': return 3;
    default: return 1;
  }
}

/**
 * Evaluates `node` on constant inputs and registers its output as a constant. Returns false when
 * it cannot (the op is then imported as a layer, or refused). Every index, axis, step and output
 * size comes from the file, so each is checked before use and the output's size is checked against
 * the element cap before it is computed.
 */
export function foldConstantNode(ctx: ImportContext, node: SourceNode): boolean {
  if (!FOLDABLE.has(node.op)) return false;
  const present = node.inputs.filter((n) => n !== '');
  const refuse: (what: string) => never = (what) => ctx.fail(node, `cannot fold constant inputs: ${what}`);
  /** The output shape, checked (whole, non-negative, under the cap) before any value is computed. */
  const outShape = (shape: number[]): number[] => {
    const bad = shapeProblem(shape, ctx.limits);
    if (bad) refuse(`the result ${bad}`);
    ctx.reserveConstant(tensorSize(shape));
    return shape;
  };
  const axisOf = (axis: number, rank: number, what = 'axis'): number => {
    if (!Number.isInteger(axis) || axis < -rank || axis >= rank) refuse(`${what} ${axis} is out of range for rank ${rank}`);
    return normAxis(axis, rank);
  };
  // Shape only needs its input's static shape, activation or not.
  if (node.op === 'Shape') {
    const src = ctx.constants.get(node.inputs[0]) ?? ctx.tensors.get(node.inputs[0]);
    if (!src) return false;
    const rank = src.shape.length;
    let start = normAxis(node.attrs.int('start', 0), rank);
    let end = node.attrs.has('end') ? normAxis(node.attrs.int('end', rank), rank) : rank;
    start = Math.min(Math.max(start, 0), rank);
    end = Math.min(Math.max(end, 0), rank);
    const dims = src.shape.slice(start, Math.max(start, end));
    ctx.addConstant(makeConstant(node.outputs[0], 'int64', [dims.length], dims));
    return true;
  }
  if (present.length === 0 || !present.every((n) => ctx.isConstant(n))) return false;
  if (node.inputs.length < requiredInputs(node.op, ctx.opset)) refuse(`${node.op} needs ${requiredInputs(node.op, ctx.opset)} inputs, the node has ${node.inputs.length}`);
  const c = (i: number): Constant => {
    const found = node.inputs[i] ? ctx.constants.get(node.inputs[i]) : undefined;
    if (!found) refuse(`input ${i} is missing`);
    return found;
  };
  /** Values of an input that must be whole numbers (indices, axes, shapes, steps). */
  const ints = (i: number, what: string): number[] => {
    const v = constantValues(c(i));
    for (const x of v) if (!Number.isInteger(x)) refuse(`${what} ${x} is not a whole number`);
    return v;
  };
  const out = node.outputs[0];
  const a = node.attrs;
  try {
    switch (node.op) {
      case 'Gather': {
        const data = c(0), idx = c(1);
        if (data.shape.length === 0) refuse('data is a scalar');
        const axis = axisOf(a.int('axis', 0), data.shape.length);
        const dim = data.shape[axis];
        const iv = ints(1, 'index').map((i) => {
          if (i < -dim || i >= dim) refuse(`index ${i} is out of range for axis ${axis} of size ${dim}`);
          return i < 0 ? i + dim : i;
        });
        const shape = outShape([...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)]);
        const dv = constantValues(data);
        const outer = tensorSize(data.shape.slice(0, axis)), inner = tensorSize(data.shape.slice(axis + 1));
        const values: number[] = [];
        for (let o = 0; o < outer; o++) for (const i of iv) for (let k = 0; k < inner; k++) values.push(dv[(o * dim + i) * inner + k]);
        ctx.addConstant(makeConstant(out, data.dtype, shape, values));
        return true;
      }
      case 'Unsqueeze': case 'Squeeze': {
        const data = c(0);
        const axesList = ctx.opset >= 13 ? (node.inputs[1] ? ints(1, 'axis') : undefined) : a.ints('axes');
        let shape: number[];
        if (node.op === 'Unsqueeze') {
          if (!axesList) refuse('axes are required');
          const rank = data.shape.length + axesList.length;
          const axes = axesList.map((x) => axisOf(x, rank));
          if (new Set(axes).size !== axes.length) refuse(`axes [${axesList}] repeat an axis`);
          shape = [];
          for (let i = 0, j = 0; i < rank; i++) shape.push(axes.includes(i) ? 1 : data.shape[j++]);
        } else {
          const axes = axesList?.map((x) => axisOf(x, data.shape.length));
          for (const ax of axes ?? []) if (data.shape[ax] !== 1) refuse(`cannot squeeze axis ${ax} of size ${data.shape[ax]}`);
          shape = data.shape.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
        }
        ctx.addConstant({ ...data, name: out, shape: outShape(shape) });
        return true;
      }
      case 'Concat': {
        const parts = present.map((n) => ctx.constants.get(n)!);
        const rank = parts[0].shape.length;
        if (rank === 0) refuse('cannot concatenate scalars');
        const axis = axisOf(a.int('axis', 0), rank);
        for (const p of parts) {
          if (p.dtype !== parts[0].dtype) refuse(`inputs mix ${p.dtype} and ${parts[0].dtype}`);
          if (p.shape.length !== rank || p.shape.some((d, i) => i !== axis && d !== parts[0].shape[i])) {
            refuse(`inputs ${parts.map((q) => `[${q.shape}]`).join(' and ')} differ outside axis ${axis}`);
          }
        }
        const shape = [...parts[0].shape];
        shape[axis] = parts.reduce((s, p) => s + p.shape[axis], 0);
        outShape(shape);
        const outer = tensorSize(parts[0].shape.slice(0, axis));
        const values: number[] = [];
        const partValues = parts.map(constantValues);
        for (let o = 0; o < outer; o++) {
          parts.forEach((p, k) => {
            const chunk = tensorSize(p.shape.slice(axis));
            // One value at a time: a spread push of a long constant overflows the call stack.
            for (let i = o * chunk; i < (o + 1) * chunk; i++) values.push(partValues[k][i]);
          });
        }
        ctx.addConstant(makeConstant(out, parts[0].dtype, shape, values));
        return true;
      }
      case 'Cast': {
        const to = a.int('to', 1);
        const dtype = irDType(to);
        if (!dtype) ctx.fail(node, `Cast to ${dataTypeName(to)} is not supported on constants`);
        const values = constantValues(c(0));
        if (dtype !== 'float32' && values.some((v) => !Number.isFinite(v))) refuse('a non-finite value cannot be cast to an integer');
        ctx.addConstant(makeConstant(out, dtype, [...c(0).shape], values));
        return true;
      }
      case 'Reshape': {
        const data = c(0);
        const target = ctx.opset < 5 ? (a.ints('shape') ?? []) : ints(1, 'target dimension');
        const shape = resolveReshape(data.shape, target, a.int('allowzero', 0) === 1);
        ctx.addConstant({ ...data, name: out, shape });
        return true;
      }
      case 'Flatten': {
        const data = c(0);
        const rank = data.shape.length;
        const raw = a.int('axis', 1);
        if (raw < -rank || raw > rank) refuse(`axis ${raw} is out of range for rank ${rank}`);
        const axis = normAxis(raw, rank);
        ctx.addConstant({ ...data, name: out, shape: [tensorSize(data.shape.slice(0, axis)), tensorSize(data.shape.slice(axis))] });
        return true;
      }
      case 'Add': case 'Sub': case 'Mul': case 'Div': {
        const x = c(0), y = c(1);
        const isInt = x.dtype !== 'float32';
        if (x.dtype !== y.dtype) refuse(`operands are ${x.dtype} and ${y.dtype}`);
        if (isInt && node.op === 'Div' && constantValues(y).includes(0)) refuse('integer division by zero');
        outShape(broadcastShapes(x.shape, y.shape));
        const f = {
          Add: (p: number, q: number) => p + q,
          Sub: (p: number, q: number) => p - q,
          Mul: (p: number, q: number) => p * q,
          Div: (p: number, q: number) => (isInt ? Math.trunc(p / q) : p / q),
        }[node.op];
        const r = broadcastMap(x, y, f);
        ctx.addConstant(makeConstant(out, x.dtype, r.shape, r.values));
        return true;
      }
      case 'Sqrt': case 'Neg': {
        const x = c(0);
        const f = node.op === 'Sqrt' ? Math.sqrt : (v: number) => -v;
        const values = constantValues(x).map(f);
        if (x.dtype !== 'float32' && values.some((v) => !Number.isFinite(v))) refuse('the result is not a number');
        ctx.addConstant(makeConstant(out, x.dtype, [...x.shape], values));
        return true;
      }
      case 'Slice': {
        const data = c(0);
        const rank = data.shape.length;
        let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
        if (ctx.opset < 10) {
          starts = a.ints('starts') ?? []; ends = a.ints('ends') ?? []; axes = a.ints('axes');
        } else {
          starts = ints(1, 'start'); ends = ints(2, 'end');
          axes = node.inputs[3] ? ints(3, 'axis') : undefined;
          steps = node.inputs[4] ? ints(4, 'step') : undefined;
        }
        if (ends.length !== starts.length || (axes && axes.length !== starts.length) || (steps && steps.length !== starts.length)) {
          refuse(`starts [${starts}], ends [${ends}], axes [${axes ?? ''}] and steps [${steps ?? ''}] differ in length`);
        }
        const lo = data.shape.map(() => 0), hi = [...data.shape], st = data.shape.map(() => 1);
        const seen = new Set<number>();
        starts.forEach((s, k) => {
          const ax = axisOf(axes ? axes[k] : k, rank);
          if (seen.has(ax)) refuse(`axis ${ax} is sliced twice`);
          seen.add(ax);
          const dim = data.shape[ax];
          const step = steps ? steps[k] : 1;
          if (step === 0) refuse('a step is 0');
          const clamp = (v: number, min: number, max: number) => Math.min(Math.max(v, min), max);
          let b = s < 0 ? s + dim : s, e = ends[k] < 0 ? ends[k] + dim : ends[k];
          if (step > 0) { b = clamp(b, 0, dim); e = clamp(e, 0, dim); } else { b = clamp(b, 0, dim - 1); e = clamp(e, -1, dim - 1); }
          lo[ax] = b; hi[ax] = e; st[ax] = step;
        });
        const shape = outShape(data.shape.map((_, d) => Math.max(0, Math.ceil((hi[d] - lo[d]) / st[d]))));
        const src = constantValues(data), ss = strides(data.shape), os = strides(shape);
        const values = new Array<number>(tensorSize(shape));
        for (let i = 0; i < values.length; i++) {
          let off = 0;
          for (let d = 0; d < rank; d++) off += (lo[d] + (Math.floor(i / os[d]) % shape[d]) * st[d]) * ss[d];
          values[i] = src[off];
        }
        ctx.addConstant(makeConstant(out, data.dtype, shape, values));
        return true;
      }
      case 'Expand': { // PyTorch's zero initial state of an LSTM / GRU: Expand(zeros, [1, batch, hidden])
        const data = c(0);
        const target = ints(1, 'dimension');
        if (target.some((d) => d < 0)) refuse(`shape [${target}] has a negative dimension`);
        const shape = outShape(broadcastShapes(data.shape, target));
        const r = broadcastMap(data, makeConstant('', data.dtype, shape, new Array<number>(tensorSize(shape)).fill(0)), (p) => p);
        ctx.addConstant(makeConstant(out, data.dtype, r.shape, r.values));
        return true;
      }
      case 'ConstantOfShape': {
        if (c(0).shape.length !== 1) refuse(`the shape input must be 1-D, got [${c(0).shape}]`);
        const shape = outShape(ints(0, 'dimension'));
        const t = a.tensor('value');
        let dtype: DType = 'float32', v = 0;
        if (t) {
          const dt = irDType(t.dataType);
          if (!dt) ctx.fail(node, `value of data type ${dataTypeName(t.dataType)} is not supported`);
          dtype = dt;
          const raw = t.rawData && t.rawData.length ? t.rawData : undefined;
          const bytes = t.dataType === 1 || t.dataType === 6 ? 4 : 8;
          if (raw) {
            if (raw.length < bytes) refuse(`value has ${raw.length} bytes of data, needs ${bytes}`);
            const dv = new DataView(new Uint8Array(raw).buffer);
            v = t.dataType === 1 ? dv.getFloat32(0, true) : t.dataType === 6 ? dv.getInt32(0, true) : t.dataType === 11 ? dv.getFloat64(0, true) : Number(dv.getBigInt64(0, true));
          } else {
            v = Number((t.floatData?.[0] ?? t.int32Data?.[0] ?? t.doubleData?.[0] ?? t.int64Data?.[0] ?? 0).toString());
          }
          if (!Number.isFinite(v) || (dtype !== 'float32' && !Number.isSafeInteger(v))) refuse(`value ${v} is not a finite ${dtype}`);
        }
        ctx.addConstant(makeConstant(out, dtype, shape, new Array<number>(tensorSize(shape)).fill(v)));
        return true;
      }
      case 'Transpose': {
        const data = c(0);
        const rank = data.shape.length;
        const perm = a.ints('perm') ?? data.shape.map((_, i) => rank - 1 - i);
        const sorted = [...perm].sort((p, q) => p - q);
        if (perm.length !== rank || sorted.some((p, i) => p !== i)) refuse(`perm [${perm}] is not a permutation of ${rank} axes`);
        const shape = perm.map((p) => data.shape[p]);
        const src = constantValues(data), ss = strides(data.shape), os = strides(shape);
        const values = new Array<number>(src.length);
        for (let i = 0; i < values.length; i++) {
          let off = 0;
          for (let d = 0; d < rank; d++) off += (Math.floor(i / os[d]) % shape[d]) * ss[perm[d]];
          values[i] = src[off];
        }
        ctx.addConstant(makeConstant(out, data.dtype, shape, values));
        return true;
      }
      case 'Range': {
        const [start, limit, delta] = [0, 1, 2].map((i) => {
          const v = constantValues(c(i));
          if (v.length !== 1 || !Number.isFinite(v[0])) refuse(`input ${i} must be one finite number, got [${v.slice(0, 4)}]`);
          return v[0];
        });
        if (delta === 0) refuse('delta is 0');
        const count = outShape([Math.max(0, Math.ceil((limit - start) / delta))])[0];
        const values = Array.from({ length: count }, (_, k) => start + k * delta);
        ctx.addConstant(makeConstant(out, c(0).dtype, [count], values));
        return true;
      }
    }
  } catch (e) {
    if (e instanceof ShapeError) ctx.fail(node, `cannot fold constant inputs: ${e.message}`);
    throw e;
  }
  return false;
}

/**
 * ONNX Reshape's target shape: 0 copies the input dimension (unless allowzero), -1 is inferred.
 * Throws ShapeError when the element counts do not match.
 */
export function resolveReshape(inShape: readonly number[], target: readonly number[], allowZero: boolean): number[] {
  const bad = target.find((d) => !Number.isSafeInteger(d) || d < -1);
  if (bad !== undefined) throw new ShapeError(`target [${target}] has dimension ${bad}; dimensions are whole numbers >= -1`);
  const shape = target.map((d, i) => (d === 0 && !allowZero ? inShape[i] : d));
  if (shape.some((d) => d === undefined)) throw new ShapeError(`target [${target}] copies a dimension the input [${inShape}] does not have`);
  const minus = shape.filter((d) => d === -1).length;
  if (minus > 1) throw new ShapeError(`target [${target}] has more than one -1`);
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const total = tensorSize(inShape);
  if (minus === 1) {
    if (known === 0 || total % known !== 0) throw new ShapeError(`cannot reshape [${inShape}] (${total} values) to [${target}]`);
    shape[shape.indexOf(-1)] = total / known;
  }
  if (tensorSize(shape) !== total) throw new ShapeError(`cannot reshape [${inShape}] (${total} values) to [${target}]`);
  return shape;
}
