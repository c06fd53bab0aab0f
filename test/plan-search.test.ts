// The plan search (compiler/ilp/search.ts) and `refineByAccuracy` (compiler/ilp/planner.ts): the plan
// it returns meets every budget, keeps fan-in groups on equal bits, is never worse by its score than
// the best start, and is the same for the same seed.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { better, searchPlans, tiedUnits, type SearchScore } from '../compiler/ilp/search.ts';
import { evaluateAssignment, uniformAssignment, violations, type Assignment, type IlpProblem } from '../compiler/ilp/problem.ts';
import { measureSensitivity, planFromSensitivity, refineByAccuracy } from '../compiler/ilp/planner.ts';
import { PlanAccuracy, scoredOutput } from '../compiler/sensitivity/plan-accuracy.ts';
import { calibrateOnSet } from '../compiler/quant/evaluate.ts';
import { mulberry32 } from '../compiler/random.ts';
import { exampleModels } from '../benchmarks/example-models.ts';
import { loadHeldOut } from '../benchmarks/held-out.ts';

function chain(n: number): IlpProblem {
  const layers: IlpProblem['layers'] = Array.from({ length: n }, (_, i) => ({
    name: `L${i}`,
    macs: 1000 * (i + 1),
    weightCount: 200 * (1 + (i % 3)),
    fixedBytes: 12,
    omegaWeights: { 4: 1, 8: 0 },
    omegaActivations: { 4: 0, 8: 0 },
    inputFrom: i === 0 ? null : `L${i - 1}`,
  }));
  const p: IlpProblem = { layers, inputBits: 8, tied: true, equalActivationBits: [['L2', 'L3']] };
  const lo = evaluateAssignment(p, uniformAssignment(p, 4)).weightBytes;
  const hi = evaluateAssignment(p, uniformAssignment(p, 8)).weightBytes;
  p.flashBytes = Math.floor(lo + 0.5 * (hi - lo));
  return p;
}

/** A score no sum of per-layer terms gives: pairs of neighbouring 8-bit layers count, with a seeded weight each. */
function pairwiseScore(seed: number) {
  const r = mulberry32(seed);
  const w = Array.from({ length: 16 }, () => r());
  return (a: Assignment): SearchScore => {
    let v = 0;
    for (let i = 0; i + 1 < a.length; i++) if (a[i].weightBits === 8 && a[i + 1].weightBits === 8) v += w[i];
    return { value: v };
  };
}

/** A feasible start: layers to 4 bits from the first until the budget holds (fan-in groups together). */
function greedyStart(p: IlpProblem): Assignment {
  const a = uniformAssignment(p, 8);
  for (const u of tiedUnits(p)) {
    if (violations(p, a).length === 0) break;
    for (const i of u) a[i] = { weightBits: 4, activationBits: 4 };
  }
  return a;
}

