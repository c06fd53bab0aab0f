// Fuzzing campaign over ONNX models, .npz data sets and JSON configs (test/fuzz/): runs cases in a
// worker thread for N minutes, stops a case that runs longer than the hang limit (and restarts the
// worker), and prints cases run, refusals, crashes, hangs and the process's peak memory. Every crash
// or hang is written to --out as an input file that test/fuzz.test.ts can replay (copy it into
// test/fuzz-regressions/ once fixed).
//
//   nice npx tsx benchmarks/fuzz.ts --minutes 10 [--seed 1] [--target onnx|all] [--hang-seconds 10] [--out fuzz-out] [--json]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { makeCase, regressionFileName, type TargetName } from '../test/fuzz/targets.ts';
import type { WorkerMessage, WorkerRequest } from '../test/fuzz/worker.ts';

const { values: v } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    seed: { type: 'string', default: '1' },
    target: { type: 'string', default: 'onnx' },
    'hang-seconds': { type: 'string', default: '10' },
    'heap-mb': { type: 'string', default: '2048' },
    out: { type: 'string', default: 'fuzz-out' },
    json: { type: 'boolean', default: false },
  },
});
const minutes = Number(v.minutes), seed = Number(v.seed), hangMs = Number(v['hang-seconds']) * 1000;
const mix: Partial<Record<TargetName, number>> =
  v.target === 'all' ? { onnx: 6, npz: 2, plan: 1, fusion: 1, board: 1 } : { [v.target as TargetName]: 1 };
const deadline = Date.now() + minutes * 60_000;
const BATCH = 200;

const stats = { cases: 0, ok: 0, refused: 0, crashes: 0, hangs: 0, peakRssMB: 0, slowestMs: 0, maxInputBytes: 0, seconds: 0 };
const distinct = new Map<string, { count: number; file: string }>();
let next = 0;
let current: { index: number; since: number } | undefined;
let worker: Worker;

function keep(index: number, why: string): string {
  mkdirSync(v.out!, { recursive: true });
  const c = makeCase(seed, index, mix);
  const file = join(v.out!, regressionFileName(c, `s${seed}-i${index}`));
  writeFileSync(file, c.bytes);
  writeFileSync(`${file}.txt`, `${why}\n`);
  return file;
}

function record(key: string, index: number, why: string): void {
  const d = distinct.get(key);
  if (d) d.count++;
  else distinct.set(key, { count: 1, file: keep(index, why) });
}

function startWorker(): void {
  worker = new Worker(new URL('../test/fuzz/worker-entry.mjs', import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: Number(v['heap-mb']) } });
  worker.on('message', (m: WorkerMessage) => {
    if (m.type === 'start') {
      current = { index: m.index, since: Date.now() };
      stats.maxInputBytes = Math.max(stats.maxInputBytes, m.bytes);
      return;
    }
    current = undefined;
    stats.cases++;
    stats.slowestMs = Math.max(stats.slowestMs, m.ms);
    if (m.kind === 'crash') {
      stats.crashes++;
      const lines = (m.error ?? '').split('\n');
      record(`${lines[0]} @ ${lines.find((l) => l.includes(' at '))?.trim() ?? ''}`, m.index, m.error ?? '');
    } else stats[m.kind]++;
    if (m.index === next - 1) dispatch();
  });
  worker.on('error', (e) => {
    // Out of memory or a fatal error in the thread: a crash of the case it was running.
    if (current) {
      stats.cases++;
      stats.crashes++;
      record(`worker error: ${e.message}`, current.index, String(e.stack ?? e));
      current = undefined;
    }
  });
  worker.on('exit', () => {
    if (Date.now() < deadline) {
      startWorker();
      dispatch();
    } else void finish();
  });
}

function dispatch(): void {
  if (Date.now() >= deadline) {
    void worker.terminate();
    return;
  }
  const req: WorkerRequest = { seed, from: next, to: next + BATCH, mix };
  next += BATCH;
  worker.postMessage(req);
}

