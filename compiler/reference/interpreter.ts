// Float reference interpreter over the IR: the ground truth every quantized and compiled result
// is compared with. Each op's forward is its OpDef's (compiler/ops/), the same code the
// sensitivity engine runs in float64; here it runs in float32.
import type { Graph, Node } from '../ir.ts';
import { tensorInfo, tensorSize } from '../ir.ts';
import { TinyM2Error } from '../errors.ts';
import type { OpContext } from '../ops/op.ts';
import { opDef } from '../ops/registry.ts';

/** Computes one node's output from its activation inputs. */
export function forwardNode(graph: Graph, node: Node, inputs: Float32Array[]): Float32Array {
  const shapeOf = (name: string): number[] => tensorInfo(graph, name).shape;
  const ctx: OpContext<Node, Float32Array> = {
    node,
    inShapes: node.inputs.map(shapeOf),
    outShape: shapeOf(node.outputs[0]),
    param(name) {
      const c = graph.constants.get(name);
      if (!c || !(c.data instanceof Float32Array)) throw new Error(`internal: node ${node.name} reads constant ${name}, which is missing or not float32`);
      return c.data;
    },
    paramShape(name) {
      const c = graph.constants.get(name);
      if (!c) throw new Error(`internal: node ${node.name} reads unknown constant ${name}`);
      return c.shape;
    },
    opset: graph.opset,
    alloc: (n) => new Float32Array(n),
  };
  return opDef(node).forward(ctx, inputs);
}

/**
 * Runs the graph on one sample (batch 1). `inputs` holds one Float32Array per graph input in
 * C order of its ONNX shape. Returns the graph outputs, or with keepAll every tensor (inputs
 * included) by name.
 */
export function runFloat(
  graph: Graph,
  inputs: Record<string, Float32Array>,
  opts: { keepAll?: boolean } = {},
): Map<string, Float32Array> {
  const values = new Map<string, Float32Array>();
  for (const inp of graph.inputs) {
    const data = inputs[inp.name];
    if (!data) throw new TinyM2Error(`${graph.file}: no data for input '${inp.name}' (shape [${inp.shape}])`);
    if (data.length !== tensorSize(inp.shape)) {
      throw new TinyM2Error(`${graph.file}: input '${inp.name}' needs ${tensorSize(inp.shape)} values (shape [${inp.shape}]), got ${data.length}`);
    }
    values.set(inp.name, data);
  }
  // Free each intermediate after its last reader unless the caller wants them all.
  const lastUse = new Map<string, number>();
  graph.nodes.forEach((n, i) => n.inputs.forEach((t) => lastUse.set(t, i)));
  const keep = new Set(graph.outputs.map((o) => o.name));
  graph.nodes.forEach((node, i) => {
    const out = forwardNode(graph, node, node.inputs.map((t) => values.get(t)!));
    values.set(node.outputs[0], out);
    if (!opts.keepAll) for (const t of node.inputs) if (lastUse.get(t) === i && !keep.has(t)) values.delete(t);
  });
  if (opts.keepAll) return values;
  return new Map(graph.outputs.map((o) => [o.name, values.get(o.name)!]));
}
