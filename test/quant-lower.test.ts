// Lowering IR -> QGraph on small hand-built graphs: layouts, fusions, shared parameters, errors.
import { describe, expect, it } from 'vitest';
import { TinyM2Error } from '../compiler/errors.ts';
import type { Constant, Graph, Node, TensorInfo } from '../compiler/ir.ts';
import { tensorSize } from '../compiler/ir.ts';
import { runFloat } from '../compiler/reference/interpreter.ts';
import { calibrateGraph, runQuantized, uniform, weightBytes } from '../compiler/quant/evaluate.ts';
import { quantizeGraph, spatialFlattenPerm } from '../compiler/quant/lower.ts';
import type { QConvOp, QGraph } from '../compiler/quant/qgraph.ts';
import { validateQGraph } from '../compiler/quant/validate.ts';

/** Builds a Graph from nodes and shapes; constants are float32. */
function build(inputs: TensorInfo[], outputs: string[], nodes: Node[], shapes: Record<string, number[]>, consts: Record<string, { shape: number[]; data: number[] }>): Graph {
  const tensors = new Map<string, TensorInfo>();
  for (const i of inputs) tensors.set(i.name, i);
  for (const [name, shape] of Object.entries(shapes)) tensors.set(name, { name, shape, dtype: 'float32' });
  const constants = new Map<string, Constant>();
  for (const [name, c] of Object.entries(consts)) constants.set(name, { name, shape: c.shape, dtype: 'float32', data: Float32Array.from(c.data) });
  return {
    name: 'hand', file: 'hand.onnx', opset: 13, inputs,
    outputs: outputs.map((o) => tensors.get(o)!), nodes, tensors, constants,
  };
}

