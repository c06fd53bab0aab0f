// The per-layer sensitivity criteria the planner can minimise (`tinym2 plan --sensitivity NAME`),
// as one typed registry: each turns the model and held-out rows into a LayerOmega per layer (what
// the ILP adds up) and an estimate with its standard error (what the plan reports).
//
// Which is the default is decided by measurement, not by taste: benchmarks/sensitivity-rank.ts
// ranks layers by each criterion and by the measured accuracy drop of quantizing that layer alone;
// the README of this folder holds the rank correlations.
import type { Graph } from '../ir.ts';
import type { LayerInfo } from '../ilp/from-graph.ts';
import type { Calibration } from '../quant/calibrate.ts';
import type { DataSet } from '../quant/evaluate.ts';
import type { LowerOptions } from '../quant/lower.ts';
import type { Bits } from '../quant/qgraph.ts';
import { empiricalSensitivity, restoreFromInt4, summarize, type EmpiricalResult } from './empirical.ts';
import { gaussNewtonTraces, type GaussNewtonOptions } from './gauss-newton.ts';
import { hessianTraces, type CalibrationRows, type LayerTrace, type TraceOptions, type TraceResult } from './hutchinson.ts';
import { layerOmega, omegaScales, type LayerOmega } from './omega.ts';
import { CRITERION_NAMES, DEFAULT_CRITERION, type SensitivityCriterion } from './criterion-names.ts';

export { CRITERION_NAMES, DEFAULT_CRITERION, type SensitivityCriterion };

/** What a criterion measured for one layer: the cost of 4 bits over 8 (tied), with its standard error. */
export interface LayerEstimate {
  value: number;
  stdErr: number;
  /** value < 0: 4 bits measured no worse than 8 (noise, or real); the ILP treats it as a tie. */
  negative: boolean;
}

export interface Sensitivity {
  criterion: SensitivityCriterion;
  /** One line: how it was measured (estimator, rows, iterations). */
  method: string;
  layers: LayerInfo[];
  omegas: LayerOmega[];
  estimates: LayerEstimate[];
  /** Hessian criteria only. */
  traces?: TraceResult;
  rows: number;
  converged: boolean;
  seconds: number;
}

export interface SensitivityInput {
  graph: Graph;
  layers: LayerInfo[];
  /** Activation ranges the quantizer uses (from the calibration set). */
  calibration: Calibration;
  /** The sensitivity rows (held out from training), as a data set and in the trace estimators' form. */
  rows: DataSet;
  traceRows: CalibrationRows;
  untied: boolean;
  traceOptions?: TraceOptions;
  gaussNewtonOptions?: GaussNewtonOptions;
  lowerOptions?: LowerOptions;
  onProgress?: (text: string) => void;
}

interface CriterionImpl {
  summary: string;
  measure(input: SensitivityInput): Omit<Sensitivity, 'criterion' | 'layers'>;
}

/**
 * Ops through which every logit is linear in one layer's weights and activations for fixed ReLU
 * regions and pooling winners, so the Gauss-Newton diagonal block equals the Hessian's
 * (gauss-newton.ts). A Softmax counts only as a graph output (the loss takes it into account).
 */
const GAUSS_NEWTON_EXACT_OPS: ReadonlySet<string> = new Set([
  'Conv', 'Dense', 'ScaleShift', 'Relu', 'Clip', 'LeakyRelu', 'MaxPool', 'AveragePool', 'GlobalAveragePool',
  'Pad', 'Reshape', 'Transpose', 'Concat', 'Add', 'Sub',
  // Linear (ConvTranspose, Resize, ReduceMean, Slice) or linear for fixed regions / winners (PRelu, ReduceMax).
  'ConvTranspose', 'Resize', 'ReduceMean', 'ReduceMax', 'Slice', 'PRelu',
]);

/** Nodes that make the Gauss-Newton block differ from the Hessian's (empty: Gauss-Newton is exact). */
export function gaussNewtonInexactNodes(graph: Graph): string[] {
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const constants = new Set(graph.constants.keys());
  return graph.nodes
    .filter((n) => {
      if (n.op === 'Softmax') return !outputs.has(n.outputs[0]);
      // Add / Sub of two activations stays linear; Mul of an activation by a constant too.
      if (n.op === 'Mul') return n.inputs.filter((t) => !constants.has(t)).length > 1;
      return !GAUSS_NEWTON_EXACT_OPS.has(n.op);
    })
    .map((n) => `${n.name} (${n.op})`);
}

