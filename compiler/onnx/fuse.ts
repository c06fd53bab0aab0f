// Graph rewrites after import: fold a BatchNormalization (ScaleShift) into the Conv / Dense that
// feeds it, fold a constant Add into the bias of the Conv / Dense before it (MatMul + Add ->
// Dense), and drop nodes whose results nobody reads.
import { opDef } from '../ops/registry.ts';
import type { Constant, ConvNode, DenseNode, Graph, Node } from '../ir.ts';
import { tensorSize } from '../ir.ts';
import { constantValues } from './fold.ts';
import { undoSequenceViews } from './sequence-views.ts';

function consumers(nodes: Node[], tensor: string): Node[] {
  return nodes.filter((n) => n.inputs.includes(tensor));
}

function freshName(graph: Graph, base: string): string {
  let name = base;
  for (let i = 1; graph.constants.has(name) || graph.tensors.has(name); i++) name = `${base}_${i}`;
  return name;
}

/** The Conv / Dense producing `tensor`, when that layer's output feeds nothing else. */
function soleLinearProducer(graph: Graph, tensor: string): ConvNode | DenseNode | undefined {
  const producer = graph.nodes.find((n) => n.outputs.includes(tensor));
  if (!producer || (producer.op !== 'Conv' && producer.op !== 'Dense')) return undefined;
  if (graph.outputs.some((o) => o.name === tensor)) return undefined;
  if (consumers(graph.nodes, tensor).length !== 1) return undefined;
  return producer;
}

/** Replaces `next` (which reads `layer`'s output) by `layer`, now writing `next`'s output. */
function absorb(graph: Graph, layer: ConvNode | DenseNode, next: Node, what: string): void {
  graph.tensors.delete(layer.outputs[0]);
  layer.outputs = [...next.outputs];
  layer.source = `${layer.source}+${what}`;
  graph.nodes.splice(graph.nodes.indexOf(next), 1);
}

/** Number of output channels and the channel axis of a Conv / Dense output. */
function channelInfo(graph: Graph, layer: ConvNode | DenseNode): { channels: number; axis: number } {
  const w = graph.constants.get(layer.weight)!;
  const rank = graph.tensors.get(layer.outputs[0])!.shape.length;
  return { channels: w.shape[0], axis: layer.op === 'Conv' ? 1 : rank - 1 };
}

function foldBatchNorms(graph: Graph): void {
  for (const node of [...graph.nodes]) {
    if (node.op !== 'ScaleShift') continue;
    const layer = soleLinearProducer(graph, node.inputs[0]);
    if (!layer) continue;
    const { channels, axis } = channelInfo(graph, layer);
    if (axis !== 1) continue; // ScaleShift works on axis 1; a Dense on [1, T, F] has its features elsewhere.
    const scale = constantValues(graph.constants.get(node.scale)!);
    const shift = constantValues(graph.constants.get(node.shift)!);
    const w = graph.constants.get(layer.weight)!;
    const wv = w.data as Float32Array;
    const per = wv.length / channels;
    const folded = new Float32Array(wv.length);
    for (let o = 0; o < channels; o++) for (let k = 0; k < per; k++) folded[o * per + k] = wv[o * per + k] * scale[o];
    const bias = layer.bias ? constantValues(graph.constants.get(layer.bias)!) : new Array<number>(channels).fill(0);
    // New constants: a weight shared with another layer must not change under it.
    const wName = freshName(graph, `${layer.weight}.bn`);
    graph.constants.set(wName, { name: wName, dtype: 'float32', shape: [...w.shape], data: folded });
    const bName = freshName(graph, `${layer.name}.bias.bn`);
    graph.constants.set(bName, { name: bName, dtype: 'float32', shape: [channels], data: Float32Array.from(bias, (b, o) => b * scale[o] + shift[o]) });
    layer.weight = wName;
    layer.bias = bName;
    absorb(graph, layer, node, 'BatchNormalization');
  }
}

/** An Add of a per-channel constant right after a Conv / Dense becomes its bias. */
function foldBiasAdds(graph: Graph): void {
  for (const node of [...graph.nodes]) {
    if (node.op !== 'Add' || node.constant === undefined) continue;
    const layer = soleLinearProducer(graph, node.inputs[0]);
    if (!layer) continue;
    const c: Constant = graph.constants.get(node.constant)!;
    const { channels, axis } = channelInfo(graph, layer);
    const outShape = graph.tensors.get(layer.outputs[0])!.shape;
    // The constant must vary along the channel axis only.
    const aligned = [...new Array<number>(outShape.length - c.shape.length).fill(1), ...c.shape];
    const perChannel = aligned.every((d, i) => d === 1 || (i === axis && d === channels));
    if (!perChannel || c.shape.length > outShape.length) continue;
    const cv = constantValues(c);
    const add = (o: number): number => cv[tensorSize(c.shape) === 1 ? 0 : o];
    const bias = layer.bias ? constantValues(graph.constants.get(layer.bias)!) : new Array<number>(channels).fill(0);
    const bName = freshName(graph, `${layer.name}.bias`);
    graph.constants.set(bName, { name: bName, dtype: 'float32', shape: [channels], data: Float32Array.from(bias, (b, o) => b + add(o)) });
    layer.bias = bName;
    absorb(graph, layer, node, 'Add');
  }
}

/** Removes nodes that do not contribute to a graph output, and constants nobody references. */
export function removeDeadCode(graph: Graph): void {
  const live = new Set(graph.outputs.map((o) => o.name));
  const kept: Node[] = [];
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i];
    if (!n.outputs.some((o) => live.has(o))) continue;
    kept.push(n);
    for (const inp of n.inputs) live.add(inp);
  }
  graph.nodes = kept.reverse();
  for (const name of [...graph.tensors.keys()]) {
    if (!live.has(name) && !graph.inputs.some((i) => i.name === name)) graph.tensors.delete(name);
  }
  const used = new Set<string>();
  for (const n of graph.nodes) for (const c of opDef(n).constants(n)) used.add(c);
  for (const name of [...graph.constants.keys()]) if (!used.has(name)) graph.constants.delete(name);
}

export function fuseGraph(graph: Graph): void {
  removeDeadCode(graph);
  undoSequenceViews(graph);
  removeDeadCode(graph);
  // Bias adds first so that MatMul + Add + BatchNormalization folds all the way.
  foldBiasAdds(graph);
  foldBatchNorms(graph);
  foldBiasAdds(graph);
  removeDeadCode(graph);
}
