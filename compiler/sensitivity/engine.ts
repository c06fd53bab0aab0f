// Float64 forward pass with a tape, and reverse-mode gradients over the IR.
//
// `forward` keeps every activation; `backward` walks the nodes in reverse and returns the
// gradient of a scalar loss with respect to every activation tensor and every float constant a
// node reads (weights, biases, ScaleShift parameters, constant operands of Add/Sub/Mul).
import type { Graph, Node } from '../ir.ts';
import type { OpContext } from '../ops/op.ts';
import { opDef } from '../ops/registry.ts';

/** Float64 copies of a graph's float constants; copy-on-write views for perturbed runs. */
export type ParamValues = Map<string, Float64Array>;

export function paramValues(graph: Graph): ParamValues {
  const out: ParamValues = new Map();
  for (const [name, c] of graph.constants) {
    if (c.data instanceof Float32Array) out.set(name, Float64Array.from(c.data));
  }
  return out;
}

export interface ForwardOptions {
  /** Constant values to use (default: the graph's own, converted to float64). */
  params?: ParamValues;
  /** Added to an activation right after it is produced (graph inputs included). */
  perturb?: Map<string, Float64Array>;
  /**
   * A reference pass whose ReLU / Clip / LeakyReLU regions and MaxPool maxima this pass keeps
   * (see OpContext.frozen); backward on the result differentiates the same frozen function.
   */
  frozen?: Tape;
}

export interface Tape {
  graph: Graph;
  params: ParamValues;
  values: Map<string, Float64Array>;
  frozen?: Tape;
}

function context(graph: Graph, node: Node, params: ParamValues, frozen?: Tape): OpContext<Node, Float64Array> {
  const shape = (t: string) => {
    const info = graph.tensors.get(t);
    if (!info) throw new Error(`internal: no shape for tensor ${t}`);
    return info.shape;
  };
  return {
    node,
    inShapes: node.inputs.map(shape),
    outShape: shape(node.outputs[0]),
    param(name) {
      const v = params.get(name);
      if (!v) throw new Error(`internal: node ${node.name} reads constant ${name}, which is missing or not float`);
      return v;
    },
    paramShape(name) {
      const c = graph.constants.get(name);
      if (!c) throw new Error(`internal: node ${node.name} reads unknown constant ${name}`);
      return c.shape;
    },
    opset: graph.opset,
    alloc: (n) => new Float64Array(n),
    frozen: frozen ? node.inputs.map((t) => frozen.values.get(t)!) : undefined,
  };
}

export function forward(graph: Graph, inputs: Record<string, ArrayLike<number>>, options: ForwardOptions = {}): Tape {
  const params = options.params ?? paramValues(graph);
  const values = new Map<string, Float64Array>();
  const store = (name: string, v: Float64Array) => {
    const p = options.perturb?.get(name);
    if (p) for (let i = 0; i < v.length; i++) v[i] += p[i];
    values.set(name, v);
  };
  for (const inp of graph.inputs) {
    const data = inputs[inp.name];
    if (!data) throw new Error(`internal: no data for graph input ${inp.name}`);
    store(inp.name, Float64Array.from(data));
  }
  for (const node of graph.nodes) {
    const xs = node.inputs.map((t) => values.get(t)!);
    const y = opDef(node).forward(context(graph, node, params, options.frozen), xs);
    store(node.outputs[0], y);
  }
  return { graph, params, values, frozen: options.frozen };
}

export interface Gradients {
  /** dLoss / d(activation) for every tensor the loss depends on. */
  activations: Map<string, Float64Array>;
  /** dLoss / d(constant) for every float constant read by a node. */
  params: Map<string, Float64Array>;
}

function accumulate(map: Map<string, Float64Array>, name: string, g: Float64Array): void {
  const cur = map.get(name);
  if (!cur) map.set(name, g);
  else for (let i = 0; i < g.length; i++) cur[i] += g[i];
}

/** Gradients of the loss whose gradients with respect to (some of) the graph outputs are given. */
export function backward(tape: Tape, outputGradients: Map<string, Float64Array>): Gradients {
  const { graph, params, values, frozen } = tape;
  const activations = new Map<string, Float64Array>();
  const grads = new Map<string, Float64Array>();
  for (const [name, g] of outputGradients) accumulate(activations, name, Float64Array.from(g));
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const node = graph.nodes[k];
    const gy = activations.get(node.outputs[0]);
    if (!gy) continue;
    const xs = node.inputs.map((t) => values.get(t)!);
    const y = values.get(node.outputs[0])!;
    const g = opDef(node).backward(context(graph, node, params, frozen), xs, y, gy);
    node.inputs.forEach((t, i) => {
      if (g.inputs[i]) accumulate(activations, t, g.inputs[i]);
    });
    for (const [name, pg] of Object.entries(g.params)) accumulate(grads, name, pg);
  }
  return { activations, params: grads };
}
