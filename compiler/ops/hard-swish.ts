// HardSwish: x * max(0, min(1, x / 6 + 1 / 2)) (ONNX opset 14; PyTorch's nn.Hardswish exports it
// at opset >= 14, and as Add / Clip / Div / Mul at lower opsets).
import type { NodeBase } from '../ir.ts';
import { elementwise, unaryImporter } from './elementwise.ts';

export interface HardSwishNode extends NodeBase { op: 'HardSwish' }

const ALPHA = 1 / 6, BETA = 0.5;

export const hardSwish = elementwise<HardSwishNode>({
  importers: { HardSwish: unaryImporter('HardSwish') },
  // The piece of r: 0 below -3, x above 3, x * (x / 6 + 1 / 2) between.
  f: (x, _n, r) => {
    const t = ALPHA * r + BETA;
    return t <= 0 ? 0 : t >= 1 ? x : x * (ALPHA * x + BETA);
  },
  df: (x, _n, r) => {
    const t = ALPHA * r + BETA;
    return t <= 0 ? 0 : t >= 1 ? 1 : 2 * ALPHA * x + BETA;
  },
  what: () => 'HardSwish',
});