function seq<T = number>(n: number, f: (i: number) => T): T[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

/** Deterministic pseudo-random rows. */
function rows(graph: Graph, n: number, seed = 1): Array<Record<string, Float32Array>> {
  let s = seed;
  const r = () => { s = (s * 16807) % 2147483647; return s / 2147483647; };
  return seq(n, () => Object.fromEntries(graph.inputs.map((i) => [i.name, Float32Array.from(seq(tensorSize(i.shape), () => r() * 4 - 2))])));
}

function opsOf(q: QGraph): string[] {
  return q.ops.map((o) => o.op);
}

const conv = (name: string, input: string, output: string, weight: string, bias: string | undefined, extra: Partial<Node & { op: 'Conv' }> = {}): Node => ({
  op: 'Conv', name, source: 'Conv', inputs: [input], outputs: [output], weight, bias,
  kernel: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1, ...extra,
} as Node);

/** conv 1x1 (2 -> 3 ch, 2x2) -> Relu -> Flatten -> Dense 12 -> 4 */
function convFlattenDense(): Graph {
  return build(
    [{ name: 'x', shape: [1, 2, 2, 2], dtype: 'float32' }], ['y'],
    [
      conv('c1', 'x', 'c', 'w1', 'b1', { kernel: [3, 3], pads: [1, 1, 1, 1] }),
      { op: 'Relu', name: 'r1', source: 'Relu', inputs: ['c'], outputs: ['r'] },
      { op: 'Reshape', name: 'flat', source: 'Flatten', inputs: ['r'], outputs: ['f'], shape: [1, 12] },
      { op: 'Dense', name: 'fc', source: 'Gemm', inputs: ['f'], outputs: ['y'], weight: 'wd', bias: 'bd' },
    ],
    { c: [1, 3, 2, 2], r: [1, 3, 2, 2], f: [1, 12], y: [1, 4] },
    {
      w1: { shape: [3, 2, 3, 3], data: seq(54, (i) => Math.sin(i * 0.7) * 0.5) },
      b1: { shape: [3], data: [0.1, -0.2, 0.05] },
      wd: { shape: [4, 12], data: seq(48, (i) => (i < 12 ? i : Math.cos(i) * 3)) },
      bd: { shape: [4], data: [0, 0.5, -0.5, 1] },
    },
  );
}

describe('lowering', () => {
  it('folds Relu into the conv clamp and permutes dense columns for the channels-last flatten', () => {
    const g = convFlattenDense();
    const data = rows(g, 32);
    const q = quantizeGraph(g, calibrateGraph(g, data, { method: 'minmax' }), uniform(g, 8));
    expect(opsOf(q)).toEqual(['conv', 'reshape', 'dense']);
    const c = q.ops[0] as QConvOp;
    const r = q.tensors.get('r')!;
    expect(c.output).toBe('r');
    expect(c.actMin).toBe(r.zeroPoint); // ReLU: real 0
    expect(r.zeroPoint).toBe(-128); // the ReLU output range starts at 0
    expect(q.tensors.get('x')!.shape).toEqual([2, 2, 2]);
    expect(c.weights.length).toBe(54);
    // Dense row 0 holds W[0][i] = i, so its quantized column m must be round(perm[m] * 127 / 11).
    const d = q.ops[2] as QConvOp;
    const perm = spatialFlattenPerm(2, 2, 3);
    expect(Array.from(d.weights.subarray(0, 12))).toEqual(Array.from(perm, (p) => Math.round((p * 127) / 11)));
    expect(q.io.x).toEqual({ onnxShape: [1, 2, 2, 2], layout: 'nchw' });
    expect(q.io.y.layout).toBe('flat');
  });

  it('dequantized INT8 outputs track the float reference', () => {
    const g = convFlattenDense();
    const data = rows(g, 64);
    const q = quantizeGraph(g, calibrateGraph(g, data, { method: 'minmax' }), uniform(g, 8));
    const yScale = q.tensors.get('y')!.scale;
    for (const row of data.slice(0, 16)) {
      const f = runFloat(g, row).get('y')!;
      const e = runQuantized(g, q, row).get('y')!;
      for (let i = 0; i < f.length; i++) expect(Math.abs(f[i] - e[i])).toBeLessThan(4 * yScale);
    }
  });

  it('every requant multiplier is M in [2^30, 2^31) or 0', () => {
    const g = convFlattenDense();
    const q = quantizeGraph(g, calibrateGraph(g, rows(g, 8)), uniform(g, 4));
    for (const op of q.ops) {
      if (op.op !== 'conv' && op.op !== 'dense') continue;
      for (const m of op.requant.multiplier) expect(m === 0 || (m >= 2 ** 30 && m < 2 ** 31)).toBe(true);
      for (const s of op.requant.shift) expect(31 - s).toBeGreaterThanOrEqual(1);
      expect(op.weightBits).toBe(4);
      for (const w of op.weights) expect(Math.abs(w)).toBeLessThanOrEqual(7);
    }
    // INT4 activations: the dense output clamp is the 4-bit range.
    const d = q.ops[2] as QConvOp;
    expect([d.actMin, d.actMax]).toEqual([-8, 7]);
    expect(q.tensors.get('x')!.bits).toBe(8); // graph inputs keep 8 bits
  });

  it('folds a zero Pad into the conv padding; ScaleShift becomes a depthwise 1x1; Sigmoid a table', () => {
    const g = build(
      [{ name: 'x', shape: [1, 2, 4, 4], dtype: 'float32' }], ['s'],
      [
        { op: 'Pad', name: 'pad', source: 'Pad', inputs: ['x'], outputs: ['p'], pads: [0, 0, 1, 0, 0, 0, 0, 2], value: 0 },
        conv('c1', 'p', 'c', 'w', undefined, { kernel: [3, 3], pads: [1, 1, 1, 1] }),
        { op: 'ScaleShift', name: 'bn', source: 'BatchNormalization', inputs: ['c'], outputs: ['b'], scale: 'g', shift: 'h' },
        { op: 'Sigmoid', name: 'sig', source: 'Sigmoid', inputs: ['b'], outputs: ['s'] },
      ],
      { p: [1, 2, 5, 6], c: [1, 2, 5, 6], b: [1, 2, 5, 6], s: [1, 2, 5, 6] },
      { w: { shape: [2, 2, 3, 3], data: seq(36, (i) => Math.cos(i) * 0.3) }, g: { shape: [2], data: [2, -0.5] }, h: { shape: [2], data: [0.1, 0.3] } },
    );
    const data = rows(g, 16);
    const q = quantizeGraph(g, calibrateGraph(g, data, { method: 'minmax' }), uniform(g, 8));
    expect(opsOf(q)).toEqual(['conv', 'depthwise', 'lut']);
    expect((q.ops[0] as QConvOp).pad).toEqual([2, 1, 1, 3]);
    const dw = q.ops[1] as QConvOp;
    expect(Array.from(dw.weights)).toEqual([127, -127]);
    const sScale = q.tensors.get('s')!.scale;
    for (const row of data.slice(0, 4)) {
      const f = runFloat(g, row).get('s')!;
      const e = runQuantized(g, q, row).get('s')!;
      let worst = 0;
      for (let i = 0; i < f.length; i++) worst = Math.max(worst, Math.abs(f[i] - e[i]));
      expect(worst).toBeLessThan(6 * sScale);
    }
  });

  it('forces concat inputs to share the output scale and zero point', () => {
    const g = build(
      [{ name: 'a', shape: [1, 1, 3], dtype: 'float32' }, { name: 'b', shape: [1, 2, 3], dtype: 'float32' }], ['y'],
      [
        conv('ca', 'a', 'xa', 'wa', undefined),
        conv('cb', 'b', 'xb', 'wb', undefined),
        { op: 'Concat', name: 'cat', source: 'Concat', inputs: ['xa', 'xb'], outputs: ['y'], axis: 1 },
      ],
      { xa: [1, 2, 3], xb: [1, 2, 3], y: [1, 4, 3] },
      { wa: { shape: [2, 1, 1], data: [1, 5] }, wb: { shape: [2, 2, 1], data: [0.1, 0.2, -0.3, 0.1] } },
    );
    const q = quantizeGraph(g, calibrateGraph(g, rows(g, 8), { method: 'minmax' }), uniform(g, 8));
    const [xa, xb, y] = ['xa', 'xb', 'y'].map((n) => q.tensors.get(n)!);
    expect([xa.scale, xa.zeroPoint]).toEqual([y.scale, y.zeroPoint]);
    expect([xb.scale, xb.zeroPoint]).toEqual([y.scale, y.zeroPoint]);
    expect(q.ops[2]).toMatchObject({ op: 'concat', axis: 2 });
    expect(q.ops[0].op).toBe('pointwise');
    expect(q.io.a.layout).toBe('ncl');
  });

  it('names the node it cannot lower', () => {
    const g = build(
      [{ name: 'a', shape: [1, 4, 2, 2], dtype: 'float32' }, { name: 'b', shape: [1, 4, 1, 1], dtype: 'float32' }], ['y'],
      [{ op: 'Mul', name: 'gate', source: 'Mul', inputs: ['a', 'b'], outputs: ['y'] }],
      { y: [1, 4, 2, 2] }, {},
    );
    const run = () => quantizeGraph(g, calibrateGraph(g, rows(g, 2)), uniform(g, 8));
    expect(run).toThrow(TinyM2Error);
    expect(run).toThrow(/node 'gate' \(Mul\) in hand\.onnx: its inputs have different shapes/);
  });

  it('lowers Sub of two activations as an exact negation table plus add, with a folded Relu', () => {
    const g = build(
      [{ name: 'a', shape: [1, 6], dtype: 'float32' }, { name: 'b', shape: [1, 6], dtype: 'float32' }], ['r'],
      [
        { op: 'Sub', name: 'diff', source: 'Sub', inputs: ['a', 'b'], outputs: ['d'] },
        { op: 'Relu', name: 'relu', source: 'Relu', inputs: ['d'], outputs: ['r'] },
      ],
      { d: [1, 6], r: [1, 6] }, {},
    );
    const data = rows(g, 32);
    const q = quantizeGraph(g, calibrateGraph(g, data, { method: 'minmax' }), uniform(g, 8));
    expect(opsOf(q)).toEqual(['lut', 'add']);
    expect(validateQGraph(q)).toEqual([]);
    expect(worstSteps(g, q, data)).toBeLessThan(1.5);
  });

  it('rejects a plan that misses a layer', () => {
    const g = convFlattenDense();
    const plan = { model: 'hand.onnx', layers: { c1: { weightBits: 8 as const, activationBits: 8 as const } } };
    expect(() => quantizeGraph(g, calibrateGraph(g, rows(g, 2)), plan)).toThrow(/no entry for layer 'fc'/);
  });

  it('counts weight bytes: INT4 packed, INT8 one byte, plus bias, multiplier and shift per channel', () => {
    const g = convFlattenDense();
    const calib = calibrateGraph(g, rows(g, 4));
    // conv: 54 weights, 3 channels; dense: 48 weights, 4 channels; 12 bytes of int32 metadata per channel.
    expect(weightBytes(quantizeGraph(g, calib, uniform(g, 8)))).toBe(54 + 36 + 48 + 48);
    expect(weightBytes(quantizeGraph(g, calib, uniform(g, 4)))).toBe(27 + 36 + 24 + 48);
    const mixed = { model: 'hand.onnx', layers: { c1: { weightBits: 8 as const, activationBits: 8 as const }, fc: { weightBits: 4 as const, activationBits: 8 as const } } };
    expect(weightBytes(quantizeGraph(g, calib, mixed))).toBe(54 + 36 + 24 + 48);
  });

  /** Max |float - emulated| over rows, in units of the output scale. */
  function worstSteps(g: Graph, q: QGraph, data: Array<Record<string, Float32Array>>): number {
    let worst = 0;
    for (const row of data) {
      const f = runFloat(g, row), e = runQuantized(g, q, row);
      g.outputs.forEach((o, k) => {
        const step = q.tensors.get(q.outputs[k])!.scale;
        const a = f.get(o.name)!, b = e.get(o.name)!;
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / step);
      });
    }
    return worst;
  }

  it('keeps ONNX element order through Transpose, Flatten of channels-last and Reshape to NCHW', () => {
    // x [1,2,3,4] -Transpose(0,1,3,2)-> [1,2,4,3] -conv1x1-> [1,3,4,3] -Flatten-> [1,36] (graph output)
    // v [1,12] -Reshape-> [1,3,2,2] -conv1x1-> [1,2,2,2] (graph output)
    const g = build(
      [{ name: 'x', shape: [1, 2, 3, 4], dtype: 'float32' }, { name: 'v', shape: [1, 12], dtype: 'float32' }], ['f', 'z'],
      [
        { op: 'Transpose', name: 'tr', source: 'Transpose', inputs: ['x'], outputs: ['t'], perm: [0, 1, 3, 2] },
        conv('c1', 't', 'c', 'w1', undefined),
        { op: 'Reshape', name: 'flat', source: 'Flatten', inputs: ['c'], outputs: ['f'], shape: [1, 36] },
        { op: 'Reshape', name: 'unflat', source: 'Reshape', inputs: ['v'], outputs: ['u'], shape: [1, 3, 2, 2] },
        conv('c2', 'u', 'z', 'w2', undefined),
      ],
      { t: [1, 2, 4, 3], c: [1, 3, 4, 3], f: [1, 36], u: [1, 3, 2, 2], z: [1, 2, 2, 2] },
      { w1: { shape: [3, 2, 1, 1], data: [1, 0, 0, 1, 0.5, -0.5] }, w2: { shape: [2, 3, 1, 1], data: [1, 0, 0, 0, 0, 1] } },
    );
    const data = rows(g, 16);
    const q = quantizeGraph(g, calibrateGraph(g, data, { method: 'minmax' }), uniform(g, 8));
    expect(opsOf(q)).toEqual(['permute', 'pointwise', 'reshape', 'reshape', 'permute', 'pointwise', 'reshape', 'permute', 'reshape']);
    expect(worstSteps(g, q, data)).toBeLessThan(2);
  });

  it('lowers Add / Mul of two activations, Softmax over features and a scalar-constant Mul', () => {
    const g = build(
      [{ name: 'a', shape: [1, 6], dtype: 'float32' }, { name: 'b', shape: [1, 6], dtype: 'float32' }], ['s'],
      [
        { op: 'Add', name: 'add', source: 'Add', inputs: ['a', 'b'], outputs: ['p'] },
        { op: 'Mul', name: 'mul', source: 'Mul', inputs: ['p', 'a'], outputs: ['m'] },
        { op: 'Mul', name: 'half', source: 'Mul', inputs: ['m'], outputs: ['h'], constant: 'k', constantIndex: 1 },
        { op: 'Softmax', name: 'sm', source: 'Softmax', inputs: ['h'], outputs: ['s'], axis: 1 },
      ],
      { p: [1, 6], m: [1, 6], h: [1, 6], s: [1, 6] },
      { k: { shape: [], data: [0.5] } },
    );
    const data = rows(g, 32);
    const q = quantizeGraph(g, calibrateGraph(g, data, { method: 'minmax' }), uniform(g, 8));
    expect(opsOf(q)).toEqual(['add', 'mul', 'lut', 'softmax']);
    expect(q.tensors.get('s')).toMatchObject({ scale: 1 / 256, zeroPoint: -128 });
    expect(worstSteps(g, q, data)).toBeLessThan(4);
  });

  it('folds a zero Pad into an average pool (counting the padding) but not into a max pool', () => {
    const g = build(
      [{ name: 'x', shape: [1, 2, 4, 4], dtype: 'float32' }], ['a', 'm'],
      [
        { op: 'Pad', name: 'pad', source: 'Pad', inputs: ['x'], outputs: ['p'], pads: [0, 0, 1, 1, 0, 0, 1, 1], value: 0 },
        { op: 'AveragePool', name: 'avg', source: 'AveragePool', inputs: ['p'], outputs: ['a'], kernel: [3, 3], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1], ceilMode: false, countIncludePad: false },
        { op: 'Pad', name: 'pad2', source: 'Pad', inputs: ['x'], outputs: ['p2'], pads: [0, 0, 1, 1, 0, 0, 1, 1], value: 0 },
        { op: 'MaxPool', name: 'max', source: 'MaxPool', inputs: ['p2'], outputs: ['m'], kernel: [3, 3], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1], ceilMode: false, countIncludePad: false },
      ],
      { p: [1, 2, 6, 6], a: [1, 2, 2, 2], p2: [1, 2, 6, 6], m: [1, 2, 2, 2] }, {},
    );
    const data = rows(g, 16);
    const q = quantizeGraph(g, calibrateGraph(g, data, { method: 'minmax' }), uniform(g, 8));
    expect(opsOf(q)).toEqual(['avgpool', 'pad', 'maxpool']);
    expect(q.ops[0]).toMatchObject({ pad: [1, 1, 1, 1], countIncludePad: true });
    expect(worstSteps(g, q, data)).toBeLessThanOrEqual(1);
  });

  it('per-channel input quantization folds channel scale and offset into an unpadded conv', () => {
    // Two channels in raw units: one around 97 +- 1 (an SpO2-like offset), one in [-0.1, 0.1].
    const g = build(
      [{ name: 'x', shape: [1, 2, 16], dtype: 'float32' }], ['y'],
      [conv('c1', 'x', 'y', 'w', 'b', { kernel: [3], strides: [1], pads: [0, 0], dilations: [1] })],
      { y: [1, 2, 14] },
      { w: { shape: [2, 2, 3], data: [1, -1, 0.5, 20, 10, -30, -0.5, 0.25, 1, 5, -5, 5] }, b: { shape: [2], data: [-10, 3] } },
    );
    let seed = 3;
    const r = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
    const data = seq(64, () => ({ x: Float32Array.from(seq(32, (i) => (i < 16 ? 96 + 2 * r() : 0.2 * r() - 0.1))) }));
    const calib = calibrateGraph(g, data, { method: 'minmax' });
    const perTensor = quantizeGraph(g, calib, uniform(g, 8), { perChannelInputs: false });
    const perChannel = quantizeGraph(g, calib, uniform(g, 8), { perChannelInputs: true });
    // Per channel is the default: the same graph as asking for it.
    expect(quantizeGraph(g, calib, uniform(g, 8)).io.x.channelAffine).toEqual(perChannel.io.x.channelAffine);
    const affine = perChannel.io.x.channelAffine!;
    expect(affine.scale[0]).toBeCloseTo((calib.get('x')!.channels![0].max - calib.get('x')!.channels![0].min) / 255, 6);
    expect(perChannel.tensors.get('x')).toMatchObject({ scale: 1, zeroPoint: 0 });
    expect(perTensor.io.x.channelAffine).toBeUndefined();
    const rms = (q: QGraph) => {
      let se = 0, n = 0;
      for (const row of data) {
        const f = runFloat(g, row).get('y')!, e = runQuantized(g, q, row).get('y')!;
        for (let i = 0; i < f.length; i++) { se += (f[i] - e[i]) ** 2; n++; }
      }
      return Math.sqrt(se / n);
    };
    const yStep = perChannel.tensors.get('y')!.scale;
    expect(rms(perChannel)).toBeLessThan(yStep); // about rounding noise
    expect(rms(perTensor)).toBeGreaterThan(3 * rms(perChannel)); // one scale for 97 and 0.1 loses the small channel
  });

  it('does not quantize an input per channel when a reader pads it', () => {
    const g = convFlattenDense(); // its conv pads by 1
    const q = quantizeGraph(g, calibrateGraph(g, rows(g, 4)), uniform(g, 8));
    expect(q.io.x.channelAffine).toBeUndefined();
  });

  it('validateQGraph accepts a lowered graph and names what breaks the contract', () => {
    const g = convFlattenDense();
    const q = quantizeGraph(g, calibrateGraph(g, rows(g, 4)), uniform(g, 8));
    expect(validateQGraph(q)).toEqual([]);
    const c = q.ops[0] as QConvOp;
    c.requant.multiplier[1] = 12345; // not in [2^30, 2^31)
    c.actMax = 300;
    (q.ops[2] as QConvOp).weights = new Int8Array(5);
    q.tensors.get('f')!.zeroPoint += 1; // reshape in/out no longer share parameters
    const problems = validateQGraph(q).join('\n');
    expect(problems).toMatch(/conv 'c1' -> r: requant\[1\] multiplier 12345/);
    expect(problems).toMatch(/clamp \[-128, 300\]/);
    expect(problems).toMatch(/dense 'fc' -> y: 5 weights, expected 4 x 12/);
    expect(problems).toMatch(/reshape 'flat' -> f: r and f must share scale and zero point/);
  });

  it('keeps the int32 bias in range when a channel has tiny weights and a large bias', () => {
    const g = build(
      [{ name: 'x', shape: [1, 3], dtype: 'float32' }], ['y'],
      [{ op: 'Dense', name: 'fc', source: 'Gemm', inputs: ['x'], outputs: ['y'], weight: 'w', bias: 'b' }],
      { y: [1, 2] },
      { w: { shape: [2, 3], data: [1, -1, 0.5, 1e-9, -2e-9, 0] }, b: { shape: [2], data: [0.1, 3] } },
    );
    const data = rows(g, 8);
    const q = quantizeGraph(g, calibrateGraph(g, data, { method: 'minmax' }), uniform(g, 8));
    const d = q.ops[0] as QConvOp;
    expect(Math.abs(d.bias[1])).toBeLessThanOrEqual(2 ** 30);
    expect(validateQGraph(q)).toEqual([]);
    expect(worstSteps(g, q, data)).toBeLessThan(2);
  });
});
