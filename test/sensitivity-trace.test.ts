// Hutchinson trace estimates against exact traces from a full finite-difference Hessian.
import { describe, expect, it } from 'vitest';
import type { Graph } from '../compiler/ir.ts';
import { analyzeLayers } from '../compiler/ilp/from-graph.ts';
import { backward, forward, paramValues } from '../compiler/sensitivity/engine.ts';
import { gaussNewtonTraces } from '../compiler/sensitivity/gauss-newton.ts';
import { hessianTraces, type CalibrationRows } from '../compiler/sensitivity/hutchinson.ts';
import { Loss } from '../compiler/sensitivity/loss.ts';
import { layerOmega } from '../compiler/sensitivity/omega.ts';
import { buildGraph, constant, randomArray, rng } from './sensitivity-helpers.ts';

const base = { source: 'test' };

function denseSoftmax(seed: number): Graph {
  const r = rng(seed);
  return buildGraph({
    inputs: { x: [1, 6] },
    constants: { w: constant(r, [4, 6]), b: constant(r, [4]) },
    nodes: [
      { node: { ...base, op: 'Dense', name: 'fc', inputs: ['x'], outputs: ['z'], weight: 'w', bias: 'b' }, shape: [1, 4] },
      { node: { ...base, op: 'Softmax', name: 'sm', inputs: ['z'], outputs: ['p'], axis: -1 }, shape: [1, 4] },
    ],
  });
}

function mlp(seed: number): Graph {
  const r = rng(seed);
  return buildGraph({
    inputs: { x: [1, 6] },
    constants: { w1: constant(r, [5, 6]), b1: constant(r, [5]), w2: constant(r, [4, 5]), b2: constant(r, [4]) },
    nodes: [
      { node: { ...base, op: 'Dense', name: 'fc1', inputs: ['x'], outputs: ['h'], weight: 'w1', bias: 'b1' }, shape: [1, 5] },
      { node: { ...base, op: 'Relu', name: 'relu', inputs: ['h'], outputs: ['a'] }, shape: [1, 5] },
      { node: { ...base, op: 'Dense', name: 'fc2', inputs: ['a'], outputs: ['z'], weight: 'w2', bias: 'b2' }, shape: [1, 4] },
    ],
  });
}

function rows(seed: number, n: number, labels: boolean, output: string): CalibrationRows {
  const r = rng(seed);
  const out: CalibrationRows = { rows: [], labels: new Map() };
  for (let i = 0; i < n; i++) out.rows.push({ x: randomArray(r, 6) });
  if (labels) out.labels.set(output, Int32Array.from({ length: n }, () => Math.floor(r() * 4)));
  return out;
}

function labelsOf(data: CalibrationRows, row: number): Map<string, number> {
  return new Map([...data.labels].map(([k, v]) => [k, v[row]]));
}

/** Exact Tr of the Hessian of the mean loss with respect to one weight, by central differences of gradients. */
function exactWeightTrace(graph: Graph, data: CalibrationRows, weight: string): number {
  const loss = new Loss(graph);
  const p0 = paramValues(graph);
  const reference = data.rows.map((row) => {
    const t = forward(graph, row, { params: p0 });
    return new Map(graph.outputs.map((o) => [o.name, t.values.get(o.name)!]));
  });
  const meanGrad = (params: typeof p0): Float64Array => {
    const g = new Float64Array(p0.get(weight)!.length);
    data.rows.forEach((row, i) => {
      const t = forward(graph, row, { params });
      const outs = new Map(graph.outputs.map((o) => [o.name, t.values.get(o.name)!]));
      const gw = backward(t, loss.evaluate(outs, { labels: labelsOf(data, i), reference: reference[i] }).gradients).params.get(weight)!;
      for (let k = 0; k < g.length; k++) g[k] += gw[k] / data.rows.length;
    });
    return g;
  };
  const w = p0.get(weight)!;
  const h = 1e-5;
  let tr = 0;
  for (let j = 0; j < w.length; j++) {
    const plus = new Map(p0);
    const minus = new Map(p0);
    const wp = Float64Array.from(w);
    const wm = Float64Array.from(w);
    wp[j] += h;
    wm[j] -= h;
    plus.set(weight, wp);
    minus.set(weight, wm);
    tr += (meanGrad(plus)[j] - meanGrad(minus)[j]) / (2 * h);
  }
  return tr;
}

/** Exact per-sample Tr of the Hessian with respect to an activation tensor, averaged over rows. */
function exactActivationTrace(graph: Graph, data: CalibrationRows, tensor: string): number {
  const loss = new Loss(graph);
  const p0 = paramValues(graph);
  const size = graph.tensors.get(tensor)!.shape.reduce((a, b) => a * b, 1);
  const h = 1e-5;
  let total = 0;
  data.rows.forEach((row, i) => {
    const t0 = forward(graph, row, { params: p0 });
    const reference = new Map(graph.outputs.map((o) => [o.name, t0.values.get(o.name)!]));
    const grad = (delta: Float64Array) => {
      const t = forward(graph, row, { params: p0, perturb: new Map([[tensor, delta]]) });
      const outs = new Map(graph.outputs.map((o) => [o.name, t.values.get(o.name)!]));
      return backward(t, loss.evaluate(outs, { labels: labelsOf(data, i), reference }).gradients).activations.get(tensor)!;
    };
    for (let j = 0; j < size; j++) {
      const d = new Float64Array(size);
      d[j] = h;
      const gp = grad(d)[j];
      d[j] = -h;
      const gm = grad(d)[j];
      total += (gp - gm) / (2 * h);
    }
  });
  return total / data.rows.length;
}

