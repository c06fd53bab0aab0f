// Does the planner earn its place? For every example model, at five budgets between all-INT4 and
// all-INT8 (weight bytes, BOPs; instructions, see below), compare the accuracy of
//   - default:      the ILP on the default sensitivity criterion (compiler/sensitivity/criteria.ts)
//   - traceFree:    the same ILP with HAWQ-V3's Omega with every trace set to 1
//   - largestFirst: layers to INT4 in order of what they save in the budgeted resource, until it fits
//   - random:       N random feasible plans (layers to INT4 in a random order until the budget fits):
//                   mean, median, spread and best
//   - search:       the plan search (compiler/ilp/search.ts, `tinym2 plan --search N`) from the ILP plans
//                   of the default criterion and trace-free, scored on the sensitivity rows
//   - oracle:       the same search scored on the test rows themselves, from the best of every plan
//                   above (and all-INT8 where it fits): not a planner but the best plan found when the
//                   answers may be looked at, to tell whether the goal is reachable at all
// Accuracy is top-1 in the integer emulator on held-out rows (benchmarks/held-out.ts: sensitivity on
// the even test rows, accuracy on the odd ones), of the last labelled output (the fused head).
//
// Latency: on Cortex-M4 a layer can be faster or slower at INT4 than at INT8 (weights unpacked at run
// time, fewer bytes read; compiler/ilp/README.md), and all-INT8, the most accurate plan, is never far
// from the fastest, so an instruction budget alone leaves little to choose. It is a real trade-off
// beside a flash budget: the `latency` rows
// keep the flash budget of the 50% flash row and sweep the instruction budget (counted per layer on
// the board under QEMU, compiler/ilp/latency.ts) from the fastest plan that fits that flash (0, found
// by the same ILP with instructions as the objective) to all-INT4 (1). The baselines then move layers
// to INT4 until the flash fits and keep a plan only if it also meets the instruction budget;
// largest-first orders layers by bytes saved per instruction added (the knapsack greedy).
//
//   nice npx tsx benchmarks/plan-vs-baselines.ts [--only NAME ...] [--variants] [--random N] [--rows N]
//        [--kinds flash,bops,latency] [--board NAME] [--sensitivity NAME] [--search N] [--oracle N] [--default-search]
//        [--json | --markdown] [--out FILE]
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { ensureCacheDir } from '../compiler/cache.ts';
import { analyzeLayers } from '../compiler/ilp/from-graph.ts';
import { countLayerInstructions, type LayerInstructionCounts } from '../compiler/ilp/latency.ts';
import { buildProblem, measureSensitivity, planFromSensitivity, refineByAccuracy, type Budgets } from '../compiler/ilp/planner.ts';
import { searchPlans, tiedUnits } from '../compiler/ilp/search.ts';
import { evaluateAssignment, uniformAssignment, violations, type Assignment, type IlpProblem } from '../compiler/ilp/problem.ts';
import { solvePrecision } from '../compiler/ilp/solve.ts';
import { loadBoard, type Board } from '../compiler/target/boards.ts';
import { calibrateOnSet } from '../compiler/quant/evaluate.ts';
import { PlanAccuracy } from '../compiler/sensitivity/plan-accuracy.ts';
import type { PrecisionPlan } from '../compiler/quant/plan.ts';
import type { Bits } from '../compiler/quant/qgraph.ts';
import { mulberry32 } from '../compiler/random.ts';
import { CRITERION_NAMES, DEFAULT_CRITERION, isCriterion, type SensitivityCriterion } from '../compiler/sensitivity/criteria.ts';
import { exampleModels } from './example-models.ts';
import { loadHeldOut, reportedOutput, type HeldOutModel } from './held-out.ts';
import { lowerPriority } from './low-priority.ts';

const BUDGET_KINDS = ['flash', 'bops', 'latency'] as const;
type BudgetKind = (typeof BUDGET_KINDS)[number];
/** Where the five budgets sit between the all-INT4 (0) and all-INT8 (1) cost. */
const FRACTIONS = [0.1, 0.3, 0.5, 0.7, 0.9];
/** The flash row the latency rows share their flash budget with. */
const LATENCY_FLASH_FRACTION = 0.5;
/** Random orders tried per budget before giving up on finding `--random` feasible plans (latency rows). */
const RANDOM_ATTEMPTS_PER_PLAN = 50;
/** Plans the search may score per budget on the sensitivity rows, and the oracle on the test rows. */
const DEFAULT_SEARCH = 60;
const DEFAULT_ORACLE = 80;

