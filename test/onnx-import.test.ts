// ONNX import: every repository model imports with consistent shapes; op variants across opsets
// (built here with onnx-proto) match onnxruntime through the float reference; every refusal is a
// TinyM2Error (exit code 2) naming the file and the node.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { runFloat } from '../compiler/reference/interpreter.ts';
import { TinyM2Error } from '../compiler/errors.ts';
import { tensorSize, type Graph } from '../compiler/ir.ts';
import { listOnnxModels, repoRelative, REPO_ROOT } from './helpers/models.ts';
import { randomInput, relativeError, runOnnxRuntime } from './helpers/ort.ts';
import { values, writeModel, type ModelSpec, type TensorSpec } from './helpers/onnx-builder.ts';

const dir = mkdtempSync(join(tmpdir(), 'tm2-onnx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function f32(name: string, dims: number[], seed = 1, raw = false): TensorSpec & { name: string } {
  return { name, dims, data: values(tensorSize(dims), seed), raw };
}
function i64(name: string, data: number[]): TensorSpec & { name: string } {
  return { name, dims: [data.length], dataType: 7, data };
}

/** Checks the invariants every imported graph must satisfy. */
function checkGraph(g: Graph): void {
  const defined = new Set(g.inputs.map((i) => i.name));
  for (const n of g.nodes) {
    for (const i of n.inputs) expect(defined.has(i), `${n.name} reads ${i} before it is defined`).toBe(true);
    for (const o of n.outputs) defined.add(o);
    for (const t of [...n.inputs, ...n.outputs]) expect(g.tensors.get(t)?.shape.every((d) => Number.isInteger(d) && d > 0), t).toBe(true);
  }
  for (const o of g.outputs) expect(defined.has(o.name), `output ${o.name}`).toBe(true);
  for (const i of g.inputs) expect(i.shape[0]).toBe(1);
}

async function expectMatchesOnnxRuntime(file: string): Promise<Graph> {
  const g = loadOnnx(file);
  checkGraph(g);
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
    expect(ref.shape.slice(1), `${o.name} shape`).toEqual(o.shape.slice(1));
    expect(relativeError(ours.get(o.name)!, ref.data), o.name).toBeLessThan(1e-4);
  }
  return g;
}

describe('imports every repository model', () => {
  for (const file of listOnnxModels()) {
    it(repoRelative(file), () => {
      const g = loadOnnx(file);
      checkGraph(g);
      expect(g.inputs.length).toBeGreaterThan(0);
      expect(g.nodes.some((n) => ['Dropout', 'Identity', 'BatchNormalization'].includes(n.op as string))).toBe(false);
    });
  }

  it('folds BatchNormalization into the conv before it, keeps it as ScaleShift otherwise', () => {
    const fused = loadOnnx(join(REPO_ROOT, 'test/models/tiny_fusion_op11.onnx'));
    const sources = fused.nodes.map((n) => n.source);
    expect(sources.filter((s) => s === 'Conv+BatchNormalization').length).toBe(3);
    expect(fused.nodes.filter((n) => n.op === 'ScaleShift').length).toBe(1); // after a MaxPool
    const kept = loadOnnx(join(REPO_ROOT, 'test/models/bn_nodes.onnx'));
    expect(kept.nodes.filter((n) => n.op === 'ScaleShift').length).toBe(2);
  });
});

const x4 = (c: number, h: number, w: number, name = 'x') => ({ name, shape: ['N', c, h, w] as (number | string)[] });

