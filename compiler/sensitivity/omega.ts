// Omega, the HAWQ-v3 sensitivity of a layer at a bit width:
//     Omega_i(b) = Tr(H_i) / n_i * ||Q_b(W_i) - W_i||^2          (weights, the paper's term)
// plus the same second-order estimate for the layer's output activations, whose quantization
// error is modelled as uniform noise of one step Delta_b = (max - min) / (2^b - 1):
//     Omega_act_i(b) = Tr(H_act_i) / m_i * E||Q_b(a) - a||^2 = Tr(H_act_i) * Delta_b^2 / 12.
// Both leave out the 1/2 of the Taylor term, so they add up on the same scale. A negative trace
// estimate (possible for a non-convex loss or a noisy estimate) is kept as it is, so the plan can
// report it; the planner (compiler/ilp/planner.ts) turns a 4-bit Omega below the 8-bit one into a
// tie and says so in its notes, since it must not reward quantizing a layer harder.
import type { Graph } from '../ir.ts';
import type { Bits } from '../quant/qgraph.ts';
import { constantFloat } from '../ir.ts';
import { quantizationErrorSq } from '../quant/weights.ts';
import type { LayerInfo } from '../ilp/from-graph.ts';
import type { LayerTrace } from './hutchinson.ts';

export interface LayerOmega {
  omegaWeights: Record<Bits, number>;
  omegaActivations: Record<Bits, number>;
  /** ||Q_b(W) - W||^2 per bit width. */
  weightErrorSq: Record<Bits, number>;
}

export function activationStep(range: { min: number; max: number }, bits: Bits): number {
  const lo = Math.min(range.min, 0);
  const hi = Math.max(range.max, 0);
  return (hi - lo) / (2 ** bits - 1);
}

export function layerOmega(graph: Graph, layer: LayerInfo, trace: LayerTrace): LayerOmega {
  const w = constantFloat(graph, layer.node.weight);
  const tr = trace.weight.mean;
  const trA = trace.activation?.mean ?? 0;
  const errSq = { 4: quantizationErrorSq(w, layer.outChannels, 4), 8: quantizationErrorSq(w, layer.outChannels, 8) };
  const act = (b: Bits) => {
    const d = activationStep(trace.activationRange, b);
    return (trA * d * d) / 12;
  };
  return {
    omegaWeights: { 4: (tr / layer.weightCount) * errSq[4], 8: (tr / layer.weightCount) * errSq[8] },
    omegaActivations: { 4: act(4), 8: act(8) },
    weightErrorSq: errSq,
  };
}

/** Trace -> Omega factors at 4 bits, for the Hessian estimator's stopping test. */
export function omegaScales(graph: Graph, layers: LayerInfo[]): (i: number, range: { min: number; max: number }) => { weight: number; activation: number } {
  const weight = layers.map((l) => quantizationErrorSq(constantFloat(graph, l.node.weight), l.outChannels, 4) / l.weightCount);
  return (i, range) => {
    const d = activationStep(range, 4);
    return { weight: weight[i], activation: (d * d) / 12 };
  };
}
