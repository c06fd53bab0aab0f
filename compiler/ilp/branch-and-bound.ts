// Exact depth-first branch and bound over the precision problem.
//
// It serves two purposes: it proves (or disproves) that the LP solver's answer is optimal, and it
// is the fallback when javascript-lp-solver returns something fractional, infeasible or worse.
// Layers are decided in graph order, so a layer's producer is always decided before it.
//
// Bound at a node = Omega of the decided prefix + the larger of two relaxations of the rest:
// the LP relaxation of a one-constraint multiple-choice knapsack for flash and for BOPS
// (greedy by Omega saved per byte / per BOP, the last upgrade taken fractionally). Both are valid
// lower bounds because each ignores all other constraints and treats undecided producers'
// activation bits as 4 (the cheapest).
import type { Bits } from '../quant/qgraph.ts';
import {
  layerChoices,
  layerInstructions,
  layerOmega,
  packedWeightBytes,
  validateProblem,
  type Assignment,
  type IlpProblem,
  type LayerChoice,
} from './problem.ts';

export interface SearchResult {
  /** Best assignment found, or null when none is feasible. */
  assignment: Assignment | null;
  omega: number;
  /** True when the search finished, so `assignment` is optimal (or infeasibility is proven). */
  exact: boolean;
  nodes: number;
}

export interface SearchOptions {
  /** Start from this known-feasible assignment (prunes more). */
  incumbent?: Assignment;
  /** Stop after this many nodes and report `exact: false`. */
  maxNodes?: number;
}

interface Item {
  base: number;
  saved: number;
  extra: number;
}

/**
 * LP relaxation of min sum omega s.t. sum cost <= budget, each item taken at its cheap option
 * (Omega `base`) or upgraded (Omega lowered by `saved` for `extra` cost). `budget` is what is
 * left after paying every cheap option.
 */
function knapsackBound(items: Item[], budget: number): number {
  let omega = 0;
  let left = budget;
  const ups: Item[] = [];
  for (const it of items) {
    omega += it.base;
    if (it.saved > 0) ups.push(it);
  }
  ups.sort((a, b) => b.saved / Math.max(b.extra, 1e-300) - a.saved / Math.max(a.extra, 1e-300));
  for (const u of ups) {
    if (u.extra <= left) {
      omega -= u.saved;
      left -= u.extra;
    } else {
      omega -= (u.saved * left) / u.extra;
      break;
    }
  }
  return omega;
}

