// Builders for small hand-made IR graphs used by the sensitivity tests.
import type { Constant, Graph, Node, TensorInfo } from '../compiler/ir.ts';

export { mulberry32 as rng } from '../compiler/random.ts';

/** Uniform in [-1, 1] but at least `gap` away from 0 (keeps finite differences off ReLU kinks). */
export function randomArray(r: () => number, n: number, gap = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = 2 * r() - 1;
    if (Math.abs(v) < gap) v = v < 0 ? -gap - r() * 0.5 : gap + r() * 0.5;
    out[i] = v;
  }
  return out;
}

export interface GraphSpec {
  inputs: Record<string, number[]>;
  /** Node plus the shape of its single output. */
  nodes: Array<{ node: Node; shape: number[] }>;
  constants?: Record<string, { shape: number[]; data: Float32Array }>;
  opset?: number;
}

export function buildGraph(spec: GraphSpec): Graph {
  const tensors = new Map<string, TensorInfo>();
  const inputs: TensorInfo[] = [];
  for (const [name, shape] of Object.entries(spec.inputs)) {
    const t: TensorInfo = { name, shape, dtype: 'float32' };
    inputs.push(t);
    tensors.set(name, t);
  }
  for (const { node, shape } of spec.nodes) tensors.set(node.outputs[0], { name: node.outputs[0], shape, dtype: 'float32' });
  const constants = new Map<string, Constant>();
  for (const [name, c] of Object.entries(spec.constants ?? {})) {
    constants.set(name, { name, shape: c.shape, dtype: 'float32', data: c.data });
  }
  const consumed = new Set(spec.nodes.flatMap((n) => n.node.inputs));
  const outputs = spec.nodes.filter((n) => !consumed.has(n.node.outputs[0])).map((n) => tensors.get(n.node.outputs[0])!);
  return {
    name: 'test',
    file: 'test.onnx',
    opset: spec.opset ?? 17,
    inputs,
    outputs,
    nodes: spec.nodes.map((n) => n.node),
    tensors,
    constants,
  };
}

/** Random float32 constant of the given shape. */
export function constant(r: () => number, shape: number[], gap = 0): { shape: number[]; data: Float32Array } {
  return { shape, data: randomArray(r, shape.reduce((a, b) => a * b, 1), gap) };
}
