// The mixed-precision selection problem (TinyM²Net / HAWQ-v3): pick bit widths per weighted layer
// to minimise the summed sensitivity Omega under flash, BOPS and RAM budgets.
//
// This module defines the problem and evaluates a candidate assignment exactly; the solvers in
// solve.ts (LP-based) and branch-and-bound.ts (exact search) both answer in these terms, and every
// answer is re-checked with `evaluateAssignment` before it is used.
import type { Bits } from '../quant/qgraph.ts';

export const BIT_CHOICES: readonly Bits[] = [4, 8];

/** One weighted layer (Conv or Dense) as the planner sees it. */
export interface IlpLayer {
  /** IR node name. */
  name: string;
  /** Multiply-accumulates per inference. */
  macs: number;
  /** Number of weight values (packed to weightBits / 8 bytes each, INT4 two per byte). */
  weightCount: number;
  /** Bytes that do not depend on the bit width (int32 bias, per-channel multiplier and shift). */
  fixedBytes: number;
  /** Omega for the weights at 4 and 8 bits (Tr(H)/n * ||Q_b(W) - W||^2). */
  omegaWeights: Record<Bits, number>;
  /** Omega for the layer's output activations at 4 and 8 bits (0 when not measured). */
  omegaActivations: Record<Bits, number>;
  /**
   * The weighted layer whose output activation bits are this layer's input bits (tracing back
   * through pooling / reshape / concat, which keep their input's bits), or null when the input is
   * a graph input (then `IlpProblem.inputBits` applies). Must come earlier in `layers`.
   */
  inputFrom: string | null;
  /**
   * Instructions of the layer's kernel per inference at each weight width, counted on the target
   * (compiler/ilp/latency.ts). Required on every layer when `IlpProblem.instructions` is set.
   */
  instructions?: Record<Bits, number>;
}

/** A set of activation tensors alive at the same time: its bytes must fit the RAM budget. */
export interface LiveSet {
  /** Bytes that do not depend on any layer's choice (graph inputs, scratch). */
  fixedBytes: number;
  /** Activation tensors produced by a weighted layer (or a transparent op after it). */
  tensors: Array<{ layer: string; elements: number }>;
}

export interface IlpProblem {
  layers: IlpLayer[];
  /** Bits of the graph input activations (8 in tinym2). */
  inputBits: Bits;
  /**
   * Tied (the paper's default): one choice per layer sets weight and activation bits together.
   * Untied: weight and activation bits are chosen separately (4 combinations per layer).
   */
  tied: boolean;
  /** Upper bound on weight bytes (sum over layers of packed weights + fixed bytes, + otherWeightBytes). */
  flashBytes?: number;
  /**
   * Weight bytes the plan does not choose (e.g. unfolded BatchNorm / per-channel affine ops, which
   * the compiler stores as INT8 1x1 depthwise convolutions). Counted against the flash budget.
   */
  otherWeightBytes?: number;
  /** Upper bound on sum of MACs x weight bits x input activation bits. */
  bops?: number;
  /**
   * Upper bound on instructions per inference: fixedInstructions + sum of each layer's
   * instructions at its weight width. Unlike flash and BOPS, 4 bits is not always the cheaper
   * choice (INT4 weights are unpacked at run time), so the least is the per-layer minimum.
   */
  instructions?: number;
  /** Instructions that do not depend on the plan (pooling, input quantization, harness overhead). */
  fixedInstructions?: number;
  /** Upper bound on the bytes of every live set. */
  ram?: { budget: number; liveSets: LiveSet[]; bytesPerElement: Record<Bits, number> };
  /**
   * Groups of layers whose output activation bits must be equal (e.g. producers of one Concat,
   * which shares one scale and zero point across its inputs).
   */
  equalActivationBits?: string[][];
}

export interface LayerChoice {
  weightBits: Bits;
  activationBits: Bits;
}

/** One choice per layer, in the order of `IlpProblem.layers`. */
export type Assignment = LayerChoice[];

export interface AssignmentCost {
  omega: number;
  weightBytes: number;
  bops: number;
  /** Instructions per inference (0 when the layers carry no instruction counts). */
  instructions: number;
  /** Largest live-set bytes (0 when no RAM model is given). */
  peakRamBytes: number;
  /** Per layer: BOPS with its input bits. */
  layerBops: number[];
  layerWeightBytes: number[];
}

/** The choices one layer can take in this problem. */
export function layerChoices(tied: boolean): LayerChoice[] {
  const out: LayerChoice[] = [];
  for (const w of BIT_CHOICES) {
    if (tied) out.push({ weightBits: w, activationBits: w });
    else for (const a of BIT_CHOICES) out.push({ weightBits: w, activationBits: a });
  }
  return out;
}

export function packedWeightBytes(weightCount: number, bits: Bits): number {
  return Math.ceil((weightCount * bits) / 8);
}

