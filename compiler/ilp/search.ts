// Local search over precision plans, scored by measured accuracy instead of a sensitivity model.
//
// The ILP picks the plan with the least summed per-layer sensitivity (Omega), which assumes the
// layers' costs add up. They do not quite: quantizing two layers can cost more, or less, than the
// sum of each alone (compiler/sensitivity/README.md). This search starts from given plans (the ILP's,
// on one or more criteria) and moves one or two fan-in units at a time between 4 and 8 bits, keeping
// every budget, and keeps a move only when it measures strictly better. So the plan it returns is
// never worse by the score than the best start, and is feasible by construction.
//
// Used twice, with different scores:
//   - `tinym2 plan --search N` and plan-vs-baselines' `search` column: accuracy on the sensitivity
//     rows (held out from training, never the rows accuracy is reported on);
//   - plan-vs-baselines' `oracle` column: accuracy on the test rows themselves, an estimate from
//     above of what any planner could reach at that budget (not a planner: it looks at the answers).
import type { Bits } from '../quant/qgraph.ts';
import { violations, type Assignment, type IlpProblem } from './problem.ts';
import { mulberry32 } from '../random.ts';

/** What a plan measured; compared by `value`, then by `tieBreak` (both higher is better). */
export interface SearchScore {
  value: number;
  tieBreak?: number;
}

export interface SearchOptions {
  /** At most this many plans scored (the starts included; a plan seen before is not counted again). */
  evaluations: number;
  /** Seed of the order in which neighbours are tried (the result is a function of the seed). */
  seed?: number;
  /** Try swaps of two units (one to 4 bits, one to 8) as well as single flips (default true). */
  pairs?: boolean;
  onProgress?: (text: string) => void;
}

export interface SearchResult {
  assignment: Assignment;
  score: SearchScore;
  /** Index into `starts` of the start whose climb gave the answer, and every start's score. */
  start: number;
  startScores: SearchScore[];
  /** Distinct plans scored, moves kept (all climbs), and whether the last climb ended at a local optimum (else at the limit). */
  evaluations: number;
  moves: number;
  localOptimum: boolean;
}

/** Layers that must take the same bits in a tied plan (fan-in groups: the ILP's equal-activation-bits rows), as index lists. */
export function tiedUnits(problem: IlpProblem): number[][] {
  const index = new Map(problem.layers.map((l, i) => [l.name, i]));
  const group = problem.layers.map((_, i) => i);
  const find = (i: number): number => (group[i] === i ? i : (group[i] = find(group[i])));
  for (const g of problem.equalActivationBits ?? []) for (const n of g.slice(1)) group[find(index.get(n)!)] = find(index.get(g[0])!);
  const out = new Map<number, number[]>();
  problem.layers.forEach((_, i) => out.set(find(i), [...(out.get(find(i)) ?? []), i]));
  return [...out.values()];
}

export function assignmentKey(a: Assignment): string {
  return a.map((c) => `${c.weightBits}${c.activationBits}`).join('');
}

export function better(a: SearchScore, b: SearchScore): boolean {
  if (a.value !== b.value) return a.value > b.value;
  return (a.tieBreak ?? 0) > (b.tieBreak ?? 0);
}

function withUnit(a: Assignment, unit: number[], bits: Bits): Assignment {
  const out = a.map((c) => ({ ...c }));
  for (const i of unit) out[i] = { weightBits: bits, activationBits: bits };
  return out;
}

/**
 * First-improvement hill climbing from each of `starts` (tied plans; every start must meet the
 * problem's budgets), the best-scoring start first and the others while evaluations remain; the best
 * plan of all climbs is returned. Neighbours: every unit flipped (4 <-> 8) and, with `pairs`, every
 * swap of a 4-bit unit to 8 with an 8-bit unit to 4, tried in a seeded random order, skipping those
 * over budget. A move is kept only when it scores strictly better.
 */
export function searchPlans(problem: IlpProblem, starts: Assignment[], score: (a: Assignment) => SearchScore, options: SearchOptions): SearchResult {
  if (!problem.tied) throw new Error('the plan search moves tied weight/activation bits only (drop --untied)');
  if (starts.length === 0) throw new Error('internal: the search needs a start');
  for (const s of starts) {
    const v = violations(problem, s);
    if (v.length) throw new Error(`internal: a search start breaks the budget: ${v.join('; ')}`);
  }
  const seen = new Map<string, SearchScore>();
  const measure = (a: Assignment): SearchScore => {
    const key = assignmentKey(a);
    let s = seen.get(key);
    if (!s) seen.set(key, (s = score(a)));
    return s;
  };
  const startScores = starts.map(measure);
  const units = tiedUnits(problem);
  const rand = mulberry32(options.seed ?? 1);
  const pairs = options.pairs ?? true;
  const say = options.onProgress ?? (() => {});
  let moves = 0;
  let localOptimum = false;
  let best = starts[0];
  let bestScore = startScores[0];
  let start = 0;
  // One climb per start, the best-scoring start first; later climbs run only while evaluations remain.
  const order = starts.map((_, i) => i).sort((a, b) => (better(startScores[a], startScores[b]) ? -1 : better(startScores[b], startScores[a]) ? 1 : a - b));
  for (const from of order) {
    if (from !== order[0] && seen.size >= options.evaluations) break;
    let here = starts[from].map((c) => ({ ...c }));
    let hereScore = startScores[from];
    localOptimum = false;
    while (seen.size < options.evaluations) {
      const bitsOf = (u: number[]) => here[u[0]].weightBits;
      const neighbours: Assignment[] = units.map((u) => withUnit(here, u, bitsOf(u) === 4 ? 8 : 4));
      if (pairs) {
        for (const up of units.filter((u) => bitsOf(u) === 4)) for (const down of units.filter((u) => bitsOf(u) === 8)) neighbours.push(withUnit(withUnit(here, up, 8), down, 4));
      }
      for (let i = neighbours.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [neighbours[i], neighbours[j]] = [neighbours[j], neighbours[i]];
      }
      let moved = false;
      for (const n of neighbours) {
        if (violations(problem, n).length) continue;
        if (!seen.has(assignmentKey(n)) && seen.size >= options.evaluations) break;
        const s = measure(n);
        if (better(s, hereScore)) {
          here = n;
          hereScore = s;
          moves++;
          moved = true;
          break;
        }
      }
      if (!moved) {
        localOptimum = seen.size < options.evaluations;
        break;
      }
    }
    if (better(hereScore, bestScore) || from === order[0]) {
      best = here;
      bestScore = hereScore;
      start = from;
    }
    say(`plan search: ${seen.size}/${options.evaluations} plans scored, ${moves} moves kept, best ${bestScore.value.toFixed(4)}`);
  }
  return { assignment: best, score: bestScore, start, startScores, evaluations: seen.size, moves, localOptimum };
}