/** Omega difference 4 vs 8 bits of weights + activations and its standard error from the trace errors. */
function hessianEstimates(graph: Graph, layers: LayerInfo[], traces: TraceResult, omegas: LayerOmega[]): LayerEstimate[] {
  const scale = omegaScales(graph, layers);
  return layers.map((_, i) => {
    const t = traces.layers[i];
    const om = omegas[i];
    const s4 = scale(i, t.activationRange);
    const value = om.omegaWeights[4] - om.omegaWeights[8] + om.omegaActivations[4] - om.omegaActivations[8];
    // Omega is linear in each trace; the 8-bit term is (2^4-1)^2/(2^8-1)^2 ~ 0.35% of the 4-bit one.
    const f = 1 - (15 / 255) ** 2;
    const stdErr = f * Math.hypot(t.weight.stdErr * s4.weight, (t.activation?.stdErr ?? 0) * s4.activation);
    return { value, stdErr, negative: value < 0 };
  });
}

function fromTraces(input: SensitivityInput, traces: TraceResult, method: string): Omit<Sensitivity, 'criterion' | 'layers'> {
  const omegas = input.layers.map((l, i) => layerOmega(input.graph, l, traces.layers[i]));
  return {
    method,
    omegas,
    estimates: hessianEstimates(input.graph, input.layers, traces, omegas),
    traces,
    rows: traces.batchSize === 1 ? traces.iterations : Math.min(input.traceRows.rows.length, traces.iterations * traces.batchSize),
    converged: traces.converged,
    seconds: traces.seconds,
  };
}

function gaussNewton(input: SensitivityInput): Omit<Sensitivity, 'criterion' | 'layers'> {
  const traces = gaussNewtonTraces(input.graph, input.layers, input.traceRows, {
    onProgress: (p) => input.onProgress?.(`Gauss-Newton traces: row ${p.row}/${p.rows}`),
    ...input.gaussNewtonOptions,
  });
  return fromTraces(input, traces, `HAWQ-V3 Omega, exact Gauss-Newton traces over ${traces.iterations} rows`);
}

function hutchinson(input: SensitivityInput): Omit<Sensitivity, 'criterion' | 'layers'> {
  const traces = hessianTraces(input.graph, input.layers, input.traceRows, {
    omegaScale: omegaScales(input.graph, input.layers),
    onProgress: (p) =>
      input.onProgress?.(
        `Hutchinson traces: iteration ${p.iteration}/${p.maxIterations}` +
          (Number.isFinite(p.worstRelativeError) ? `, largest layer's Omega error ${(100 * p.worstRelativeError).toFixed(1)}% of the total` : ''),
      ),
    ...input.traceOptions,
  });
  return fromTraces(
    input,
    traces,
    `HAWQ-V3 Omega, Hutchinson traces (${traces.iterations} iterations x ${traces.batchSize} rows, per-layer probes${traces.converged ? '' : ', not converged'})`,
  );
}

function empirical(read: 'kl' | 'accuracyDrop') {
  return (input: SensitivityInput): Omit<Sensitivity, 'criterion' | 'layers'> => {
    const r: EmpiricalResult = empiricalSensitivity(input.graph, input.layers, input.calibration, input.rows, {
      untied: input.untied,
      lowerOptions: input.lowerOptions,
      onProgress: (p) => input.onProgress?.(`quantizing one layer at a time: emulator run ${p.run}/${p.runs} over ${input.rows.rows.length} rows`),
    });
    const zero: Record<Bits, number> = { 4: 0, 8: 0 };
    const omegas: LayerOmega[] = r.layers.map((l) => ({
      omegaWeights: { 4: l.weights[read].mean, 8: 0 },
      omegaActivations: l.activations ? { 4: l.activations[read].mean, 8: 0 } : zero,
      weightErrorSq: zero,
    }));
    const estimates = r.layers.map((l) => {
      const w = l.weights[read];
      const a = l.activations?.[read];
      const value = w.mean + (a?.mean ?? 0);
      return { value, stdErr: Math.hypot(w.stdErr, a?.stdErr ?? 0), negative: value < 0 };
    });
    const what = read === 'kl' ? 'output KL (float || quantized)' : 'top-1 drop';
    return {
      method: `empirical: ${what} of each layer alone at 4 bits vs all-INT8, integer emulator over ${r.rows} rows`,
      omegas,
      estimates,
      rows: r.rows,
      converged: true,
      seconds: r.seconds,
    };
  };
}

/**
 * The layer's cost of 4 bits at both ends (empirical.ts): alone at 4 bits in all-INT8, and alone
 * back at 8 bits in all-INT4, averaged per row. Tied choices; with untied planning the activation
 * term is the all-INT8 one.
 */
