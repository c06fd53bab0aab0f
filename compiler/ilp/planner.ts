// From a float graph and calibration data to a PrecisionPlan: per-layer sensitivity (criteria.ts) -> Omega -> ILP.
// `tinym2 plan` and benchmarks/plan-bench.ts both use it.
import { basename } from 'node:path';
import type { Graph } from '../ir.ts';
import type { Calibration } from '../quant/calibrate.ts';
import { calibrateOnSet, weightBytes, type DataSet } from '../quant/evaluate.ts';
import type { LowerOptions } from '../quant/lower.ts';
import type { LayerInstructionCounts } from './latency.ts';
import { quantizeGraph } from '../quant/lower.ts';
import { uniformPlan, type PrecisionPlan } from '../quant/plan.ts';
import type { Bits, Int4Activations } from '../quant/qgraph.ts';
import { int4BytesPerElement } from '../quant/act-storage.ts';
import type { CalibrationRows, TraceOptions } from '../sensitivity/hutchinson.ts';
import type { GaussNewtonOptions } from '../sensitivity/gauss-newton.ts';
import { DEFAULT_CRITERION, measureWith, type LayerEstimate, type Sensitivity, type SensitivityCriterion } from '../sensitivity/criteria.ts';

export type { Sensitivity, SensitivityCriterion };
import { analyzeLayers, ilpLayers, peakActivationBytes, ramLiveSets, type LayerInfo } from './from-graph.ts';
import { evaluateAssignment, layerWeightBytes, uniformAssignment, violations, type Assignment, type IlpProblem } from './problem.ts';
import { searchPlans, type SearchScore } from './search.ts';
import { PlanAccuracy, scoredOutput } from '../sensitivity/plan-accuracy.ts';
import { checkFeasible, solvePrecision, type SolveOutcome } from './solve.ts';

/** The paper's target when no budget is given: weights in at most 20% of their FP32 bytes. */
export const DEFAULT_FLASH_FRACTION = 0.2;

/**
 * A data set whose single `labels` array also labels every other output shaped like the first one
 * (multi-head models such as dsa-har: one head per modality plus a fused head, all predicting the
 * same classes). evaluate.ts on its own applies `labels` to the first output only.
 */
export function labelsForEveryHead(graph: Graph, set: DataSet): { set: DataSet; expanded: string[] } {
  const labels = set.labels.get('labels');
  if (!labels || graph.outputs.length < 2) return { set, expanded: [] };
  const first = graph.outputs[0].shape.join(',');
  let maxLabel = 0;
  for (const l of labels) maxLabel = Math.max(maxLabel, l);
  const out = new Map(set.labels);
  const expanded: string[] = [];
  for (const o of graph.outputs.slice(1)) {
    const key = `labels_${o.name}`;
    if (out.has(key) || o.shape.join(',') !== first || maxLabel >= o.shape[o.shape.length - 1]) continue;
    out.set(key, labels);
    expanded.push(o.name);
  }
  return { set: { ...set, labels: out }, expanded };
}

/** Rows and per-output labels in the form the trace estimator takes (labels as evaluate.ts assigns them). */
export function calibrationRows(graph: Graph, set: DataSet, maxRows = Infinity): CalibrationRows {
  const labels = new Map<string, Int32Array>();
  graph.outputs.forEach((o, k) => {
    const l = set.labels.get(`labels_${o.name}`) ?? (k === 0 ? set.labels.get('labels') : undefined);
    if (l) labels.set(o.name, l.subarray(0, Math.min(l.length, maxRows)));
  });
  return { rows: set.rows.slice(0, maxRows), labels };
}

export interface SensitivityOptions {
  traceOptions?: TraceOptions;
  gaussNewtonOptions?: GaussNewtonOptions;
  lowerOptions?: LowerOptions;
  untied?: boolean;
  onProgress?: (text: string) => void;
}

/**
 * Per-layer sensitivity by `criterion` (criteria.ts) on the sensitivity rows, with the activation
 * ranges of the calibration set. The rows should be held out from training (on training rows a
 * model is confident and every layer looks harmless); every row is used.
 */
