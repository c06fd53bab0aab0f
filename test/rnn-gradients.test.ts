// Gradients through time of the float LSTM / GRU (compiler/ops/recurrent.ts) against central finite
// differences of the forward, for every input: the sequence, the initial state and each weight array.
import { describe, expect, it } from 'vitest';
import type { Node } from '../compiler/ir.ts';
import { rnnBackward, rnnForward, type RnnWeights } from '../compiler/ops/recurrent.ts';
import { backward, forward, paramValues } from '../compiler/sensitivity/engine.ts';
import { buildGraph, constant, randomArray, rng } from './sensitivity-helpers.ts';
import { mulberry32 } from '../compiler/random.ts';

function layer(kind: 'lstm' | 'gru', I: number, H: number, seed: number): RnnWeights {
  const u = mulberry32(seed);
  const G = kind === 'lstm' ? 4 : 3;
  const arr = (n: number) => Float64Array.from({ length: n }, () => (u() * 2 - 1) * 0.7);
  return { kind, inSize: I, hidden: H, w: arr(G * H * I), r: arr(G * H * H), wb: arr(G * H), rb: arr(G * H) };
}

describe('recurrent gradients through time', () => {
  for (const kind of ['lstm', 'gru'] as const) {
    it(`${kind}: every gradient equals central differences`, () => {
      const T = 5, I = 3, H = 4;
      const p = layer(kind, I, H, kind === 'lstm' ? 3 : 4);
      const u = mulberry32(9);
      const x = Float64Array.from({ length: T * I }, () => u() * 2 - 1);
      const h0 = Float64Array.from({ length: H }, () => u() - 0.5);
      const c0 = Float64Array.from({ length: H }, () => u() - 0.5);
      const gy = Float64Array.from({ length: T * H }, () => u() * 2 - 1);
      const gh = Float64Array.from({ length: H }, () => u() * 2 - 1);
      const gc = Float64Array.from({ length: H }, () => u() * 2 - 1);
      // loss = <gy, y> + <gh, h_T> + <gc, c_T> (LSTM)
      const loss = (q: RnnWeights, xx: Float64Array, hh: Float64Array, cc: Float64Array) => {
        const f = rnnForward(q, xx, T, hh, kind === 'lstm' ? cc : undefined);
        let s = 0;
        for (let i = 0; i < f.y.length; i++) s += gy[i] * f.y[i];
        for (let j = 0; j < H; j++) s += gh[j] * f.hLast[j] + (kind === 'lstm' ? gc[j] * f.cLast[j] : 0);
        return s;
      };
      const fwd = rnnForward(p, x, T, h0, kind === 'lstm' ? c0 : undefined);
      const g = rnnBackward(p, x, fwd, gy, gh, kind === 'lstm' ? gc : undefined);
      const eps = 1e-6;
      const checkArray = (what: string, analytic: Float64Array, perturb: (i: number, d: number) => number) => {
        for (let i = 0; i < analytic.length; i++) {
          const fd = (perturb(i, eps) - perturb(i, -eps)) / (2 * eps);
          expect(Math.abs(fd - analytic[i]), `${kind} d/d${what}[${i}]: ${analytic[i]} vs ${fd}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
        }
      };
      const withArr = (key: 'w' | 'r' | 'wb' | 'rb') => (i: number, d: number) => {
        const a = Float64Array.from(p[key]);
        a[i] += d;
        return loss({ ...p, [key]: a }, x, h0, c0);
      };
      checkArray('x', g.x, (i, d) => { const a = Float64Array.from(x); a[i] += d; return loss(p, a, h0, c0); });
      checkArray('h0', g.h0, (i, d) => { const a = Float64Array.from(h0); a[i] += d; return loss(p, x, a, c0); });
      if (kind === 'lstm') checkArray('c0', g.c0, (i, d) => { const a = Float64Array.from(c0); a[i] += d; return loss(p, x, h0, a); });
      for (const key of ['w', 'r', 'wb', 'rb'] as const) checkArray(key, g[key], withArr(key));
    });
  }
});

// The IR op (compiler/ops/rnn.ts) through the sensitivity engine: layouts, the [W | R] weight and the
// [Wb, Rb] bias, gradients of the loss sum r * h_T (or, output 'sequence', sum r * h over every step) against central differences of the engine's forward.
describe('LSTM / GRU nodes in the sensitivity engine', () => {
  for (const op of ['LSTM', 'GRU'] as const) {
    for (const [layout, output] of [['ncl', 'last'], ['tni', 'last'], ['ncl', 'sequence']] as const) {
      it(`${op}, sequence layout ${layout}, output ${output}: input, weight and bias gradients equal central differences`, () => {
        const r = rng(op === 'LSTM' ? 21 : 22);
        const T = 4, I = 3, H = 3, G = op === 'LSTM' ? 4 : 3;
        const node = { op, name: 'rnn', source: 'test', inputs: ['x'], outputs: ['h'], weight: 'wr', bias: 'b', hidden: H, layout, output } as const;
        const graph = buildGraph({
          inputs: { x: layout === 'ncl' ? [1, I, T] : [T, 1, I] },
          nodes: [{ node: node as unknown as Node, shape: output === 'last' ? [1, 1, H] : [1, H, T] }],
          constants: { wr: constant(r, [G * H, I + H]), b: constant(r, [2 * G * H]) },
        });
        const x = Float64Array.from(randomArray(r, T * I));
        const wOut = Float64Array.from(randomArray(r, output === 'last' ? H : H * T));
        const params = paramValues(graph);
        const loss = () => {
          const y = forward(graph, { x }, { params }).values.get('h')!;
          return y.reduce((s, v, i) => s + v * wOut[i], 0);
        };
        const g = backward(forward(graph, { x }, { params }), new Map([['h', wOut]]));
        const h = 1e-6;
        const check = (analytic: Float64Array | undefined, values: Float64Array, what: string) => {
          for (let i = 0; i < values.length; i++) {
            const v = values[i];
            values[i] = v + h;
            const up = loss();
            values[i] = v - h;
            const down = loss();
            values[i] = v;
            const fd = (up - down) / (2 * h);
            expect(Math.abs((analytic?.[i] ?? 0) - fd), `${op} ${layout} d/d${what}[${i}]`).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
          }
        };
        check(g.activations.get('x'), x, 'x');
        for (const [name, values] of params) check(g.params.get(name), values, name);
      });
    }
  }
});
