// Parameters and multiply-accumulates per IR node: what `inspect` reports and what the planner
// can weigh layers by. MACs count the float model's multiplies (folded BatchNorms cost nothing).
import type { Graph, Node } from '../ir.ts';
import { tensorSize } from '../ir.ts';
import { opDef } from '../ops/registry.ts';

/** Names of the constants a node reads (its OpDef's). */
export function nodeConstants(node: Node): string[] {
  return opDef(node).constants(node);
}

export function nodeParams(graph: Graph, node: Node): number {
  return nodeConstants(node).reduce((sum, c) => sum + tensorSize(graph.constants.get(c)!.shape), 0);
}

/** The float node's multiply-accumulates (its OpDef's: Conv and Dense count, others are 0). */
export function nodeMacs(graph: Graph, node: Node): number {
  return opDef(node).macs(node, graph);
}

export interface LayerCost {
  name: string;
  op: string;
  source: string;
  inputs: number[][];
  outputs: number[][];
  params: number;
  macs: number;
}

export function layerCosts(graph: Graph): LayerCost[] {
  return graph.nodes.map((n) => ({
    name: n.name,
    op: n.op,
    source: n.source,
    inputs: n.inputs.map((t) => [...graph.tensors.get(t)!.shape]),
    outputs: n.outputs.map((t) => [...graph.tensors.get(t)!.shape]),
    params: nodeParams(graph, n),
    macs: nodeMacs(graph, n),
  }));
}
