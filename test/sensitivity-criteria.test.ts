// The sensitivity criteria (compiler/sensitivity/criteria.ts): the empirical one measures what
// evaluate.ts measures, Gauss-Newton is chosen only where it is exact, negative estimates are
// reported by the planner, and the rank statistics of benchmarks/sensitivity-rank.ts are right.
import { describe, expect, it } from 'vitest';
import { analyzeLayers } from '../compiler/ilp/from-graph.ts';
import { measureSensitivity, planFromSensitivity } from '../compiler/ilp/planner.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { calibrateOnSet, evaluatePlan, loadDataSet, uniform } from '../compiler/quant/evaluate.ts';
import { gaussNewtonInexactNodes } from '../compiler/sensitivity/criteria.ts';
import { ranks, spearman } from '../benchmarks/sensitivity-rank.ts';

describe('sensitivity criteria', () => {
  it("the accuracy criterion is INT8 accuracy minus the accuracy with that one layer at 4 bits", () => {
    const graph = loadOnnx('test/models/dscnn2d.onnx');
    const set = loadDataSet(graph, 'test/models/dscnn2d.npz', 24);
    const sens = measureSensitivity(graph, set, set, 'accuracy');
    const calibration = calibrateOnSet(graph, set);
    const out = graph.outputs[0].name;
    expect(set.labels.has('labels')).toBe(true);
    const int8 = evaluatePlan(graph, set, set, uniform(graph, 8), {}, calibration).accuracyPerOutput[out];
    sens.layers.forEach((l, i) => {
      const plan = uniform(graph, 8);
      plan.layers[l.name] = { weightBits: 4, activationBits: 4 };
      const acc = evaluatePlan(graph, set, set, plan, {}, calibration).accuracyPerOutput[out];
      expect(sens.estimates[i].value).toBeCloseTo(int8 - acc, 10);
    });
  });

  it('accuracy-two-sided averages the drop of one layer at 4 bits in all-INT8 and its gain at 8 bits in all-INT4', () => {
    const graph = loadOnnx('test/models/dscnn2d.onnx');
    const set = loadDataSet(graph, 'test/models/dscnn2d.npz', 24);
    const sens = measureSensitivity(graph, set, set, 'accuracy-two-sided');
    const calibration = calibrateOnSet(graph, set);
    const out = graph.outputs[0].name;
    const acc = (plan: ReturnType<typeof uniform>) => evaluatePlan(graph, set, set, plan, {}, calibration).accuracyPerOutput[out];
    const int8 = acc(uniform(graph, 8));
    const int4 = acc(uniform(graph, 4));
    expect(sens.method).toMatch(/two-sided/);
    sens.layers.forEach((l, i) => {
      const down = uniform(graph, 8);
      down.layers[l.name] = { weightBits: 4, activationBits: 4 };
      const up = uniform(graph, 4);
      up.layers[l.name] = { weightBits: 8, activationBits: 8 };
      expect(sens.estimates[i].value).toBeCloseTo((int8 - acc(down) + acc(up) - int4) / 2, 10);
      expect(sens.omegas[i].omegaWeights[4]).toBeCloseTo(sens.estimates[i].value, 12);
    });
  });

  it('the kl criterion is finite per layer with a standard error, and larger at 4 bits than none', () => {
    const graph = loadOnnx('test/models/sensor1d.onnx');
    const set = loadDataSet(graph, 'test/models/sensor1d.npz', 12);
    const sens = measureSensitivity(graph, set, set, 'kl');
    expect(sens.estimates).toHaveLength(analyzeLayers(graph).length);
    for (const e of sens.estimates) {
      expect(Number.isFinite(e.value)).toBe(true);
      expect(e.stdErr).toBeGreaterThanOrEqual(0);
    }
    // Quantizing a layer to 4 bits changes the outputs of this random-weight model on average.
    expect(sens.estimates.some((e) => e.value > 0)).toBe(true);
  });

  it('hessian uses Gauss-Newton only where it is exact', () => {
    expect(gaussNewtonInexactNodes(loadOnnx('test/models/sensor1d.onnx'))).toEqual([]);
    expect(gaussNewtonInexactNodes(loadOnnx('test/models/gemm_variants.onnx')).join(' ')).toMatch(/Sigmoid/);
    const graph = loadOnnx('test/models/sensor1d.onnx');
    const set = loadDataSet(graph, 'test/models/sensor1d.npz', 4);
    expect(measureSensitivity(graph, set, set, 'hessian').method).toMatch(/Gauss-Newton/);
  });

  it('a negative estimate is reported in the plan notes, not zeroed silently', () => {
    const graph = loadOnnx('test/models/sensor1d.onnx');
    const set = loadDataSet(graph, 'test/models/sensor1d.npz', 4);
    const sens = measureSensitivity(graph, set, set, 'trace-free');
    sens.estimates[0] = { value: -1e-3, stdErr: 2e-3, negative: true };
    sens.omegas[0] = { ...sens.omegas[0], omegaWeights: { 4: -1e-3, 8: 0 } };
    const r = planFromSensitivity(graph, sens, { flashBytes: 1 << 20 }, true, 'sensor1d.onnx');
    expect(r.notes.join(' ')).toMatch(new RegExp(`${sens.layers[0].name} -1\\.00e-3 ± 2\\.0e-3`));
    expect(r.layers[0].sensitivity).toMatchObject({ criterion: 'trace-free', value: -1e-3, negative: true });
  });

  it('ranks average ties and Spearman is +-1 for monotone orders', () => {
    expect(ranks([3, 1, 3, 2])).toEqual([3.5, 1, 3.5, 2]);
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 45])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    expect(spearman([1, 2, 3], [5, 5, 5])).toBeNaN();
  });
});
