// Shape inference for IR nodes: each op's shape rule is its OpDef's (compiler/ops/). The
// importer uses it on every node it creates, and later passes can call `inferOutputShape` again
// after rewriting a node. Problems are thrown as ShapeError (a plain message); the caller adds
// file and node context.
import type { Graph, Node } from '../ir.ts';
import { opDef } from '../ops/registry.ts';

export { ShapeError, broadcastShapes, windowOutput } from '../ops/shape-rules.ts';

/**
 * Output shape of `node` given the shapes of its activation inputs (in order) and the graph's
 * constants (weights are read from `constants`).
 */
export function inferOutputShape(
  node: Node,
  inShapes: readonly (readonly number[])[],
  constants: Graph['constants'],
): number[] {
  return opDef(node).shape(node, inShapes, constants);
}
