// The sensitivity engine's float64 forward agrees with the float reference (compiler/reference)
// on every committed test model, and its gradients pass a directional finite-difference check there.
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { loadDataSet } from '../compiler/quant/evaluate.ts';
import { runFloat } from '../compiler/reference/interpreter.ts';
import { backward, forward, paramValues } from '../compiler/sensitivity/engine.ts';

const models = readdirSync('test/models').filter((f) => f.endsWith('.onnx')).map((f) => f.slice(0, -5)).filter((m) => existsSync(`test/models/${m}.npz`));

describe('sensitivity engine on the test models', () => {
  it.each(models)('%s: forward matches runFloat, gradient matches a directional difference', (name) => {
    const graph = loadOnnx(`test/models/${name}.onnx`);
    const set = loadDataSet(graph, `test/models/${name}.npz`, 3);
    const params = paramValues(graph);
    for (const row of set.rows) {
      const ref = runFloat(graph, row);
      const tape = forward(graph, row, { params });
      for (const o of graph.outputs) {
        const a = ref.get(o.name)!;
        const b = tape.values.get(o.name)!;
        let scale = 0;
        for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]));
        for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-4 * Math.max(scale, 1));
      }
    }
    // L = sum of outputs * fixed weights; compare dL along a random weight direction.
    const row = set.rows[0];
    const wOut = new Map(graph.outputs.map((o, k) => [o.name, Float64Array.from({ length: tape0Len(o.shape) }, (_, i) => Math.sin(1 + i + 7 * k))]));
    function tape0Len(shape: number[]) {
      return shape.reduce((p, q) => p * q, 1);
    }
    const lossAt = (p: typeof params) => {
      const t = forward(graph, row, { params: p });
      let s = 0;
      for (const [n, w] of wOut) {
        const y = t.values.get(n)!;
        for (let i = 0; i < y.length; i++) s += w[i] * y[i];
      }
      return s;
    };
    const g = backward(forward(graph, row, { params }), wOut);
    const h = 1e-6;
    const plus = new Map(params);
    const minus = new Map(params);
    let analytic = 0;
    for (const [n, v] of params) {
      const gv = g.params.get(n);
      if (!gv) continue;
      const d = Float64Array.from(v, (_, i) => Math.cos(3 * i + n.length));
      plus.set(n, Float64Array.from(v, (x, i) => x + h * d[i]));
      minus.set(n, Float64Array.from(v, (x, i) => x - h * d[i]));
      for (let i = 0; i < v.length; i++) analytic += gv[i] * d[i];
    }
    const fd = (lossAt(plus) - lossAt(minus)) / (2 * h);
    expect(Math.abs(fd - analytic)).toBeLessThan(1e-5 * Math.max(1, Math.abs(fd)));
  });
});