/** Op variants: [description, model]. Each must match onnxruntime. */
const VARIANTS: Array<[string, ModelSpec, ((g: Graph) => void)?]> = [
  ['Conv 2-D auto_pad SAME_UPPER stride 2, raw_data weights', {
    opset: 11, inputs: [x4(3, 9, 7)], outputs: [{ name: 'y' }], initializers: [f32('w', [4, 3, 3, 3], 1, true), f32('b', [4], 2, true)],
    nodes: [{ op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { auto_pad: { s: 'SAME_UPPER' }, strides: { ints: [2, 2] } } }],
  }],
  // onnxruntime refuses dilations together with SAME_* auto_pad, so dilation is tested with explicit pads.
  ['Conv 2-D auto_pad SAME_LOWER, group 2', {
    opset: 13, inputs: [x4(4, 10, 9)], outputs: [{ name: 'y' }], initializers: [f32('w', [6, 2, 3, 2])],
    nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { auto_pad: { s: 'SAME_LOWER' }, group: { i: 2 } } }],
  }],
  ['Conv 2-D dilation (2, 1), asymmetric pads, group 2', {
    opset: 13, inputs: [x4(4, 10, 9)], outputs: [{ name: 'y' }], initializers: [f32('w', [6, 2, 3, 2])],
    nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { pads: { ints: [2, 0, 1, 1] }, group: { i: 2 }, dilations: { ints: [2, 1] } } }],
  }],
  ['Conv 1-D VALID stride 3, depthwise, explicit kernel_shape', {
    opset: 17, inputs: [{ name: 'x', shape: [1, 4, 20] }], outputs: [{ name: 'y' }], initializers: [f32('w', [4, 1, 5]), f32('b', [4], 3)],
    nodes: [{ op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { auto_pad: { s: 'VALID' }, strides: { ints: [3] }, group: { i: 4 }, kernel_shape: { ints: [5] } } }],
  }],
  ['Clip with attributes (opset 10), LeakyRelu default alpha, Sigmoid', {
    opset: 10, inputs: [x4(2, 3, 3)], outputs: [{ name: 'y' }],
    nodes: [
      { op: 'Clip', inputs: ['x'], outputs: ['c'], attrs: { min: { f: -0.5 }, max: { f: 2 } } },
      { op: 'LeakyRelu', inputs: ['c'], outputs: ['l'] },
      { op: 'Sigmoid', inputs: ['l'], outputs: ['y'] },
    ],
  }],
  ['Clip with only a min input (opset 13), max omitted', {
    opset: 13, inputs: [x4(2, 3, 3)], outputs: [{ name: 'y' }], initializers: [{ name: 'lo', dims: [], data: [0.25] }],
    nodes: [{ op: 'Clip', inputs: ['x', 'lo', ''], outputs: ['y'] }],
  }, (g) => expect(g.nodes[0]).toMatchObject({ op: 'Clip', min: 0.25 })],
  ['Squeeze / Unsqueeze with axes attributes (opset 11), Softmax opset-11 semantics on axis 1 of 3-D', {
    opset: 11, inputs: [x4(3, 1, 4)], outputs: [{ name: 'y' }],
    nodes: [
      { op: 'Squeeze', inputs: ['x'], outputs: ['s'], attrs: { axes: { ints: [2] } } },
      { op: 'Softmax', inputs: ['s'], outputs: ['m'], attrs: { axis: { i: 1 } } },
      { op: 'Unsqueeze', inputs: ['m'], outputs: ['y'], attrs: { axes: { ints: [-1] } } },
    ],
  }],
  ['Squeeze / Unsqueeze with axes inputs (opset 13), Softmax axis 1 of 3-D', {
    opset: 13, inputs: [x4(3, 1, 4)], outputs: [{ name: 'y' }], initializers: [i64('ax2', [2]), i64('ax0', [0])],
    nodes: [
      { op: 'Squeeze', inputs: ['x', 'ax2'], outputs: ['s'] },
      { op: 'Softmax', inputs: ['s'], outputs: ['m'], attrs: { axis: { i: 1 } } },
      { op: 'Unsqueeze', inputs: ['m', 'ax0'], outputs: ['y'] },
    ],
  }],
  ['Pad as attribute (opset 10) with value, then MaxPool with pads, ceil_mode and dilations', {
    opset: 10, inputs: [x4(2, 7, 8)], outputs: [{ name: 'y' }],
    nodes: [
      { op: 'Pad', inputs: ['x'], outputs: ['p'], attrs: { pads: { ints: [0, 0, 1, 0, 0, 0, 2, 1] }, value: { f: -0.25 } } },
      { op: 'MaxPool', inputs: ['p'], outputs: ['y'], attrs: { kernel_shape: { ints: [3, 2] }, strides: { ints: [2, 2] }, pads: { ints: [1, 0, 1, 1] }, ceil_mode: { i: 1 }, dilations: { ints: [1, 2] } } },
    ],
  }],
  ['Pad with pads/constant_value/axes inputs (opset 18), AveragePool ceil_mode count_include_pad', {
    opset: 18, inputs: [x4(2, 7, 7)], outputs: [{ name: 'y' }],
    initializers: [i64('pads', [1, 2, 0, 1]), { name: 'cv', dims: [], data: [0.5] }, i64('axes', [2, 3])],
    nodes: [
      { op: 'Pad', inputs: ['x', 'pads', 'cv', 'axes'], outputs: ['p'] },
      { op: 'AveragePool', inputs: ['p'], outputs: ['y'], attrs: { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] }, ceil_mode: { i: 1 }, count_include_pad: { i: 1 } } },
    ],
  }],
  ['AveragePool 1-D without count_include_pad, GlobalAveragePool 1-D, Reshape with 0 and -1', {
    opset: 13, inputs: [{ name: 'x', shape: ['N', 3, 11] }], outputs: [{ name: 'y' }], initializers: [i64('shape', [0, -1])],
    nodes: [
      { op: 'AveragePool', inputs: ['x'], outputs: ['a'], attrs: { kernel_shape: { ints: [4] }, strides: { ints: [3] }, pads: { ints: [2, 2] } } },
      { op: 'GlobalAveragePool', inputs: ['a'], outputs: ['g'] },
      { op: 'Reshape', inputs: ['g', 'shape'], outputs: ['y'] },
    ],
  }],
  ['Transpose, Concat on a spatial axis and on -1, two-activation Mul with broadcasting', {
    opset: 13, inputs: [x4(2, 3, 4), x4(2, 4, 3, 'z'), { name: 'v', shape: [1, 2, 1, 1] }], outputs: [{ name: 'y' }],
    nodes: [
      { op: 'Transpose', inputs: ['z'], outputs: ['zt'], attrs: { perm: { ints: [0, 1, 3, 2] } } },
      { op: 'Concat', inputs: ['x', 'zt'], outputs: ['c'], attrs: { axis: { i: 2 } } },
      { op: 'Concat', inputs: ['c', 'c'], outputs: ['d'], attrs: { axis: { i: -1 } } },
      { op: 'Mul', inputs: ['d', 'v'], outputs: ['y'] },
    ],
  }],
  ['Sub with the constant on the left, Div by a constant, Add of a broadcast constant', {
    opset: 13, inputs: [x4(3, 2, 2)], outputs: [{ name: 'y' }],
    initializers: [f32('c', [3, 1, 1], 4), { name: 'd', dims: [], data: [4] }, f32('e', [2], 5)],
    nodes: [
      { op: 'Sub', inputs: ['c', 'x'], outputs: ['s'] },
      { op: 'Div', inputs: ['s', 'd'], outputs: ['q'] },
      { op: 'Add', inputs: ['q', 'e'], outputs: ['y'] },
    ],
  }],
  ['Gemm transB=0 with alpha and beta, Gemm transB=1 with C [1, N]', {
    opset: 11, inputs: [{ name: 'x', shape: [1, 6] }], outputs: [{ name: 'y' }],
    initializers: [f32('b1', [6, 5], 6), f32('c1', [5], 7), f32('b2', [3, 5], 8), f32('c2', [1, 3], 9)],
    nodes: [
      { op: 'Gemm', inputs: ['x', 'b1', 'c1'], outputs: ['h'], attrs: { alpha: { f: 0.5 }, beta: { f: 2 } } },
      { op: 'Gemm', inputs: ['h', 'b2', 'c2'], outputs: ['y'], attrs: { transB: { i: 1 } } },
    ],
  }],
  ['MatMul + Add becomes one Dense; BatchNormalization after it folds', {
    opset: 13, inputs: [{ name: 'x', shape: ['batch', 6] }], outputs: [{ name: 'y' }],
    initializers: [f32('w', [6, 4], 10), f32('b', [4], 11), f32('g', [4], 12), f32('beta', [4], 13), f32('mean', [4], 14), { name: 'var', dims: [4], data: [0.5, 1, 1.5, 2] }],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['m'] },
      { op: 'Add', inputs: ['m', 'b'], outputs: ['a'] },
      { op: 'BatchNormalization', inputs: ['a', 'g', 'beta', 'mean', 'var'], outputs: ['y'], attrs: { epsilon: { f: 1e-3 } } },
    ],
  }, (g) => {
    expect(g.nodes.length).toBe(1);
    expect(g.nodes[0]).toMatchObject({ op: 'Dense', source: 'MatMul+Add+BatchNormalization' });
  }],
  ['BatchNormalization after a conv whose output is also a graph output stays a ScaleShift', {
    opset: 13, inputs: [x4(2, 4, 4)], outputs: [{ name: 'c' }, { name: 'y' }],
    initializers: [f32('w', [3, 2, 1, 1]), f32('g', [3], 2), f32('beta', [3], 3), f32('mean', [3], 4), { name: 'var', dims: [3], data: [1, 2, 3] }],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'] },
      { op: 'BatchNormalization', inputs: ['c', 'g', 'beta', 'mean', 'var'], outputs: ['y'] },
    ],
  }, (g) => expect(g.nodes.map((n) => n.op)).toEqual(['Conv', 'ScaleShift'])],
  ['Constant nodes, the Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain, Dropout and Identity removed', {
    opset: 13, inputs: [x4(2, 3, 4)], outputs: [{ name: 'y' }],
    initializers: [i64('zero', [0]), i64('axes0', [0])],
    nodes: [
      { op: 'Dropout', inputs: ['x'], outputs: ['xd'] },
      { op: 'Shape', inputs: ['xd'], outputs: ['shp'] },
      { op: 'Gather', inputs: ['shp', 'zero'], outputs: ['n'], attrs: { axis: { i: 0 } } },
      { op: 'Constant', inputs: [], outputs: ['minus1'], attrs: { value: { t: { dims: [1], dataType: 7, data: [-1] } } } },
      { op: 'Concat', inputs: ['n', 'minus1'], outputs: ['target'], attrs: { axis: { i: 0 } } },
      { op: 'Reshape', inputs: ['xd', 'target'], outputs: ['flat'] },
      { op: 'Constant', inputs: [], outputs: ['scale'], attrs: { value_floats: { floats: [0.5] } } },
      { op: 'Mul', inputs: ['flat', 'scale'], outputs: ['m'] },
      { op: 'Identity', inputs: ['m'], outputs: ['y'] },
    ],
  }, (g) => expect(g.nodes.map((n) => n.op)).toEqual(['Reshape', 'Mul'])],
  ['int32 and raw int64 initializers: Cast to int64 then Reshape; Flatten with axis 2', {
    opset: 13, inputs: [x4(2, 3, 4)], outputs: [{ name: 'y' }],
    initializers: [{ name: 'shape32', dims: [3], dataType: 6, data: [1, 2, -1] }, { name: 'shape64', dims: [2], dataType: 7, data: [0, -1], raw: true }],
    nodes: [
      { op: 'Cast', inputs: ['shape32'], outputs: ['shape'], attrs: { to: { i: 7 } } },
      { op: 'Reshape', inputs: ['x', 'shape'], outputs: ['r'] },
      { op: 'Flatten', inputs: ['r'], outputs: ['f'], attrs: { axis: { i: 2 } } },
      { op: 'Reshape', inputs: ['f', 'shape64'], outputs: ['y'] },
    ],
  }, (g) => expect(g.nodes.map((n) => (n.op === 'Reshape' ? n.shape : []))).toEqual([[1, 2, 12], [2, 12], [2, 12]])],
];

