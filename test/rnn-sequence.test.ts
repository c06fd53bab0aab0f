// The per-step output Y of LSTM / GRU: imported as an NCL map [1, H, T] (the kernel's last_only = 0
// output, channels-last memory [T][H]), with the Squeeze / Transpose chains PyTorch exports between
// stacked layers and before a pooling undone (compiler/onnx/sequence-views.ts); Y_h, when Y is read too,
// a slice of the sequence (one kernel call); an empty Y output (outputs ['', 'Y_h']) accepted. One-node models against ONNX Runtime, and the two stacked PyTorch
// exports test/models/rnn_stacked_lstm.onnx (2-layer LSTM, mean over time) and rnn_conv_gru2.onnx
// (Conv1d, 2-layer GRU, dense over every step), and rnn_seq_reads.onnx (a sequence-first LSTM's output
// averaged, maxed and its last step taken, a batch-first GRU's last step: ReduceMean / ReduceMax / Gather
// on [T, 1, H] and [1, T, H]), bit-exact with the emulator on Cortex-M4 under QEMU at uniform INT8 and INT4. (Their float reference against onnxruntime and host C builds at INT8 / INT4 /
// mixed run in the model-wide tests: reference.test.ts, codegen-models.test.ts.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateModel } from '../compiler/codegen/generate.ts';
import { haveTool } from '../compiler/codegen/hostcheck.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import type { RnnNode } from '../compiler/ops/rnn.ts';
import { calibrateGraph, loadDataSet, runQuantized, uniform } from '../compiler/quant/evaluate.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import { runFloat } from '../compiler/reference/interpreter.ts';
import { REPO_ROOT } from './helpers/models.ts';
import { writeModel, type ModelSpec } from './helpers/onnx-builder.ts';
import { randomInput, runOnnxRuntime } from './helpers/ort.ts';
import { expectBitExactOnBoard } from './helpers/harness-qemu.ts';

const work = mkdtempSync(join(tmpdir(), 'tm2-rnn-seq-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const T = 6, I = 4, H = 5;

/**
 * X [1, T, I] -> Transpose [1, 0, 2] -> layer -> Y [T, 1, 1, H] -> Squeeze(1) -> Transpose [1, 0, 2]
 * -> 'seq' [1, T, H] (PyTorch's batch_first output), and Y_h when `withYh`; `emptyY`: the layer's
 * outputs are ['', 'Y_h'].
 */
function seqModel(kind: 'lstm' | 'gru', mode: 'seq' | 'both' | 'emptyY'): ModelSpec {
  const G = kind === 'lstm' ? 4 : 3;
  const emptyY = mode === 'emptyY';
  return {
    opset: 14,
    inputs: [{ name: 'X', shape: [1, T, I] }],
    outputs: [...(emptyY ? [] : [{ name: 'seq' }]), ...(mode === 'seq' ? [] : [{ name: 'Y_h' }])],
    initializers: [
      { name: 'W', dims: [1, G * H, I], data: Array.from(randomInput(G * H * I, 21)) },
      { name: 'R', dims: [1, G * H, H], data: Array.from(randomInput(G * H * H, 22)) },
      { name: 'B', dims: [1, 2 * G * H], data: Array.from(randomInput(2 * G * H, 23)) },
      { name: 'axis1', dims: [1], data: [1], dataType: 7 },
    ],
    nodes: [
      { op: 'Transpose', inputs: ['X'], outputs: ['tx'], attrs: { perm: { ints: [1, 0, 2] } } },
      {
        op: kind === 'lstm' ? 'LSTM' : 'GRU', inputs: ['tx', 'W', 'R', 'B'], outputs: [emptyY ? '' : 'Y', 'Y_h'],
        attrs: { hidden_size: { i: H }, ...(kind === 'gru' ? { linear_before_reset: { i: 1 } } : {}) },
      },
      ...(emptyY ? [] : [
        { op: 'Squeeze', inputs: ['Y', 'axis1'], outputs: ['ys'] },
        { op: 'Transpose', inputs: ['ys'], outputs: ['seq'], attrs: { perm: { ints: [1, 0, 2] } } },
      ]),
    ],
  };
}

describe('LSTM / GRU per-step output Y', () => {
  for (const kind of ['lstm', 'gru'] as const) {
    for (const mode of ['seq', 'both', 'emptyY'] as const) {
      it(`${kind}, ${mode === 'seq' ? 'Y only' : mode === 'both' ? 'Y and Y_h' : "outputs ['', 'Y_h']"}: float equals ONNX Runtime, lowered and emulated`, async () => {
        const file = writeModel(join(work, `${kind}-${mode}.onnx`), seqModel(kind, mode));
        const graph = loadOnnx(file);
        const layers = graph.nodes.filter((n): n is RnnNode => n.op === 'LSTM' || n.op === 'GRU');
        expect(layers.map((n) => n.output).sort()).toEqual(mode === 'seq' ? ['sequence'] : mode === 'both' ? ['sequence'] : ['last']);
        const x = randomInput(T * I, 30);
        const ours = runFloat(graph, { X: x });
        const theirs = await runOnnxRuntime(file, { X: { data: x, shape: [1, T, I] } });
        for (const o of graph.outputs) {
          const a = ours.get(o.name)!, b = theirs.get(o.name)!.data;
          expect(a.length, o.name).toBe(b.length);
          for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]), `${o.name}[${i}]`).toBeLessThan(1e-5);
        }
        const rows = [30, 31, 32, 33].map((seed) => ({ X: randomInput(T * I, seed) })); // x among them: no clamping to judge
        const q = quantizeGraph(graph, calibrateGraph(graph, rows));
        const kernels = q.ops.filter((op) => op.op === kind) as Array<{ lastOnly: boolean }>;
        expect(kernels.map((k) => k.lastOnly)).toEqual(layers.map((n) => n.output === 'last')); // one kernel call per layer
        const yq = runQuantized(graph, q, { X: x });
        // Hidden states are in (-1, 1): INT8 steps of about 1/128; within a few of them.
        for (const o of graph.outputs) {
          const a = ours.get(o.name)!, b = yq.get(o.name)!;
          for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]), `${kind} ${o.name}[${i}]`).toBeLessThan(0.05);
        }
      });
    }
  }
});

