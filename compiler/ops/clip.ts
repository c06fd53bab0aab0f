// Clip to [min, max] (ReLU6 and the like). Folds into the clamp of the op before it when it is
// that op's only reader.
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import type { NodeBase } from '../ir.ts';
import { constantValues } from '../onnx/fold.ts';
import { elementwise } from './elementwise.ts';
import { FLOAT_MAX } from './onnx-attrs.ts';

export interface ClipNode extends NodeBase { op: 'Clip'; min: number; max: number }

export const clip = elementwise<ClipNode>({
  importers: {
    Clip: (ctx: ImportContext, node: SourceNode) => {
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
    },
  },
  f: (x, n, r) => (r <= n.min ? n.min : r >= n.max ? n.max : x),
  df: (_x, n, r) => (r <= n.min || r >= n.max ? 0 : 1),
  what: (n) => `Clip ${n.min}..${n.max}`,
  clampBounds: (n) => [n.min, n.max],
});
