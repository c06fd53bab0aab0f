// Hutchinson estimates of each weighted layer's Hessian trace (HAWQ-v3), for its weights and for
// its output activations.
//
// Tr(H_i) = E[v_i^T H_ii v_i] over Rademacher v (entries +-1). Each calibration row draws one v
// over all layers at once and takes a Hessian-vector product by central differences of gradients:
//     H D v ~ (g(W + eps D v) - g(W - eps D v)) / 2,   D = diag(eps_i)
// then estimates Tr(H_ii) by v_i^T (H D v)_i / eps_i. The cross terms v_i^T H_ij v_j (j != i)
// have expectation zero because the blocks of v are independent, so every layer's estimate is
// unbiased from the same two gradient evaluations (HAWQ's implementation does the same).
//
// Step: eps_i = relativeStep * rms(W_i), i.e. the perturbation is 1e-3 of the layer's weight
// norm by default. In float64 the round-off of a gradient difference is ~1e-16 |g| / eps, far
// below the curvature signal; the truncation error is O(eps^2) for smooth ops.
//
// Kinks: both perturbed passes keep the ReLU / Clip regions and max-pool winners of the
// unperturbed pass (engine.ts `frozen`). Without that, a unit that flips sign between W - eps v
// and W + eps v adds a gradient jump divided by 2 eps: rare, huge, sign-indefinite terms that made
// the estimates on av-digits mostly noise. With it the products are those of autograd's double
// backward (ReLU'' = 0), which is what HAWQ's own implementation computes.
//
// Activations: the same passes add eps_a * u to each layer's output activation (u Rademacher per
// sample, eps_a = relativeStep * rms of that activation in that sample) and read v^T H v off the
// activation gradients. That trace is per sample (the Hessian of one sample's loss with respect
// to its own activation), averaged over samples.
//
// Stopping: by default every layer's standard error must be within `relativeTolerance` of its
// mean. A layer with near-zero curvature never gets there and does not matter for the plan, so
// the planner passes `omegaScale` (trace -> Omega at 4 bits) and the test becomes: the largest
// layer's Omega standard error is within `relativeTolerance` of the model's total Omega.
//
// Loss: see loss.ts. The weight Hessian is that of the mean loss over a batch of calibration
// rows, estimated as the mean over the batch of one probe per row (v^T H_row v with a fresh v per
// row costs the same passes as one shared v, and averages `batch` independent probes); each
// iteration takes the next batch (cycling through the rows), so the spread over iterations covers
// both data and probe noise. Iterations continue until every
// layer's standard error is within `relativeTolerance` of its mean (after `minIterations`), or
// `maxIterations` / `maxSeconds` is reached.
import type { Graph } from '../ir.ts';
import type { LayerInfo } from '../ilp/from-graph.ts';
import { backward, forward, paramValues, type ParamValues } from './engine.ts';
import { Loss, type LossKind } from './loss.ts';

export interface CalibrationRows {
  /** One record per sample: graph input name -> values in ONNX C order (batch 1). */
  rows: Array<Record<string, Float32Array>>;
  /** Class labels per graph output name (outputs without labels use KL / squared error). */
  labels: Map<string, Int32Array>;
}

export interface TraceOptions {
  batchSize?: number;
  minIterations?: number;
  maxIterations?: number;
  relativeTolerance?: number;
  relativeStep?: number;
  seed?: number;
  maxSeconds?: number;
  /** Also estimate activation traces (needed for untied planning; cheap: same passes). */
  activations?: boolean;
  /**
   * One probe per layer instead of one over all layers: 2 x layers passes per row instead of 2, but
   * no cross-layer terms in the estimate (on av-digits the median per-layer relative standard error
   * fell from ~150% to ~30%).
   */
  isolatedProbes?: boolean;
  /**
   * Per layer, what a unit of weight / activation trace is worth in Omega at 4 bits (the
   * activation factor may depend on the range seen so far). Switches the stopping test to the
   * Omega-relative one described above.
   */
  omegaScale?: (layer: number, activationRange: { min: number; max: number }) => { weight: number; activation: number };
  onProgress?: (p: { iteration: number; maxIterations: number; worstRelativeError: number }) => void;
}

export const DEFAULT_TRACE_OPTIONS: Required<Omit<TraceOptions, 'onProgress' | 'omegaScale'>> = {
  batchSize: 32,
  minIterations: 8,
  maxIterations: 48,
  relativeTolerance: 0.05,
  relativeStep: 1e-3,
  seed: 1,
  maxSeconds: 600,
  activations: true,
  isolatedProbes: true,
};

