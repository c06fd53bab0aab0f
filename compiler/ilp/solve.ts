// Solves the precision problem as a 0-1 ILP with javascript-lp-solver, then checks the answer.
//
// Formulation: x[i][c] in {0,1} for layer i and choice c (2 choices tied, 4 untied), exactly one
// per layer; minimise sum Omega_i(c) x[i][c]; weight bytes <= flash; peak live activation bytes
// <= RAM per live set; equal activation bits inside each group. BOPS_i = MACs_i * w_i * a_p(i)
// multiplies two decisions (layer i's weight bits, its producer p's activation bits); it is made
// linear with continuous z[i][w][a] >= 0 whose row sums are layer i's weight-bit indicators and
// column sums the producer's activation-bit indicators. When both indicator vectors are 0/1 with
// one 1, the only such z is their outer product, so the linearisation is exact.
//
// What we found about javascript-lp-solver 1.0.3: on 84 random instances (tied up to 12 layers,
// untied up to 6, with BOPS, RAM and equal-bits rows; compared with brute force) it answered
// integral, feasible and optimal every time, with raw magnitudes (Omega ~1e-6, BOPS ~1e7) as well
// as with normalised rows. Its simplex works in floating point with tolerances, so we still scale
// rows and objective to O(1) and re-check every answer: integrality within 1e-6, exactly one
// choice per layer, budgets recomputed exactly, and optimality proven by our branch and bound
// seeded with the answer. Any failure is recorded in `notes` and the branch-and-bound answer is
// used instead.
import * as lpModule from 'javascript-lp-solver';
import { EXIT_BUDGET, TinyM2Error } from '../errors.ts';
import { branchAndBound } from './branch-and-bound.ts';
import {
  BIT_CHOICES,
  evaluateAssignment,
  layerChoices,
  layerInstructions,
  layerOmega,
  minimumInstructions,
  packedWeightBytes,
  uniformAssignment,
  validateProblem,
  violations,
  type Assignment,
  type AssignmentCost,
  type IlpProblem,
} from './problem.ts';

/** The solver object: `default` of the ESM build (TypeScript types the package as CommonJS, one `default` deeper). */
interface LpSolver {
  Solve(model: unknown): unknown;
}
const lpDefault = (lpModule as unknown as { default: LpSolver & { default?: LpSolver } }).default;
export const lpSolver: LpSolver = lpDefault.default ?? lpDefault;

export interface SolveOutcome {
  assignment: Assignment;
  cost: AssignmentCost;
  /** Which answer was used. */
  method: 'lp' | 'branch-and-bound';
  /** True when branch and bound finished, i.e. the answer is proven optimal. */
  provenOptimal: boolean;
  /** What the checks found about the LP answer (empty when it passed everything). */
  notes: string[];
  seconds: { lp: number; check: number };
}

export interface SolveOptions {
  /** Skip javascript-lp-solver and use branch and bound alone. */
  exactOnly?: boolean;
  /** Node limit for the branch-and-bound proof. */
  maxNodes?: number;
}

function formatBytes(n: number): string {
  return n >= 1024 ? `${n} bytes (${(n / 1024).toFixed(1)} KB)` : `${n} bytes`;
}

/** Throws the budget error when even all-INT4 (the cheapest on every resource) does not fit. */
export function checkFeasible(problem: IlpProblem, modelName = 'the model'): void {
  const cheapest = uniformAssignment(problem, 4);
  const cost = evaluateAssignment(problem, cheapest);
  const reasons: string[] = [];
  const details: Record<string, unknown> = {};
  if (problem.flashBytes !== undefined && cost.weightBytes > problem.flashBytes) {
    reasons.push(
      `its weights need at least ${formatBytes(cost.weightBytes)} (all layers INT4) but the flash budget is ${formatBytes(problem.flashBytes)}`,
    );
    details.flashBudget = problem.flashBytes;
    details.minimumFlashBytes = cost.weightBytes;
  }
  if (problem.bops !== undefined && cost.bops > problem.bops) {
    reasons.push(`it needs at least ${cost.bops} BOPS (all layers INT4) but the limit is ${problem.bops}`);
    details.bopsLimit = problem.bops;
    details.minimumBops = cost.bops;
  }
  if (problem.instructions !== undefined) {
    const least = minimumInstructions(problem);
    if (least > problem.instructions) {
      reasons.push(`it needs at least ${least} instructions per inference (every layer at its faster width) but the limit is ${problem.instructions}`);
      details.instructionsLimit = problem.instructions;
      details.minimumInstructions = least;
    }
  }
  if (problem.ram && cost.peakRamBytes > problem.ram.budget) {
    reasons.push(
      `its activations need at least ${formatBytes(cost.peakRamBytes)} at peak but the RAM budget is ${formatBytes(problem.ram.budget)}`,
    );
    details.ramBudget = problem.ram.budget;
    details.minimumRamBytes = cost.peakRamBytes;
  }
  if (reasons.length > 0) {
    throw new TinyM2Error(
      `${modelName} does not fit: ${reasons.join('; ')}. Raise the budget to at least that figure or use a smaller model.`,
      { exitCode: EXIT_BUDGET, details },
    );
  }
}

