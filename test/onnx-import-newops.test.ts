// Import of issue 11's new operators across their opset forms, through the float reference
// against onnxruntime: Slice (attributes before opset 10, inputs with negative steps after), Split
// (attribute, input, equal parts, opset 18 num_outputs), ReduceMean / ReduceMax (attribute or input
// axes, keepdims 0), Resize (opset 10 scales, 11+ scales or sizes, coordinate modes), Upsample,
// PRelu (per channel, one slope = LeakyRelu), LogSoftmax (opset 11 flattening), ConvTranspose
// (output_padding, output_shape, auto_pad, groups, 1-D). And the refusals: exit code 2 naming the
// file, the node and what is supported.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TinyM2Error } from '../compiler/errors.ts';
import { tensorSize, type Graph } from '../compiler/ir.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { runFloat } from '../compiler/reference/interpreter.ts';
import { values, writeModel, type ModelSpec, type NodeSpec, type TensorSpec } from './helpers/onnx-builder.ts';
import { randomInput, relativeError, runOnnxRuntime } from './helpers/ort.ts';

const dir = mkdtempSync(join(tmpdir(), 'tm2-onnx-newops-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const f32 = (name: string, dims: number[], seed = 1): TensorSpec & { name: string } => ({ name, dims, data: values(tensorSize(dims), seed) });
const i64 = (name: string, data: number[]): TensorSpec & { name: string } => ({ name, dims: [data.length], dataType: 7, data });
const fl = (name: string, data: number[]): TensorSpec & { name: string } => ({ name, dims: [data.length], data });

/** One node on input x of the given shape (batch 1), outputs named by the node. */
function one(opset: number, shape: number[], node: NodeSpec, initializers: ModelSpec['initializers'] = []): ModelSpec {
  return { opset, inputs: [{ name: 'x', shape }], outputs: node.outputs.map((name) => ({ name })), initializers, nodes: [node] };
}

async function expectMatchesOnnxRuntime(file: string): Promise<Graph> {
  const g = loadOnnx(file);
  const inputs: Record<string, Float32Array> = {};
  const feeds: Record<string, { data: Float32Array; shape: number[] }> = {};
  g.inputs.forEach((inp, k) => {
    inputs[inp.name] = randomInput(tensorSize(inp.shape), 7 + k).map((v) => v * 4);
    feeds[inp.name] = { data: inputs[inp.name], shape: inp.shape };
  });
  const ours = runFloat(g, inputs);
  const theirs = await runOnnxRuntime(file, feeds);
  for (const o of g.outputs) {
    const ref = theirs.get(o.name)!;
    expect(ref.shape, `${o.name} shape`).toEqual(o.shape);
    expect(relativeError(ours.get(o.name)!, ref.data), o.name).toBeLessThan(1e-4);
  }
  return g;
}

const ops = (g: Graph) => g.nodes.map((n) => n.op as string);

const VARIANTS: Array<[string, ModelSpec, ((g: Graph) => void)?]> = [
  ['Slice with attributes (opset 9)', one(9, [1, 6, 5], { op: 'Slice', inputs: ['x'], outputs: ['y'], attrs: { starts: { ints: [1, -3] }, ends: { ints: [5, 1000] }, axes: { ints: [1, 2] } } })],
  ['Slice without axes and steps (opset 10)', one(10, [1, 4, 6, 6], { op: 'Slice', inputs: ['x', 's', 'e'], outputs: ['y'] }, [i64('s', [0, 1, 2, 0]), i64('e', [1, 3, 5, 6])])],
  ['Slice with negative steps and clamped ends (opset 13)', one(13, [1, 4, 6, 7], { op: 'Slice', inputs: ['x', 's', 'e', 'a', 'p'], outputs: ['y'] },
    [i64('s', [-1, 100, 1]), i64('e', [-100, 0, 7]), i64('a', [2, 3, 1]), i64('p', [-2, -3, 2])])],
  ['Split by attribute (opset 11)', one(11, [1, 6, 4, 3], { op: 'Split', inputs: ['x'], outputs: ['a', 'b'], attrs: { axis: { i: 1 }, split: { ints: [2, 4] } } }),
    (g) => expect(ops(g)).toEqual(['Slice', 'Slice'])],
  ['Split by input on the last axis (opset 13)', one(13, [1, 3, 10], { op: 'Split', inputs: ['x', 'sp'], outputs: ['a', 'b', 'c'], attrs: { axis: { i: -1 } } }, [i64('sp', [3, 3, 4])])],
  ['Split in equal parts (opset 13)', one(13, [1, 6, 4, 4], { op: 'Split', inputs: ['x'], outputs: ['a', 'b', 'c'], attrs: { axis: { i: 1 } } })],
  ['Split by num_outputs, uneven (opset 18)', one(18, [1, 7, 4], { op: 'Split', inputs: ['x'], outputs: ['a', 'b', 'c'], attrs: { axis: { i: 1 }, num_outputs: { i: 3 } } })],
  ['ReduceMean over channels, keepdims 0 (opset 13)', one(13, [1, 5, 4, 3], { op: 'ReduceMean', inputs: ['x'], outputs: ['y'], attrs: { axes: { ints: [1] }, keepdims: { i: 0 } } }),
    (g) => expect(ops(g)).toEqual(['ReduceMean', 'Reshape'])],
  ['ReduceMean over H and W is a global average pool (opset 13)', one(13, [1, 5, 4, 3], { op: 'ReduceMean', inputs: ['x'], outputs: ['y'], attrs: { axes: { ints: [-2, -1] } } }),
    (g) => expect(ops(g)).toEqual(['GlobalAveragePool'])],
  ['ReduceMax over H and W (opset 13)', one(13, [1, 5, 4, 3], { op: 'ReduceMax', inputs: ['x'], outputs: ['y'], attrs: { axes: { ints: [2, 3] } } })],
  ['ReduceMax over every axis (opset 13)', one(13, [1, 6], { op: 'ReduceMax', inputs: ['x'], outputs: ['y'] })],
  ['ReduceMean with axes as an input (opset 18)', one(18, [1, 4, 9], { op: 'ReduceMean', inputs: ['x', 'ax'], outputs: ['y'] }, [i64('ax', [2])])],
  ['Resize nearest by scales (opset 10)', one(10, [1, 2, 3, 4], { op: 'Resize', inputs: ['x', 'sc'], outputs: ['y'], attrs: { mode: { s: 'nearest' } } }, [fl('sc', [1, 1, 2, 3])])],
  ['Upsample linear (opset 9)', one(9, [1, 2, 3, 4], { op: 'Upsample', inputs: ['x', 'sc'], outputs: ['y'], attrs: { mode: { s: 'linear' } } }, [fl('sc', [1, 1, 2, 2])])],
  ['Resize linear align_corners by sizes (opset 11)', one(11, [1, 3, 5, 4], { op: 'Resize', inputs: ['x', 'roi', 'sc', 'sz'], outputs: ['y'], attrs: { mode: { s: 'linear' }, coordinate_transformation_mode: { s: 'align_corners' } } },
    [fl('roi', []), fl('sc', []), i64('sz', [1, 3, 9, 7])])],
  ['Resize nearest asymmetric floor, 1-D (opset 13)', one(13, [1, 3, 6], { op: 'Resize', inputs: ['x', '', 'sc'], outputs: ['y'], attrs: { coordinate_transformation_mode: { s: 'asymmetric' }, nearest_mode: { s: 'floor' } } },
    [fl('sc', [1, 1, 2.5])])],
  ['Resize linear pytorch_half_pixel downsampling (opset 13)', one(13, [1, 2, 8, 9], { op: 'Resize', inputs: ['x', '', 'sc'], outputs: ['y'], attrs: { mode: { s: 'linear' }, coordinate_transformation_mode: { s: 'pytorch_half_pixel' } } },
    [fl('sc', [1, 1, 0.5, 0.34])])],
  ['PRelu per channel (opset 13)', one(13, [1, 3, 4, 4], { op: 'PRelu', inputs: ['x', 's'], outputs: ['y'] }, [{ name: 's', dims: [3, 1, 1], data: [0.2, -0.7, 1.3] }]),
    (g) => expect(ops(g)).toEqual(['PRelu'])],
  ['PRelu with one slope is a LeakyRelu (opset 9)', one(9, [1, 3, 4], { op: 'PRelu', inputs: ['x', 's'], outputs: ['y'] }, [{ name: 's', dims: [1], data: [0.25] }]),
    (g) => expect(ops(g)).toEqual(['LeakyRelu'])],
  ['PRelu on a vector (opset 13)', one(13, [1, 5], { op: 'PRelu', inputs: ['x', 's'], outputs: ['y'] }, [{ name: 's', dims: [5], data: [0.1, 0.2, -0.3, 0.4, 2] }])],
  ['LogSoftmax on the last axis (opset 13)', one(13, [1, 10], { op: 'LogSoftmax', inputs: ['x'], outputs: ['y'] })],
  ['LogSoftmax flattening at axis 1 (opset 11)', one(11, [1, 3, 2, 2], { op: 'LogSoftmax', inputs: ['x'], outputs: ['y'], attrs: { axis: { i: 1 } } })],
  ['ConvTranspose 2-D stride 2, output_padding, bias (opset 13)', one(13, [1, 4, 3, 5], { op: 'ConvTranspose', inputs: ['x', 'w', 'b'], outputs: ['y'],
    attrs: { strides: { ints: [2, 2] }, pads: { ints: [1, 0, 1, 1] }, output_padding: { ints: [1, 0] } } }, [f32('w', [4, 2, 3, 3], 3), f32('b', [2], 4)])],
  ['ConvTranspose with output_shape (opset 11)', one(11, [1, 2, 4, 4], { op: 'ConvTranspose', inputs: ['x', 'w'], outputs: ['y'],
    attrs: { strides: { ints: [2, 2] }, output_shape: { ints: [9, 8] } } }, [f32('w', [2, 3, 3, 3], 5)])],
  ['ConvTranspose auto_pad SAME_UPPER, groups 2, dilation (opset 13)', one(13, [1, 4, 5, 5], { op: 'ConvTranspose', inputs: ['x', 'w'], outputs: ['y'],
    attrs: { strides: { ints: [2, 2] }, auto_pad: { s: 'SAME_UPPER' }, group: { i: 2 }, dilations: { ints: [1, 2] } } }, [f32('w', [4, 3, 3, 2], 6)])],
  ['ConvTranspose 1-D (opset 13)', one(13, [1, 3, 7], { op: 'ConvTranspose', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { strides: { ints: [3] }, pads: { ints: [1, 2] } } },
    [f32('w', [3, 5, 4], 7), f32('b', [5], 8)])],
];

describe('new operators: variants match onnxruntime through the float reference', () => {
  VARIANTS.forEach(([title, spec, extra], k) => {
    it(`opset ${spec.opset}: ${title}`, async () => {
      const g = await expectMatchesOnnxRuntime(writeModel(join(dir, `v${k}.onnx`), spec));
      extra?.(g);
    });
  });
});

describe('new operators: refusals name the file, the node and what is supported (exit code 2)', () => {
  const cases: Array<[string, ModelSpec, RegExp]> = [
    ['Resize cubic', one(13, [1, 2, 3, 3], { op: 'Resize', name: 'up', inputs: ['x', '', 'sc'], outputs: ['y'], attrs: { mode: { s: 'cubic' } } }, [fl('sc', [1, 1, 2, 2])]), /node 'up'.*mode 'cubic' is not supported \(nearest and linear are\)/],
    ['Resize of channels', one(13, [1, 2, 3, 3], { op: 'Resize', name: 'up', inputs: ['x', '', 'sc'], outputs: ['y'] }, [fl('sc', [1, 2, 2, 2])]), /must be 1 on N and C/],
    ['Resize tf_crop_and_resize', one(13, [1, 2, 3, 3], { op: 'Resize', name: 'up', inputs: ['x', '', 'sc'], outputs: ['y'], attrs: { coordinate_transformation_mode: { s: 'tf_crop_and_resize' } } }, [fl('sc', [1, 1, 2, 2])]), /tf_crop_and_resize' is not supported/],
    ['PRelu varying along H', one(13, [1, 2, 3, 3], { op: 'PRelu', name: 'act', inputs: ['x', 's'], outputs: ['y'] }, [{ name: 's', dims: [3, 1], data: [0.1, 0.2, 0.3] }]), /node 'act'.*one slope, or one per channel/],
    ['Split that does not add up', one(13, [1, 6, 2], { op: 'Split', name: 'sp', inputs: ['x', 'p'], outputs: ['a', 'b'], attrs: { axis: { i: 1 } } }, [i64('p', [2, 3])]), /node 'sp'.*does not divide/],
    ['an empty Slice', one(13, [1, 6, 2], { op: 'Slice', name: 'sl', inputs: ['x', 's', 'e'], outputs: ['y'] }, [i64('s', [0, 4]), i64('e', [1, 4])]), /node 'sl'.*empty/],
  ];
  for (const [what, spec, pattern] of cases) it(what, () => {
    const file = writeModel(join(dir, `bad-${what.replace(/\W+/g, '_')}.onnx`), spec);
    let err: unknown;
    try {
      loadOnnx(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TinyM2Error);
    expect((err as TinyM2Error).exitCode).toBe(2);
    expect((err as TinyM2Error).message).toContain(file);
    expect((err as TinyM2Error).message).toMatch(pattern);
  });
});
