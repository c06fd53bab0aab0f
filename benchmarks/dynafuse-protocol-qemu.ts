// The DynaFuse paper protocol on the device (mps2-an386 under QEMU): batches of windows drawn with replacement
// from the held-out dsa-har rows (or --example av-digits), one noise sigma per modality per batch from U[0, 2) (in each channel's
// calibration std), one demand per batch (50 % high accuracy / 30 % nominal / 20 % energy saving, seeded order).
// The rows, sigmas and demands are drawn exactly as benchmarks/dynafuse-bench.ts draws them (same mulberry32
// stream); the noise itself comes from device.ts's makeWindows (seeded per batch). Windows are quantized on the
// host and baked into firmware images, one image per batch (300 windows = ~1.9 MB of the 4 MB flash), each
// running compiler/dynafuse/device.ts's firmware: noise estimate -> decide -> run_heads(mask) -> fuse, and the two
// static baselines (the fused head over all branches; the paper's static intrinsic weights: every head, fixed
// weights = noise-free accuracies), every step in its own QEMU count region. Every window's device output must
// equal the TS twin + integer emulator (exit 1 otherwise). The host side of a batch is computed while its
// firmware builds and runs (the build and QEMU are child processes). Per-batch gains over each baseline are
// reported as max / median / mean and batches won; with several --seeds, mean and spread across seeds.
// The all-selected rule is the fusion config's (`allSelected`, default the paper's); --all-selected overrides it.
//
//   nice npx tsx benchmarks/dynafuse-protocol-qemu.ts [--example dsa-har|av-digits] [--batches 40] [--windows 300] [--seeds 1]
//        [--all-selected dynamic-weights|fused-head] [--json FILE]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { batchGainStats, loadDynaFuseSetup, MODEL_OPTIONS, protocolModes, spread } from './dynafuse-setup.ts';
import { compareWithHost, hostResults, makeWindows, runOnDevice, summarize, type DeviceWindow, type WindowInstructions, type WindowResult } from '../compiler/dynafuse/device.ts';
import { measureOpInstructions } from '../compiler/dynafuse/measure.ts';
import { profileDynaFuse, type DynaFuseProfile } from '../compiler/dynafuse/profile.ts';
import * as df from '../compiler/dynafuse/runtime.ts';
import { type DataSet } from '../compiler/quant/evaluate.ts';
import { mulberry32 } from '../compiler/random.ts';

const { values: opt } = parseArgs({
  options: {
    batches: { type: 'string', default: '40' }, windows: { type: 'string', default: '300' }, seeds: { type: 'string', default: '1' },
    'all-selected': { type: 'string' }, json: { type: 'string' },
    ...MODEL_OPTIONS,
  },
});
const BATCHES = Number(opt.batches), WINDOWS = Number(opt.windows), SEEDS = opt.seeds.split(',').map(Number);
const MAX_SIGMA = 2;
const setup = loadDynaFuseSetup(opt);
const { DATA_NAME, graph, calib, test, board, q, eInstr } = setup;
const rule = (opt['all-selected'] ?? setup.config.allSelected) as df.AllSelectedRule;
if (!df.ALL_SELECTED_RULES.includes(rule)) throw new Error(`--all-selected ${rule}: one of ${df.ALL_SELECTED_RULES.join(', ')}`);
const config = { ...setup.config, allSelected: rule };
const started = Date.now();
const secs = () => ((Date.now() - started) / 1000).toFixed(0);
const labels = test.labels.get('labels');
if (!labels) throw new Error(`${test.file} has no 'labels'`);

// The protocol's draws, in the order dynafuse-bench.ts makes them: demand order (shuffle), then per batch the
// sigmas and the rows.
function protocolPlan(SEED: number) {
const uniform = mulberry32(SEED);
const modes = protocolModes(BATCHES, uniform);
const plan = modes.map((mode) => {
  const sigmas = config.modalities.map(() => MAX_SIGMA * uniform());
  const rows = Array.from({ length: WINDOWS }, () => Math.floor(uniform() * test.rows.length));
  return { mode, sigmas, rows };
});
return plan;
}

/** The batch's rows as a data set of its own (makeWindows takes every row of it once, in order). */
function batchData(rows: number[]): DataSet {
  return { file: test.file, rows: rows.map((r) => test.rows[r]), labels: new Map([['labels', Int32Array.from(rows, (r) => labels![r])]]) };
}