interface LpModel {
  optimize: string;
  opType: 'min';
  constraints: Record<string, { max?: number; equal?: number }>;
  variables: Record<string, Record<string, number>>;
  binaries: Record<string, 1>;
  options: { tolerance: number; timeout: number };
}

/** Builds the normalised 0-1 model; variable `x_i_c` is choice c of layer i. */
export function buildLpModel(problem: IlpProblem, normalise = true): LpModel {
  const index = validateProblem(problem);
  const choices = layerChoices(problem.tied);
  const layers = problem.layers;
  const variables: Record<string, Record<string, number>> = {};
  const constraints: LpModel['constraints'] = {};
  const binaries: Record<string, 1> = {};
  const x = (i: number, c: number) => `x_${i}_${c}`;

  // Objective relative to the largest Omega difference so the simplex sees O(1) numbers.
  let omegaScale = 0;
  for (const l of layers) for (const c of choices) omegaScale = Math.max(omegaScale, Math.abs(layerOmega(l, c)));
  if (omegaScale === 0 || !normalise) omegaScale = 1;

  layers.forEach((l, i) => {
    constraints[`one_${i}`] = { equal: 1 };
    choices.forEach((c, ci) => {
      const v: Record<string, number> = { omega: layerOmega(l, c) / omegaScale, [`one_${i}`]: 1 };
      variables[x(i, ci)] = v;
      binaries[x(i, ci)] = 1;
    });
  });

  if (problem.flashBytes !== undefined) {
    const fixed = layers.reduce((s, l) => s + l.fixedBytes, 0) + (problem.otherWeightBytes ?? 0);
    const rhs = problem.flashBytes - fixed;
    const scale = normalise ? Math.max(Math.abs(rhs), 1) : 1;
    constraints.flash = { max: rhs / scale };
    layers.forEach((l, i) =>
      choices.forEach((c, ci) => {
        variables[x(i, ci)].flash = packedWeightBytes(l.weightCount, c.weightBits) / scale;
      }),
    );
  }

  if (problem.bops !== undefined) {
    const scale = normalise ? Math.max(problem.bops, 1) : 1;
    constraints.bops = { max: problem.bops / scale };
    layers.forEach((l, i) => {
      if (l.inputFrom === null) {
        choices.forEach((c, ci) => {
          variables[x(i, ci)].bops = (l.macs * c.weightBits * problem.inputBits) / scale;
        });
        return;
      }
      const p = index.get(l.inputFrom)!;
      for (const w of BIT_CHOICES) {
        constraints[`zw_${i}_${w}`] = { equal: 0 };
        choices.forEach((c, ci) => {
          if (c.weightBits === w) variables[x(i, ci)][`zw_${i}_${w}`] = -1;
        });
      }
      for (const a of BIT_CHOICES) {
        constraints[`za_${i}_${a}`] = { equal: 0 };
        choices.forEach((c, ci) => {
          if (c.activationBits === a) variables[x(p, ci)][`za_${i}_${a}`] = -1;
        });
      }
      for (const w of BIT_CHOICES) {
        for (const a of BIT_CHOICES) {
          variables[`z_${i}_${w}_${a}`] = { bops: (l.macs * w * a) / scale, [`zw_${i}_${w}`]: 1, [`za_${i}_${a}`]: 1 };
        }
      }
    });
  }

  if (problem.instructions !== undefined) {
    const rhs = problem.instructions - (problem.fixedInstructions ?? 0);
    const scale = normalise ? Math.max(Math.abs(rhs), 1) : 1;
    constraints.instructions = { max: rhs / scale };
    layers.forEach((l, i) =>
      choices.forEach((c, ci) => {
        variables[x(i, ci)].instructions = layerInstructions(l, c.weightBits) / scale;
      }),
    );
  }

  if (problem.ram) {
    const ram = problem.ram;
    ram.liveSets.forEach((set, s) => {
      const rhs = ram.budget - set.fixedBytes;
      const scale = normalise ? Math.max(Math.abs(rhs), 1) : 1;
      constraints[`ram_${s}`] = { max: rhs / scale };
      for (const t of set.tensors) {
        const i = index.get(t.layer)!;
        choices.forEach((c, ci) => {
          const v = variables[x(i, ci)];
          v[`ram_${s}`] = (v[`ram_${s}`] ?? 0) + (t.elements * ram.bytesPerElement[c.activationBits]) / scale;
        });
      }
    });
  }

  (problem.equalActivationBits ?? []).forEach((group, g) => {
    for (let k = 1; k < group.length; k++) {
      const a = index.get(group[0])!;
      const b = index.get(group[k])!;
      const name = `eq_${g}_${k}`;
      constraints[name] = { equal: 0 };
      choices.forEach((c, ci) => {
        if (c.activationBits !== 4) return;
        variables[x(a, ci)][name] = (variables[x(a, ci)][name] ?? 0) + 1;
        variables[x(b, ci)][name] = (variables[x(b, ci)][name] ?? 0) - 1;
      });
    }
  });

  return { optimize: 'omega', opType: 'min', constraints, variables, binaries, options: { tolerance: 0, timeout: 20_000 } };
}

