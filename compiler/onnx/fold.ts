// Constant folding at import: evaluates the shape arithmetic PyTorch exports around Reshape /
// Flatten (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, ...) and any other small op whose
// inputs are all constants, so that the IR only ever sees static shapes.
import type { Constant, DType } from '../ir.ts';
import { tensorSize } from '../ir.ts';
import type { ImportContext, SourceNode } from './context.ts';
import { broadcastShapes, ShapeError } from './shapes.ts';
import { irDType, dataTypeName } from './proto.ts';

export function constantValues(c: Constant): number[] {
  return c.data instanceof BigInt64Array ? Array.from(c.data, Number) : Array.from(c.data);
}

export function makeConstant(name: string, dtype: DType, shape: number[], values: ArrayLike<number>): Constant {
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
  'Slice', 'ConstantOfShape', 'Transpose', 'Sqrt', 'Neg', 'Range',
]);

/**
 * Evaluates `node` on constant inputs and registers its output as a constant. Returns false when
 * it cannot (the op is then imported as a layer, or refused).
 */
export function foldConstantNode(ctx: ImportContext, node: SourceNode): boolean {
  if (!FOLDABLE.has(node.op)) return false;
  const present = node.inputs.filter((n) => n !== '');
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
  if (!present.every((n) => ctx.isConstant(n))) return false;
  const c = (i: number): Constant => ctx.constants.get(node.inputs[i])!;
  const out = node.outputs[0];
  const a = node.attrs;
  try {
    switch (node.op) {
      case 'Gather': {
        const data = c(0), idx = c(1);
        const axis = normAxis(a.int('axis', 0), data.shape.length);
        const dv = constantValues(data), iv = constantValues(idx).map((i) => (i < 0 ? i + data.shape[axis] : i));
        const outer = tensorSize(data.shape.slice(0, axis)), inner = tensorSize(data.shape.slice(axis + 1));
        const values: number[] = [];
        for (let o = 0; o < outer; o++) for (const i of iv) for (let k = 0; k < inner; k++) values.push(dv[(o * data.shape[axis] + i) * inner + k]);
        const shape = [...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)];
        ctx.addConstant(makeConstant(out, data.dtype, shape, values));
        return true;
      }
      case 'Unsqueeze': case 'Squeeze': {
        const data = c(0);
        const axesList = ctx.opset >= 13 ? (node.inputs[1] ? constantValues(c(1)) : undefined) : a.ints('axes');
        let shape: number[];
        if (node.op === 'Unsqueeze') {
          const rank = data.shape.length + (axesList?.length ?? 0);
          const axes = (axesList ?? []).map((x) => normAxis(x, rank));
          shape = [];
          for (let i = 0, j = 0; i < rank; i++) shape.push(axes.includes(i) ? 1 : data.shape[j++]);
        } else {
          const axes = axesList?.map((x) => normAxis(x, data.shape.length));
          shape = data.shape.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
        }
        ctx.addConstant({ ...data, name: out, shape });
        return true;
      }
      case 'Concat': {
        const parts = present.map((n) => ctx.constants.get(n)!);
        const rank = parts[0].shape.length;
        const axis = normAxis(a.int('axis', 0), rank);
        const outer = tensorSize(parts[0].shape.slice(0, axis));
        const values: number[] = [];
        for (let o = 0; o < outer; o++) {
          for (const p of parts) {
            const chunk = tensorSize(p.shape.slice(axis));
            values.push(...constantValues(p).slice(o * chunk, (o + 1) * chunk));
          }
        }
        const shape = [...parts[0].shape];
        shape[axis] = parts.reduce((s, p) => s + p.shape[axis], 0);
        ctx.addConstant(makeConstant(out, parts[0].dtype, shape, values));
        return true;
      }
      case 'Cast': {
        const to = a.int('to', 1);
        const dtype = irDType(to);
        if (!dtype) ctx.fail(node, `Cast to ${dataTypeName(to)} is not supported on constants`);
        ctx.addConstant(makeConstant(out, dtype, [...c(0).shape], constantValues(c(0))));
        return true;
      }
      case 'Reshape': {
        const data = c(0);
        const shape = resolveReshape(data.shape, constantValues(c(1)), a.int('allowzero', 0) === 1);
        ctx.addConstant({ ...data, name: out, shape });
        return true;
      }
      case 'Flatten': {
        const data = c(0);
        const axis = normAxis(a.int('axis', 1), data.shape.length);
        ctx.addConstant({ ...data, name: out, shape: [tensorSize(data.shape.slice(0, axis)), tensorSize(data.shape.slice(axis))] });
        return true;
      }
      case 'Add': case 'Sub': case 'Mul': case 'Div': {
        const x = c(0), y = c(1);
        const isInt = x.dtype !== 'float32';
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
        ctx.addConstant(makeConstant(out, x.dtype, [...x.shape], constantValues(x).map(f)));
        return true;
      }
      case 'Slice': {
        const data = c(0);
        const rank = data.shape.length;
        let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
        if (ctx.opset < 10) {
          starts = a.ints('starts') ?? []; ends = a.ints('ends') ?? []; axes = a.ints('axes');
        } else {
          starts = constantValues(c(1)); ends = constantValues(c(2));
          axes = node.inputs[3] ? constantValues(c(3)) : undefined;
          steps = node.inputs[4] ? constantValues(c(4)) : undefined;
        }
        const lo = data.shape.map(() => 0), hi = [...data.shape], st = data.shape.map(() => 1);
        starts.forEach((s, k) => {
          const ax = normAxis(axes ? axes[k] : k, rank);
          const dim = data.shape[ax];
          const step = steps ? steps[k] : 1;
          const clamp = (v: number, min: number, max: number) => Math.min(Math.max(v, min), max);
          let b = s < 0 ? s + dim : s, e = ends[k] < 0 ? ends[k] + dim : ends[k];
          if (step > 0) { b = clamp(b, 0, dim); e = clamp(e, 0, dim); } else { b = clamp(b, 0, dim - 1); e = clamp(e, -1, dim - 1); }
          lo[ax] = b; hi[ax] = e; st[ax] = step;
        });
        const shape = data.shape.map((_, d) => Math.max(0, Math.ceil((hi[d] - lo[d]) / st[d])));
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
      case 'ConstantOfShape': {
        const shape = constantValues(c(0));
        const t = a.tensor('value');
        let dtype: DType = 'float32', v = 0;
        if (t) {
          const dt = irDType(t.dataType);
          if (!dt) ctx.fail(node, `value of data type ${dataTypeName(t.dataType)} is not supported`);
          dtype = dt;
          const raw = t.rawData && t.rawData.length ? t.rawData : undefined;
          if (raw) {
            const dv = new DataView(new Uint8Array(raw).buffer);
            v = t.dataType === 1 ? dv.getFloat32(0, true) : t.dataType === 6 ? dv.getInt32(0, true) : t.dataType === 11 ? dv.getFloat64(0, true) : Number(dv.getBigInt64(0, true));
          } else {
            v = Number((t.floatData?.[0] ?? t.int32Data?.[0] ?? t.doubleData?.[0] ?? t.int64Data?.[0] ?? 0).toString());
          }
        }
        ctx.addConstant(makeConstant(out, dtype, shape, new Array<number>(tensorSize(shape)).fill(v)));
        return true;
      }
      case 'Transpose': {
        const data = c(0);
        const rank = data.shape.length;
        const perm = a.ints('perm') ?? data.shape.map((_, i) => rank - 1 - i);
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
        const [start, limit, delta] = [0, 1, 2].map((i) => constantValues(c(i))[0]);
        const values: number[] = [];
        for (let v = start; delta > 0 ? v < limit : v > limit; v += delta) values.push(v);
        ctx.addConstant(makeConstant(out, c(0).dtype, [values.length], values));
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
