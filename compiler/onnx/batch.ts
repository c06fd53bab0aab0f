// A batch fixed at N > 1 by the exporter (a dummy input of batch N and no dynamic axis) compiled as
// batch 1. tinym2 generates code for one sample; that is the same model when every op treats axis 0
// as independent samples, so the graph is imported at batch N (shapes, and the constants the exporter
// derived from them, such as a Reshape to [N, -1], stay consistent), checked node by node, and then
// every activation's axis 0 becomes 1. A node is refused, named, when one of its activations does not
// have N rows or when its op says it mixes the samples (OpDef.mixesSamples in compiler/ops/: a Softmax
// over axis 0, a Transpose moving axis 0, a constant that differs per sample).
import type { Graph } from '../ir.ts';
import { TinyM2Error } from '../errors.ts';
import type { BatchView } from '../ops/op.ts';
import { opDef } from '../ops/registry.ts';

/** The note a compiled-as-batch-1 graph carries (printed by compile and inspect, in their --json notes). */
export function batchNote(batch: number): string {
  return `the model's batch of ${batch} is fixed by its exporter; every op works per sample, so tinym2 compiles it as batch 1 (one sample per call)`;
}

/**
 * Rewrites `graph`, imported with every input at batch `batch` (> 1), to batch 1, or refuses naming
 * the first node that does not work per sample.
 */
export function compileAsBatchOne(graph: Graph, batch: number): void {
  const view: BatchView = {
    shape: (name) => graph.tensors.get(name)!.shape,
    constantShape: (name) => graph.constants.get(name)!.shape,
  };
  for (const node of graph.nodes) {
    const refuse = (why: string): never => {
      throw new TinyM2Error(
        `${graph.file}: node '${node.name}' (${node.source}): the inputs have a batch of ${batch} fixed by the exporter, and this node mixes the samples (${why}); tinym2 compiles one sample: re-export with a dummy input of batch 1, or with a dynamic batch axis (dynamic_axes={'<input>': {0: 'N'}})`,
        { details: { file: graph.file, node: node.name, op: node.source, batch } },
      );
    };
    const why = opDef(node).mixesSamples(node, view);
    if (why) refuse(why);
    for (const t of [...node.inputs, ...node.outputs]) {
      const s = view.shape(t);
      if (s.length === 0 || s[0] !== batch) refuse(`tensor '${t}' has shape [${s}], not ${batch} rows on axis 0`);
    }
  }
  for (const t of graph.tensors.values()) t.shape = [1, ...t.shape.slice(1)];
  for (const list of [graph.inputs, graph.outputs]) for (const t of list) t.shape = [1, ...t.shape.slice(1)];
  for (const node of graph.nodes) if (node.op === 'Reshape') node.shape = [1, ...node.shape.slice(1)];
  graph.exportedBatch = batch;
  graph.notes = [...(graph.notes ?? []), batchNote(batch)];
}
