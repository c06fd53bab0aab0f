// Float reference interpreter over the IR: the ground truth every quantized and compiled result
// is compared with. Each op's forward lives in ./ops/ so other engines (autograd) reuse them.
import type { Graph, Node } from '../ir.ts';
import { constantFloat, tensorInfo, tensorSize } from '../ir.ts';
import { TinyM2Error } from '../errors.ts';
import { conv } from './ops/conv.ts';
import { dense } from './ops/dense.ts';
import { averagePool, globalAveragePool, maxPool } from './ops/pool.ts';
import { binary, clip, leakyRelu, relu, scaleShift, sigmoid } from './ops/elementwise.ts';
import { concat, pad, transpose } from './ops/layout.ts';
import { softmax } from './ops/softmax.ts';

/** Computes one node's output from its activation inputs. */
export function forwardNode(graph: Graph, node: Node, inputs: Float32Array[]): Float32Array {
  const shapeOf = (name: string): number[] => tensorInfo(graph, name).shape;
  const x = inputs[0];
  const xShape = shapeOf(node.inputs[0]);
  const outShape = shapeOf(node.outputs[0]);
  const opt = (name: string | undefined): Float32Array | undefined => (name ? constantFloat(graph, name) : undefined);
  switch (node.op) {
    case 'Conv':
      return conv(x, xShape, constantFloat(graph, node.weight), opt(node.bias), node, outShape);
    case 'Dense':
      return dense(x, constantFloat(graph, node.weight), graph.constants.get(node.weight)!.shape, opt(node.bias));
    case 'ScaleShift':
      return scaleShift(x, xShape, constantFloat(graph, node.scale), constantFloat(graph, node.shift));
    case 'Relu':
      return relu(x);
    case 'Clip':
      return clip(x, node.min, node.max);
    case 'LeakyRelu':
      return leakyRelu(x, node.alpha);
    case 'Sigmoid':
      return sigmoid(x);
    case 'MaxPool':
      return maxPool(x, xShape, node, outShape);
    case 'AveragePool':
      return averagePool(x, xShape, node, node.countIncludePad, outShape);
    case 'GlobalAveragePool':
      return globalAveragePool(x, xShape);
    case 'Pad':
      return pad(x, xShape, node.pads, node.value, outShape);
    case 'Reshape':
      return x;
    case 'Transpose':
      return transpose(x, xShape, node.perm);
    case 'Concat':
      return concat(inputs, node.inputs.map(shapeOf), node.axis);
    case 'Add': case 'Sub': case 'Mul': {
      if (node.constant === undefined) return binary(node.op, x, xShape, inputs[1], shapeOf(node.inputs[1]), outShape);
      const c = constantFloat(graph, node.constant);
      const cShape = graph.constants.get(node.constant)!.shape;
      return node.constantIndex === 0 ? binary(node.op, c, cShape, x, xShape, outShape) : binary(node.op, x, xShape, c, cShape, outShape);
    }
    case 'Softmax':
      return softmax(x, xShape, node.axis);
  }
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