const HELP = `usage: npx tsx benchmarks/plan-vs-baselines.ts [--only NAME ...] [--variants] [--random N] [--rows N]
         [--kinds flash,bops,latency] [--board NAME] [--sensitivity NAME] [--search N] [--oracle N]
         [--default-search] [--json | --markdown] [--out FILE]

  --only NAME        an example or variant (kws-fsdd, av-digits/audio_only); repeat (default: every main model)
  --variants         also every variant of each example (av-digits/audio_only, ...)
  --random N         random feasible plans per budget (default 20)
  --rows N           at most N sensitivity rows and N accuracy rows (default: all held-out rows)
  --kinds LIST       budget kinds (default flash,bops,latency); latency = the 50% flash budget plus an
                     instruction budget, counted under QEMU on --board
  --board NAME       the board whose instructions are counted (default mps2-an386, Cortex-M4)
  --out FILE         write the --json rows to FILE after every budget (partial results survive)
  --plan-cache DIR   keep every emulated plan's accuracy in DIR (per model, calibration and rows): a re-run
                     (another --sensitivity) emulates only new plans
  --sensitivity NAME the 'default' planner's criterion (default ${DEFAULT_CRITERION}; one of ${CRITERION_NAMES.join(', ')})
  --also LIST        the ILP on these criteria too (comma-separated): one more column each (row.others)
  --search N         plans the search column may score per budget on the sensitivity rows (default ${DEFAULT_SEARCH}; 0: no column)
  --oracle N         plans the oracle may score per budget on the test rows (default ${DEFAULT_ORACLE}; 0: no column)
  --default-search   the 'default' column is the search's plan (else the ILP's on --sensitivity)
  --json             one row per example x budget: {example, budgetKind, budget, int4Drop, default, traceFree,
                     largestFirst, randomMean, randomBest, ...} (accuracies in points)
  --markdown         the table as markdown
  --from FILE        print the table of earlier --json runs (repeat) instead of measuring`;

export interface BaselineRow {
  example: string;
  budgetKind: BudgetKind;
  /** Bytes, BOPs, or instructions per inference (latency rows). */
  budget: number;
  /** Latency rows: the flash budget they keep (the 50% flash row's), and the board counted on. */
  flashBudget?: number;
  board?: string;
  /** Where the budget sits between all-INT4 (0) and all-INT8 (1). */
  fraction: number;
  /** INT8 minus uniform INT4 accuracy (points). */
  int4Drop: number;
  int8: number;
  int4: number;
  default: number;
  traceFree: number;
  largestFirst: number;
  randomMean: number;
  randomMedian: number;
  randomStd: number;
  randomMin: number;
  randomBest: number;
  /** Random feasible plans found (latency rows: orders whose flash-fitting plan broke the instruction budget are dropped). */
  randomPlans: number;
  criterion: SensitivityCriterion;
  /** The plan search from the ILP plans (default criterion, trace-free) on the sensitivity rows: its accuracy on the test rows, plans scored, seconds. */
  search?: number;
  searchEvaluations?: number;
  searchSeconds?: number;
  /** Whether the 'default' column is the search's plan (--default-search) rather than the ILP's. */
  defaultIsSearch?: boolean;
  /** The best plan the search found scored on the test rows themselves (from the best of every plan above), and plans scored. */
  oracle?: number;
  oracleEvaluations?: number;
  /** The goal with the oracle's plan: whether any planner could meet it here (null where the goal is not asked). */
  reachable?: boolean | null;
  /** Whether each planner met the goal (null where it is not asked). */
  goal?: Record<string, boolean | null>;
  /** With --also: the ILP's plan on each further criterion (points). */
  others?: Partial<Record<SensitivityCriterion, number>>;
  rows: number;
}

/** The resource a kind of budget counts; latency rows move layers to INT4 until the flash fits. */
function cost(problem: IlpProblem, a: Assignment, kind: BudgetKind): number {
  const c = evaluateAssignment(problem, a);
  return kind === 'bops' ? c.bops : c.weightBytes;
}