/** Reads an assignment out of the solver's answer; returns problems found instead when it is not a clean 0-1 choice. */
function readAssignment(problem: IlpProblem, result: Record<string, unknown>): { assignment?: Assignment; issues: string[] } {
  const choices = layerChoices(problem.tied);
  const issues: string[] = [];
  const assignment: Assignment = [];
  problem.layers.forEach((l, i) => {
    let picked = -1;
    let sum = 0;
    choices.forEach((_, ci) => {
      const raw = result[`x_${i}_${ci}`];
      const v = typeof raw === 'number' ? raw : 0;
      sum += v;
      if (Math.abs(v - Math.round(v)) > 1e-6) issues.push(`x for ${l.name} choice ${ci} is fractional (${v})`);
      if (Math.round(v) === 1) picked = picked === -1 ? ci : -2;
    });
    if (Math.abs(sum - 1) > 1e-6) issues.push(`choices of ${l.name} sum to ${sum}, not 1`);
    if (picked < 0) issues.push(`layer ${l.name} has ${picked === -1 ? 'no' : 'more than one'} choice`);
    else assignment.push({ ...choices[picked] });
  });
  return issues.length ? { issues } : { assignment, issues };
}

export function solvePrecision(problem: IlpProblem, options: SolveOptions = {}, modelName?: string): SolveOutcome {
  validateProblem(problem);
  checkFeasible(problem, modelName);
  const notes: string[] = [];
  let lpAnswer: Assignment | undefined;
  const t0 = performance.now();
  if (!options.exactOnly) {
    const model = buildLpModel(problem);
    const result = lpSolver.Solve(model) as Record<string, unknown>;
    if (result.feasible !== true) {
      notes.push('javascript-lp-solver reported the problem infeasible although all-INT4 fits');
    } else {
      const read = readAssignment(problem, result);
      notes.push(...read.issues);
      if (read.assignment) {
        const v = violations(problem, read.assignment);
        if (v.length) notes.push(`javascript-lp-solver's answer breaks a budget: ${v.join('; ')}`);
        else lpAnswer = read.assignment;
      }
    }
  }
  const t1 = performance.now();
  const search = branchAndBound(problem, { incumbent: lpAnswer, maxNodes: options.maxNodes });
  const t2 = performance.now();
  if (!search.assignment) {
    // checkFeasible passed, so all-INT4 is feasible: only an unfinished search can end here.
    throw new Error('internal: branch and bound found no assignment although all-INT4 fits');
  }
  let method: SolveOutcome['method'] = 'branch-and-bound';
  const lpOmega = lpAnswer ? lpAnswer.reduce((s, c, i) => s + layerOmega(problem.layers[i], c), 0) : Infinity;
  if (lpAnswer && search.omega >= lpOmega - 1e-12 * Math.abs(lpOmega)) {
    method = 'lp';
  } else if (lpAnswer) {
    notes.push(`javascript-lp-solver's answer (Omega ${lpOmega}) is not optimal: branch and bound found ${search.omega}`);
  }
  const assignment = method === 'lp' ? lpAnswer! : search.assignment;
  if (!search.exact) notes.push(`branch and bound stopped after ${search.nodes} nodes: optimality not proven`);
  return {
    assignment,
    cost: evaluateAssignment(problem, assignment),
    method,
    provenOptimal: search.exact,
    notes,
    seconds: { lp: (t1 - t0) / 1000, check: (t2 - t1) / 1000 },
  };
}