interface BatchRow {
  batch: number;
  mode: string;
  sigmas: number[];
  windows: number;
  branches: number;
  accuracy: number;
  staticAccuracy: number;
  staticWeightsAccuracy: number;
  computeJ: number;
  staticComputeJ: number;
  totalAllSensorsJ: number;
  totalSelectedSensorsJ: number;
  staticTotalJ: number;
  instructions: number;
  staticInstructions: number;
  staticWeightsInstructions: number;
  mismatches: number;
  flashBytes: number;
  buildSeconds: number;
  qemuSeconds: number;
}

/** Per-batch gains (points) of DynaFuse over a baseline: max (with its batch and demand), median, mean, min, batches won / lost. */
function batchGains(rows: BatchRow[], baseline: (r: BatchRow) => number) {
  const stats = batchGainStats(rows.map((r) => 100 * (r.accuracy - baseline(r))));
  return { ...stats, maxDemand: rows[stats.maxBatch - 1].mode };
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** One seed's figures: overall and per demand, the estimator's error, per-batch gains over both baselines. */
function seedSummary(SEED: number, profile: DynaFuseProfile, rows: BatchRow[], allWindows: DeviceWindow[], allResults: WindowResult[], allInstr: WindowInstructions[]) {
  const overall = summarize(profile, allWindows, allResults, allInstr, eInstr);
  const byMode = Object.fromEntries(df.MODES.map((m, i) => [m, summarize(profile, allWindows, allResults, allInstr, eInstr, i)]));
  // How well the on-device noise estimate tracks the injected sigma, per modality (in channel stds).
  const estimatorError = config.modalities.map((m, i) => {
    const err = allWindows.map((w, k) => allResults[k].sigmaQ12[i] / 4096 - w.sigmas[i]);
    return { modality: m.name, meanAbs: mean(err.map(Math.abs)), mean: mean(err) };
  });
  return {
    seed: SEED, batches: rows, overall, byMode, estimatorError,
    gainsVsStaticWeights: batchGains(rows, (r) => r.staticWeightsAccuracy), gainsVsFusedHead: batchGains(rows, (r) => r.staticAccuracy),
    meanComputeSavingPerBatch: mean(rows.map((r) => 1 - r.computeJ / r.staticComputeJ)),
    countedInstructions: { dynafuse: rows.reduce((a, r) => a + r.instructions, 0), staticFusedHead: rows.reduce((a, r) => a + r.staticInstructions, 0), staticWeights: rows.reduce((a, r) => a + r.staticWeightsInstructions, 0) },
  };
}

const work = mkdtempSync(join(tmpdir(), 'tm2-dynafuse-protocol-'));
let exitCode = 0;
try {
  // The tables as `tinym2 dynafuse` makes them: branch energies from the QEMU per-op profile, all calibration rows.
  const perOp = (await measureOpInstructions(q, calib.rows.slice(0, 2), board, join(work, 'ops'))).perOp;
  const profile = profileDynaFuse(graph, q, calib, config, { board, instructions: { perOp, instructionsPerMac: 0, basis: 'measured: QEMU per-op profile' } });
  console.error(`tables ready (${secs()} s, all-selected rule: ${rule}); seeds ${SEEDS.join(', ')} x ${BATCHES} batches x ${WINDOWS} windows, one firmware per batch`);

  const perSeed: Array<ReturnType<typeof seedSummary>> = [];
  const differences: string[] = [];
  for (const SEED of SEEDS) {
    const plan = protocolPlan(SEED);
    const allWindows: DeviceWindow[] = [];
    const allResults: WindowResult[] = [];
    const allInstr: WindowInstructions[] = [];
    const rows: BatchRow[] = [];
    for (let b = 0; b < BATCHES; b++) {
      const p = plan[b];
      const windows = makeWindows(q, profile, batchData(p.rows), { count: WINDOWS, seed: SEED * 1000 + b, sigmas: p.sigmas, modes: [p.mode] });
      windows.forEach((w, i) => (w.row = p.rows[i])); // the held-out row, not the index in the batch's resample
      const dir = join(work, `seed${SEED}-batch${b}`);
      const device = runOnDevice(q, profile, windows, board, dir);
      const host = hostResults(q, profile, windows); // synchronous: overlaps the build and QEMU run
      const run = await device;
      rmSync(dir, { recursive: true, force: true });
      const diffs = compareWithHost(run.results, host);
      differences.push(...diffs.map((d) => `seed ${SEED} batch ${b + 1} ${d}`));
      const s = summarize(profile, windows, run.results, run.instructions, eInstr);
      const sum = (f: (x: WindowInstructions) => number) => run.instructions.reduce((a, x) => a + f(x), 0);
      rows.push({
        batch: b + 1, mode: df.MODES[p.mode], sigmas: p.sigmas, windows: windows.length, branches: s.branches, accuracy: s.accuracy, staticAccuracy: s.staticAccuracy,
        staticWeightsAccuracy: s.staticWeightsAccuracy, computeJ: s.computeJ, staticComputeJ: s.staticComputeJ, totalAllSensorsJ: s.totalAllSensorsJ,
        totalSelectedSensorsJ: s.totalSelectedSensorsJ, staticTotalJ: s.staticTotalJ, instructions: sum((x) => x.decision + x.inference + x.fuse),
        staticInstructions: sum((x) => x.staticFusion), staticWeightsInstructions: sum((x) => x.staticWeights),
        mismatches: diffs.length, flashBytes: run.flashBytes, buildSeconds: run.buildSeconds, qemuSeconds: run.runSeconds,
      });
      allWindows.push(...windows);
      allResults.push(...run.results);
      allInstr.push(...run.instructions);
      console.error(`seed ${SEED} batch ${b + 1}/${BATCHES} ${df.MODES[p.mode]}: DynaFuse ${(100 * s.accuracy).toFixed(1)} % vs static fused head ${(100 * s.staticAccuracy).toFixed(1)} %, ` +
        `static weights ${(100 * s.staticWeightsAccuracy).toFixed(1)} %, ${diffs.length} mismatches, flash ${(run.flashBytes / 1e6).toFixed(2)} MB, ` +
        `build ${run.buildSeconds.toFixed(1)} s, QEMU ${run.runSeconds.toFixed(1)} s (${secs()} s)`);
    }
    perSeed.push(seedSummary(SEED, profile, rows, allWindows, allResults, allInstr));
  }
  const across = (f: (s: (typeof perSeed)[number]) => number) => spread(perSeed.map(f));
  const acrossSeeds = {
    accuracy: { dynafuse: across((s) => 100 * s.overall.accuracy), staticWeights: across((s) => 100 * s.overall.staticWeightsAccuracy), staticFusedHead: across((s) => 100 * s.overall.staticAccuracy) },
    byMode: Object.fromEntries(df.MODES.map((m) => [m, {
      dynafuse: across((s) => 100 * s.byMode[m].accuracy), staticWeights: across((s) => 100 * s.byMode[m].staticWeightsAccuracy),
      staticFusedHead: across((s) => 100 * s.byMode[m].staticAccuracy), branches: across((s) => s.byMode[m].branches),
      computeUJ: across((s) => 1e6 * s.byMode[m].computeJ), staticComputeUJ: across((s) => 1e6 * s.byMode[m].staticComputeJ),
    }])),
    gains: Object.fromEntries((['gainsVsStaticWeights', 'gainsVsFusedHead'] as const).map((k) => [k, {
      max: across((s) => s[k].max), median: across((s) => s[k].median), mean: across((s) => s[k].mean), won: across((s) => s[k].won), lost: across((s) => s[k].lost),
    }])),
    computeSaving: across((s) => 100 * (1 - s.overall.computeJ / s.overall.staticComputeJ)),
  };
  const report = {
    protocol: { batches: BATCHES, windowsPerBatch: WINDOWS, seeds: SEEDS, sigma: `U[0,${MAX_SIGMA}) per modality per batch`, demands: '50% high-accuracy, 30% nominal, 20% energy-saving', data: test.file, allSelectedRule: rule },
    board: board.name, energyPerInstructionJ: eInstr, bitExact: differences.length === 0, mismatches: differences.length, differences: differences.slice(0, 20),
    perSeed, acrossSeeds, seconds: (Date.now() - started) / 1000,
  };
  if (opt.json) writeFileSync(opt.json, JSON.stringify(report, null, 2) + '\n');

  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const uj = (j: number) => (j * 1e6).toFixed(1);
  const mj = (j: number) => `${(j * 1e3).toFixed(2)} mJ`;
  const ms = (x: ReturnType<typeof spread>, d = 1) => (SEEDS.length > 1 ? `${x.mean.toFixed(d)} (${x.min.toFixed(d)}..${x.max.toFixed(d)})` : x.mean.toFixed(d));
  console.log(`DynaFuse paper protocol on ${board.name} under QEMU: ${BATCHES} batches x ${WINDOWS} windows (held-out ${DATA_NAME} rows with replacement), ` +
    `sigma ~ U[0, ${MAX_SIGMA}) per modality per batch, seeds ${SEEDS.join(', ')}; all-selected rule: ${rule}`);
  console.log(`device vs TS twin + emulator: ${differences.length === 0 ? `bit-exact on every field of all ${SEEDS.length * BATCHES * WINDOWS} windows` : `${differences.length} differences:\n  ${differences.slice(0, 10).join('\n  ')}`}\n`);
  if (SEEDS.length === 1) {
    const rows = perSeed[0].batches;
    console.log('| batch | demand | sigma per modality | branches | top-1 DynaFuse | static weights | static fused head | compute DynaFuse / fused head (uJ/window) | saving |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const r of rows)
      console.log(`| ${r.batch} | ${r.mode} | ${r.sigmas.map((x) => x.toFixed(2)).join(' ')} | ${r.branches.toFixed(2)} | ${pct(r.accuracy)} | ${pct(r.staticWeightsAccuracy)} | ` +
        `${pct(r.staticAccuracy)} | ${uj(r.computeJ)} / ${uj(r.staticComputeJ)} | ${pct(1 - r.computeJ / r.staticComputeJ)} |`);
    console.log('\n| demand | batches | windows | branches | top-1 DynaFuse | top-1 static weights | top-1 static fused head | compute DynaFuse / fused head | total, all sensors sampled | total, skipped sensors off | static total |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const [name, s] of [...Object.entries(perSeed[0].byMode), ['all', perSeed[0].overall] as const]) {
      if (s.windows === 0) continue;
      const nb = name === 'all' ? rows.length : rows.filter((r) => r.mode === name).length;
      console.log(`| ${name} | ${nb} | ${s.windows} | ${s.branches.toFixed(2)} | ${pct(s.accuracy)} | ${pct(s.staticWeightsAccuracy)} | ${pct(s.staticAccuracy)} | ${uj(s.computeJ)} / ${uj(s.staticComputeJ)} uJ | ` +
        `${mj(s.totalAllSensorsJ)} | ${mj(s.totalSelectedSensorsJ)} | ${mj(s.staticTotalJ)} |`);
    }
  } else {
    console.log('| demand | branches | top-1 DynaFuse | top-1 static intrinsic weights | top-1 static fused head | compute DynaFuse / fused head (uJ/window) |');
    console.log('|---|---|---|---|---|---|');
    for (const [name, a] of Object.entries(acrossSeeds.byMode))
      console.log(`| ${name} | ${ms(a.branches, 2)} | ${ms(a.dynafuse)} % | ${ms(a.staticWeights)} % | ${ms(a.staticFusedHead)} % | ${ms(a.computeUJ)} / ${ms(a.staticComputeUJ)} |`);
    console.log(`| all | | ${ms(acrossSeeds.accuracy.dynafuse)} % | ${ms(acrossSeeds.accuracy.staticWeights)} % | ${ms(acrossSeeds.accuracy.staticFusedHead)} % | saving ${ms(acrossSeeds.computeSaving)} % |`);
  }
  console.log(`\nper-batch top-1 gain of DynaFuse, points${SEEDS.length > 1 ? ' (mean over seeds, min..max)' : ''}:`);
  console.log('| vs | max | median | mean | batches won | batches lost |');
  console.log('|---|---|---|---|---|---|');
  for (const [k, label] of [['gainsVsStaticWeights', 'static intrinsic weights'], ['gainsVsFusedHead', 'static fused head']] as const) {
    const g = acrossSeeds.gains[k];
    console.log(`| ${label} | ${ms(g.max)} | ${ms(g.median)} | ${ms(g.mean)} | ${ms(g.won)} of ${BATCHES} | ${ms(g.lost)} |`);
  }
  const last = perSeed[perSeed.length - 1];
  console.log(`\ncounted instructions per window (seed ${last.seed}): DynaFuse ${(last.countedInstructions.dynafuse / (BATCHES * WINDOWS) / 1e3).toFixed(1)} k ` +
    `(${(last.overall.decisionInstructions / 1e3).toFixed(1)} k routine, ${(last.overall.inferenceInstructions / 1e3).toFixed(1)} k inference, ${(last.overall.fuseInstructions / 1e3).toFixed(1)} k fuse), ` +
    `static fused head ${(last.overall.staticInstructions / 1e3).toFixed(1)} k, static intrinsic weights ${(last.overall.staticWeightsInstructions / 1e3).toFixed(1)} k (window copy not included)`);
  console.log(`on-device noise estimate vs injected sigma (channel stds, seed ${last.seed}): ${last.estimatorError.map((e) => `${e.modality} mean |error| ${e.meanAbs.toFixed(3)}, bias ${e.mean >= 0 ? '+' : ''}${e.mean.toFixed(3)}`).join('; ')}`);
  console.log(`${SEEDS.length * BATCHES} firmware images; total ${report.seconds.toFixed(0)} s`);
  exitCode = differences.length === 0 ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exitCode = exitCode;