export interface Estimate {
  mean: number;
  /** Standard error of the mean over iterations. */
  stdErr: number;
  samples: number[];
}

export interface LayerTrace {
  name: string;
  weight: Estimate;
  /** Per-sample activation Hessian trace of the layer's output tensor (absent when not measured). */
  activation?: Estimate;
  /** Range of that output tensor over the calibration rows visited (0 included). */
  activationRange: { min: number; max: number };
}

export interface TraceResult {
  layers: LayerTrace[];
  iterations: number;
  batchSize: number;
  loss: LossKind;
  converged: boolean;
  seconds: number;
}

function summarize(samples: number[]): Estimate {
  const n = samples.length;
  const mean = samples.reduce((a, b) => a + b, 0) / n;
  let v = 0;
  for (const s of samples) v += (s - mean) * (s - mean);
  const stdErr = n > 1 ? Math.sqrt(v / (n - 1) / n) : Infinity;
  return { mean, stdErr, samples };
}

function rms(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s / Math.max(a.length, 1));
}

/** xorshift-style PRNG producing Rademacher signs, seeded for repeatable plans. */
class Signs {
  private s: number;
  constructor(seed: number) {
    this.s = (seed * 0x9e3779b1) >>> 0 || 1;
  }
  fill(n: number): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let x = this.s;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.s = x >>> 0;
      out[i] = this.s & 1 ? 1 : -1;
    }
    return out;
  }
}