export function layerWeightBytes(layer: IlpLayer, bits: Bits): number {
  return packedWeightBytes(layer.weightCount, bits) + layer.fixedBytes;
}

/** Instructions of a layer at a weight width (0 when not counted). */
export function layerInstructions(layer: IlpLayer, bits: Bits): number {
  return layer.instructions?.[bits] ?? 0;
}

/** The fewest instructions any assignment can take (each layer at its faster width). */
export function minimumInstructions(problem: IlpProblem): number {
  return problem.layers.reduce((s, l) => s + Math.min(layerInstructions(l, 4), layerInstructions(l, 8)), problem.fixedInstructions ?? 0);
}

export function layerOmega(layer: IlpLayer, choice: LayerChoice): number {
  return layer.omegaWeights[choice.weightBits] + layer.omegaActivations[choice.activationBits];
}

/** Checks that `inputFrom` references point backwards and names are unique. */
export function validateProblem(problem: IlpProblem): Map<string, number> {
  const index = new Map<string, number>();
  problem.layers.forEach((l, i) => {
    if (index.has(l.name)) throw new Error(`internal: layer ${l.name} listed twice in the precision problem`);
    if (l.inputFrom !== null) {
      const p = index.get(l.inputFrom);
      if (p === undefined) throw new Error(`internal: layer ${l.name} reads from ${l.inputFrom}, which is not an earlier layer`);
    }
    index.set(l.name, i);
  });
  for (const group of problem.equalActivationBits ?? []) {
    for (const n of group) if (!index.has(n)) throw new Error(`internal: equal-bits group names unknown layer ${n}`);
  }
  if (problem.ram) {
    for (const set of problem.ram.liveSets) {
      for (const t of set.tensors) if (!index.has(t.layer)) throw new Error(`internal: live set names unknown layer ${t.layer}`);
    }
  }
  return index;
}

export function evaluateAssignment(problem: IlpProblem, assignment: Assignment): AssignmentCost {
  const index = validateProblem(problem);
  if (assignment.length !== problem.layers.length) throw new Error('internal: assignment length differs from layer count');
  let omega = 0;
  let weightBytes = problem.otherWeightBytes ?? 0;
  let bops = 0;
  let instructions = problem.fixedInstructions ?? 0;
  const layerBops: number[] = [];
  const layerBytes: number[] = [];
  problem.layers.forEach((layer, i) => {
    const c = assignment[i];
    omega += layerOmega(layer, c);
    const bytes = layerWeightBytes(layer, c.weightBits);
    instructions += layerInstructions(layer, c.weightBits);
    layerBytes.push(bytes);
    weightBytes += bytes;
    const inBits = layer.inputFrom === null ? problem.inputBits : assignment[index.get(layer.inputFrom)!].activationBits;
    const b = layer.macs * c.weightBits * inBits;
    layerBops.push(b);
    bops += b;
  });
  let peakRamBytes = 0;
  if (problem.ram) {
    const bpe = problem.ram.bytesPerElement;
    for (const set of problem.ram.liveSets) {
      let bytes = set.fixedBytes;
      for (const t of set.tensors) bytes += t.elements * bpe[assignment[index.get(t.layer)!].activationBits];
      peakRamBytes = Math.max(peakRamBytes, bytes);
    }
  }
  return { omega, weightBytes, bops, instructions, peakRamBytes, layerBops, layerWeightBytes: layerBytes };
}

/** Budget violations of an assignment, as human-readable strings (empty when it fits). */
export function violations(problem: IlpProblem, assignment: Assignment): string[] {
  const cost = evaluateAssignment(problem, assignment);
  const out: string[] = [];
  if (problem.flashBytes !== undefined && cost.weightBytes > problem.flashBytes) {
    out.push(`weight bytes ${cost.weightBytes} > flash budget ${problem.flashBytes}`);
  }
  if (problem.bops !== undefined && cost.bops > problem.bops) out.push(`BOPS ${cost.bops} > limit ${problem.bops}`);
  if (problem.instructions !== undefined && cost.instructions > problem.instructions) {
    out.push(`instructions ${cost.instructions} > limit ${problem.instructions}`);
  }
  if (problem.ram && cost.peakRamBytes > problem.ram.budget) {
    out.push(`peak activation bytes ${cost.peakRamBytes} > RAM budget ${problem.ram.budget}`);
  }
  const index = validateProblem(problem);
  for (const group of problem.equalActivationBits ?? []) {
    const bits = new Set(group.map((n) => assignment[index.get(n)!].activationBits));
    if (bits.size > 1) out.push(`layers ${group.join(', ')} must share activation bits`);
  }
  return out;
}

export function uniformAssignment(problem: IlpProblem, bits: Bits): Assignment {
  return problem.layers.map(() => ({ weightBits: bits, activationBits: bits }));
}
