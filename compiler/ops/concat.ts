// Concat of activations along one axis; all inputs share the output's quantization parameters.
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import { tensorInfo, tensorSize, type NodeBase } from '../ir.ts';
import type { OpDef } from './op.ts';
import { NO_WEIGHTS, size } from './op.ts';
import { normAxis } from './onnx-attrs.ts';
import { check, fmt } from './shape-rules.ts';

export interface ConcatNode extends NodeBase { op: 'Concat'; axis: number }

/** outer = product of dims before the axis; each input contributes blocks of dim[axis] * inner. */
function concatBlocks(inShapes: number[][], axis: number): { outer: number; blocks: number[]; total: number } {
  const rank = inShapes[0].length;
  const a = axis < 0 ? axis + rank : axis;
  const outer = size(inShapes[0].slice(0, a));
  const blocks = inShapes.map((s) => size(s.slice(a)));
  return { outer, blocks, total: blocks.reduce((p, q) => p + q, 0) };
}

export const concat: OpDef<ConcatNode> = {
  ...NO_WEIGHTS,
  importers: {
    Concat: (ctx: ImportContext, node: SourceNode) => {
      if (node.inputs.length === 0 || node.inputs.some((n) => n === '')) ctx.fail(node, 'Concat needs one or more inputs, none omitted');
      const inputs = node.inputs.map((_, i) => ctx.activation(node, i));
      const axis = normAxis(node.attrs.int('axis', 0), inputs[0].shape.length);
      ctx.emit(node, { op: 'Concat', name: node.name, source: 'Concat', inputs: inputs.map((t) => t.name), outputs: [node.outputs[0]], axis });
    },
  },

  shape(node, inShapes) {
    const x = inShapes[0];
    const axis = node.axis;
    check(axis >= 0 && axis < x.length, `axis ${axis} out of range for rank ${x.length}`);
    const out = [...x];
    for (let k = 1; k < inShapes.length; k++) {
      const s = inShapes[k];
      check(s.length === x.length && s.every((d, i) => i === axis || d === x[i]), `inputs ${inShapes.map(fmt).join(' and ')} differ outside axis ${axis}`);
      out[axis] += s[axis];
    }
    return out;
  },

  forward(ctx, xs) {
    const { outer, blocks, total } = concatBlocks(ctx.inShapes, ctx.node.axis);
    const y = ctx.alloc(outer * total);
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

  quant: {
    outputBits: 'inputs',
    share: 'all',
    fusesClamp: () => false,
    lower(lc, node) {
      const ins = node.inputs.map((n) => lc.placed(n));
      const outShape = tensorInfo(lc.graph, node.outputs[0]).shape;
      const rank = outShape.length;
      const axis = node.axis < 0 ? node.axis + rank : node.axis;
      if (axis === 0) lc.unsupported(node, 'concatenation along the batch axis is not supported');
      if (ins.every((p) => p.kind === 'vector')) {
        if (rank > 2) lc.unsupported(node, 'this concatenation is not supported');
        const out = lc.place(node.outputs[0], outShape);
        let perm: Int32Array | null = null;
        if (ins.some((p) => p.kind === 'vector' && p.perm)) {
          perm = new Int32Array(tensorSize(outShape));
          let off = 0;
          for (const p of ins) {
            const n = lc.qtensor(p.q).shape[2];
            for (let m = 0; m < n; m++) perm[off + m] = off + (p.kind === 'vector' && p.perm ? p.perm[m] : m);
            off += n;
          }
        }
        lc.setPlacement(node.outputs[0], { kind: 'vector', q: out.q, perm });
        lc.emit({ op: 'concat', name: node.name, inputs: ins.map((p) => p.q), output: out.q, axis: 2 });
        return;
      }
      if (!ins.every((p) => p.kind === 'spatial')) lc.unsupported(node, 'it concatenates NCHW activations with flat vectors');
      const out = lc.place(node.outputs[0], outShape);
      const hwcAxis = (rank === 4 ? [-1, 2, 0, 1] : [-1, 2, 1])[axis] as 0 | 1 | 2;
      lc.emit({ op: 'concat', name: node.name, inputs: ins.map((p) => p.q), output: out.q, axis: hwcAxis });
    },
  },
};
