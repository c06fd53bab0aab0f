// The lookup-table ops added through the op registry (compiler/ops/): HardSwish, HardSigmoid and
// Tanh, end to end. One-node models: import (HardSigmoid's alpha / beta, ONNX defaults and set),
// float reference against onnxruntime-node, sensitivity gradients against central differences.
// test/models/lut_acts.onnx (PyTorch's export of all three): INT8 and INT4 lowering, the emulator
// against the float model, and the generated C on Cortex-M4 under QEMU bit-exact with the emulator.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateModel } from '../compiler/codegen/generate.ts';
import { haveTool } from '../compiler/codegen/hostcheck.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { emulate } from '../compiler/quant/emulator.ts';
import { calibrateGraph, loadDataSet, weightedLayers } from '../compiler/quant/evaluate.ts';
import { dequantizeOutput, quantizeInputs } from '../compiler/quant/io.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import type { PrecisionPlan } from '../compiler/quant/plan.ts';
import { validateQGraph } from '../compiler/quant/validate.ts';
import { runFloat } from '../compiler/reference/interpreter.ts';
import { backward, forward } from '../compiler/sensitivity/engine.ts';
import { REPO_ROOT } from './helpers/models.ts';
import { writeModel, type Attr } from './helpers/onnx-builder.ts';
import { randomInput, relativeError, runOnnxRuntime } from './helpers/ort.ts';
import { expectBitExactOnBoard } from './helpers/harness-qemu.ts';