function twoSided(read: 'kl' | 'accuracyDrop') {
  return (input: SensitivityInput): Omit<Sensitivity, 'criterion' | 'layers'> => {
    const one = empirical(read)(input);
    const progress = (p: { run: number; runs: number }) =>
      input.onProgress?.(`restoring one layer at a time in all-INT4: emulator run ${p.run}/${p.runs} over ${input.rows.rows.length} rows`);
    const from8 = empiricalSensitivity(input.graph, input.layers, input.calibration, input.rows, { untied: input.untied, lowerOptions: input.lowerOptions });
    const from4 = restoreFromInt4(input.graph, input.layers, input.calibration, input.rows, { lowerOptions: input.lowerOptions, onProgress: progress });
    const both = from8.layers.map((l, i) => {
      const a = l.weights[read].samples, b = from4.layers[i][read].samples;
      return summarize(a.map((v, r) => (v + b[r]) / 2));
    });
    const omegas: LayerOmega[] = one.omegas.map((om, i) => ({ ...om, omegaWeights: { 4: both[i].mean, 8: 0 } }));
    const estimates = both.map((w, i) => {
      const a = from8.layers[i].activations?.[read];
      const value = w.mean + (a?.mean ?? 0);
      return { value, stdErr: Math.hypot(w.stdErr, a?.stdErr ?? 0), negative: value < 0 };
    });
    const what = read === 'kl' ? 'output KL (float || quantized)' : 'top-1 drop';
    return {
      method: `empirical, two-sided: ${what} of each layer alone at 4 bits in all-INT8 and alone at 8 bits in all-INT4, averaged; integer emulator over ${from8.rows} rows`,
      omegas,
      estimates,
      rows: from8.rows,
      converged: true,
      seconds: from8.seconds + from4.seconds,
    };
  };
}

function traceFree(input: SensitivityInput): Omit<Sensitivity, 'criterion' | 'layers'> {
  // HAWQ-V3's Omega with every trace set to 1: only the quantization error itself ranks layers.
  const one = { mean: 1, stdErr: 0, samples: [1] };
  const traces: LayerTrace[] = input.layers.map((l) => {
    const r = input.calibration.get(l.outputTensor);
    return { name: l.name, weight: one, activation: one, activationRange: { min: r?.min ?? 0, max: r?.max ?? 0 } };
  });
  const result: TraceResult = { layers: traces, iterations: 0, batchSize: 0, loss: 'kl', converged: true, seconds: 0 };
  return { ...fromTraces(input, result, 'trace-free: HAWQ-V3 Omega with every trace set to 1 (quantization error only)'), rows: 0 };
}

export const SENSITIVITY_CRITERIA = {
  kl: { summary: 'output KL of each layer alone at 4 bits, measured in the integer emulator on held-out rows', measure: empirical('kl') },
  accuracy: { summary: 'top-1 drop of each layer alone at 4 bits, measured in the integer emulator on held-out rows', measure: empirical('accuracyDrop') },
  'kl-two-sided': {
    summary: 'output KL of each layer alone at 4 bits in all-INT8 and alone at 8 bits in all-INT4, averaged (layer interactions at both ends)',
    measure: twoSided('kl'),
  },
  'accuracy-two-sided': {
    summary: 'top-1 drop of each layer alone at 4 bits in all-INT8 and gain alone at 8 bits in all-INT4, averaged (layer interactions at both ends)',
    measure: twoSided('accuracyDrop'),
  },
  hessian: {
    summary: "HAWQ-V3's Tr(H)/n ||Q(W)-W||^2: exact Gauss-Newton traces where the graph allows, else Hutchinson with per-layer probes",
    measure: (input) => (gaussNewtonInexactNodes(input.graph).length === 0 ? gaussNewton(input) : hutchinson(input)),
  },
  'gauss-newton': { summary: 'HAWQ-V3 Omega from Gauss-Newton traces (exact for Conv/Dense/ReLU/pooling graphs)', measure: gaussNewton },
  hutchinson: { summary: 'HAWQ-V3 Omega from Hutchinson trace estimates, one Rademacher probe per layer', measure: hutchinson },
  'trace-free': { summary: 'HAWQ-V3 Omega with every trace set to 1 (a baseline: quantization error only)', measure: traceFree },
} satisfies Record<SensitivityCriterion, CriterionImpl>;

export function isCriterion(name: string): name is SensitivityCriterion {
  return Object.hasOwn(SENSITIVITY_CRITERIA, name);
}

export function measureWith(criterion: SensitivityCriterion, input: SensitivityInput): Sensitivity {
  return { criterion, layers: input.layers, ...SENSITIVITY_CRITERIA[criterion].measure(input) };
}
