// The float LSTM / GRU (compiler/ops/recurrent.ts) against ONNX Runtime on ONNX LSTM and GRU nodes:
// gate order, biases, initial states, GRU linear_before_reset = 1, every output (Y, Y_h, Y_c).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TinyM2Error } from '../compiler/errors.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { rnnForward } from '../compiler/ops/recurrent.ts';
import { calibrateGraph, runQuantized } from '../compiler/quant/evaluate.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import { runFloat } from '../compiler/reference/interpreter.ts';
import { writeModel, type ModelSpec } from './helpers/onnx-builder.ts';
import { randomInput, runOnnxRuntime } from './helpers/ort.ts';

const dir = mkdtempSync(join(tmpdir(), 'tm2-rnn-ort-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('float LSTM / GRU equal ONNX Runtime', () => {
  for (const kind of ['lstm', 'gru'] as const) {
    it(`${kind}: Y, Y_h${kind === 'lstm' ? ', Y_c' : ''} with biases and initial state`, async () => {
      const T = 7, I = 5, H = 6, G = kind === 'lstm' ? 4 : 3;
      const w = randomInput(G * H * I, 1), r = randomInput(G * H * H, 2), b = randomInput(2 * G * H, 3);
      const x = randomInput(T * I, 4), h0 = randomInput(H, 5), c0 = randomInput(H, 6);
      const outputs = kind === 'lstm' ? ['Y', 'Y_h', 'Y_c'] : ['Y', 'Y_h'];
      const file = writeModel(join(dir, `${kind}.onnx`), {
        opset: 14,
        inputs: [{ name: 'X', shape: [T, 1, I] }, { name: 'h0', shape: [1, 1, H] }, ...(kind === 'lstm' ? [{ name: 'c0', shape: [1, 1, H] }] : [])],
        outputs: outputs.map((name) => ({ name })),
        initializers: [
          { name: 'W', dims: [1, G * H, I], data: Array.from(w) },
          { name: 'R', dims: [1, G * H, H], data: Array.from(r) },
          { name: 'B', dims: [1, 2 * G * H], data: Array.from(b) },
        ],
        nodes: [{
          op: kind === 'lstm' ? 'LSTM' : 'GRU',
          inputs: ['X', 'W', 'R', 'B', '', 'h0', ...(kind === 'lstm' ? ['c0'] : [])],
          outputs,
          attrs: { hidden_size: { i: H }, ...(kind === 'gru' ? { linear_before_reset: { i: 1 } } : {}) },
        }],
      });
      const feeds: Record<string, { data: Float32Array; shape: number[] }> = { X: { data: x, shape: [T, 1, I] }, h0: { data: h0, shape: [1, 1, H] } };
      if (kind === 'lstm') feeds.c0 = { data: c0, shape: [1, 1, H] };
      const ort = await runOnnxRuntime(file, feeds);
      const f = rnnForward({ kind, inSize: I, hidden: H, w, r, wb: b.subarray(0, G * H), rb: b.subarray(G * H) }, x, T, h0, kind === 'lstm' ? c0 : undefined);
      const close = (name: string, got: ArrayLike<number>) => {
        const want = ort.get(name)!.data;
        expect(want.length, name).toBe(got.length);
        for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i]), `${kind} ${name}[${i}]`).toBeLessThan(1e-5);
      };
      close('Y', f.y);
      close('Y_h', f.hLast);
      if (kind === 'lstm') close('Y_c', f.cLast);
    });
  }
});

/**
 * A one-layer model ending in Y_h, with attributes and an optional zero initial state. Its sequence is
 * X [1, I, T] (an NCL map, as Conv1d layers produce) through Transpose perm [2, 0, 1], what PyTorch
 * exports for `x.permute(2, 0, 1)` before a sequence-first layer (ONNX Runtime has no layout = 1);
 * `batchFirst`: X [1, T, I] through Transpose perm [1, 0, 2] (PyTorch's batch_first=True).
 */
