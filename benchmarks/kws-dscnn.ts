// The MLPerf Tiny keyword-spotting DS-CNN as an ONNX model tinym2 compiles, with seeded random weights
// and input rows: the shape CMSIS-NN's figures in ../shared/target-notes.md were measured on (49x10
// MFCC input, conv 10x4 stride 2 -> 25x5x64, four depthwise 3x3 + pointwise 64->64 blocks with ReLU,
// global average pool, dense 64->12; 2,656,768 MACs). Instruction counts hardly depend on the values,
// so random weights measure the same code paths as trained ones.
import { join } from 'node:path';
import { values, writeModel, type TensorSpec } from '../test/helpers/onnx-builder.ts';

export const KWS_MACS = 2_656_768;

/** Writes kws_dscnn.onnx into `dir`; returns its path and `rows` seeded input rows ([1, 1, 49, 10]). */
export function writeKwsDsCnn(dir: string, rows = 32): { onnx: string; rows: Array<Record<string, Float32Array>> } {
  const C = 64;
  let seed = 1;
  // He-like scale so that activations neither vanish nor saturate through the ReLU chain.
  const init = (name: string, dims: number[], fanIn: number): TensorSpec & { name: string } => ({
    name,
    dims,
    data: values(dims.reduce((a, b) => a * b, 1), seed++).map((v) => v * Math.sqrt(6 / fanIn)),
  });
  const bias = (name: string, n: number): TensorSpec & { name: string } => ({ name, dims: [n], data: values(n, seed++).map((v) => v * 0.1) });
  const initializers = [init('w0', [C, 1, 10, 4], 40), bias('b0', C)];
  const nodes: Parameters<typeof writeModel>[1]['nodes'] = [
    // SAME padding for 10x4 stride 2 on 49x10 -> 25x5: 4 top, 5 bottom, 1 left, 2 right (as TensorFlow pads).
    { op: 'Conv', inputs: ['x', 'w0', 'b0'], outputs: ['c0'], name: 'conv1', attrs: { kernel_shape: { ints: [10, 4] }, strides: { ints: [2, 2] }, pads: { ints: [4, 1, 5, 2] } } },
    { op: 'Relu', inputs: ['c0'], outputs: ['a0'] },
  ];
  let x = 'a0';
  for (let b = 1; b <= 4; b++) {
    initializers.push(init(`dw${b}`, [C, 1, 3, 3], 9), bias(`dwb${b}`, C), init(`pw${b}`, [C, C, 1, 1], C), bias(`pwb${b}`, C));
    nodes.push(
      { op: 'Conv', inputs: [x, `dw${b}`, `dwb${b}`], outputs: [`d${b}`], name: `dw${b}`, attrs: { kernel_shape: { ints: [3, 3] }, group: { i: C }, pads: { ints: [1, 1, 1, 1] } } },
      { op: 'Relu', inputs: [`d${b}`], outputs: [`da${b}`] },
      { op: 'Conv', inputs: [`da${b}`, `pw${b}`, `pwb${b}`], outputs: [`p${b}`], name: `pw${b}` },
      { op: 'Relu', inputs: [`p${b}`], outputs: [`pa${b}`] },
    );
    x = `pa${b}`;
  }
  initializers.push(init('wfc', [12, C], C), bias('bfc', 12));
  nodes.push(
    { op: 'GlobalAveragePool', inputs: [x], outputs: ['g'] },
    { op: 'Flatten', inputs: ['g'], outputs: ['f'] },
    { op: 'Gemm', inputs: ['f', 'wfc', 'bfc'], outputs: ['logits'], name: 'fc', attrs: { transB: { i: 1 } } },
  );
  const onnx = writeModel(join(dir, 'kws_dscnn.onnx'), {
    opset: 13,
    inputs: [{ name: 'x', shape: [1, 1, 49, 10] }],
    outputs: [{ name: 'logits', shape: [1, 12] }],
    initializers,
    nodes,
  });
  const data = Array.from({ length: rows }, (_, r) => ({ x: Float32Array.from(values(490, 1000 + r), (v) => 3 * v) }));
  return { onnx, rows: data };
}
