// A batch fixed at N > 1 by the exporter (a dummy input of batch N and no dynamic axis) compiled as
// batch 1. tinym2 generates code for one sample; that is the same model when every op treats axis 0
// as independent samples, so the graph is imported at batch N (shapes, and the constants the exporter
// derived from them, such as a Reshape to [N, -1], stay consistent), checked op by op, and then every
// activation's axis 0 becomes 1. An op that mixes samples (a Softmax over axis 0, a Transpose moving
// axis 0, a constant that differs per sample) is refused, naming the node.
import type { Graph, Node, OpType } from '../ir.ts';
import { TinyM2Error } from '../errors.ts';

interface BatchView {
  /** Shape of an activation tensor (at batch N). */
  shape(name: string): number[];
  /** Shape of a constant. */
  constantShape(name: string): number[];
}

/**
 * Per IR op: why the node does not treat axis 0 as independent samples, or undefined when it does.
 * Checked only after the common rule (every activation input and the output have N rows on axis 0).
 * `satisfies` makes tsc name an op added to the IR without a rule here.
 */
const MIXES_SAMPLES = {
  Conv: () => undefined,
  Dense: (n, v) => (v.shape(n.inputs[0]).length < 2 ? 'a fully connected layer over axis 0' : undefined),
  ScaleShift: () => undefined,
  Relu: () => undefined,
  Clip: () => undefined,
  LeakyRelu: () => undefined,
  Sigmoid: () => undefined,
  MaxPool: () => undefined,
  AveragePool: () => undefined,
  GlobalAveragePool: () => undefined,
  Pad: () => undefined,
  Reshape: () => undefined,
  Transpose: (n) => (n.perm[0] !== 0 ? `perm [${n.perm}] moves axis 0` : undefined),
  Concat: (n) => (n.axis === 0 ? 'concatenation along axis 0' : undefined),
  Add: binary,
  Sub: binary,
  Mul: binary,
  Softmax: (n) => (n.axis === 0 ? 'softmax over axis 0' : undefined),
} satisfies { [K in OpType]: (node: Extract<Node, { op: K }>, view: BatchView) => string | undefined };

function binary(n: Extract<Node, { op: 'Add' | 'Sub' | 'Mul' }>, v: BatchView): string | undefined {
  if (n.constant === undefined) return undefined;
  const c = v.constantShape(n.constant);
  const rank = v.shape(n.outputs[0]).length;
  return c.length === rank && c[0] !== 1 ? `the constant '${n.constant}' [${c}] differs along axis 0` : undefined;
}

function mixesSamples(node: Node, view: BatchView): string | undefined {
  return (MIXES_SAMPLES[node.op] as (n: Node, v: BatchView) => string | undefined)(node, view);
}

/** The note a compiled-as-batch-1 graph carries (printed by compile, in its --json notes). */
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
  const refuse = (node: Node, why: string): never => {
    throw new TinyM2Error(
      `${graph.file}: node '${node.name}' (${node.source}): the inputs have a batch of ${batch} fixed by the exporter, and this node mixes the samples (${why}); tinym2 compiles one sample: re-export with a dummy input of batch 1, or with a dynamic batch axis (dynamic_axes={'<input>': {0: 'N'}})`,
      { details: { file: graph.file, node: node.name, op: node.source, batch } },
    );
  };
  for (const node of graph.nodes) {
    const why = mixesSamples(node, view);
    if (why) refuse(node, why);
    for (const t of [...node.inputs, ...node.outputs]) {
      const s = view.shape(t);
      if (s.length === 0 || s[0] !== batch) refuse(node, `tensor '${t}' has shape [${s}], not ${batch} rows on axis 0`);
    }
  }
  for (const t of graph.tensors.values()) t.shape = [1, ...t.shape.slice(1)];
  for (const list of [graph.inputs, graph.outputs]) for (const t of list) t.shape = [1, ...t.shape.slice(1)];
  for (const node of graph.nodes) if (node.op === 'Reshape') node.shape = [1, ...node.shape.slice(1)];
  graph.exportedBatch = batch;
  graph.notes = [...(graph.notes ?? []), batchNote(batch)];
}