function within(est: { mean: number; stdErr: number }, exact: number): void {
  // 4 standard errors: a false failure has probability ~6e-5 per check.
  expect(Math.abs(est.mean - exact), `estimate ${est.mean} +- ${est.stdErr}, exact ${exact}`).toBeLessThan(4 * est.stdErr + 1e-9 * Math.abs(exact));
  expect(est.stdErr).toBeLessThan(0.1 * Math.abs(exact));
}

describe('Hutchinson Hessian trace', () => {
  it('Dense 6->4 + softmax, cross-entropy: estimate matches the exact trace within its error', () => {
    const graph = denseSoftmax(3);
    const data = rows(4, 16, true, 'p');
    const layers = analyzeLayers(graph);
    const res = hessianTraces(graph, layers, data, { batchSize: 16, minIterations: 300, maxIterations: 300, activations: false });
    const exact = exactWeightTrace(graph, data, 'w');
    expect(exact).toBeGreaterThan(0);
    within(res.layers[0].weight, exact);
    expect(res.loss).toBe('cross-entropy');
  });

  it('Dense 6->4 logits, no labels (KL to its own outputs): the trace is the Fisher trace', () => {
    const graph = denseSoftmax(5);
    graph.nodes.pop();
    graph.outputs = [graph.tensors.get('z')!];
    const data = rows(6, 16, false, 'z');
    const layers = analyzeLayers(graph);
    const res = hessianTraces(graph, layers, data, { batchSize: 16, minIterations: 300, maxIterations: 300, activations: false });
    within(res.layers[0].weight, exactWeightTrace(graph, data, 'w'));
    expect(res.loss).toBe('kl');
  });

  it('two-layer MLP: weight traces of both layers and the hidden activation trace', () => {
    const graph = mlp(7);
    const data = rows(8, 12, true, 'z');
    const layers = analyzeLayers(graph);
    expect(layers[0].outputTensor).toBe('a');
    const res = hessianTraces(graph, layers, data, { batchSize: 12, minIterations: 400, maxIterations: 400 });
    within(res.layers[0].weight, exactWeightTrace(graph, data, 'w1'));
    within(res.layers[1].weight, exactWeightTrace(graph, data, 'w2'));
    within(res.layers[0].activation!, exactActivationTrace(graph, data, 'a'));
    within(res.layers[1].activation!, exactActivationTrace(graph, data, 'z'));
  });

  it('stops when the running estimate is stable and Omega falls with more bits', () => {
    const graph = mlp(9);
    const data = rows(10, 64, true, 'z');
    const layers = analyzeLayers(graph);
    const res = hessianTraces(graph, layers, data, { batchSize: 32, minIterations: 8, maxIterations: 500, relativeTolerance: 0.1 });
    expect(res.converged).toBe(true);
    expect(res.iterations).toBeLessThan(500);
    for (const l of res.layers) expect(l.weight.stdErr).toBeLessThanOrEqual(0.1 * Math.abs(l.weight.mean));
    layers.forEach((l, i) => {
      const om = layerOmega(graph, l, res.layers[i]);
      expect(om.omegaWeights[4]).toBeGreaterThan(om.omegaWeights[8]);
      expect(om.omegaActivations[4]).toBeGreaterThan(om.omegaActivations[8]);
    });
  });

  it('Gauss-Newton traces equal the exact traces for Dense / ReLU networks (no probe noise)', () => {
    const close = (a: number, b: number) => expect(Math.abs(a - b), `${a} vs exact ${b}`).toBeLessThan(1e-5 * Math.abs(b) + 1e-9);
    const graph = mlp(11);
    const data = rows(12, 10, true, 'z');
    const layers = analyzeLayers(graph);
    const gn = gaussNewtonTraces(graph, layers, data);
    close(gn.layers[0].weight.mean, exactWeightTrace(graph, data, 'w1'));
    close(gn.layers[1].weight.mean, exactWeightTrace(graph, data, 'w2'));
    close(gn.layers[0].activation!.mean, exactActivationTrace(graph, data, 'a'));
    close(gn.layers[1].activation!.mean, exactActivationTrace(graph, data, 'z'));
    // A Softmax output: the seeds enter at its input.
    const g2 = denseSoftmax(13);
    const d2 = rows(14, 10, true, 'p');
    close(gaussNewtonTraces(g2, analyzeLayers(g2), d2).layers[0].weight.mean, exactWeightTrace(g2, d2, 'w'));
  });
});