export function branchAndBound(problem: IlpProblem, options: SearchOptions = {}): SearchResult {
  const index = validateProblem(problem);
  const layers = problem.layers;
  const n = layers.length;
  const choices = layerChoices(problem.tied);
  const maxNodes = options.maxNodes ?? 2_000_000;
  const producer = layers.map((l) => (l.inputFrom === null ? -1 : index.get(l.inputFrom)!));
  const groups = (problem.equalActivationBits ?? []).map((g) => g.map((name) => index.get(name)!));
  const groupsOf: number[][][] = layers.map(() => []);
  for (const g of groups) for (const i of g) groupsOf[i].push(g);
  const bpe = problem.ram?.bytesPerElement;
  const liveSets = (problem.ram?.liveSets ?? []).map((s) => ({
    fixed: s.fixedBytes,
    tensors: s.tensors.map((t) => ({ layer: index.get(t.layer)!, elements: t.elements })),
  }));
  const minBpe = bpe ? Math.min(bpe[4], bpe[8]) : 0;

  // Per layer, the best Omega given its weight bits (activation bits free): used by the bounds.
  const bestOmegaByWeight = layers.map((l) => {
    const best: Record<Bits, number> = { 4: Infinity, 8: Infinity };
    for (const c of choices) best[c.weightBits] = Math.min(best[c.weightBits], layerOmega(l, c));
    return best;
  });
  const minOmega = bestOmegaByWeight.map((b) => Math.min(b[4], b[8]));
  // Instructions still to come at best (each remaining layer at its faster width), for pruning.
  const minInstrFrom = new Array<number>(n + 1).fill(0);
  for (let j = n - 1; j >= 0; j--) minInstrFrom[j] = minInstrFrom[j + 1] + Math.min(layerInstructions(layers[j], 4), layerInstructions(layers[j], 8));
  // Order choices by Omega so that good incumbents come early.
  const orderedChoices = layers.map((l) => [...choices].sort((a, b) => layerOmega(l, a) - layerOmega(l, b)));

  const current: LayerChoice[] = new Array(n);
  let best: Assignment | null = options.incumbent ? options.incumbent.map((c) => ({ ...c })) : null;
  let bestOmega = best ? best.reduce((s, c, i) => s + layerOmega(layers[i], c), 0) : Infinity;
  let nodes = 0;
  let aborted = false;

  const inBitsLowerBound = (j: number, depth: number): number => {
    const p = producer[j];
    if (p < 0) return problem.inputBits;
    return p < depth ? current[p].activationBits : 4;
  };

  const bound = (depth: number, omega: number, bytes: number, bops: number, instr: number): number => {
    if (problem.instructions !== undefined && instr + minInstrFrom[depth] > problem.instructions) return Infinity;
    let lb = omega;
    for (let j = depth; j < n; j++) lb += minOmega[j];
    if (problem.flashBytes !== undefined) {
      const items: Item[] = [];
      let budget = problem.flashBytes - bytes;
      for (let j = depth; j < n; j++) {
        const l = layers[j];
        const c4 = packedWeightBytes(l.weightCount, 4) + l.fixedBytes;
        const c8 = packedWeightBytes(l.weightCount, 8) + l.fixedBytes;
        budget -= c4;
        const o4 = bestOmegaByWeight[j][4];
        const o8 = bestOmegaByWeight[j][8];
        items.push({ base: o4, saved: o4 - o8, extra: c8 - c4 });
      }
      if (budget < 0) return Infinity;
      lb = Math.max(lb, omega + knapsackBound(items, budget));
    }
    if (problem.bops !== undefined) {
      const items: Item[] = [];
      let budget = problem.bops - bops;
      for (let j = depth; j < n; j++) {
        const inb = inBitsLowerBound(j, depth);
        const c4 = layers[j].macs * 4 * inb;
        budget -= c4;
        const o4 = bestOmegaByWeight[j][4];
        const o8 = bestOmegaByWeight[j][8];
        items.push({ base: o4, saved: o4 - o8, extra: c4 });
      }
      if (budget < 0) return Infinity;
      lb = Math.max(lb, omega + knapsackBound(items, budget));
    }
    if (bpe && problem.ram) {
      for (const s of liveSets) {
        let bytesLb = s.fixed;
        for (const t of s.tensors) bytesLb += t.elements * (t.layer < depth ? bpe[current[t.layer].activationBits] : minBpe);
        if (bytesLb > problem.ram.budget) return Infinity;
      }
    }
    return lb;
  };

  const visit = (depth: number, omega: number, bytes: number, bops: number, instr: number): void => {
    if (aborted) return;
    if (++nodes > maxNodes) {
      aborted = true;
      return;
    }
    // Strictly-better pruning with a relative tolerance so float noise does not hide ties.
    const lb = bound(depth, omega, bytes, bops, instr);
    if (lb === Infinity) return;
    if (bestOmega !== Infinity && lb >= bestOmega - 1e-12 * Math.abs(bestOmega)) return;
    if (depth === n) {
      best = current.map((c) => ({ ...c }));
      bestOmega = omega;
      return;
    }
    const l = layers[depth];
    for (const c of orderedChoices[depth]) {
      let ok = true;
      for (const g of groupsOf[depth]) {
        for (const m of g) if (m < depth && current[m].activationBits !== c.activationBits) ok = false;
      }
      if (!ok) continue;
      current[depth] = c;
      const p = producer[depth];
      const inBits = p < 0 ? problem.inputBits : current[p].activationBits;
      visit(
        depth + 1,
        omega + layerOmega(l, c),
        bytes + packedWeightBytes(l.weightCount, c.weightBits) + l.fixedBytes,
        bops + l.macs * c.weightBits * inBits,
        instr + layerInstructions(l, c.weightBits),
      );
    }
  };

  visit(0, 0, problem.otherWeightBytes ?? 0, 0, problem.fixedInstructions ?? 0);
  return { assignment: best, omega: bestOmega, exact: !aborted, nodes };
}
