// Parameters and multiply-accumulates per IR node: what `inspect` reports and what the planner
// can weigh layers by. MACs count the float model's multiplies (folded BatchNorms cost nothing).
import type { Graph, Node } from '../ir.ts';
import { tensorSize } from '../ir.ts';

/** Names of the constants a node reads. */
export function nodeConstants(node: Node): string[] {
  switch (node.op) {
    case 'Conv': case 'Dense': return node.bias ? [node.weight, node.bias] : [node.weight];
    case 'ScaleShift': return [node.scale, node.shift];
    case 'Add': case 'Sub': case 'Mul': return node.constant ? [node.constant] : [];
    default: return [];
  }
}

export function nodeParams(graph: Graph, node: Node): number {
  return nodeConstants(node).reduce((sum, c) => sum + tensorSize(graph.constants.get(c)!.shape), 0);
}

/** Conv: output elements x input channels per group x kernel elements; Dense: rows x in x out; others 0. */
export function nodeMacs(graph: Graph, node: Node): number {
  const out = graph.tensors.get(node.outputs[0])!.shape;
  if (node.op === 'Conv') {
    const w = graph.constants.get(node.weight)!.shape;
    return tensorSize(out) * w[1] * tensorSize(node.kernel);
  }
  if (node.op === 'Dense') {
    const [o, i] = graph.constants.get(node.weight)!.shape;
    return (tensorSize(out) / o) * i * o;
  }
  return 0;
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