describe('searchPlans', () => {
  it('returns a feasible plan at least as good as the best start, fan-in groups on equal bits, the same for the same seed', () => {
    for (let seed = 1; seed <= 6; seed++) {
      const p = chain(9);
      const score = pairwiseScore(seed);
      const start = greedyStart(p);
      const a = searchPlans(p, [start], score, { evaluations: 200, seed });
      expect(violations(p, a.assignment)).toEqual([]);
      expect(a.assignment[2]).toEqual(a.assignment[3]);
      expect(better(score(start), a.score)).toBe(false);
      expect(a.score).toEqual(score(a.assignment));
      expect(a.evaluations).toBeLessThanOrEqual(200);
      const b = searchPlans(p, [start], score, { evaluations: 200, seed });
      expect(b.assignment).toEqual(a.assignment);
      expect(b.evaluations).toBe(a.evaluations);
    }
  });

  it('finds a better plan one swap away, and stops at the evaluation limit', () => {
    const p = chain(6);
    const start = greedyStart(p);
    // The score wants layer 0 at 8 bits above all; the greedy start has it at 4. One swap gets there.
    const score = (a: Assignment): SearchScore => ({ value: a[0].weightBits === 8 ? 1 : 0 });
    expect(score(start).value).toBe(0);
    const r = searchPlans(p, [start], score, { evaluations: 100, seed: 3 });
    expect(r.score.value).toBe(1);
    expect(r.moves).toBeGreaterThan(0);
    const limited = searchPlans(p, [start], () => ({ value: 0 }), { evaluations: 3, seed: 3 });
    expect(limited.evaluations).toBe(3);
    expect(limited.assignment).toEqual(start);
  });

  it('starts from the best-scoring start', () => {
    const p = chain(6);
    const a = greedyStart(p);
    const b = a.map((c) => ({ ...c }));
    [b[0], b[4]] = [b[4], b[0]];
    expect(violations(p, b)).toEqual([]);
    const score = (x: Assignment): SearchScore => ({ value: x[4].weightBits === 4 ? 1 : 0 });
    const r = searchPlans(p, [a, b], score, { evaluations: 2, seed: 1 });
    expect(r.start).toBe(score(a).value >= score(b).value ? 0 : 1);
    expect(r.score.value).toBe(1);
  });

  it('refuses untied problems and starts over budget', () => {
    const p = chain(4);
    expect(() => searchPlans({ ...p, tied: false }, [greedyStart(p)], () => ({ value: 0 }), { evaluations: 5 })).toThrow(/tied/);
    expect(() => searchPlans(p, [uniformAssignment(p, 8)], () => ({ value: 0 }), { evaluations: 5 })).toThrow(/budget/);
  });
});

describe('refineByAccuracy', () => {
  it('on av-digits/image_only: feasible, never less accurate on the sensitivity rows than the ILP plans, deterministic', () => {
    const model = exampleModels(join(import.meta.dirname, '..', 'examples'), true).find((m) => m.label === 'av-digits/image_only')!;
    const h = loadHeldOut(model, 80);
    const sens = measureSensitivity(h.graph, h.calib, h.sens, 'accuracy');
    const free = measureSensitivity(h.graph, h.calib, h.sens, 'trace-free');
    const budgets = { flashBytes: 0 };
    const probe = planFromSensitivity(h.graph, free, {}, true, 'm').problem;
    const lo = evaluateAssignment(probe, uniformAssignment(probe, 4)).weightBytes;
    const hi = evaluateAssignment(probe, uniformAssignment(probe, 8)).weightBytes;
    budgets.flashBytes = Math.floor(lo + 0.3 * (hi - lo));
    const starts = [planFromSensitivity(h.graph, sens, budgets, true, 'm'), planFromSensitivity(h.graph, free, budgets, true, 'm')];
    const run = () => refineByAccuracy(h.graph, h.calib, h.sens, starts, { evaluations: 25, seed: 7 });
    const r = run();
    expect(violations(starts[0].problem, r.assignment)).toEqual([]);
    // Scored independently: the chosen plan is at least as accurate on the sensitivity rows as either ILP plan.
    const evaluator = new PlanAccuracy(h.graph, calibrateOnSet(h.graph, h.calib), h.sens);
    const out = scoredOutput(h.graph, h.sens);
    const acc = (a: Assignment) => evaluator.score(planFromSensitivity(h.graph, sens, budgets, true, 'm', { assignment: a, report: r.report }).plan, out).accuracy;
    expect(acc(r.assignment)).toBe(r.report.accuracy);
    for (const [i, s] of starts.entries()) {
      expect(acc(s.solve.assignment)).toBe(r.report.starts[i].accuracy);
      expect(r.report.accuracy).toBeGreaterThanOrEqual(r.report.starts[i].accuracy);
    }
    expect(r.report.evaluations).toBeLessThanOrEqual(25);
    expect(run().assignment).toEqual(r.assignment);
    // The reported plan is the searched one; the ILP's answer stays in `solve`.
    const result = planFromSensitivity(h.graph, sens, budgets, true, 'm', r);
    expect(result.search).toEqual(r.report);
    expect(starts[0].problem.layers.map((l, i) => result.plan.layers[l.name].weightBits === r.assignment[i].weightBits)).not.toContain(false);
    expect(result.totals.weightBytes).toBe(evaluateAssignment(starts[0].problem, r.assignment).weightBytes);
  }, 120_000);
});