export function measureSensitivity(
  graph: Graph,
  calib: DataSet,
  rows: DataSet,
  criterion: SensitivityCriterion = DEFAULT_CRITERION,
  options: SensitivityOptions = {},
): Sensitivity {
  return measureWith(criterion, {
    graph,
    layers: analyzeLayers(graph),
    calibration: calibrateOnSet(graph, calib),
    rows,
    traceRows: calibrationRows(graph, rows),
    untied: options.untied ?? false,
    traceOptions: options.traceOptions,
    gaussNewtonOptions: { maxRows: Infinity, ...options.gaussNewtonOptions },
    lowerOptions: options.lowerOptions,
    onProgress: options.onProgress,
  });
}

export interface Budgets {
  flashBytes?: number;
  bops?: number;
  ramBytes?: number;
  /** Instructions per inference on the board the counts were made on (needs `instructionCounts`). */
  instructions?: number;
  /** Per-layer counts from latency.ts, in analyzeLayers order; set whenever `instructions` is. */
  instructionCounts?: LayerInstructionCounts;
  /** How the compiled model stores 4-bit activations (--int4-activations): the RAM constraint counts 0.5 or 1 byte per element. */
  int4Activations?: Int4Activations;
}

export interface PlanLayerReport {
  name: string;
  op: string;
  macs: number;
  weightCount: number;
  fp32Bytes: number;
  /** What the criterion measured: cost of 4 bits over 8, its standard error, and whether it came out negative. */
  sensitivity: LayerEstimate & { criterion: SensitivityCriterion };
  /** Hessian criteria only: the traces behind Omega. */
  weightTrace?: { mean: number; stdErr: number };
  activationTrace?: { mean: number; stdErr: number };
  /** Omega used by the ILP at each width (weights + activations, tied choice). */
  omega: Record<Bits, number>;
  omegaWeights: Record<Bits, number>;
  omegaActivations: Record<Bits, number>;
  weightBits: Bits;
  activationBits: Bits;
  bytes: number;
  bops: number;
}

export interface PlanResult {
  plan: PrecisionPlan;
  layers: PlanLayerReport[];
  problem: IlpProblem;
  solve: SolveOutcome;
  totals: {
    fp32WeightBytes: number;
    /** Included in weightBytes: ops the plan does not choose (see ModelCosts). */
    otherWeightBytes: number;
    weightBytes: number;
    int8WeightBytes: number;
    int4WeightBytes: number;
    bops: number;
    int8Bops: number;
    macs: number;
    peakActivationBytes: number;
    /** With instruction counts (latency.ts): the plan's predicted instructions and the uniform builds' counts. */
    instructions?: { plan: number; int8: number; int4: number; board: string };
  };
  budgets: Budgets;
  notes: string[];
  /** With `tinym2 plan --search N`: how the reported plan was found from the ILP's. */
  search?: SearchReport;
}

/** FP32 bytes of the Conv / Dense weights and biases only (modelCosts(graph).fp32Bytes counts every float constant). */
export function fp32WeightBytes(layers: LayerInfo[]): number {
  return layers.reduce((s, l) => s + l.fp32Bytes, 0);
}

/** What a model's weights cost apart from the plan's choices. */
export interface ModelCosts {
  /** 4 bytes per float constant of the graph: the FP32 model's parameter bytes. */
  fp32Bytes: number;
  /** Weight bytes of ops the plan does not choose (unfolded BatchNorm, per-channel affine Mul/Add). */
  otherWeightBytes: number;
}

/**
 * Lowers the graph once at uniform INT8 and counts what its weight arrays take beyond the
 * planned Conv / Dense layers: the per-channel affine ops lower.ts stores as INT8 1x1 depthwise
 * convolutions. Byte counts do not depend on activation ranges, so a placeholder range [-1, 1]
 * stands in for calibration. Cached per graph.
 */
export function modelCosts(graph: Graph): ModelCosts {
  const cached = costCache.get(graph);
  if (cached) return cached;
  let fp32Bytes = 0;
  for (const c of graph.constants.values()) if (c.data instanceof Float32Array) fp32Bytes += 4 * c.data.length;
  const layers = analyzeLayers(graph);
  const placeholder: Calibration = new Map([...graph.tensors.keys()].map((t) => [t, { min: -1, max: 1 }]));
  const q = quantizeGraph(graph, placeholder, uniformPlan(basename(graph.file), layers.map((l) => l.name), 8));
  const planned = layers.reduce((s, l) => s + layerWeightBytes({ ...l, omegaWeights: ZERO, omegaActivations: ZERO, inputFrom: null }, 8), 0);
  const costs = { fp32Bytes, otherWeightBytes: Math.max(0, weightBytes(q) - planned) };
  costCache.set(graph, costs);
  return costs;
}

