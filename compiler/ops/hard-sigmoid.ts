// HardSigmoid: max(0, min(1, alpha * x + beta)), ONNX defaults alpha 0.2, beta 0.5 (PyTorch's
// nn.Hardsigmoid exports alpha 1/6).
import type { NodeBase } from '../ir.ts';
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import { elementwise } from './elementwise.ts';

export interface HardSigmoidNode extends NodeBase { op: 'HardSigmoid'; alpha: number; beta: number }

export const hardSigmoid = elementwise<HardSigmoidNode>({
  importers: {
    HardSigmoid: (ctx: ImportContext, node: SourceNode) => {
      const x = ctx.activation(node, 0);
      const alpha = node.attrs.float('alpha', 0.2), beta = node.attrs.float('beta', 0.5);
      if (!Number.isFinite(alpha) || !Number.isFinite(beta)) ctx.fail(node, `alpha ${alpha} and beta ${beta} must be finite`);
      ctx.emit(node, { op: 'HardSigmoid', name: node.name, source: 'HardSigmoid', inputs: [x.name], outputs: [node.outputs[0]], alpha, beta });
    },
  },
  // Piecewise linear: the piece of r (below 0, the ramp, above 1).
  f: (x, n, r) => {
    const t = n.alpha * r + n.beta;
    return t <= 0 ? 0 : t >= 1 ? 1 : n.alpha * x + n.beta;
  },
  df: (_x, n, r) => {
    const t = n.alpha * r + n.beta;
    return t <= 0 || t >= 1 ? 0 : n.alpha;
  },
  what: (n) => `HardSigmoid ${n.alpha} ${n.beta}`,
});