export function hessianTraces(graph: Graph, layers: LayerInfo[], data: CalibrationRows, options: TraceOptions = {}): TraceResult {
  // Options explicitly set to undefined keep their defaults.
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o = { ...DEFAULT_TRACE_OPTIONS, ...given } as typeof DEFAULT_TRACE_OPTIONS & TraceOptions;
  const t0 = performance.now();
  const base = paramValues(graph);
  const loss = new Loss(graph);
  const signs = new Signs(o.seed);
  const n = data.rows.length;
  if (n === 0) throw new Error('internal: no calibration rows');
  const batch = Math.min(o.batchSize, n);

  // Per row, computed once at the float weights: the reference outputs and activation rms.
  const rowCache = new Map<number, { reference: Map<string, Float64Array>; actRms: number[] }>();
  const ranges = layers.map(() => ({ min: 0, max: 0 }));
  const rowInfo = (r: number) => {
    let c = rowCache.get(r);
    if (!c) {
      const tape = forward(graph, data.rows[r], { params: base });
      const reference = new Map(graph.outputs.map((out) => [out.name, tape.values.get(out.name)!]));
      const actRms = layers.map((l, i) => {
        const a = tape.values.get(l.outputTensor)!;
        for (let k = 0; k < a.length; k++) {
          if (a[k] < ranges[i].min) ranges[i].min = a[k];
          if (a[k] > ranges[i].max) ranges[i].max = a[k];
        }
        return rms(a);
      });
      c = { reference, actRms };
      rowCache.set(r, c);
    }
    return c;
  };

  const weightSamples: number[][] = layers.map(() => []);
  const actSamples: number[][] = layers.map(() => []);
  const eps = layers.map((l) => {
    const w = base.get(l.node.weight)!;
    const r = rms(w);
    return o.relativeStep * (r > 0 ? r : 1);
  });

  let iteration = 0;
  let converged = false;
  let cursor = 0;
  while (iteration < o.maxIterations) {
    const weightEst = layers.map(() => 0);
    const actEst = layers.map(() => 0);
    for (let b = 0; b < batch; b++) {
      const r = (cursor + b) % n;
      const info = rowInfo(r);
      const target = { labels: new Map([...data.labels].map(([k, v]) => [k, v[r]])), reference: info.reference };
      // The unperturbed pass fixes every ReLU region and max-pool winner for both perturbed passes.
      const frozen = forward(graph, data.rows[r], { params: base });
      const gradsAt = (params: ParamValues, perturb: Map<string, Float64Array>) => {
        const tape = forward(graph, data.rows[r], { params, perturb, frozen });
        const outs = new Map(graph.outputs.map((out) => [out.name, tape.values.get(out.name)!]));
        return backward(tape, loss.evaluate(outs, target).gradients);
      };
      // Probe groups: all layers in one probe (two passes per row; the cross-layer terms have
      // mean zero but add noise), or one probe per layer (2 x layers passes per row, no cross terms).
      const groups = o.isolatedProbes ? layers.map((_, i) => [i]) : [layers.map((_, i) => i)];
      for (const group of groups) {
        // A fresh weight probe per row: the iteration's estimate averages `batch` independent probes
        // of the per-row Hessians (mean = Tr of the batch Hessian), not one probe of their mean.
        const v = new Map<number, Float64Array>();
        const plus: ParamValues = new Map(base);
        const minus: ParamValues = new Map(base);
        const perturbPlus = new Map<string, Float64Array>();
        const perturbMinus = new Map<string, Float64Array>();
        const u = new Map<number, Float64Array>();
        const epsA = new Map<number, number>();
        for (const i of group) {
          const l = layers[i];
          const w = base.get(l.node.weight)!;
          const vi = signs.fill(w.length);
          v.set(i, vi);
          const wp = new Float64Array(w.length);
          const wm = new Float64Array(w.length);
          for (let k = 0; k < w.length; k++) {
            wp[k] = w[k] + eps[i] * vi[k];
            wm[k] = w[k] - eps[i] * vi[k];
          }
          plus.set(l.node.weight, wp);
          minus.set(l.node.weight, wm);
          if (o.activations) {
            const size = graph.tensors.get(l.outputTensor)!.shape.reduce((p, q) => p * q, 1);
            const ui = signs.fill(size);
            const e = o.relativeStep * (info.actRms[i] > 0 ? info.actRms[i] : 1);
            u.set(i, ui);
            epsA.set(i, e);
            // Two layers can share an output tensor only if one is the other: not possible here.
            perturbPlus.set(l.outputTensor, ui.map((x) => x * e));
            perturbMinus.set(l.outputTensor, ui.map((x) => -x * e));
          }
        }
        const gp = gradsAt(plus, perturbPlus);
        const gm = gradsAt(minus, perturbMinus);
        for (const i of group) {
          const l = layers[i];
          const vi = v.get(i)!;
          const a = gp.params.get(l.node.weight);
          const c = gm.params.get(l.node.weight);
          let sw = 0;
          if (a && c) for (let k = 0; k < a.length; k++) sw += vi[k] * (a[k] - c[k]);
          weightEst[i] += sw / (2 * eps[i]);
          if (o.activations) {
            const ui = u.get(i)!;
            const ap = gp.activations.get(l.outputTensor);
            const am = gm.activations.get(l.outputTensor);
            let s = 0;
            if (ap && am) for (let k = 0; k < ap.length; k++) s += ui[k] * (ap[k] - am[k]);
            actEst[i] += s / (2 * epsA.get(i)!);
          }
        }
      }
    }
    cursor = (cursor + batch) % n;
    layers.forEach((_, i) => {
      weightSamples[i].push(weightEst[i] / batch);
      if (o.activations) actSamples[i].push(actEst[i] / batch);
    });
    iteration++;

    let worst = 0;
    if (o.omegaScale) {
      let total = 0;
      const errs: number[] = [];
      for (let i = 0; i < layers.length; i++) {
        const sc = o.omegaScale(i, ranges[i]);
        const w = summarize(weightSamples[i]);
        const a = o.activations ? summarize(actSamples[i]) : { mean: 0, stdErr: 0 };
        total += Math.abs(w.mean) * sc.weight + Math.abs(a.mean) * sc.activation;
        errs.push(Math.hypot(w.stdErr * sc.weight, a.stdErr * sc.activation));
      }
      worst = Math.max(...errs) / Math.max(total, 1e-300);
    } else {
      for (let i = 0; i < layers.length; i++) {
        for (const samples of o.activations ? [weightSamples[i], actSamples[i]] : [weightSamples[i]]) {
          const e = summarize(samples);
          worst = Math.max(worst, e.stdErr / Math.max(Math.abs(e.mean), 1e-300));
        }
      }
    }
    options.onProgress?.({ iteration, maxIterations: o.maxIterations, worstRelativeError: worst });
    if (iteration >= o.minIterations && worst <= o.relativeTolerance) {
      converged = true;
      break;
    }
    if ((performance.now() - t0) / 1000 > o.maxSeconds) break;
  }

  return {
    layers: layers.map((l, i) => ({
      name: l.name,
      weight: summarize(weightSamples[i]),
      activation: o.activations ? summarize(actSamples[i]) : undefined,
      activationRange: ranges[i],
    })),
    iterations: iteration,
    batchSize: batch,
    loss: data.labels.size > 0 ? 'cross-entropy' : 'kl',
    converged,
    seconds: (performance.now() - t0) / 1000,
  };
}