const work = mkdtempSync(join(tmpdir(), 'tm2-lut-ops-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SHAPE = [1, 4, 5, 6];
const N = SHAPE.reduce((a, b) => a * b, 1);

interface Case {
  name: string;
  op: string;
  opset: number;
  attrs?: Record<string, Attr>;
}

const CASES: Case[] = [
  { name: 'HardSwish', op: 'HardSwish', opset: 14 },
  { name: 'HardSigmoid (ONNX defaults)', op: 'HardSigmoid', opset: 7 },
  { name: 'HardSigmoid alpha 0.3 beta 0.4', op: 'HardSigmoid', opset: 13, attrs: { alpha: { f: 0.3 }, beta: { f: 0.4 } } },
  { name: 'Tanh', op: 'Tanh', opset: 13 },
];

function oneNodeModel(c: Case): string {
  return writeModel(join(work, `${c.name.replace(/\W+/g, '_')}.onnx`), {
    opset: c.opset,
    inputs: [{ name: 'x', shape: SHAPE }],
    outputs: [{ name: 'y', shape: SHAPE }],
    nodes: [{ op: c.op, inputs: ['x'], outputs: ['y'], attrs: c.attrs }],
  });
}

/** Inputs over [-6, 6): every piece of the hard functions (kinks at -3 / 3, and at the HardSigmoid ramp ends). */
function spread(seed: number): Float32Array {
  return randomInput(N, seed).map((v) => 6 * v);
}

describe('lookup-table ops: import, float reference, sensitivity', () => {
  it.each(CASES)('$name: imported with its attributes, reference equals onnxruntime', async (c) => {
    const file = oneNodeModel(c);
    const graph = loadOnnx(file);
    expect(graph.nodes.map((n) => n.op)).toEqual([c.op]);
    const node = graph.nodes[0];
    if (node.op === 'HardSigmoid') {
      const want = c.attrs ? [0.3, 0.4] : [0.2, 0.5];
      expect([node.alpha, node.beta].map((v) => Math.fround(v))).toEqual(want.map((v) => Math.fround(v)));
    }
    for (const seed of [1, 2, 3]) {
      const x = spread(seed);
      const ours = runFloat(graph, { x }).get('y')!;
      const theirs = (await runOnnxRuntime(file, { x: { data: x, shape: SHAPE } })).get('y')!;
      expect(relativeError(ours, theirs.data), `seed ${seed}`).toBeLessThan(1e-6);
    }
  });

  it.each(CASES)('$name: the sensitivity engine forward equals the reference, its gradient a central difference', (c) => {
    const graph = loadOnnx(oneNodeModel(c));
    const x = spread(7);
    const ref = runFloat(graph, { x }).get('y')!;
    const tape = forward(graph, { x });
    const y = tape.values.get('y')!;
    for (let i = 0; i < N; i++) expect(Math.abs(y[i] - ref[i])).toBeLessThan(1e-6);
    // L = sum_i w_i y_i; dL/dx_i against (L(x + h e_i) - L(x - h e_i)) / 2h away from kinks.
    const w = Float64Array.from({ length: N }, (_, i) => Math.sin(1 + i));
    const gx = backward(tape, new Map([['y', w]])).activations.get('x')!;
    const h = 1e-5;
    const loss = (xs: Float64Array) => {
      const t = forward(graph, { x: xs }).values.get('y')!;
      return t.reduce((s, v, i) => s + v * w[i], 0);
    };
    const x64 = Float64Array.from(x);
    let checked = 0;
    for (let i = 0; i < N; i++) {
      if ([-3, 3, -0.5 / 0.3, 0.6 / 0.3, -2.5, 2.5].some((k) => Math.abs(x64[i] - k) < 1e-3)) continue;
      const plus = Float64Array.from(x64), minus = Float64Array.from(x64);
      plus[i] += h;
      minus[i] -= h;
      const fd = (loss(plus) - loss(minus)) / (2 * h);
      expect(Math.abs(fd - gx[i]), `x[${i}] = ${x64[i]}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
      checked++;
    }
    expect(checked).toBeGreaterThan(N - 5);
  });
});

describe('HardSwish below opset 14 (torch exports x * HardSigmoid(x), alpha 1/6)', () => {
  it('imports as HardSigmoid + Mul of two activations, equals onnxruntime and the opset-14 op', async () => {
    const decomposed = writeModel(join(work, 'hardswish_op13.onnx'), {
      opset: 13,
      inputs: [{ name: 'x', shape: SHAPE }],
      outputs: [{ name: 'y', shape: SHAPE }],
      nodes: [
        { op: 'HardSigmoid', inputs: ['x'], outputs: ['hs'], attrs: { alpha: { f: 1 / 6 } } },
        { op: 'Mul', inputs: ['x', 'hs'], outputs: ['y'] },
      ],
    });
    const graph = loadOnnx(decomposed);
    expect(graph.nodes.map((n) => n.op)).toEqual(['HardSigmoid', 'Mul']);
    const native = loadOnnx(oneNodeModel(CASES[0]));
    const x = spread(11);
    const ours = runFloat(graph, { x }).get('y')!;
    expect(relativeError(ours, (await runOnnxRuntime(decomposed, { x: { data: x, shape: SHAPE } })).get('y')!.data)).toBeLessThan(1e-6);
    expect(relativeError(ours, runFloat(native, { x }).get('y')!)).toBeLessThan(1e-6);
    // Quantized: a table then the mul kernel; within a few output steps of the float result.
    const q = quantizeGraph(graph, calibrateGraph(graph, [{ x }, { x: spread(12) }]));
    expect(q.ops.map((o) => o.op)).toEqual(['lut', 'mul']);
    const got = dequantizeOutput(q, q.outputs[0], emulate(q, quantizeInputs(q, { x })).get(q.outputs[0])!);
    const step = q.tensors.get(q.outputs[0])!.scale;
    for (let i = 0; i < N; i++) expect(Math.abs(got[i] - ours[i])).toBeLessThan(3 * step);
  });
});

const MODEL = join(REPO_ROOT, 'test/models/lut_acts.onnx');
const DATA = join(REPO_ROOT, 'test/models/lut_acts.npz');

function lowered(bits: 4 | 8) {
  const graph = loadOnnx(MODEL);
  const set = loadDataSet(graph, DATA, 8);
  const layers: PrecisionPlan['layers'] = {};
  for (const n of weightedLayers(graph)) layers[n] = { weightBits: bits, activationBits: bits };
  const q = quantizeGraph(graph, calibrateGraph(graph, set.rows), { model: 'lut_acts.onnx', layers });
  return { graph, rows: set.rows, q };
}

describe('lookup-table ops quantized (test/models/lut_acts.onnx)', () => {
  it('the model has all three ops, each lowered to a table', () => {
    const { graph, q } = lowered(8);
    for (const op of ['HardSwish', 'HardSigmoid', 'Tanh']) expect(graph.nodes.some((n) => n.op === op), op).toBe(true);
    const hs = graph.nodes.find((n) => n.op === 'HardSigmoid');
    expect(hs?.op === 'HardSigmoid' && Math.fround(hs.alpha)).toBe(Math.fround(1 / 6));
    const tables = q.ops.filter((o) => o.op === 'lut').map((o) => (o.op === 'lut' ? o.what : ''));
    expect(tables).toEqual(expect.arrayContaining(['HardSwish', `HardSigmoid ${hs?.op === 'HardSigmoid' ? hs.alpha : ''} 0.5`, 'Tanh']));
    expect(validateQGraph(q)).toEqual([]);
  });

  it.each([8, 4] as const)('INT%i: the emulator follows the float model', (bits) => {
    const { graph, rows, q } = lowered(bits);
    validateQGraph(q).forEach((p) => expect.fail(p));
    const out = graph.outputs[0].name;
    let worst = 0;
    for (const row of rows) {
      const ref = runFloat(graph, row).get(out)!;
      const got = dequantizeOutput(q, q.outputs[0], emulate(q, quantizeInputs(q, row)).get(q.outputs[0])!);
      worst = Math.max(worst, relativeError(Float32Array.from(got), ref));
    }
    // Table ops are exact per element; the error is the INT8 / INT4 rounding of the layers around them.
    expect(worst).toBeLessThan(bits === 8 ? 0.1 : 0.6);
  });

  describe.skipIf(!haveTool('arm-none-eabi-gcc') || !haveTool('qemu-system-arm'))('generated C on Cortex-M4 (QEMU mps2-an386)', () => {
    it.each([8, 4] as const)('INT%i: bit-exact with the emulator', async (bits) => {
      const { rows, q } = lowered(bits);
      const model = generateModel(q, { name: `lut${bits}`, source: 'lut_acts.onnx', precision: `INT${bits}` });
      await expectBitExactOnBoard(q, model, `lut${bits}`, rows.slice(0, 3), work);
    }, 300_000);
  });
});
