// The float LSTM / GRU (compiler/ops/recurrent.ts) against ONNX Runtime on ONNX LSTM and GRU nodes:
// gate order, biases, initial states, GRU linear_before_reset = 1, every output (Y, Y_h, Y_c).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rnnForward } from '../compiler/ops/recurrent.ts';
import { writeModel } from './helpers/onnx-builder.ts';
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