/** Moves units to INT4 in the given order until the budget holds. */
function greedy(problem: IlpProblem, order: number[][], kind: BudgetKind, budget: number): Assignment {
  const a = uniformAssignment(problem, 8);
  for (const u of order) {
    if (cost(problem, a, kind) <= budget) break;
    for (const i of u) a[i] = { weightBits: 4, activationBits: 4 };
  }
  return a;
}

/** The fewest instructions of any plan within `flashBytes`: the ILP with instructions as its objective. */
function fastestWithin(problem: IlpProblem, flashBytes: number): number {
  const p: IlpProblem = {
    ...problem,
    flashBytes,
    bops: undefined,
    instructions: undefined,
    layers: problem.layers.map((l) => ({ ...l, omegaWeights: { 4: l.instructions![4], 8: l.instructions![8] }, omegaActivations: { 4: 0, 8: 0 } })),
  };
  return evaluateAssignment(problem, solvePrecision(p, {}, 'fastest plan').assignment).instructions;
}

function toPlan(model: string, problem: IlpProblem, a: Assignment, inputs: string[]): PrecisionPlan {
  return {
    model,
    layers: Object.fromEntries(problem.layers.map((l, i) => [l.name, { weightBits: a[i].weightBits, activationBits: a[i].activationBits }])),
    inputBits: Object.fromEntries(inputs.map((n) => [n, 8 as Bits])),
  };
}

function stats(v: number[]): { mean: number; median: number; std: number; min: number; max: number } {
  const s = [...v].sort((a, b) => a - b);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(v.length - 1, 1));
  return { mean, median, std, min: s[0], max: s[s.length - 1] };
}

export interface CompareOptions {
  kinds: readonly BudgetKind[];
  randomPlans: number;
  criterion: SensitivityCriterion;
  /** Further criteria whose ILP plans are measured too. */
  also?: SensitivityCriterion[];
  /** Latency rows: the board whose instructions are counted. */
  board: Board;
  say: (s: string) => void;
  /** Called with every finished row. */
  onRow?: (row: BaselineRow) => void;
  /**
   * A directory keeping every emulated plan's accuracy across runs (per model file, calibration and
   * accuracy rows), so a second criterion re-run emulates only the plans that are new.
   */
  planCache?: string;
  /** Plans the search may score per budget (0: no search column) and the oracle (0: none). */
  search: number;
  oracle: number;
  /** The 'default' column is the search's plan. */
  defaultSearch?: boolean;
}

