// Exact Gauss-Newton traces per layer: a probe-free alternative to the Hutchinson estimate.
//
// For a loss l(z) of the logits z, the Gauss-Newton part of the Hessian with respect to a
// parameter block W is J^T A J with J = dz/dW and A = d^2 l / dz^2. For cross-entropy and for
// KL to the model's own softmax, A = diag(p) - p p^T = sum_c p_c (e_c - p)(e_c - p)^T, so
//     Tr(J^T A J) = sum_c || J^T s_c ||^2,   s_c = sqrt(p_c) (e_c - p),
// and J^T s_c is one backward pass seeded with s_c at the logits. Squared-error outputs have A = I
// (s_c = e_c). K classes cost K backward passes per sample and give the trace with no probe noise;
// what remains is the sampling error over calibration rows (reported as the standard error).
//
// Why it is a good stand-in: in a network of Conv / Dense / ReLU / Clip / pooling, each logit is
// linear in any one layer's weights (for fixed activation patterns), so the diagonal block
// H_ii equals its Gauss-Newton part exactly almost everywhere; likewise for a layer's output
// activations. It differs where Sigmoid, Mul of two activations or a Softmax inside the network
// add curvature of their own. test/sensitivity-trace.test.ts checks both against finite differences.
import type { Graph } from '../ir.ts';
import type { LayerInfo } from '../ilp/from-graph.ts';
import { backward, forward, paramValues } from './engine.ts';
import type { CalibrationRows, Estimate, TraceResult } from './hutchinson.ts';

export interface GaussNewtonOptions {
  /** Calibration rows used (the first ones; default 128). */
  maxRows?: number;
  onProgress?: (p: { row: number; rows: number }) => void;
}

function summarize(samples: number[]): Estimate {
  const n = samples.length;
  const mean = samples.reduce((a, b) => a + b, 0) / n;
  let v = 0;
  for (const s of samples) v += (s - mean) * (s - mean);
  return { mean, stdErr: n > 1 ? Math.sqrt(v / (n - 1) / n) : Infinity, samples };
}

function softmaxOf(z: Float64Array): Float64Array {
  let m = -Infinity;
  for (const v of z) m = Math.max(m, v);
  const p = new Float64Array(z.length);
  let s = 0;
  for (let i = 0; i < z.length; i++) s += p[i] = Math.exp(z[i] - m);
  for (let i = 0; i < z.length; i++) p[i] /= s;
  return p;
}

export function gaussNewtonTraces(graph: Graph, layers: LayerInfo[], data: CalibrationRows, options: GaussNewtonOptions = {}): TraceResult {
  const t0 = performance.now();
  const params = paramValues(graph);
  const producer = new Map(graph.nodes.map((n) => [n.outputs[0], n]));
  const rows = Math.min(data.rows.length, options.maxRows ?? 128);
  const wSamples: number[][] = layers.map(() => []);
  const aSamples: number[][] = layers.map(() => []);
  const ranges = layers.map(() => ({ min: 0, max: 0 }));

  for (let r = 0; r < rows; r++) {
    const tape = forward(graph, data.rows[r], { params });
    layers.forEach((l, i) => {
      const a = tape.values.get(l.outputTensor)!;
      for (let k = 0; k < a.length; k++) {
        if (a[k] < ranges[i].min) ranges[i].min = a[k];
        if (a[k] > ranges[i].max) ranges[i].max = a[k];
      }
    });
    const w = layers.map(() => 0);
    const act = layers.map(() => 0);
    for (const out of graph.outputs) {
      const y = tape.values.get(out.name)!;
      const p = producer.get(out.name);
      // Seeds go in at the logits: the Softmax's input when the output is a Softmax.
      const logits = p?.op === 'Softmax' ? p.inputs[0] : out.name;
      const seeds: Float64Array[] = [];
      if (y.length > 1) {
        const prob = p?.op === 'Softmax' ? y : softmaxOf(y);
        for (let c = 0; c < prob.length; c++) {
          if (prob[c] < 1e-12) continue;
          const s = new Float64Array(prob.length);
          const root = Math.sqrt(prob[c]);
          for (let k = 0; k < prob.length; k++) s[k] = root * ((k === c ? 1 : 0) - prob[k]);
          seeds.push(s);
        }
      } else {
        for (let c = 0; c < y.length; c++) {
          const s = new Float64Array(y.length);
          s[c] = 1;
          seeds.push(s);
        }
      }
      for (const s of seeds) {
        const g = backward(tape, new Map([[logits, s]]));
        layers.forEach((l, i) => {
          const gw = g.params.get(l.node.weight);
          if (gw) for (let k = 0; k < gw.length; k++) w[i] += gw[k] * gw[k];
          const ga = g.activations.get(l.outputTensor);
          if (ga) for (let k = 0; k < ga.length; k++) act[i] += ga[k] * ga[k];
        });
      }
    }
    layers.forEach((_, i) => {
      wSamples[i].push(w[i]);
      aSamples[i].push(act[i]);
    });
    options.onProgress?.({ row: r + 1, rows });
  }
  return {
    layers: layers.map((l, i) => ({
      name: l.name,
      weight: summarize(wSamples[i]),
      activation: summarize(aSamples[i]),
      activationRange: ranges[i],
    })),
    iterations: rows,
    batchSize: 1,
    loss: data.labels.size > 0 ? 'cross-entropy' : 'kl',
    converged: true,
    seconds: (performance.now() - t0) / 1000,
  };
}