const costCache = new WeakMap<Graph, ModelCosts>();

const ZERO: Record<Bits, number> = { 4: 0, 8: 0 };

/**
 * The budget used when the user gives none: the paper's 20% of the FP32 weight bytes, or all-INT4
 * when even that does not fit 20% (per-channel bias and requantization data weigh more in small layers).
 */
export function defaultFlashBudget(graph: Graph): { bytes: number; note: string } {
  const costs = modelCosts(graph);
  const layers = analyzeLayers(graph);
  const target = Math.floor(DEFAULT_FLASH_FRACTION * costs.fp32Bytes);
  const minBytes = layers.reduce((s, l) => s + layerWeightBytes({ ...l, omegaWeights: ZERO, omegaActivations: ZERO, inputFrom: null }, 4), 0) + costs.otherWeightBytes;
  if (minBytes > target) {
    return {
      bytes: minBytes,
      note: `no budget given: the paper's target of ${DEFAULT_FLASH_FRACTION * 100}% of FP32 weight bytes (${target} bytes) is below all-INT4 (${minBytes} bytes, with per-channel bias and requantization data), so the budget is all-INT4`,
    };
  }
  return { bytes: target, note: `no budget given: using the paper's target, ${DEFAULT_FLASH_FRACTION * 100}% of the FP32 weight bytes = ${target} bytes` };
}

/**
 * Omega as the ILP sees it. A zero trace (clamped negative estimate) makes 4 and 8 bits tie at
 * Omega 0, and the solver would then pick either; 4 bits never has lower error than 8, so each
 * 4-bit Omega is raised to at least its 8-bit Omega plus 1e-9 of the largest Omega in the model.
 * That only breaks ties in favour of 8 bits; it cannot outweigh any measured difference.
 */
function tieBroken(sens: Sensitivity): Array<Pick<IlpProblem['layers'][number], 'omegaWeights' | 'omegaActivations'>> {
  let largest = 0;
  for (const om of sens.omegas) largest = Math.max(largest, om.omegaWeights[4], om.omegaActivations[4]);
  const nudge = 1e-9 * (largest > 0 ? largest : 1);
  return sens.omegas.map((om) => ({
    omegaWeights: { 4: Math.max(om.omegaWeights[4], om.omegaWeights[8] + nudge), 8: om.omegaWeights[8] },
    omegaActivations: { 4: Math.max(om.omegaActivations[4], om.omegaActivations[8] + nudge), 8: om.omegaActivations[8] },
  }));
}

export function buildProblem(graph: Graph, sens: Sensitivity, budgets: Budgets, tied: boolean): IlpProblem {
  const costs = modelCosts(graph);
  const omegas = tieBroken(sens);
  const { layers, equalActivationBits } = ilpLayers(sens.layers, (l) => omegas[sens.layers.indexOf(l)]);
  const problem: IlpProblem = { layers, inputBits: 8, tied, equalActivationBits, otherWeightBytes: costs.otherWeightBytes };
  if (budgets.flashBytes !== undefined) problem.flashBytes = budgets.flashBytes;
  if (budgets.bops !== undefined) problem.bops = budgets.bops;
  if (budgets.instructionCounts) {
    const counts = budgets.instructionCounts;
    const byName = new Map(sens.layers.map((l, i) => [l.name, counts.perLayer[i]]));
    for (const l of problem.layers) l.instructions = byName.get(l.name);
    problem.fixedInstructions = counts.fixed;
  }
  if (budgets.instructions !== undefined) {
    if (!budgets.instructionCounts) throw new Error('internal: an instruction budget needs per-layer instruction counts');
    problem.instructions = budgets.instructions;
  }
  if (budgets.ramBytes !== undefined) {
    // INT4 activations are stored two per byte unless --int4-activations bytes (compiler/quant/act-storage.ts): one live set per step.
    problem.ram = { budget: budgets.ramBytes, liveSets: ramLiveSets(graph, sens.layers), bytesPerElement: { 4: int4BytesPerElement(budgets.int4Activations), 8: 1 } };
  }
  return problem;
}

