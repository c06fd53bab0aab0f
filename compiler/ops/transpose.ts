// Transpose: a permutation copy (or a view when channels-last memory order is unchanged).
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import { tensorInfo, type NodeBase } from '../ir.ts';
import type { OpDef } from './op.ts';
import { NO_WEIGHTS, size, strides } from './op.ts';
import { check, fmt } from './shape-rules.ts';

export interface TransposeNode extends NodeBase { op: 'Transpose'; perm: number[] }

/** For each output element of a Transpose, the input index it reads. */
export function transposeSource(inShape: number[], perm: number[]): Int32Array {
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

export const transpose: OpDef<TransposeNode> = {
  mixesSamples: (node) => (node.perm[0] !== 0 ? `perm [${node.perm}] moves axis 0` : undefined),
  ...NO_WEIGHTS,
  importers: {
    Transpose: (ctx: ImportContext, node: SourceNode) => {
      const x = ctx.activation(node, 0);
      const perm = node.attrs.ints('perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
      ctx.emit(node, { op: 'Transpose', name: node.name, source: 'Transpose', inputs: [x.name], outputs: [node.outputs[0]], perm });
    },
  },

  shape(node, [x]) {
    const sorted = [...node.perm].sort((a, b) => a - b);
    check(node.perm.length === x.length && sorted.every((p, i) => p === i), `perm ${fmt(node.perm)} is not a permutation of ${x.length} axes`);
    return node.perm.map((p) => x[p]);
  },

  forward(ctx, [x]) {
    const src = transposeSource(ctx.inShapes[0], ctx.node.perm);
    const y = ctx.alloc(x.length);
    for (let k = 0; k < src.length; k++) y[k] = x[src[k]];
    return y;
  },

  backward(ctx, [x], _y, gy) {
    const src = transposeSource(ctx.inShapes[0], ctx.node.perm);
    const gx = new Float64Array(x.length);
    for (let k = 0; k < src.length; k++) gx[src[k]] = gy[k];
    return { inputs: [gx], params: {} };
  },

  quant: {
    outputBits: 'inputs',
    share: 'first',
    fusesClamp: () => false,
    lower(lc, node) {
      const inP = lc.placed(node.inputs[0]);
      const outShape = tensorInfo(lc.graph, node.outputs[0]).shape;
      const rank = node.perm.length;
      if (node.perm[0] !== 0) lc.unsupported(node, 'a transpose that moves the batch axis is not supported');
      if (inP.kind === 'vector') {
        if (rank > 2) lc.unsupported(node, 'transpose of this tensor is not supported');
        lc.inheritPlacement(inP, node.outputs[0], outShape);
        lc.emit({ op: 'reshape', name: node.name, inputs: [inP.q], output: lc.placed(node.outputs[0]).q });
        return;
      }
      // ONNX axis -> channels-last axis of [H, W, C].
      const toHwc = (axis: number) => (rank === 4 ? [-1, 2, 0, 1][axis] : [-1, 2, 1][axis]);
      const perm: [number, number, number] = rank === 4
        ? [toHwc(node.perm[2]), toHwc(node.perm[3]), toHwc(node.perm[1])]
        : [0, toHwc(node.perm[2]), toHwc(node.perm[1])];
      const out = lc.place(node.outputs[0], outShape);
      const identity = perm[0] === 0 && perm[1] === 1 && perm[2] === 2;
      lc.emit(identity
        ? { op: 'reshape', name: node.name, inputs: [inP.q], output: out.q }
        : { op: 'permute', name: node.name, inputs: [inP.q], output: out.q, perm });
    },
  },
};
