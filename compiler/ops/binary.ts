// Add, Sub, Mul (and Div by a constant, imported as Mul by its reciprocal) with numpy
// broadcasting; either operand may be a constant. Lowered to the add / mul kernels (two
// activations), a per-channel depthwise 1x1 (a constant per channel) or a lookup table (a scalar).
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import { tensorInfo, type Graph, type NodeBase } from '../ir.ts';
import { constantValues, makeConstant } from '../onnx/fold.ts';
import { clamp, encodeMultiplier, encodeRequant } from '../quant/fixedpoint.ts';
import type { Requant } from '../quant/qgraph.ts';
import type { Lowering } from '../quant/lower.ts';
import type { FloatArray, Importer, OpContext, OpDef } from './op.ts';
import { size, strides } from './op.ts';
import { broadcastShapes, check, fmt } from './shape-rules.ts';

/**
 * Elementwise binary op with numpy broadcasting. Either operand may be a constant:
 * `constant` names it and `constantIndex` says which side it was on (matters for Sub).
 * With no constant, inputs has two activations.
 */
export interface BinaryNode extends NodeBase {
  op: 'Add' | 'Sub' | 'Mul';
  constant?: string;
  constantIndex?: 0 | 1;
}

const ADD_LEFT_SHIFT = 20;