/** Fails fast (before the Hessian) when even all-INT4 cannot meet the budgets. */
export function checkBudgets(graph: Graph, budgets: Budgets, tied: boolean, modelName: string): void {
  const layers = analyzeLayers(graph);
  const zero = { 4: 0, 8: 0 };
  const sens: Sensitivity = {
    criterion: 'trace-free',
    method: 'feasibility check only',
    layers,
    omegas: layers.map(() => ({ omegaWeights: zero, omegaActivations: zero, weightErrorSq: zero })),
    estimates: layers.map(() => ({ value: 0, stdErr: 0, negative: false })),
    rows: 0,
    converged: true,
    seconds: 0,
  };
  checkFeasible(buildProblem(graph, sens, budgets, tied), modelName);
}

/** What `refineByAccuracy` did (plan.json's evidence and `tinym2 plan --json` carry it). */
export interface SearchReport {
  /** Distinct plans scored (starts included), moves kept, and whether it stopped at a local optimum (else at the evaluation limit). */
  evaluations: number;
  limit: number;
  moves: number;
  localOptimum: boolean;
  seed: number;
  /** Rows scored on (the sensitivity rows) and the output judged. */
  rows: number;
  output: string;
  /** Each start (the ILP on a criterion) with its accuracy on those rows, and the chosen plan's. */
  starts: Array<{ criterion: SensitivityCriterion; accuracy: number }>;
  accuracy: number;
  seconds: number;
}

export interface RefineOptions {
  evaluations: number;
  seed?: number;
  lowerOptions?: LowerOptions;
  onProgress?: (text: string) => void;
  /** An evaluator of these rows to share across calls (its op cache makes later searches cheaper). */
  evaluator?: PlanAccuracy;
}

/**
 * The plan search (search.ts) from the ILP plans of one or more criteria, each plan scored by its
 * top-1 accuracy on `rows` (the sensitivity rows, held out from training) in the integer emulator,
 * ties broken by the mean margin of the correct class. Returns a feasible plan never less accurate
 * on those rows than the best start.
 */
export function refineByAccuracy(graph: Graph, calib: DataSet, rows: DataSet, starts: PlanResult[], options: RefineOptions): { assignment: Assignment; report: SearchReport } {
  const t0 = performance.now();
  const problem = starts[0].problem;
  const evaluator = options.evaluator ?? new PlanAccuracy(graph, calibrateOnSet(graph, calib), rows, options.lowerOptions);
  const output = scoredOutput(graph, rows);
  const inputs = graph.inputs.map((i) => i.name);
  const score = (a: Assignment): SearchScore => {
    const plan: PrecisionPlan = {
      model: 'search',
      layers: Object.fromEntries(problem.layers.map((l, i) => [l.name, { weightBits: a[i].weightBits, activationBits: a[i].activationBits }])),
      inputBits: Object.fromEntries(inputs.map((n) => [n, 8 as Bits])),
    };
    const s = evaluator.score(plan, output);
    return { value: s.accuracy, tieBreak: s.margin };
  };
  const seed = options.seed ?? 1;
  const r = searchPlans(problem, starts.map((s) => s.solve.assignment), score, { evaluations: options.evaluations, seed, onProgress: options.onProgress });
  return {
    assignment: r.assignment,
    report: {
      evaluations: r.evaluations,
      limit: options.evaluations,
      moves: r.moves,
      localOptimum: r.localOptimum,
      seed,
      rows: rows.rows.length,
      output,
      starts: starts.map((s, i) => ({ criterion: s.layers[0]?.sensitivity.criterion ?? 'trace-free', accuracy: r.startScores[i].value })),
      accuracy: r.score.value,
      seconds: (performance.now() - t0) / 1000,
    },
  };
}

/**
 * The ILP's plan for `sens` under the budgets; with `chosen` (refineByAccuracy's answer, same problem),
 * that plan is reported instead (`solve` stays the ILP's answer, the search's start).
 */
