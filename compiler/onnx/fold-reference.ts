// Constant folding of any supported op through the float reference: a node whose inputs are all
// constants (an Identity on an initializer, a BatchNormalization of a constant, a Conv of a constant,
// ...) is imported on its own into a scratch graph whose activations are those constants, run by the
// float reference interpreter, and its outputs become constants. So every op tinym2 can run, it can
// also fold, with one forward per op (compiler/reference/). The integer shape arithmetic around
// Reshape (Shape, Gather, Concat of int64, ...) is folded exactly by ./fold.ts first.
import type { Graph, TensorInfo } from '../ir.ts';
import { runFloat } from '../reference/interpreter.ts';
import { ImportContext, type SourceNode } from './context.ts';
import { makeConstant } from './fold.ts';

type Importer = (ctx: ImportContext, node: SourceNode) => void;

/** Thrown inside the scratch import when a constant cannot stand for an activation (not float32). */
class NotFoldable extends Error {}

/**
 * An import context in which float32 constants may stand for activations: the importer reads input 0
 * as an activation (as it would in a real graph) and any other input it asks for as one.
 */
class FoldContext extends ImportContext {
  readonly standIns: TensorInfo[] = [];

  standIn(name: string): TensorInfo {
    const c = this.constants.get(name);
    if (!c || c.dtype !== 'float32') throw new NotFoldable();
    this.constants.delete(name);
    this.addTensor(name, [...c.shape]);
    const t = this.tensors.get(name)!;
    this.standIns.push(t);
    return t;
  }

  override activation(node: SourceNode, index: number): TensorInfo {
    const name = node.inputs[index];
    if (name && !this.tensors.has(name) && this.constants.has(name)) return this.standIn(name);
    return super.activation(node, index);
  }
}

/**
 * Folds `node` (all of whose present inputs are constants of `ctx`) by importing it with `importer`
 * and running it through the float reference. Returns false when a non-float constant would have to
 * stand for an activation (the caller then reports the node as it would without folding). A refusal
 * of the importer itself (bad attribute, shape mismatch) propagates: it names the file and the node.
 */
export function foldThroughReference(ctx: ImportContext, node: SourceNode, importer: Importer): boolean {
  const scratch = new FoldContext(ctx.file, ctx.opset, ctx.limits);
  scratch.current = node;
  for (const name of node.inputs) {
    const c = name ? ctx.constants.get(name) : undefined;
    if (c) scratch.constants.set(name, c);
  }
  try {
    if (node.inputs[0]) scratch.standIn(node.inputs[0]);
    importer(scratch, node);
  } catch (e) {
    if (e instanceof NotFoldable) return false;
    throw e;
  }
  const outputs = node.outputs.filter((o) => o !== '');
  const graph: Graph = {
    name: node.name, file: ctx.file, opset: ctx.opset,
    inputs: scratch.standIns,
    outputs: outputs.map((o) => scratch.tensors.get(scratch.resolve(o))).filter((t): t is TensorInfo => t !== undefined),
    nodes: scratch.nodes,
    tensors: scratch.tensors,
    constants: scratch.constants,
  };
  const feeds: Record<string, Float32Array> = {};
  for (const t of scratch.standIns) feeds[t.name] = ctx.constants.get(t.name)!.data as Float32Array;
  const values = runFloat(graph, feeds, { keepAll: true });
  for (const o of outputs) {
    const source = scratch.resolve(o);
    if (ctx.constants.has(source)) {
      ctx.alias(o, source); // Identity, Dropout: the output is the constant itself
      continue;
    }
    const t = scratch.tensors.get(source);
    const v = values.get(source);
    if (!t || !v) ctx.fail(node, `output '${o}' cannot be folded (tinym2 does not compute it)`);
    ctx.reserveConstant(v.length);
    ctx.addConstant(makeConstant(o, 'float32', [...t.shape], v));
  }
  return true;
}
