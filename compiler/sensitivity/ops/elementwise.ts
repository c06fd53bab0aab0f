// Elementwise ops: activations, the per-channel ScaleShift, and Add / Sub / Mul with numpy
// broadcasting (either side may be a constant).
import type { BinaryNode, ClipNode, LeakyReluNode, Node, ReluNode, ScaleShiftNode, SigmoidNode } from '../../ir.ts';
import { size, strides, type OpImpl } from './op.ts';

function unary<N extends Node>(f: (x: number, n: N) => number, df: (x: number, y: number, n: N) => number): OpImpl<N> {
  return {
    forward(ctx, [x]) {
      const y = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) y[i] = f(x[i], ctx.node);
      return y;
    },
    backward(ctx, [x], y, gy) {
      const gx = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) gx[i] = gy[i] * df(x[i], y[i], ctx.node);
      return { inputs: [gx], params: {} };
    },
  };
}

/**
 * A piecewise-linear op y = slope(r) * x + offset(r), where r picks the piece: r = x normally, or
 * the reference input when the context is frozen (see OpContext.frozen).
 */
function piecewise<N extends Node>(piece: (r: number, n: N) => [slope: number, offset: number]): OpImpl<N> {
  return {
    forward(ctx, [x]) {
      const ref = ctx.frozen?.[0] ?? x;
      const y = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) {
        const [a, b] = piece(ref[i], ctx.node);
        y[i] = a * x[i] + b;
      }
      return y;
    },
    backward(ctx, [x], _y, gy) {
      const ref = ctx.frozen?.[0] ?? x;
      const gx = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) gx[i] = gy[i] * piece(ref[i], ctx.node)[0];
      return { inputs: [gx], params: {} };
    },
  };
}

// At a kink the piece of the side x <= threshold is used (derivative 0 for ReLU at 0), as PyTorch does.
export const relu = piecewise<ReluNode>((x) => (x > 0 ? [1, 0] : [0, 0]));
export const clip = piecewise<ClipNode>((x, n) => (x <= n.min ? [0, n.min] : x >= n.max ? [0, n.max] : [1, 0]));
export const leakyRelu = piecewise<LeakyReluNode>((x, n) => (x > 0 ? [1, 0] : [n.alpha, 0]));
export const sigmoid = unary<SigmoidNode>((x) => 1 / (1 + Math.exp(-x)), (_x, y) => y * (1 - y));

/** y = x * scale[c] + shift[c], c = index on axis 1. */
export const scaleShift: OpImpl<ScaleShiftNode> = {
  forward(ctx, [x]) {
    const scale = ctx.param(ctx.node.scale);
    const shift = ctx.param(ctx.node.shift);
    const c = ctx.inShapes[0][1] ?? 1;
    const inner = x.length / c;
    const y = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const ch = Math.floor(i / inner) % c;
      y[i] = x[i] * scale[ch] + shift[ch];
    }
    return y;
  },
  backward(ctx, [x], _y, gy) {
    const scale = ctx.param(ctx.node.scale);
    const c = ctx.inShapes[0][1] ?? 1;
    const inner = x.length / c;
    const gx = new Float64Array(x.length);
    const gs = new Float64Array(c);
    const gt = new Float64Array(c);
    for (let i = 0; i < x.length; i++) {
      const ch = Math.floor(i / inner) % c;
      gx[i] = gy[i] * scale[ch];
      gs[ch] += gy[i] * x[i];
      gt[ch] += gy[i];
    }
    return { inputs: [gx], params: { [ctx.node.scale]: gs, [ctx.node.shift]: gt } };
  },
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

interface Operands {
  a: Float64Array;
  b: Float64Array;
  aShape: number[];
  bShape: number[];
  /** Where each operand came from: activation input index, or the constant's name. */
  aFrom: number | string;
  bFrom: number | string;
}

function operands(ctx: Parameters<OpImpl<BinaryNode>['forward']>[0], xs: Float64Array[]): Operands {
  const n = ctx.node;
  if (n.constant === undefined) {
    return { a: xs[0], b: xs[1], aShape: ctx.inShapes[0], bShape: ctx.inShapes[1], aFrom: 0, bFrom: 1 };
  }
  const c = ctx.param(n.constant);
  const cs = ctx.paramShape(n.constant);
  if (n.constantIndex === 0) return { a: c, b: xs[0], aShape: cs, bShape: ctx.inShapes[0], aFrom: n.constant, bFrom: 0 };
  return { a: xs[0], b: c, aShape: ctx.inShapes[0], bShape: cs, aFrom: 0, bFrom: n.constant };
}

export const binary: OpImpl<BinaryNode> = {
  forward(ctx, xs) {
    const { a, b, aShape, bShape } = operands(ctx, xs);
    const ia = broadcastIndex(aShape, ctx.outShape);
    const ib = broadcastIndex(bShape, ctx.outShape);
    const y = new Float64Array(ia.length);
    const op = ctx.node.op;
    for (let k = 0; k < y.length; k++) {
      const u = a[ia[k]];
      const v = b[ib[k]];
      y[k] = op === 'Add' ? u + v : op === 'Sub' ? u - v : u * v;
    }
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
};
