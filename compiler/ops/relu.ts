// Relu. Folds into the clamp of the conv / dense / add before it when it is that op's only reader.
import type { NodeBase } from '../ir.ts';
import { elementwise, unaryImporter } from './elementwise.ts';

export interface ReluNode extends NodeBase { op: 'Relu' }

export const relu = elementwise<ReluNode>({
  importers: { Relu: unaryImporter('Relu') },
  f: (x, _n, r) => (r > 0 ? x : 0),
  df: (_x, _n, r) => (r > 0 ? 1 : 0),
  what: () => 'Relu',
  clampBounds: () => [0, Infinity],
});