export async function compareOne(h: HeldOutModel, o: CompareOptions): Promise<BaselineRow[]> {
  const { graph } = h;
  const { kinds, randomPlans, criterion, say } = o;
  const calibration = calibrateOnSet(graph, h.calib);
  const output = reportedOutput(graph, h.evaluation);
  // Every distinct assignment is emulated once (random plans repeat, and the same plan serves several
  // budgets), and every distinct op once (plans share their leading ops; compiler/sensitivity/plan-accuracy.ts).
  const evaluator = new PlanAccuracy(graph, calibration, h.evaluation);
  const cacheFile = o.planCache
    ? join(o.planCache, `${h.label.replace('/', '_')}-${createHash('sha256').update(readFileSync(graph.file)).update(h.calib.file).update(h.evaluation.file).update(String(h.evaluation.rows.length)).digest('hex').slice(0, 16)}.json`)
    : undefined;
  const cache = new Map<string, number>(cacheFile && existsSync(cacheFile) ? Object.entries(JSON.parse(readFileSync(cacheFile, 'utf8')) as Record<string, number>) : []);
  const saveCache = () => {
    if (cacheFile) writeFileSync(cacheFile, JSON.stringify(Object.fromEntries(cache)));
  };
  const inputs = graph.inputs.map((i) => i.name);
  const accuracy = (problem: IlpProblem, a: Assignment): number => {
    const key = a.map((c) => `${c.weightBits}${c.activationBits}`).join('');
    let acc = cache.get(key);
    if (acc === undefined) {
      cache.set(key, (acc = 100 * evaluator.accuracy(toPlan('model', problem, a, inputs))[output]));
    }
    return acc;
  };
  let counts: LayerInstructionCounts | undefined;
  if (kinds.includes('latency')) {
    const work = mkdtempSync(join(tmpdir(), 'tinym2-plan-vs-baselines-'));
    try {
      counts = await countLayerInstructions(graph, analyzeLayers(graph), calibration, o.board, h.calib.rows.slice(0, 1), {
        cacheDir: ensureCacheDir('latency'),
        workDir: work,
        onProgress: (s) => say(`${h.label}: ${s}`),
      });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  say(`${h.label}: sensitivity (${criterion}) on ${h.sens.rows.length} rows`);
  const sens = measureSensitivity(graph, h.calib, h.sens, criterion);
  const free = measureSensitivity(graph, h.calib, h.sens, 'trace-free');
  const others = (o.also ?? []).map((c) => {
    say(`${h.label}: sensitivity (${c}) on ${h.sens.rows.length} rows`);
    return measureSensitivity(graph, h.calib, h.sens, c);
  });
  const base = buildProblem(graph, sens, counts ? { instructionCounts: counts } : {}, true);
  // The search scores plans on the sensitivity rows, one evaluator for every budget (ops are shared).
  const sensEvaluator = o.search > 0 ? new PlanAccuracy(graph, calibration, h.sens) : undefined;
  const int8 = accuracy(base, uniformAssignment(base, 8));
  const int4 = accuracy(base, uniformAssignment(base, 4));
  const us = tiedUnits(base);
  const nan = NaN;
  const rows: BaselineRow[] = [];
  for (const kind of kinds) {
    const flashKind = kind === 'latency' ? 'flash' : kind;
    const lo = cost(base, uniformAssignment(base, 4), flashKind);
    const hi = cost(base, uniformAssignment(base, 8), flashKind);
    const saving = (u: number[]) => {
      const a4 = uniformAssignment(base, 8);
      for (const i of u) a4[i] = { weightBits: 4, activationBits: 4 };
      return cost(base, uniformAssignment(base, 8), flashKind) - cost(base, a4, flashKind);
    };
    const added = (u: number[]) => u.reduce((s, i) => s + base.layers[i].instructions![4] - base.layers[i].instructions![8], 0);
    // Latency rows: bytes saved per instruction added (a unit that is not slower at INT4 comes first).
    const largest = kind === 'latency'
      ? [...us].sort((a, b) => saving(b) * Math.max(added(a), 1) - saving(a) * Math.max(added(b), 1))
      : [...us].sort((a, b) => saving(b) - saving(a));
    const flashForLatency = Math.floor(lo + LATENCY_FLASH_FRACTION * (hi - lo));
    const fastest = kind === 'latency' ? fastestWithin(base, flashForLatency) : 0;
    const slowest = kind === 'latency' ? evaluateAssignment(base, uniformAssignment(base, 4)).instructions : 0;
    for (const fraction of FRACTIONS) {
      const budget = kind === 'latency' ? Math.floor(fastest + fraction * (slowest - fastest)) : Math.floor(lo + fraction * (hi - lo));
      const greedyBudget = kind === 'latency' ? flashForLatency : budget;
      const budgets: Budgets =
        kind === 'flash' ? { flashBytes: budget } : kind === 'bops' ? { bops: budget } : { flashBytes: flashForLatency, instructions: budget, instructionCounts: counts };
      const fits = (a: Assignment) => kind !== 'latency' || evaluateAssignment(base, a).instructions <= budget;
      const ilp = (s: typeof sens) => planFromSensitivity(graph, s, budgets, true, 'model');
      const plan = (s: typeof sens) => ilp(s).solve.assignment;
      const ilpDefault = ilp(sens);
      const ilpFree = ilp(free);
      let searched: { assignment: Assignment; evaluations: number; seconds: number } | undefined;
      if (sensEvaluator) {
        const r = refineByAccuracy(graph, h.calib, h.sens, [ilpDefault, ilpFree], { evaluations: o.search, seed: 1, evaluator: sensEvaluator });
        searched = { assignment: r.assignment, evaluations: r.report.evaluations, seconds: r.report.seconds };
      }
      const rand = mulberry32(1000 + Math.round(fraction * 100));
      const randomAcc: number[] = [];
      let randomBestPlan: Assignment | undefined;
      for (let k = 0; k < randomPlans * RANDOM_ATTEMPTS_PER_PLAN && randomAcc.length < randomPlans; k++) {
        const order = [...us];
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(rand() * (i + 1));
          [order[i], order[j]] = [order[j], order[i]];
        }
        const a = greedy(base, order, flashKind, greedyBudget);
        if (fits(a)) {
          const acc = accuracy(base, a);
          if (randomBestPlan === undefined || acc > accuracy(base, randomBestPlan)) randomBestPlan = a;
          randomAcc.push(acc);
        }
      }
      const rs = randomAcc.length ? stats(randomAcc) : { mean: nan, median: nan, std: nan, min: nan, max: nan };
      const lf = greedy(base, largest, flashKind, greedyBudget);
      // The oracle: the same search on the test rows, from the best of every plan in this row.
      let oracle: { accuracy: number; evaluations: number } | undefined;
      if (o.oracle > 0) {
        const bounded = ilpDefault.problem;
        const starts = [ilpDefault.solve.assignment, ilpFree.solve.assignment, searched?.assignment, fits(lf) ? lf : undefined, randomBestPlan, uniformAssignment(base, 8)]
          .filter((a): a is Assignment => a !== undefined && violations(bounded, a).length === 0);
        const r = searchPlans(bounded, starts, (a) => ({ value: accuracy(base, a) }), { evaluations: o.oracle, seed: 1 });
        oracle = { accuracy: r.score.value, evaluations: r.evaluations };
      }
      const defaultAcc = o.defaultSearch && searched ? accuracy(base, searched.assignment) : accuracy(base, ilpDefault.solve.assignment);
      const row: BaselineRow = {
        example: h.label,
        budgetKind: kind,
        budget,
        ...(kind === 'latency' ? { flashBudget: flashForLatency, board: o.board.name } : {}),
        fraction,
        int4Drop: int8 - int4,
        int8,
        int4,
        default: defaultAcc,
        traceFree: accuracy(base, ilpFree.solve.assignment),
        largestFirst: fits(lf) ? accuracy(base, lf) : nan,
        randomMean: rs.mean,
        randomMedian: rs.median,
        randomStd: rs.std,
        randomMin: rs.min,
        randomBest: rs.max,
        randomPlans: randomAcc.length,
        criterion,
        ...(searched ? { search: accuracy(base, searched.assignment), searchEvaluations: searched.evaluations, searchSeconds: searched.seconds } : {}),
        ...(o.defaultSearch && searched ? { defaultIsSearch: true } : {}),
        ...(oracle ? { oracle: oracle.accuracy, oracleEvaluations: oracle.evaluations } : {}),
        ...(others.length ? { others: Object.fromEntries(others.map((x) => [x.criterion, accuracy(base, plan(x))])) } : {}),
        rows: h.evaluation.rows.length,
      };
      if (row.oracle !== undefined) row.reachable = meetsGoal(row, row.oracle);
      row.goal = Object.fromEntries(plannerColumns([row]).map(([name, acc]) => [name, meetsGoal(row, acc(row)!)]));
      rows.push(row);
      saveCache();
      o.onRow?.(row);
      say(
        `  ${kind} ${budget} (${fraction * 100}%): default ${row.default.toFixed(2)}, search ${row.search?.toFixed(2) ?? '-'} (${searched?.evaluations ?? 0} plans, ${searched?.seconds.toFixed(1) ?? 0} s), oracle ${row.oracle?.toFixed(2) ?? '-'}, trace-free ${row.traceFree.toFixed(2)}, largest-first ${row.largestFirst.toFixed(2)}, ` +
          `random mean ${rs.mean.toFixed(2)} (median ${rs.median.toFixed(2)}, sd ${rs.std.toFixed(2)}, ${rs.min.toFixed(2)}..${rs.max.toFixed(2)}, ${randomAcc.length} plans); ${cache.size} plans, ${evaluator.stats.emulated} ops emulated, ${evaluator.stats.reused} reused`,
      );
    }
  }
  return rows;
}

/** Whether the row meets the issue's goal (only asked where INT4 costs a point or more). */
export function meetsGoal(r: BaselineRow, planned = r.default): boolean | null {
  if (r.int4Drop < 1) return null;
  // No baseline found a plan within the budget (tight latency rows): nothing to compare with.
  if (Number.isNaN(r.randomMean) && Number.isNaN(r.largestFirst)) return null;
  const d = planned;
  // A baseline that found no plan meeting the budget (latency rows) is not a bar to clear.
  return (Number.isNaN(r.randomMean) || d >= r.randomMean + 1) && (Number.isNaN(r.largestFirst) || d >= r.largestFirst);
}

type Column = [string, (r: BaselineRow) => number | undefined];

/** The planners the goal is asked of, in table order: default, search, --also criteria, trace-free. */
export function plannerColumns(rows: BaselineRow[]): Column[] {
  const extra = [...new Set(rows.flatMap((r) => Object.keys(r.others ?? {})))] as SensitivityCriterion[];
  return [
    ['default', (r) => r.default],
    ...(rows.some((r) => r.search !== undefined && !r.defaultIsSearch) ? [['search', (r: BaselineRow) => r.search] as Column] : []),
    ...extra.map((c): Column => [c, (r) => r.others?.[c]]),
    ['trace-free', (r) => r.traceFree],
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string', multiple: true },
      variants: { type: 'boolean' },
      board: { type: 'string' },
      out: { type: 'string' },
      'plan-cache': { type: 'string' },
      random: { type: 'string' },
      rows: { type: 'string' },
      kinds: { type: 'string' },
      sensitivity: { type: 'string' },
      also: { type: 'string' },
      search: { type: 'string' },
      oracle: { type: 'string' },
      'default-search': { type: 'boolean' },
      json: { type: 'boolean' },
      markdown: { type: 'boolean' },
      from: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  lowerPriority();
  const criterion = values.sensitivity ?? DEFAULT_CRITERION;
  if (!isCriterion(criterion)) throw new Error(`--sensitivity: unknown '${criterion}'`);
  const kinds = (values.kinds ?? BUDGET_KINDS.join(',')).split(',') as BudgetKind[];
  for (const k of kinds) if (!BUDGET_KINDS.includes(k)) throw new Error(`--kinds: unknown '${k}' (use ${BUDGET_KINDS.join(', ')})`);
  const root = resolve(join(import.meta.dirname, '..', 'examples'));
  const models = exampleModels(root, Boolean(values.variants) || Boolean(values.only?.some((o) => o.includes('/')))).filter((m) => !values.only || values.only.includes(m.label));
  const board = loadBoard(values.board ?? 'mps2-an386');
  const say = (s: string) => {
    process.stderr.write(`${s}\n`);
  };
  const rows: BaselineRow[] = values.from ? values.from.flatMap((f) => JSON.parse(readFileSync(f, 'utf8'), (_, v) => (v === null ? NaN : v)) as BaselineRow[]) : [];
  const save = () => {
    if (values.out) writeFileSync(values.out, `${JSON.stringify(rows, null, 2)}\n`);
  };
  for (const m of values.from ? [] : models) {
    await compareOne(loadHeldOut(m, values.rows ? Number(values.rows) : Infinity), {
      kinds,
      randomPlans: values.random ? Number(values.random) : 20,
      criterion,
      also: (values.also?.split(',') ?? []).map((c) => {
        if (!isCriterion(c)) throw new Error(`--also: unknown '${c}'`);
        return c;
      }),
      board,
      say,
      search: values.search !== undefined ? Number(values.search) : DEFAULT_SEARCH,
      oracle: values.oracle !== undefined ? Number(values.oracle) : DEFAULT_ORACLE,
      defaultSearch: Boolean(values['default-search']),
      planCache: values['plan-cache'] ? (mkdirSync(values['plan-cache'], { recursive: true }), values['plan-cache']) : undefined,
      onRow: (r) => {
        rows.push(r);
        save();
      },
    });
  }
  if (values.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  const extra = [...new Set(rows.flatMap((r) => Object.keys(r.others ?? {})))] as SensitivityCriterion[];
  const withSearch = rows.some((r) => r.search !== undefined && !r.defaultIsSearch);
  const withOracle = rows.some((r) => r.oracle !== undefined);
  const defaultName = (r: BaselineRow) => (r.defaultIsSearch ? `search on ${r.criterion}` : r.criterion);
  const header = [
    'example', 'budget', 'INT8 / INT4', `default (${[...new Set(rows.map(defaultName))].join(', ')})`, ...(withSearch ? ['search'] : []), ...extra,
    'trace-free', 'largest-first', 'random mean (median, sd)', 'random best', ...(withOracle ? ['oracle'] : []), 'goal',
  ];
  const f = (x: number) => x.toFixed(2);
  const table = rows.map((r) => {
    const goal = meetsGoal(r);
    const asked = goal === null ? (r.int4Drop < 1 ? 'INT4 < 1 pt' : 'no baseline fits') : goal ? 'met' : 'missed';
    return [
      `${r.example} (${r.rows} rows)`,
      r.budgetKind === 'latency' ? `instructions ${r.budget} (${r.fraction * 100}%) + flash ${r.flashBudget}` : `${r.budgetKind} ${r.budget} (${r.fraction * 100}%)`,
      `${f(r.int8)} / ${f(r.int4)}`,
      f(r.default),
      ...(withSearch ? [r.search === undefined ? '' : f(r.search)] : []),
      ...extra.map((c) => (r.others?.[c] === undefined ? '' : f(r.others[c]!))),
      f(r.traceFree),
      Number.isNaN(r.largestFirst) ? 'over budget' : f(r.largestFirst),
      r.randomPlans === 0 ? 'none fits' : `${f(r.randomMean)} (${f(r.randomMedian)}, ${f(r.randomStd)})${r.budgetKind === 'latency' ? ` [${r.randomPlans} plans]` : ''}`,
      r.randomPlans === 0 ? '-' : f(r.randomBest),
      ...(withOracle ? [r.oracle === undefined ? '' : f(r.oracle)] : []),
      goal === null || r.oracle === undefined ? asked : `${asked}${r.reachable ? '' : ' (unreachable)'}`,
    ];
  });
  // How often each planner meets the goal where it is asked (INT4 costs >= 1 point), and where any plan the oracle found could.
  const asked = rows.filter((r) => meetsGoal(r) !== null);
  const summary = [...new Set(asked.map((r) => r.example)), 'all'].flatMap((ex) => {
    const mine = asked.filter((r) => ex === 'all' || r.example === ex);
    return plannerColumns(rows).map(([name, acc]) => {
      const had = mine.filter((r) => acc(r) !== undefined);
      const met = had.filter((r) => meetsGoal(r, acc(r)!));
      const over = had.map((r) => acc(r)! - r.randomMean).filter((x) => !Number.isNaN(x));
      const mean = over.reduce((a, b) => a + b, 0) / Math.max(over.length, 1);
      const judged = had.filter((r) => r.oracle !== undefined);
      const reachable = judged.filter((r) => r.reachable);
      const reach = judged.length ? `, ${met.filter((r) => r.reachable).length} of the ${reachable.length} the oracle reaches` : '';
      return `${ex}, ${name}: goal met at ${met.length} of ${had.length} budgets where INT4 costs >= 1 point${reach}; ${mean >= 0 ? '+' : ''}${mean.toFixed(2)} points over the random mean on average`;
    });
  });
  // Every budget, whether INT4 costs a point or not: how far each planner is from the random plans and largest-first.
  for (const [name, acc] of plannerColumns(rows)) {
    const had = rows.filter((r) => acc(r) !== undefined);
    const over = had.map((r) => acc(r)! - r.randomMean).filter((x) => !Number.isNaN(x));
    const mean = over.reduce((a, b) => a + b, 0) / Math.max(over.length, 1);
    const vsLargest = had.filter((r) => !Number.isNaN(r.largestFirst));
    summary.push(
      `every budget (${had.length}), ${name}: ${mean >= 0 ? '+' : ''}${mean.toFixed(2)} points over the random mean on average; ` +
        `not below largest-first at ${vsLargest.filter((r) => acc(r)! >= r.largestFirst).length} of ${vsLargest.length}`,
    );
  }
  if (values.markdown) {
    console.log(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
    for (const r of table) console.log(`| ${r.join(' | ')} |`);
    console.log('');
    for (const line of summary) console.log(`- ${line}`);
  } else {
    console.log(header.join('\t'));
    for (const r of table) console.log(r.join('\t'));
    for (const line of summary) console.log(line);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