describe('op variants match onnxruntime', () => {
  VARIANTS.forEach(([title, spec, extra], k) => {
    it(`opset ${spec.opset}: ${title}`, async () => {
      const file = writeModel(join(dir, `variant${k}.onnx`), spec);
      const g = await expectMatchesOnnxRuntime(file);
      extra?.(g);
    });
  });
});

/** Expects loadOnnx to refuse with a TinyM2Error (exit code 2) whose message matches every pattern. */
function expectRefusal(file: string, ...patterns: RegExp[]): void {
  let err: unknown;
  try {
    loadOnnx(file);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TinyM2Error);
  const e = err as TinyM2Error;
  expect(e.exitCode).toBe(2);
  expect(e.message).toContain(file);
  for (const p of patterns) expect(e.message).toMatch(p);
}

const relu = (opset = 13): ModelSpec => ({ opset, inputs: [x4(2, 3, 3)], outputs: [{ name: 'y' }], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }] });

describe('refusals', () => {
  it('a truncated file', () => {
    const good = readFileSync(join(REPO_ROOT, 'test/models/tiny_fusion_op13.onnx'));
    const file = join(dir, 'truncated.onnx');
    writeFileSync(file, good.subarray(0, Math.floor(good.length / 2)));
    expectRefusal(file, /not a valid ONNX model/, /truncated/);
  });

  it('a file that is not ONNX, an empty file, a missing file', () => {
    const text = join(dir, 'notes.onnx');
    writeFileSync(text, 'this is a text file, not a model\n'.repeat(20));
    expectRefusal(text, /not a valid ONNX model/);
    const empty = join(dir, 'empty.onnx');
    writeFileSync(empty, '');
    expectRefusal(empty, /empty/);
    expectRefusal(join(dir, 'missing.onnx'), /no such file/);
  });

  it('an unsupported operator (RNN), naming the node and what is supported', () => {
    const file = writeModel(join(dir, 'rnn.onnx'), {
      opset: 13, inputs: [{ name: 'x', shape: [1, 5, 4] }], outputs: [{ name: 'y' }],
      initializers: [f32('W', [1, 3, 4]), f32('R', [1, 3, 3])],
      nodes: [{ op: 'RNN', name: 'encoder_rnn', inputs: ['x', 'W', 'R'], outputs: ['y'], attrs: { hidden_size: { i: 3 } } }],
    });
    expectRefusal(file, /node 'encoder_rnn' \(RNN\)/, /operator RNN is not supported/, /tinym2 supports Conv, BatchNormalization/);
  });

  it('an unknown data type', () => {
    const file = writeModel(join(dir, 'fp16.onnx'), {
      opset: 13, inputs: [x4(2, 3, 3)], outputs: [{ name: 'y' }],
      initializers: [{ name: 'half_w', dims: [2, 2, 1, 1], dataType: 10, data: [1, 2, 3, 4], raw: true }],
      nodes: [{ op: 'Conv', inputs: ['x', 'half_w'], outputs: ['y'] }],
    });
    expectRefusal(file, /tensor 'half_w' has data type FLOAT16/, /supports FLOAT/);
    const bogus = writeModel(join(dir, 'bogus.onnx'), { ...relu(), inputs: [{ name: 'x', shape: [1, 2], elemType: 42 }] });
    expectRefusal(bogus, /input 'x'/, /unknown data type 42/);
  });

  it('a dynamic dimension other than the batch', () => {
    const file = writeModel(join(dir, 'dynamic.onnx'), { ...relu(), inputs: [{ name: 'x', shape: ['N', 3, 'height', 8] }] });
    expectRefusal(file, /input 'x' dimension 2 is dynamic \('height'\)/);
    const noShape = writeModel(join(dir, 'noshape.onnx'), { ...relu(), inputs: [{ name: 'x' }] });
    expectRefusal(noShape, /input 'x' has no shape/);
  });

  it('a shape computed by an op tinym2 cannot fold', () => {
    const file = writeModel(join(dir, 'dynshape.onnx'), {
      opset: 13, inputs: [x4(2, 3, 4)], outputs: [{ name: 'y' }], initializers: [{ name: 'half', dims: [1], data: [0.5] }],
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['s'] },
        { op: 'Cast', inputs: ['s'], outputs: ['sf'], attrs: { to: { i: 1 } } },
        { op: 'Mul', inputs: ['sf', 'half'], outputs: ['h'] },
        { op: 'Floor', name: 'floor_shape', inputs: ['h'], outputs: ['fl'] },
        { op: 'Cast', inputs: ['fl'], outputs: ['target'], attrs: { to: { i: 7 } } },
        { op: 'Reshape', inputs: ['x', 'target'], outputs: ['y'] },
      ],
    });
    expectRefusal(file, /node 'floor_shape' \(Floor\): operator Floor is not supported/, /evaluates Shape.* when their inputs are constants/);
  });

  it('a shape mismatch names the node', () => {
    const file = writeModel(join(dir, 'mismatch.onnx'), {
      opset: 13, inputs: [x4(3, 5, 5)], outputs: [{ name: 'y' }], initializers: [f32('w', [4, 2, 3, 3])],
      nodes: [{ op: 'Conv', name: 'stem', inputs: ['x', 'w'], outputs: ['y'] }],
    });
    expectRefusal(file, /node 'stem' \(Conv\): shape mismatch/, /expects 2 input channels/);
  });

  it('Gemm with transA, a non-constant weight, a custom domain, an unsupported Pad mode', () => {
    const gemm = writeModel(join(dir, 'transa.onnx'), {
      opset: 13, inputs: [{ name: 'x', shape: [1, 4] }], outputs: [{ name: 'y' }], initializers: [f32('b', [1, 2])],
      nodes: [{ op: 'Gemm', name: 'fc', inputs: ['x', 'b'], outputs: ['y'], attrs: { transA: { i: 1 } } }],
    });
    expectRefusal(gemm, /node 'fc' \(Gemm\): transA=1 is not supported/);
    const mm = writeModel(join(dir, 'matmul2.onnx'), {
      opset: 13, inputs: [{ name: 'x', shape: [1, 4] }, { name: 'z', shape: [1, 4, 4] }], outputs: [{ name: 'y' }],
      nodes: [{ op: 'MatMul', inputs: ['x', 'z'], outputs: ['y'] }],
    });
    expectRefusal(mm, /MatMul/, /constant 2-D weight/);
    const custom = writeModel(join(dir, 'custom.onnx'), { ...relu(), nodes: [{ op: 'Relu', domain: 'com.example', inputs: ['x'], outputs: ['y'] }] });
    expectRefusal(custom, /domain 'com.example'/);
    const reflect = writeModel(join(dir, 'reflect.onnx'), {
      opset: 13, inputs: [x4(1, 4, 4)], outputs: [{ name: 'y' }], initializers: [i64('pads', [0, 0, 1, 1, 0, 0, 1, 1])],
      nodes: [{ op: 'Pad', inputs: ['x', 'pads'], outputs: ['y'], attrs: { mode: { s: 'reflect' } } }],
    });
    expectRefusal(reflect, /mode 'reflect' is not supported/);
  });

  it('an opset outside the supported range', () => {
    expectRefusal(writeModel(join(dir, 'opset5.onnx'), relu(5)), /opset 5 is not supported/);
  });
});