const t0 = Date.now();
let lastPrint = 0;
const timer = setInterval(() => {
  stats.peakRssMB = Math.max(stats.peakRssMB, Math.round(process.memoryUsage().rss / 2 ** 20));
  if (current && Date.now() - current.since > hangMs) {
    stats.cases++;
    stats.hangs++;
    suspects.push(current.index);
    next = current.index + 1; // skip the rest of the batch's order: resume after the hung case
    current = undefined;
    void worker.terminate();
  }
  if (!v.json && Date.now() - lastPrint > 10_000) {
    lastPrint = Date.now();
    process.stderr.write(`\r${((Date.now() - t0) / 1000).toFixed(0)} s: ${stats.cases} cases, ${stats.refused} refused, ${stats.crashes} crashes, ${stats.hangs} hangs, peak ${stats.peakRssMB} MB   `);
  }
}, 100);

/**
 * A case that ran past the limit during the campaign may only have been starved of CPU (the campaign
 * runs niced on shared machines): each one is run again alone in a fresh worker, and counts as a
 * hang only if it still gives no result within the limit.
 */
const suspects: number[] = [];
function recheck(index: number): Promise<WorkerMessage & { type: 'done' } | 'hang'> {
  return new Promise((done) => {
    const w = new Worker(new URL('../test/fuzz/worker-entry.mjs', import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: Number(v['heap-mb']) } });
    let started = 0;
    const timer = setInterval(() => {
      if (started && Date.now() - started > hangMs) { clearInterval(timer); void w.terminate(); done('hang'); }
    }, 100);
    w.on('message', (m: WorkerMessage) => {
      if (m.type === 'start') started = Date.now();
      else { clearInterval(timer); void w.terminate(); done(m); }
    });
    w.on('error', (e) => { clearInterval(timer); done({ type: 'done', index, kind: 'crash', ms: 0, error: `worker error: ${e.message}` }); });
    w.postMessage({ seed, from: index, to: index + 1, mix } satisfies WorkerRequest);
  });
}

let finished = false;
async function finish(): Promise<void> {
  if (finished) return;
  finished = true;
  clearInterval(timer);
  stats.cases += suspects.length;
  for (const index of suspects) {
    const r = await recheck(index);
    if (r === 'hang') {
      stats.hangs++;
      record(`hang in case ${index}`, index, `no result after ${hangMs / 1000} s, run alone`);
    } else if (r.kind === 'crash') {
      stats.crashes++;
      record((r.error ?? '').split('\n')[0], index, r.error ?? '');
    } else stats[r.kind]++;
  }
  stats.seconds = Math.round((Date.now() - t0) / 1000);
  const report = { seed, target: v.target, ...stats, slowRechecked: suspects.length, slowestMs: Math.round(stats.slowestMs), distinctCrashes: [...distinct].map(([k, d]) => ({ what: k, count: d.count, file: d.file })) };
  if (v.json) console.log(JSON.stringify(report, null, 2));
  else {
    process.stderr.write('\n');
    console.log(`fuzz ${v.target} seed ${seed}: ${stats.cases} cases in ${stats.seconds} s (${stats.ok} compiled, ${stats.refused} refused), ${stats.crashes} crashes, ${stats.hangs} hangs over ${hangMs / 1000} s (${suspects.length} slow during the campaign, rechecked alone)`);
    console.log(`peak memory ${stats.peakRssMB} MB (process RSS), slowest case ${Math.round(stats.slowestMs)} ms, largest input ${stats.maxInputBytes} bytes`);
    for (const [k, d] of distinct) console.log(`  ${d.count} x ${k.slice(0, 200)}\n    input: ${d.file}`);
  }
  process.exit(stats.crashes + stats.hangs > 0 ? 1 : 0);
}

startWorker();
dispatch();
