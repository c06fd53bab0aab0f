// Does a sensitivity criterion predict accuracy? For every example model, each criterion ranks the
// weighted layers (measured on held-out rows, benchmarks/held-out.ts), and the ground truth ranks them
// by the measured top-1 drop of quantizing that layer alone to INT4 (every other layer INT8) on other
// held-out rows. Prints Spearman's rank correlation per example and criterion; the best one is the
// planner's default (compiler/sensitivity/criteria.ts, DEFAULT_CRITERION).
//
//   nice npx tsx benchmarks/sensitivity-rank.ts [--only NAME ...] [--variants] [--criteria kl,hessian,...]
//        [--rows N] [--json | --markdown]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { measureSensitivity } from '../compiler/ilp/planner.ts';
import { CRITERION_NAMES, isCriterion, type SensitivityCriterion } from '../compiler/sensitivity/criteria.ts';
import { empiricalSensitivity } from '../compiler/sensitivity/empirical.ts';
import { analyzeLayers } from '../compiler/ilp/from-graph.ts';
import { calibrateOnSet } from '../compiler/quant/evaluate.ts';
import { exampleModels } from './example-models.ts';
import { loadHeldOut } from './held-out.ts';
import { lowerPriority } from './low-priority.ts';

const HELP = `usage: npx tsx benchmarks/sensitivity-rank.ts [--only NAME ...] [--variants] [--criteria LIST] [--rows N] [--json | --markdown]

  --only NAME     an example or variant (kws-fsdd, av-digits/audio_only); repeat for more (default: every main model)
  --variants      also every variant of each example
  --criteria LIST comma-separated (default: ${CRITERION_NAMES.filter((c) => c !== 'gauss-newton' && c !== 'hutchinson').join(',')}; 'hessian' is
                  Gauss-Newton where exact, else Hutchinson)
  --rows N        at most N sensitivity rows and N accuracy rows (default: all held-out rows)
  --json          one row per example and criterion
  --markdown      the table as markdown
  --from FILE     print the table of earlier --json runs (repeat) instead of measuring`;

/** Ranks 1..n, ties sharing their average rank. */
export function ranks(x: number[]): number[] {
  const order = x.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(x.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    for (let k = i; k <= j; k++) r[order[k][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

/** Spearman's rho: Pearson correlation of the (tie-averaged) ranks; NaN when either side is constant. */
export function spearman(a: number[], b: number[]): number {
  const ra = ranks(a), rb = ranks(b);
  const n = a.length;
  const ma = ra.reduce((s, v) => s + v, 0) / n, mb = rb.reduce((s, v) => s + v, 0) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) ** 2;
    sbb += (rb[i] - mb) ** 2;
  }
  return saa === 0 || sbb === 0 ? NaN : sab / Math.sqrt(saa * sbb);
}

export interface RankRow {
  example: string;
  criterion: SensitivityCriterion;
  layers: number;
  spearman: number;
  sensitivityRows: number;
  accuracyRows: number;
  seconds: number;
  /** Per layer: the criterion's value and the measured top-1 drop (points). */
  perLayer: Array<{ name: string; value: number; stdErr: number; accuracyDrop: number }>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string', multiple: true },
      variants: { type: 'boolean' },
      criteria: { type: 'string' },
      rows: { type: 'string' },
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
  const criteria = values.from && !values.criteria ? [...new Set(values.from.flatMap((f) => (JSON.parse(readFileSync(f, 'utf8')) as RankRow[]).map((r) => r.criterion)))] : (values.criteria ?? CRITERION_NAMES.filter((c) => c !== 'gauss-newton' && c !== 'hutchinson').join(',')).split(',');
  for (const c of criteria) if (!isCriterion(c)) throw new Error(`--criteria: unknown '${c}' (use ${CRITERION_NAMES.join(', ')})`);
  const maxRows = values.rows ? Number(values.rows) : Infinity;
  const root = resolve(join(import.meta.dirname, '..', 'examples'));
  const models = exampleModels(root, Boolean(values.variants) || Boolean(values.only?.some((o) => o.includes('/'))))
    .filter((m) => !values.only || values.only.includes(m.label));
  const out: RankRow[] = values.from ? values.from.flatMap((f) => JSON.parse(readFileSync(f, 'utf8')) as RankRow[]) : [];
  for (const m of values.from ? [] : models) {
    const h = loadHeldOut(m, maxRows);
    const layers = analyzeLayers(h.graph);
    const say = (s: string) => {
      process.stderr.write(`${s}\n`);
    };
    say(`${m.label}: ground truth, ${layers.length} layers one at a time on ${h.evaluation.rows.length} rows`);
    const truth = empiricalSensitivity(h.graph, layers, calibrateOnSet(h.graph, h.calib), h.evaluation);
    const drops = truth.layers.map((l) => 100 * l.weights.accuracyDrop.mean);
    for (const c of criteria as SensitivityCriterion[]) {
      const t0 = performance.now();
      const sens = measureSensitivity(h.graph, h.calib, h.sens, c);
      const seconds = (performance.now() - t0) / 1000;
      const vals = sens.estimates.map((e) => e.value);
      const row: RankRow = {
        example: m.label,
        criterion: c,
        layers: layers.length,
        spearman: spearman(vals, drops),
        sensitivityRows: h.sens.rows.length,
        accuracyRows: h.evaluation.rows.length,
        seconds,
        perLayer: layers.map((l, i) => ({ name: l.name, value: vals[i], stdErr: sens.estimates[i].stdErr, accuracyDrop: drops[i] })),
      };
      out.push(row);
      say(`  ${c}: Spearman ${row.spearman.toFixed(2)} (${seconds.toFixed(1)} s; ${sens.method})`);
    }
  }
  if (values.json) {
    console.log(JSON.stringify(out, null, 2));
    return;
  }
  const examples = [...new Set(out.map((r) => r.example))];
  const cell = (e: string, c: string) => {
    const r = out.find((x) => x.example === e && x.criterion === c);
    return r ? (Number.isNaN(r.spearman) ? 'n/a' : r.spearman.toFixed(2)) : '';
  };
  const mean = (c: string) => {
    const v = out.filter((r) => r.criterion === c && !Number.isNaN(r.spearman)).map((r) => r.spearman);
    return v.length ? (v.reduce((a, b) => a + b, 0) / v.length).toFixed(2) : 'n/a';
  };
  const header = ['example', 'layers', 'rows (sens / acc)', ...criteria];
  const rows = examples.map((e) => {
    const r = out.find((x) => x.example === e)!;
    return [e, String(r.layers), `${r.sensitivityRows} / ${r.accuracyRows}`, ...criteria.map((c) => cell(e, c))];
  });
  rows.push(['mean', '', '', ...criteria.map(mean)]);
  if (values.markdown) {
    console.log(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  } else {
    console.log(header.join('\t'));
    for (const r of rows) console.log(r.join('\t'));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
