// LeakyRelu: x for x >= 0, alpha * x below (ONNX default alpha 0.01).
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import type { NodeBase } from '../ir.ts';
import { elementwise } from './elementwise.ts';

export interface LeakyReluNode extends NodeBase { op: 'LeakyRelu'; alpha: number }

export const leakyRelu = elementwise<LeakyReluNode>({
  importers: {
    LeakyRelu: (ctx: ImportContext, node: SourceNode) => {
      const x = ctx.activation(node, 0);
      ctx.emit(node, { op: 'LeakyRelu', name: node.name, source: 'LeakyRelu', inputs: [x.name], outputs: [node.outputs[0]], alpha: node.attrs.float('alpha', 0.01) });
    },
  },
  f: (x, n, r) => (r >= 0 ? x : x * n.alpha),
  df: (_x, n, r) => (r > 0 ? 1 : n.alpha),
  what: (n) => `LeakyRelu ${n.alpha}`,
});
