// Sigmoid: 1 / (1 + exp(-x)).
import type { NodeBase } from '../ir.ts';
import { elementwise, unaryImporter } from './elementwise.ts';

export interface SigmoidNode extends NodeBase { op: 'Sigmoid' }

const sigma = (x: number): number => 1 / (1 + Math.exp(-x));

export const sigmoid = elementwise<SigmoidNode>({
  importers: { Sigmoid: unaryImporter('Sigmoid') },
  f: (x) => sigma(x),
  df: (x) => {
    const y = sigma(x);
    return y * (1 - y);
  },
  what: () => 'Sigmoid',
});