function layerModel(kind: 'lstm' | 'gru', attrs: NonNullable<ModelSpec['nodes'][0]['attrs']>, withH0 = false, batchFirst = false): ModelSpec {
  const T = 5, I = 4, H = 3, G = kind === 'lstm' ? 4 : 3;
  return {
    opset: 14,
    inputs: [{ name: 'X', shape: batchFirst ? [1, T, I] : [1, I, T] }],
    outputs: [{ name: 'Y_h' }],
    initializers: [
      { name: 'W', dims: [1, G * H, I], data: Array.from(randomInput(G * H * I, 7)) },
      { name: 'R', dims: [1, G * H, H], data: Array.from(randomInput(G * H * H, 8)) },
      { name: 'B', dims: [1, 2 * G * H], data: Array.from(randomInput(2 * G * H, 9)) },
      ...(withH0 ? [{ name: 'h0', dims: [1, 1, H], data: [0, 0, 0] }] : []),
    ],
    nodes: [
      { op: 'Transpose', inputs: ['X'], outputs: ['seq'], attrs: { perm: { ints: batchFirst ? [1, 0, 2] : [2, 0, 1] } } },
      {
        op: kind === 'lstm' ? 'LSTM' : 'GRU', inputs: ['seq', 'W', 'R', 'B', '', withH0 ? 'h0' : ''], outputs: ['Y', 'Y_h'],
        attrs: { hidden_size: { i: H }, ...attrs },
      },
    ],
  };
}

describe('tinym2 imports ONNX LSTM / GRU', () => {
  for (const kind of ['lstm', 'gru'] as const) {
    for (const batchFirst of [false, true]) {
      const what = batchFirst ? 'batch-first [1, T, I] through Transpose [1, 0, 2]' : 'NCL map through Transpose [2, 0, 1]';
      it(`${kind}, ${what}: float reference equals ONNX Runtime, INT8 emulation tracks it`, async () => {
        const file = writeModel(join(dir, `${kind}-${batchFirst}.onnx`), layerModel(kind, kind === 'gru' ? { linear_before_reset: { i: 1 } } : {}, true, batchFirst));
        const graph = loadOnnx(file);
        expect(graph.nodes.map((n) => n.op)).toEqual([kind === 'lstm' ? 'LSTM' : 'GRU']); // the Transpose is absorbed
        const x = randomInput(5 * 4, 10);
        const ours = runFloat(graph, { X: x }).get('Y_h')!;
        const theirs = (await runOnnxRuntime(file, { X: { data: x, shape: batchFirst ? [1, 5, 4] : [1, 4, 5] } })).get('Y_h')!.data;
        for (let i = 0; i < ours.length; i++) expect(Math.abs(ours[i] - theirs[i])).toBeLessThan(1e-5);
        // Lowered and run in the integer emulator (the kernel's twin): within a few output steps of float.
        const rows = [10, 11, 12, 13].map((seed) => ({ X: randomInput(5 * 4, seed) }));
        const q = quantizeGraph(graph, calibrateGraph(graph, rows));
        expect(q.ops.map((o) => o.op)).toEqual(batchFirst ? ['permute', kind] : [kind]);
        const yq = runQuantized(graph, q, { X: x }).get('Y_h')!;
        const step = q.tensors.get(q.ops.at(-1)!.output)!.scale;
        for (let i = 0; i < ours.length; i++) expect(Math.abs(yq[i] - ours[i]), `${kind} Y_h[${i}]`).toBeLessThan(4 * step);
      });
    }
  }

  const refusals: Array<[string, ModelSpec, RegExp]> = [
    ['a bidirectional LSTM', layerModel('lstm', { direction: { s: 'bidirectional' } }), /direction 'bidirectional' is not supported/],
    ['a reverse GRU', layerModel('gru', { direction: { s: 'reverse' }, linear_before_reset: { i: 1 } }), /direction 'reverse' is not supported/],
    ['a GRU with linear_before_reset = 0', layerModel('gru', {}), /linear_before_reset=0 is not supported/],
    ['an LSTM with clip', layerModel('lstm', { clip: { f: 3 } }), /attribute clip is not supported/],
  ];
  for (const [what, spec, message] of refusals) {
    it(`refuses ${what} with a message naming the node`, () => {
      const file = writeModel(join(dir, 'refused.onnx'), spec);
      let err: unknown;
      try {
        loadOnnx(file);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TinyM2Error);
      expect((err as TinyM2Error).message).toMatch(message);
      expect((err as TinyM2Error).message).toMatch(/(LSTM|GRU)/);
    });
  }
});
