// Data movement: Pad (constant), Reshape, Transpose, Concat, and Softmax (kept here with the
// other ops whose backward is a re-indexing or a small closed form).
import type { ConcatNode, PadNode, ReshapeNode, SoftmaxNode, TransposeNode } from '../../ir.ts';
import { size, strides, type OpImpl } from './op.ts';

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

export const pad: OpImpl<PadNode> = {
  forward(ctx, [x]) {
    const src = padSource(ctx.inShapes[0], ctx.outShape, ctx.node.pads);
    const y = new Float64Array(src.length);
    for (let k = 0; k < src.length; k++) y[k] = src[k] < 0 ? ctx.node.value : x[src[k]];
    return y;
  },
  backward(ctx, [x], _y, gy) {
    const src = padSource(ctx.inShapes[0], ctx.outShape, ctx.node.pads);
    const gx = new Float64Array(x.length);
    for (let k = 0; k < src.length; k++) if (src[k] >= 0) gx[src[k]] += gy[k];
    return { inputs: [gx], params: {} };
  },
};

export const reshape: OpImpl<ReshapeNode> = {
  forward: (_ctx, [x]) => Float64Array.from(x),
  backward: (_ctx, _xs, _y, gy) => ({ inputs: [Float64Array.from(gy)], params: {} }),
};

/** For each output element of a Transpose, the input index it reads. */
function transposeSource(inShape: number[], perm: number[]): Int32Array {
  const outShape = perm.map((p) => inShape[p]);
  const inStrides = strides(inShape);
  const total = size(inShape);
  const src = new Int32Array(total);
  const coord = new Array(perm.length).fill(0);
  for (let k = 0; k < total; k++) {
    let off = 0;
    for (let d = 0; d < perm.length; d++) off += coord[d] * inStrides[perm[d]];
    src[k] = off;
    for (let d = perm.length - 1; d >= 0; d--) {
      if (++coord[d] < outShape[d]) break;
      coord[d] = 0;
    }
  }
  return src;
}

export const transpose: OpImpl<TransposeNode> = {
  forward(ctx, [x]) {
    const src = transposeSource(ctx.inShapes[0], ctx.node.perm);
    const y = new Float64Array(x.length);
    for (let k = 0; k < src.length; k++) y[k] = x[src[k]];
    return y;
  },
  backward(ctx, [x], _y, gy) {
    const src = transposeSource(ctx.inShapes[0], ctx.node.perm);
    const gx = new Float64Array(x.length);
    for (let k = 0; k < src.length; k++) gx[src[k]] = gy[k];
    return { inputs: [gx], params: {} };
  },
};

/** outer = product of dims before the axis; each input contributes blocks of dim[axis] * inner. */
function concatBlocks(inShapes: number[][], axis: number): { outer: number; blocks: number[]; total: number } {
  const rank = inShapes[0].length;
  const a = axis < 0 ? axis + rank : axis;
  const outer = size(inShapes[0].slice(0, a));
  const blocks = inShapes.map((s) => size(s.slice(a)));
  return { outer, blocks, total: blocks.reduce((p, q) => p + q, 0) };
}

export const concat: OpImpl<ConcatNode> = {
  forward(ctx, xs) {
    const { outer, blocks, total } = concatBlocks(ctx.inShapes, ctx.node.axis);
    const y = new Float64Array(outer * total);
    for (let o = 0; o < outer; o++) {
      let off = o * total;
      xs.forEach((x, i) => {
        y.set(x.subarray(o * blocks[i], (o + 1) * blocks[i]), off);
        off += blocks[i];
      });
    }
    return y;
  },
  backward(ctx, xs, _y, gy) {
    const { outer, blocks, total } = concatBlocks(ctx.inShapes, ctx.node.axis);
    const gxs = xs.map((x) => new Float64Array(x.length));
    for (let o = 0; o < outer; o++) {
      let off = o * total;
      gxs.forEach((g, i) => {
        g.set(gy.subarray(off, off + blocks[i]), o * blocks[i]);
        off += blocks[i];
      });
    }
    return { inputs: gxs, params: {} };
  },
};

/**
 * Softmax groups: opset >= 13 normalises along `axis` alone; earlier opsets flatten the input
 * to 2-D at `axis` and normalise each row over all trailing dims.
 */
function softmaxGroups(shape: number[], axis: number, opset: number): { outer: number; len: number; inner: number } {
  const a = axis < 0 ? axis + shape.length : axis;
  if (opset < 13) return { outer: size(shape.slice(0, a)), len: size(shape.slice(a)), inner: 1 };
  return { outer: size(shape.slice(0, a)), len: shape[a], inner: size(shape.slice(a + 1)) };
}

export const softmax: OpImpl<SoftmaxNode> = {
  forward(ctx, [x]) {
    const { outer, len, inner } = softmaxGroups(ctx.inShapes[0], ctx.node.axis, ctx.opset);
    const y = new Float64Array(x.length);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const at = (k: number) => (o * len + k) * inner + i;
        let m = -Infinity;
        for (let k = 0; k < len; k++) m = Math.max(m, x[at(k)]);
        let s = 0;
        for (let k = 0; k < len; k++) s += y[at(k)] = Math.exp(x[at(k)] - m);
        for (let k = 0; k < len; k++) y[at(k)] /= s;
      }
    }
    return y;
  },
  backward(ctx, [x], y, gy) {
    const { outer, len, inner } = softmaxGroups(ctx.inShapes[0], ctx.node.axis, ctx.opset);
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
};
