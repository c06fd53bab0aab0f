// Startup time of the `tinym2` command as the installed package runs it (compiled JavaScript in dist/),
// against `node -e 0` measured in the same run, and the development path (sources through tsx) beside it.
// Targets (issue 13): `--help` under 2x `node -e 0`; `inspect` of av-digits under 0.5 s.
//   npm run build && nice npx tsx benchmarks/startup-bench.ts [--runs N] [--json]
// Wall-clock seconds per run; the rows alternate between commands so that load on the machine hits all alike.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../compiler/target/paths.ts';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 10;
const json = process.argv.includes('--json');
const BIN = join(REPO_ROOT, 'bin', 'tinym2.js');
const MODEL = join(REPO_ROOT, 'examples', 'av-digits', 'model.onnx');

if (!existsSync(join(REPO_ROOT, 'dist', 'cli.js'))) {
  console.error("startup-bench: dist/ is missing: run 'npm run build' first");
  process.exit(2);
}

interface Case {
  name: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}
const dist = { ...process.env, TINYM2_USE_DIST: '1' };
const dev = { ...process.env, TINYM2_USE_DIST: '0' };
const cases: Case[] = [
  { name: 'node -e 0', args: ['-e', '0'], env: process.env },
  { name: 'tinym2 --help (dist)', args: [BIN, '--help'], env: dist },
  { name: 'tinym2 inspect av-digits (dist)', args: [BIN, 'inspect', MODEL], env: dist },
  { name: 'tinym2 --help (sources via tsx)', args: [BIN, '--help'], env: dev },
  { name: 'tinym2 inspect av-digits (sources via tsx)', args: [BIN, 'inspect', MODEL], env: dev },
];

const seconds = new Map<string, number[]>(cases.map((c) => [c.name, []]));
for (let run = 0; run < RUNS; run++) {
  for (const c of cases) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, c.args, { env: c.env, stdio: ['ignore', 'ignore', 'pipe'] });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) {
      console.error(`startup-bench: ${c.name} exited ${r.status}: ${r.stderr}`);
      process.exit(1);
    }
    seconds.get(c.name)!.push(s);
  }
}

function stats(xs: number[]): { mean: number; median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { mean: xs.reduce((a, b) => a + b, 0) / xs.length, median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min: s[0], max: s[s.length - 1] };
}

const rows = cases.map((c) => ({ name: c.name, ...stats(seconds.get(c.name)!) }));
const base = rows[0].median;
const help = rows[1].median;
const inspect = rows[2].median;
const targets = {
  helpOverNode: help / base,
  helpUnder2x: help < 2 * base,
  inspectSeconds: inspect,
  inspectUnderHalfSecond: inspect < 0.5,
};
if (json) {
  console.log(JSON.stringify({ runs: RUNS, rows, targets }, null, 2));
} else {
  console.log(`startup, ${RUNS} runs each, wall seconds (median / mean / min-max):`);
  for (const r of rows) console.log(`  ${r.name.padEnd(44)} ${r.median.toFixed(3)} / ${r.mean.toFixed(3)} / ${r.min.toFixed(3)}-${r.max.toFixed(3)}  (${(r.median / base).toFixed(2)}x node -e 0)`);
  console.log(`target --help < 2x node -e 0: ${targets.helpUnder2x ? 'met' : 'NOT met'} (${targets.helpOverNode.toFixed(2)}x)`);
  console.log(`target inspect av-digits < 0.5 s: ${targets.inspectUnderHalfSecond ? 'met' : 'NOT met'} (${inspect.toFixed(3)} s)`);
}