const importBinary: Importer = (ctx: ImportContext, node: SourceNode) => {
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

/** For each output element, the flat index into an operand broadcast to `outShape`. */
export function broadcastIndex(shape: readonly number[], outShape: readonly number[]): Int32Array {
  const rank = outShape.length;
  const padded = [...new Array(rank - shape.length).fill(1), ...shape];
  const inStrides = strides(padded).map((s, i) => (padded[i] === 1 ? 0 : s));
  const total = size(outShape);
  const idx = new Int32Array(total);
  const coord = new Array(rank).fill(0);
  for (let k = 0; k < total; k++) {
    let off = 0;
    for (let d = 0; d < rank; d++) off += coord[d] * inStrides[d];
    idx[k] = off;
    for (let d = rank - 1; d >= 0; d--) {
      if (++coord[d] < outShape[d]) break;
      coord[d] = 0;
    }
  }
  return idx;
}

interface Operands<A extends FloatArray> {
  a: A;
  b: A;
  aShape: number[];
  bShape: number[];
  /** Where each operand came from: activation input index, or the constant's name. */
  aFrom: number | string;
  bFrom: number | string;
}

function operands<A extends FloatArray>(ctx: OpContext<BinaryNode, A>, xs: A[]): Operands<A> {
  const n = ctx.node;
  if (n.constant === undefined) {
    return { a: xs[0], b: xs[1], aShape: ctx.inShapes[0], bShape: ctx.inShapes[1], aFrom: 0, bFrom: 1 };
  }
  const c = ctx.param(n.constant);
  const cs = ctx.paramShape(n.constant);
  if (n.constantIndex === 0) return { a: c, b: xs[0], aShape: cs, bShape: ctx.inShapes[0], aFrom: n.constant, bFrom: 0 };
  return { a: xs[0], b: c, aShape: ctx.inShapes[0], bShape: cs, aFrom: 0, bFrom: n.constant };
}

export const binary: OpDef<BinaryNode> = {
  importers: { Add: importBinary, Sub: importBinary, Mul: importBinary, Div: importBinary },
  constants: (n) => (n.constant ? [n.constant] : []),
  macs: () => 0,

  shape(node, inShapes, constants) {
    const x = inShapes[0];
    const other = node.constant !== undefined ? constants.get(node.constant)?.shape : inShapes[1];
    check(other !== undefined, node.constant !== undefined ? `constant '${node.constant}' is missing` : 'needs two operands');
    const out = broadcastShapes(x, other);
    // The result must keep the activation's shape: a constant may not grow it (no batch of outputs).
    if (node.constant !== undefined) check(out.join() === x.join(), `constant ${fmt(other)} would broadcast the activation ${fmt(x)} to ${fmt(out)}`);
    return out;
  },

  forward(ctx, xs) {
    const { a, b, aShape, bShape } = operands(ctx, xs);
    const op = ctx.node.op;
    const y = ctx.alloc(size(ctx.outShape));
    const apply = (u: number, v: number) => (op === 'Add' ? u + v : op === 'Sub' ? u - v : u * v);
    if (a.length === y.length && b.length === y.length) {
      for (let k = 0; k < y.length; k++) y[k] = apply(a[k], b[k]);
      return y;
    }
    const ia = broadcastIndex(aShape, ctx.outShape);
    const ib = broadcastIndex(bShape, ctx.outShape);
    for (let k = 0; k < y.length; k++) y[k] = apply(a[ia[k]], b[ib[k]]);
    return y;
  },

  backward(ctx, xs, _y, gy) {
    const { a, b, aShape, bShape, aFrom, bFrom } = operands(ctx, xs);
    const ia = broadcastIndex(aShape, ctx.outShape);
    const ib = broadcastIndex(bShape, ctx.outShape);
    const ga = new Float64Array(a.length);
    const gb = new Float64Array(b.length);
    const op = ctx.node.op;
    for (let k = 0; k < gy.length; k++) {
      const d = gy[k];
      if (op === 'Add') {
        ga[ia[k]] += d;
        gb[ib[k]] += d;
      } else if (op === 'Sub') {
        ga[ia[k]] += d;
        gb[ib[k]] -= d;
      } else {
        ga[ia[k]] += d * b[ib[k]];
        gb[ib[k]] += d * a[ia[k]];
      }
    }
    const inputs: Float64Array[] = [];
    const params: Record<string, Float64Array> = {};
    for (const [from, g] of [[aFrom, ga], [bFrom, gb]] as const) {
      if (typeof from === 'number') inputs[from] = g;
      else params[from] = g;
    }
    return { inputs, params };
  },

  quant: {
    outputBits: 'inputs',
    share: 'none',
    // Two activations (add / mul kernels) or a per-channel constant (a depthwise 1x1) take a clamp; a scalar (a table) does not.
    fusesClamp: (node, graph) => !node.constant || channelConstant(graph, node) !== undefined,
    lower(lc, node) {
      if (node.constant) lowerConstantBinary(lc, node);
      else lowerBinary(lc, node);
    },
  },
};

/** The per-channel constant of Add/Sub/Mul as a length-C vector, or undefined if it is not one. */
function channelConstant(graph: Graph, node: BinaryNode): Float32Array | undefined {
  if (!node.constant) return undefined;
  const c = graph.constants.get(node.constant);
  if (!c || !(c.data instanceof Float32Array)) return undefined;
  const xShape = tensorInfo(graph, node.inputs[0]).shape;
  const C = xShape.length >= 2 ? xShape[1] : xShape[0];
  const n = c.data.length;
  if (n === 1) return undefined; // a scalar: a table op
  if (n !== C) return undefined;
  // It must lie along axis 1 of x after numpy broadcasting: right-aligned shape [.., C, 1, ..1].
  const cs = c.shape;
  const aligned = [...Array(Math.max(0, xShape.length - cs.length)).fill(1), ...cs];
  const cAxis = 1;
  for (let i = 0; i < aligned.length; i++) {
    if (i === cAxis) { if (aligned[i] !== C) return undefined; }
    else if (aligned[i] !== 1) return undefined;
  }
  return c.data;
}

function lowerConstantBinary(lc: Lowering, node: BinaryNode): void {
  const cv = channelConstant(lc.graph, node);
  const c = lc.graph.constants.get(node.constant!);
  if (cv) {
    const C = cv.length;
    const scale = new Float32Array(C), shift = new Float32Array(C);
    for (let i = 0; i < C; i++) {
      if (node.op === 'Mul') { scale[i] = cv[i]; shift[i] = 0; }
      else if (node.op === 'Add') { scale[i] = 1; shift[i] = cv[i]; }
      else if (node.constantIndex === 0) { scale[i] = -1; shift[i] = cv[i]; } // c - x
      else { scale[i] = 1; shift[i] = -cv[i]; } // x - c
    }
    return lc.lowerAffine(node, scale, shift);
  }
  if (c && c.data instanceof Float32Array && c.data.length === 1) {
    const k = c.data[0];
    const f = node.op === 'Mul' ? (x: number) => x * k : node.op === 'Add' ? (x: number) => x + k : node.constantIndex === 0 ? (x: number) => k - x : (x: number) => x - k;
    return lc.lowerLut(node, f, `${node.op} ${k}`);
  }
  lc.unsupported(node, `its constant '${node.constant}' is neither a scalar nor one value per channel`);
}

function samePerm(a: Int32Array | null, b: Int32Array | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function lowerBinary(lc: Lowering, node: BinaryNode): void {
  const [a, b] = node.inputs.map((n) => lc.placed(n));
  const aT = lc.qtensor(a.q), bT = lc.qtensor(b.q);
  if (aT.shape.join() !== bT.shape.join() || a.kind !== b.kind || (a.kind === 'vector' && b.kind === 'vector' && !samePerm(a.perm, b.perm))) {
    lc.unsupported(node, `its inputs have different shapes or layouts ([${tensorInfo(lc.graph, node.inputs[0]).shape}] and [${tensorInfo(lc.graph, node.inputs[1]).shape}]); only same-shape ${node.op} of two activations is supported`);
  }
  const outName = lc.resultTensor(node);
  const out = lc.inheritPlacement(a, outName, tensorInfo(lc.graph, node.outputs[0]).shape);
  const outT = lc.qtensor(out.q);
  const clampQ = lc.clampFor(node, out.q);
  let bq = b.q;
  if (node.op === 'Sub') {
    // a - b = a + (-b). Negation is exact as a table: with zero point -1 - zp_b (same scale),
    // q' = -1 - q holds -real exactly and stays in range (INT8 and INT4 ranges are [-m, m - 1]).
    bq = lc.fresh(b.q, 'negated');
    lc.addTensor(bq, bT.shape, { scale: bT.scale, zeroPoint: -1 - bT.zeroPoint, bits: bT.bits });
    const table = new Int8Array(256);
    for (let i = 0; i < 256; i++) table[i] = clamp(-1 - (i - 128), -128, 127);
    lc.emit({ op: 'lut', name: node.name, inputs: [b.q], output: bq, table, what: 'negate' });
  }
  if (node.op === 'Add' || node.op === 'Sub') {
    const twiceMax = 2 * Math.max(aT.scale, bT.scale);
    const enc = (r: number): Requant => {
      const e = encodeMultiplier(r);
      return { multiplier: Int32Array.of(e.multiplier), shift: Int32Array.of(e.shift) };
    };
    lc.emit({
      op: 'add', name: node.name, inputs: [a.q, bq], output: out.q, leftShift: ADD_LEFT_SHIFT,
      inputRequant: [enc(aT.scale / twiceMax), enc(bT.scale / twiceMax)],
      outputRequant: enc(twiceMax / (2 ** ADD_LEFT_SHIFT * outT.scale)),
      ...clampQ,
    });
  } else {
    lc.emit({ op: 'mul', name: node.name, inputs: [a.q, b.q], output: out.q, requant: encodeRequant([(aT.scale * bT.scale) / outT.scale]), ...clampQ });
  }
}
