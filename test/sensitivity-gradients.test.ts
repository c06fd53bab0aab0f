// Every op's backward against central finite differences of its float64 forward.
import { describe, expect, it } from 'vitest';
import type { Graph, Node } from '../compiler/ir.ts';
import { backward, forward, paramValues, type ParamValues } from '../compiler/sensitivity/engine.ts';
import { buildGraph, constant, randomArray, rng, type GraphSpec } from './sensitivity-helpers.ts';

const base = { source: 'test' };

/** L = sum_k r_k * y_k over all outputs, with fixed random r. */
function checkGradients(spec: GraphSpec, seed: number, gap = 0.05): void {
  const r = rng(seed);
  const graph: Graph = buildGraph(spec);
  const inputs: Record<string, Float64Array> = {};
  for (const inp of graph.inputs) inputs[inp.name] = Float64Array.from(randomArray(r, inp.shape.reduce((a, b) => a * b, 1), gap));
  const weights = new Map<string, Float64Array>();
  for (const o of graph.outputs) weights.set(o.name, Float64Array.from(randomArray(r, o.shape.reduce((a, b) => a * b, 1))));
  const params0 = paramValues(graph);

  const loss = (ins: Record<string, Float64Array>, params: ParamValues): number => {
    const tape = forward(graph, ins, { params });
    let s = 0;
    for (const [name, w] of weights) {
      const y = tape.values.get(name)!;
      for (let i = 0; i < y.length; i++) s += w[i] * y[i];
    }
    return s;
  };
  const tape = forward(graph, inputs, { params: params0 });
  const g = backward(tape, weights);
  const h = 1e-6;
  const compare = (analytic: Float64Array | undefined, values: Float64Array, evalAt: () => number, what: string) => {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      values[i] = v + h;
      const up = evalAt();
      values[i] = v - h;
      const down = evalAt();
      values[i] = v;
      const fd = (up - down) / (2 * h);
      const an = analytic ? analytic[i] : 0;
      expect(Math.abs(an - fd), `${what}[${i}]: analytic ${an} vs finite difference ${fd}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
    }
  };
  for (const inp of graph.inputs) {
    compare(g.activations.get(inp.name), inputs[inp.name], () => loss(inputs, params0), `d/d ${inp.name}`);
  }
  for (const [name, values] of params0) compare(g.params.get(name), values, () => loss(inputs, params0), `d/d ${name}`);
}

function one(node: Node, inputs: Record<string, number[]>, shape: number[], constants: GraphSpec['constants'] = {}, opset = 17): GraphSpec {
  return { inputs, nodes: [{ node, shape }], constants, opset };
}

describe('reverse-mode gradients match central finite differences', () => {
  const r = rng(42);
  it('Conv 2-D with groups, stride, asymmetric pads and dilation', () => {
    checkGradients(
      one(
        { ...base, op: 'Conv', name: 'c', inputs: ['x'], outputs: ['y'], weight: 'w', bias: 'b', kernel: [3, 2], strides: [2, 1], pads: [1, 0, 2, 1], dilations: [1, 2], group: 2 },
        { x: [1, 4, 7, 6] },
        [1, 6, 4, 5],
        { w: constant(r, [6, 2, 3, 2]), b: constant(r, [6]) },
      ),
      1,
    );
  });
  it('Conv 1-D, plain and depthwise', () => {
    checkGradients(
      one(
        { ...base, op: 'Conv', name: 'c', inputs: ['x'], outputs: ['y'], weight: 'w', bias: 'b', kernel: [3], strides: [2], pads: [1, 1], dilations: [1], group: 1 },
        { x: [1, 3, 10] },
        [1, 4, 5],
        { w: constant(r, [4, 3, 3]), b: constant(r, [4]) },
      ),
      2,
    );
    checkGradients(
      one(
        { ...base, op: 'Conv', name: 'c', inputs: ['x'], outputs: ['y'], weight: 'w', kernel: [3], strides: [1], pads: [2, 0], dilations: [2], group: 3 },
        { x: [1, 3, 8] },
        [1, 6, 6],
        { w: constant(r, [6, 1, 3]) },
      ),
      3,
    );
  });
  it('Dense', () => {
    checkGradients(
      one({ ...base, op: 'Dense', name: 'd', inputs: ['x'], outputs: ['y'], weight: 'w', bias: 'b' }, { x: [1, 5] }, [1, 3], {
        w: constant(r, [3, 5]),
        b: constant(r, [3]),
      }),
      4,
    );
  });
  it('ScaleShift', () => {
    checkGradients(
      one({ ...base, op: 'ScaleShift', name: 's', inputs: ['x'], outputs: ['y'], scale: 'sc', shift: 'sh' }, { x: [1, 3, 4] }, [1, 3, 4], {
        sc: constant(r, [3]),
        sh: constant(r, [3]),
      }),
      5,
    );
  });
  it('Relu, Clip, LeakyRelu, Sigmoid', () => {
    const x = { x: [1, 2, 3, 3] };
    checkGradients(one({ ...base, op: 'Relu', name: 'a', inputs: ['x'], outputs: ['y'] }, x, [1, 2, 3, 3]), 6);
    checkGradients(one({ ...base, op: 'Clip', name: 'a', inputs: ['x'], outputs: ['y'], min: -0.5, max: 0.4 }, x, [1, 2, 3, 3]), 7);
    checkGradients(one({ ...base, op: 'LeakyRelu', name: 'a', inputs: ['x'], outputs: ['y'], alpha: 0.1 }, x, [1, 2, 3, 3]), 8);
    checkGradients(one({ ...base, op: 'Sigmoid', name: 'a', inputs: ['x'], outputs: ['y'] }, x, [1, 2, 3, 3]), 9);
  });
  it('MaxPool and AveragePool (both divisor rules), 2-D and 1-D', () => {
    const pool = { kernel: [2, 3], strides: [2, 2], pads: [0, 1, 1, 1], dilations: [1, 1], ceilMode: false };
    checkGradients(one({ ...base, ...pool, op: 'MaxPool', name: 'p', inputs: ['x'], outputs: ['y'], countIncludePad: false }, { x: [1, 2, 5, 6] }, [1, 2, 3, 3]), 10);
    checkGradients(one({ ...base, ...pool, op: 'AveragePool', name: 'p', inputs: ['x'], outputs: ['y'], countIncludePad: false }, { x: [1, 2, 5, 6] }, [1, 2, 3, 3]), 11);
    checkGradients(one({ ...base, ...pool, op: 'AveragePool', name: 'p', inputs: ['x'], outputs: ['y'], countIncludePad: true }, { x: [1, 2, 5, 6] }, [1, 2, 3, 3]), 12);
    const pool1 = { kernel: [3], strides: [2], pads: [1, 1], dilations: [1], ceilMode: false };
    checkGradients(one({ ...base, ...pool1, op: 'MaxPool', name: 'p', inputs: ['x'], outputs: ['y'], countIncludePad: false }, { x: [1, 2, 9] }, [1, 2, 5]), 13);
  });
  it('GlobalAveragePool', () => {
    checkGradients(one({ ...base, op: 'GlobalAveragePool', name: 'g', inputs: ['x'], outputs: ['y'] }, { x: [1, 3, 4, 5] }, [1, 3, 1, 1]), 14);
  });
  it('Pad, Reshape, Transpose, Concat', () => {
    checkGradients(one({ ...base, op: 'Pad', name: 'p', inputs: ['x'], outputs: ['y'], pads: [0, 0, 1, 0, 0, 0, 0, 2], value: 0.25 }, { x: [1, 2, 3, 3] }, [1, 2, 4, 5]), 15);
    checkGradients(one({ ...base, op: 'Reshape', name: 'r', inputs: ['x'], outputs: ['y'], shape: [1, 18] }, { x: [1, 2, 3, 3] }, [1, 18]), 16);
    checkGradients(one({ ...base, op: 'Transpose', name: 't', inputs: ['x'], outputs: ['y'], perm: [0, 2, 3, 1] }, { x: [1, 2, 3, 4] }, [1, 3, 4, 2]), 17);
    checkGradients(one({ ...base, op: 'Concat', name: 'c', inputs: ['a', 'b'], outputs: ['y'], axis: 1 }, { a: [1, 2, 3], b: [1, 4, 3] }, [1, 6, 3]), 18);
    checkGradients(one({ ...base, op: 'Concat', name: 'c', inputs: ['a', 'b'], outputs: ['y'], axis: -1 }, { a: [1, 2, 3], b: [1, 2, 1] }, [1, 2, 4]), 19);
  });
  it('Add / Sub / Mul with broadcasting and constants on either side', () => {
    checkGradients(one({ ...base, op: 'Add', name: 'o', inputs: ['a', 'b'], outputs: ['y'] }, { a: [1, 3, 4], b: [1, 3, 1] }, [1, 3, 4]), 20);
    checkGradients(one({ ...base, op: 'Sub', name: 'o', inputs: ['a'], outputs: ['y'], constant: 'k', constantIndex: 0 }, { a: [1, 3, 4] }, [1, 3, 4], { k: constant(r, [4]) }), 21);
    checkGradients(one({ ...base, op: 'Sub', name: 'o', inputs: ['a'], outputs: ['y'], constant: 'k', constantIndex: 1 }, { a: [1, 3, 4] }, [1, 3, 4], { k: constant(r, [3, 1]) }), 22);
    checkGradients(one({ ...base, op: 'Mul', name: 'o', inputs: ['a', 'b'], outputs: ['y'] }, { a: [1, 1, 4], b: [1, 3, 1] }, [1, 3, 4]), 23);
    checkGradients(one({ ...base, op: 'Mul', name: 'o', inputs: ['a'], outputs: ['y'], constant: 'k', constantIndex: 1 }, { a: [1, 3, 4] }, [1, 3, 4], { k: constant(r, [1, 3, 1]) }), 24);
  });
  it('Softmax (opset 13 single axis, opset 11 flattened)', () => {
    checkGradients(one({ ...base, op: 'Softmax', name: 's', inputs: ['x'], outputs: ['y'], axis: -1 }, { x: [1, 2, 5] }, [1, 2, 5]), 25);
    checkGradients(one({ ...base, op: 'Softmax', name: 's', inputs: ['x'], outputs: ['y'], axis: 1 }, { x: [1, 2, 3, 2] }, [1, 2, 3, 2]), 26);
    checkGradients(one({ ...base, op: 'Softmax', name: 's', inputs: ['x'], outputs: ['y'], axis: 1 }, { x: [1, 2, 5] }, [1, 2, 5], {}, 11), 27);
  });
  it('a two-branch network (conv, relu, pool, concat, dense, softmax) accumulates through fan-out', () => {
    checkGradients(
      {
        inputs: { img: [1, 1, 6, 6], sig: [1, 2, 8] },
        constants: { w1: constant(r, [3, 1, 3, 3]), w2: constant(r, [2, 2, 3]), wd: constant(r, [4, 3 + 8]), bd: constant(r, [4]) },
        nodes: [
          { node: { ...base, op: 'Conv', name: 'c1', inputs: ['img'], outputs: ['t1'], weight: 'w1', kernel: [3, 3], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 }, shape: [1, 3, 4, 4] },
          { node: { ...base, op: 'Relu', name: 'r1', inputs: ['t1'], outputs: ['t2'] }, shape: [1, 3, 4, 4] },
          { node: { ...base, op: 'GlobalAveragePool', name: 'g1', inputs: ['t2'], outputs: ['t3'] }, shape: [1, 3, 1, 1] },
          { node: { ...base, op: 'Reshape', name: 'f1', inputs: ['t3'], outputs: ['t4'], shape: [1, 3] }, shape: [1, 3] },
          { node: { ...base, op: 'Conv', name: 'c2', inputs: ['sig'], outputs: ['u1'], weight: 'w2', kernel: [3], strides: [2], pads: [1, 0], dilations: [1], group: 1 }, shape: [1, 2, 4] },
          { node: { ...base, op: 'Mul', name: 'm', inputs: ['u1', 'u1'], outputs: ['u2'] }, shape: [1, 2, 4] },
          { node: { ...base, op: 'Reshape', name: 'f2', inputs: ['u2'], outputs: ['u3'], shape: [1, 8] }, shape: [1, 8] },
          { node: { ...base, op: 'Concat', name: 'cat', inputs: ['t4', 'u3'], outputs: ['v'], axis: 1 }, shape: [1, 11] },
          { node: { ...base, op: 'Dense', name: 'fc', inputs: ['v'], outputs: ['z'], weight: 'wd', bias: 'bd' }, shape: [1, 4] },
          { node: { ...base, op: 'Softmax', name: 'sm', inputs: ['z'], outputs: ['p'], axis: -1 }, shape: [1, 4] },
        ],
      },
      28,
    );
  });
});

describe('frozen piecewise regions (reference pass)', () => {
  it('ReLU and MaxPool keep the reference pass regions and winners, forward and backward', () => {
    const graph = buildGraph({
      inputs: { x: [1, 1, 1, 4] },
      nodes: [
        { node: { ...base, op: 'Relu', name: 'r', inputs: ['x'], outputs: ['a'] }, shape: [1, 1, 1, 4] },
        { node: { ...base, op: 'MaxPool', name: 'p', inputs: ['a'], outputs: ['y'], kernel: [1, 2], strides: [1, 2], pads: [0, 0, 0, 0], dilations: [1, 1], ceilMode: false, countIncludePad: false }, shape: [1, 1, 1, 2] },
      ],
    });
    const ref = forward(graph, { x: [-1, 2, 3, 1] });
    const t = forward(graph, { x: [0.5, -0.5, 1, 2] }, { frozen: ref });
    // ReLU pieces from [-1, 2, 3, 1]: [off, on, on, on]; pool winners from [0, 2, 3, 1]: taps 1 and 2.
    expect([...t.values.get('a')!]).toEqual([0, -0.5, 1, 2]);
    expect([...t.values.get('y')!]).toEqual([-0.5, 1]);
    const g = backward(t, new Map([['y', Float64Array.from([1, 10])]]));
    expect([...g.activations.get('x')!]).toEqual([0, 1, 10, 0]);
    // Without a reference the same input takes its own regions.
    expect([...forward(graph, { x: [0.5, -0.5, 1, 2] }).values.get('y')!]).toEqual([0.5, 2]);
  });
});