const MODELS = { rnn_stacked_lstm: 'lstm', rnn_conv_gru2: 'gru' } as const;

describe('stacked PyTorch recurrent layers', () => {
  for (const [name, kind] of Object.entries(MODELS)) {
    it(`${name}: the second layer reads the first one's sequence map directly`, () => {
      const graph = loadOnnx(join(REPO_ROOT, `test/models/${name}.onnx`));
      const layers = graph.nodes.filter((n): n is RnnNode => n.op === 'LSTM' || n.op === 'GRU');
      expect(layers.map((n) => n.output)).toEqual(['sequence', 'sequence']);
      expect(layers[1].inputs[0]).toBe(layers[0].outputs[0]);
      expect(layers[1].layout).toBe('ncl');
      const q = quantizeGraph(graph, calibrateGraph(graph, [{ x: randomInput(graph.inputs[0].shape.reduce((a, b) => a * b, 1), 40) }]));
      const kernels = q.ops.filter((op) => op.op === kind);
      expect(kernels).toHaveLength(2);
      expect(kernels[1].inputs[0]).toBe(kernels[0].output); // no copy between the layers
    });
  }
});

describe('reading a whole sequence', () => {
  it('rnn_seq_reads: mean, max and last step of [T, 1, H] run on the map, one transpose shared; the batch-first last step is a slice', () => {
    const graph = loadOnnx(join(REPO_ROOT, 'test/models/rnn_seq_reads.onnx'));
    expect(graph.nodes.filter((n) => n.op === 'LSTM' || n.op === 'GRU').map((n) => (n as RnnNode).output)).toEqual(['sequence', 'sequence']);
    const q = quantizeGraph(graph, calibrateGraph(graph, [{ x: randomInput(6 * 9, 41) }]));
    const kinds = q.ops.map((op) => op.op);
    for (const k of ['lstm', 'gru', 'reduce_mean', 'reduce_max', 'slice', 'concat', 'dense']) expect(kinds).toContain(k);
    expect(kinds.filter((k) => k === 'permute')).toHaveLength(2); // the LSTM's map once for its three readers, the GRU's once
  });
});

describe('Gather of an activation', () => {
  for (const [what, dims, idx, axis] of [['an evenly spaced run of time steps', [3], [1, 3, 5], 2], ['one channel by a scalar index', [], [-2], 1]] as const) {
    it(`${what}: a slice, float equals ONNX Runtime, lowered`, async () => {
      const file = writeModel(join(work, `gather-${axis}.onnx`), {
        opset: 13,
        inputs: [{ name: 'X', shape: [1, 4, 8] }],
        outputs: [{ name: 'Y' }],
        initializers: [{ name: 'idx', dims: [...dims], data: [...idx], dataType: 7 }],
        nodes: [{ op: 'Gather', inputs: ['X', 'idx'], outputs: ['Y'], attrs: { axis: { i: axis } } }],
      });
      const graph = loadOnnx(file);
      expect(graph.nodes[0].op).toBe('Slice');
      const x = randomInput(32, 50);
      const ours = runFloat(graph, { X: x }).get('Y')!;
      const theirs = (await runOnnxRuntime(file, { X: { data: x, shape: [1, 4, 8] } })).get('Y')!;
      expect(Array.from(ours)).toEqual(Array.from(theirs.data));
      const q = quantizeGraph(graph, calibrateGraph(graph, [{ X: x }]));
      expect(q.ops.map((op) => op.op)).toContain('slice');
    });
  }
});

describe.skipIf(!haveTool('arm-none-eabi-gcc') || !haveTool('qemu-system-arm'))('stacked recurrent models on Cortex-M4 (QEMU mps2-an386)', () => {
  for (const name of [...Object.keys(MODELS), 'rnn_seq_reads']) {
    for (const bits of [8, 4] as const) {
      it(`${name}, uniform INT${bits}: the C equals the emulator`, async () => {
        const file = join(REPO_ROOT, `test/models/${name}.onnx`);
        const graph = loadOnnx(file);
        const data = loadDataSet(graph, join(REPO_ROOT, `test/models/${name}.npz`), 8);
        const q = quantizeGraph(graph, calibrateGraph(graph, data.rows), uniform(graph, bits));
        const model = generateModel(q, { name, source: `${name}.onnx`, precision: `int${bits}` });
        await expectBitExactOnBoard(q, model, name, data.rows.slice(0, 2), join(work, `int${bits}`));
      }, 300_000);
    }
  }
});