export function planFromSensitivity(
  graph: Graph,
  sens: Sensitivity,
  budgets: Budgets,
  tied: boolean,
  modelName: string,
  chosen?: { assignment: Assignment; report: SearchReport },
): PlanResult {
  const notes: string[] = [];
  const negative = sens.layers.filter((_, i) => sens.estimates[i].negative);
  if (negative.length) {
    notes.push(
      `${sens.criterion}: ${negative.length} layer(s) measured no worse at 4 bits than at 8 (negative estimate; the ILP counts it as a tie broken toward 8 bits): ` +
        negative.map((l) => { const e = sens.estimates[sens.layers.indexOf(l)]; return `${l.name} ${e.value.toExponential(2)} ± ${e.stdErr.toExponential(1)}`; }).join(', '),
    );
  }
  if (!sens.converged) notes.push(`${sens.criterion}: the estimate did not converge (${sens.method}); the ± per layer says how far to trust it`);
  const costs = modelCosts(graph);
  const problem = buildProblem(graph, sens, budgets, tied);
  const solve = solvePrecision(problem, {}, modelName);
  const assignment = chosen?.assignment ?? solve.assignment;
  if (chosen) {
    const v = violations(problem, assignment);
    if (v.length) throw new Error(`internal: the searched plan breaks the budget: ${v.join('; ')}`);
    notes.push(
      `plan search: ${chosen.report.moves} move(s) from the ILP plan(s) of ${chosen.report.starts.map((s) => `${s.criterion} (${(100 * s.accuracy).toFixed(2)}%)`).join(', ')} ` +
        `to ${(100 * chosen.report.accuracy).toFixed(2)}% on the ${chosen.report.rows} sensitivity rows; ${chosen.report.evaluations} of at most ${chosen.report.limit} plans scored, ` +
        `${chosen.report.localOptimum ? 'stopped at a local optimum' : 'stopped at the limit'}, ${chosen.report.seconds.toFixed(1)} s`,
    );
  }
  const cost = evaluateAssignment(problem, assignment);
  const layersOut: PlanLayerReport[] = sens.layers.map((l, i) => {
    const c = assignment[i];
    const om = sens.omegas[i];
    const t = sens.traces?.layers[i];
    return {
      name: l.name,
      op: l.node.op,
      macs: l.macs,
      weightCount: l.weightCount,
      fp32Bytes: l.fp32Bytes,
      sensitivity: { criterion: sens.criterion, ...sens.estimates[i] },
      weightTrace: t ? { mean: t.weight.mean, stdErr: t.weight.stdErr } : undefined,
      activationTrace: t?.activation ? { mean: t.activation.mean, stdErr: t.activation.stdErr } : undefined,
      omega: { 4: om.omegaWeights[4] + om.omegaActivations[4], 8: om.omegaWeights[8] + om.omegaActivations[8] },
      omegaWeights: om.omegaWeights,
      omegaActivations: om.omegaActivations,
      weightBits: c.weightBits,
      activationBits: c.activationBits,
      bytes: cost.layerWeightBytes[i],
      bops: cost.layerBops[i],
    };
  });
  const plan: PrecisionPlan = {
    model: modelName,
    layers: Object.fromEntries(layersOut.map((l) => [l.name, { weightBits: l.weightBits, activationBits: l.activationBits }])),
    inputBits: Object.fromEntries(graph.inputs.map((i) => [i.name, 8 as Bits])),
  };
  const int8 = evaluateAssignment(problem, uniformAssignment(problem, 8));
  const int4 = evaluateAssignment(problem, uniformAssignment(problem, 4));
  return {
    plan,
    layers: layersOut,
    problem,
    solve,
    totals: {
      fp32WeightBytes: costs.fp32Bytes,
      otherWeightBytes: costs.otherWeightBytes,
      weightBytes: cost.weightBytes,
      int8WeightBytes: int8.weightBytes,
      int4WeightBytes: int4.weightBytes,
      bops: cost.bops,
      int8Bops: int8.bops,
      macs: sens.layers.reduce((s, l) => s + l.macs, 0),
      peakActivationBytes: peakActivationBytes(graph).bytes,
      ...(budgets.instructionCounts
        ? { instructions: { plan: cost.instructions, int8: int8.instructions, int4: int4.instructions, board: budgets.instructionCounts.board } }
        : {}),
    },
    budgets: { ...budgets, instructionCounts: undefined },
    notes,
    ...(chosen ? { search: chosen.report } : {}),
  };
}
