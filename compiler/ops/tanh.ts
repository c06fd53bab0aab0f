// Tanh.
import type { NodeBase } from '../ir.ts';
import { elementwise, unaryImporter } from './elementwise.ts';

export interface TanhNode extends NodeBase { op: 'Tanh' }

export const tanh = elementwise<TanhNode>({
  importers: { Tanh: unaryImporter('Tanh') },
  f: (x) => Math.tanh(x),
  df: (x) => {
    const y = Math.tanh(x);
    return 1 - y * y;
  },
  what: () => 'Tanh',
});
