// The DynaFuse paper protocol on the device (mps2-an386 under QEMU): batches of windows drawn with replacement
// from the held-out dsa-har rows (or --example av-digits), one noise sigma per modality per batch from U[0, 2) (in each channel's
// calibration std), one demand per batch (50 % high accuracy / 30 % nominal / 20 % energy saving, seeded order).
// The rows, sigmas and demands are drawn exactly as benchmarks/dynafuse-bench.ts draws them (same mulberry32
// stream); the noise itself comes from device.ts's makeWindows (seeded per batch). Windows are quantized on the
// host and baked into firmware images, one image per batch (300 windows = ~1.9 MB of the 4 MB flash), each
// running compiler/dynafuse/device.ts's firmware: noise estimate -> decide -> run_heads(mask) -> fuse, and static
// fusion (fused head, all branches), every step in its own QEMU count region. Every window's device output must
// equal the TS twin + integer emulator (exit 1 otherwise). The host side of a batch is computed while its
// firmware builds and runs (the build and QEMU are child processes).
//
//   nice npx tsx benchmarks/dynafuse-protocol-qemu.ts [--example dsa-har|av-digits] [--batches 40] [--windows 300] [--seed 1] [--json FILE]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDynaFuseSetup, MODEL_OPTIONS } from './dynafuse-setup.ts';
import { compareWithHost, hostResults, makeWindows, runOnDevice, summarize, type DeviceWindow, type WindowInstructions, type WindowResult } from '../compiler/dynafuse/device.ts';
import { measureOpInstructions } from '../compiler/dynafuse/measure.ts';
import { profileDynaFuse } from '../compiler/dynafuse/profile.ts';
import * as df from '../compiler/dynafuse/runtime.ts';
import { type DataSet } from '../compiler/quant/evaluate.ts';
import { mulberry32 } from '../compiler/random.ts';

const { values: opt } = parseArgs({
  options: {
    batches: { type: 'string', default: '40' }, windows: { type: 'string', default: '300' }, seed: { type: 'string', default: '1' },
    json: { type: 'string' },
    ...MODEL_OPTIONS,
  },
});
const BATCHES = Number(opt.batches), WINDOWS = Number(opt.windows), SEED = Number(opt.seed);
const MAX_SIGMA = 2;
const { DATA_NAME, graph, calib, test, config, board, q, eInstr } = loadDynaFuseSetup(opt);
const started = Date.now();
const secs = () => ((Date.now() - started) / 1000).toFixed(0);
const labels = test.labels.get('labels');
if (!labels) throw new Error(`${test.file} has no 'labels'`);

// The protocol's draws, in the order dynafuse-bench.ts makes them: demand order (shuffle), then per batch the
// sigmas and the rows.
const uniform = mulberry32(SEED);
const modes: number[] = [];
for (let b = 0; b < BATCHES; b++) modes.push(b < Math.round(0.5 * BATCHES) ? df.HIGH_ACCURACY : b < Math.round(0.8 * BATCHES) ? df.NOMINAL : df.ENERGY_SAVING);
for (let i = modes.length - 1; i > 0; i--) {
  const j = Math.floor(uniform() * (i + 1));
  [modes[i], modes[j]] = [modes[j], modes[i]];
}
const plan = modes.map((mode) => {
  const sigmas = config.modalities.map(() => MAX_SIGMA * uniform());
  const rows = Array.from({ length: WINDOWS }, () => Math.floor(uniform() * test.rows.length));
  return { mode, sigmas, rows };
});

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
  computeJ: number;
  staticComputeJ: number;
  totalAllSensorsJ: number;
  totalSelectedSensorsJ: number;
  staticTotalJ: number;
  instructions: number;
  staticInstructions: number;
  mismatches: number;
  flashBytes: number;
  buildSeconds: number;
  qemuSeconds: number;
}

const work = mkdtempSync(join(tmpdir(), 'tm2-dynafuse-protocol-'));
let exitCode = 0;
try {
  // The tables as `tinym2 dynafuse` makes them: branch energies from the QEMU per-op profile, all calibration rows.
  const perOp = (await measureOpInstructions(q, calib.rows.slice(0, 2), board, join(work, 'ops'))).perOp;
  const profile = profileDynaFuse(graph, q, calib, config, { board, instructions: { perOp, instructionsPerMac: 0, basis: 'measured: QEMU per-op profile' } });
  console.error(`tables ready (${secs()} s); ${BATCHES} batches x ${WINDOWS} windows, one firmware per batch`);

  const allWindows: DeviceWindow[] = [];
  const allResults: WindowResult[] = [];
  const allInstr: WindowInstructions[] = [];
  const rows: BatchRow[] = [];
  const differences: string[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const p = plan[b];
    const windows = makeWindows(q, profile, batchData(p.rows), { count: WINDOWS, seed: SEED * 1000 + b, sigmas: p.sigmas, modes: [p.mode] });
    windows.forEach((w, i) => (w.row = p.rows[i])); // the held-out row, not the index in the batch's resample
    const dir = join(work, `batch${b}`);
    const device = runOnDevice(q, profile, windows, board, dir);
    const host = hostResults(q, profile, windows); // synchronous: overlaps the build and QEMU run
    const run = await device;
    rmSync(dir, { recursive: true, force: true });
    const diffs = compareWithHost(run.results, host);
    differences.push(...diffs.map((d) => `batch ${b + 1} ${d}`));
    const s = summarize(profile, windows, run.results, run.instructions, eInstr);
    const sum = (f: (x: WindowInstructions) => number) => run.instructions.reduce((a, x) => a + f(x), 0);
    rows.push({
      batch: b + 1, mode: df.MODES[p.mode], sigmas: p.sigmas, windows: windows.length, branches: s.branches, accuracy: s.accuracy, staticAccuracy: s.staticAccuracy,
      computeJ: s.computeJ, staticComputeJ: s.staticComputeJ, totalAllSensorsJ: s.totalAllSensorsJ, totalSelectedSensorsJ: s.totalSelectedSensorsJ, staticTotalJ: s.staticTotalJ,
      instructions: sum((x) => x.decision + x.inference + x.fuse), staticInstructions: sum((x) => x.staticFusion),
      mismatches: diffs.length, flashBytes: run.flashBytes, buildSeconds: run.buildSeconds, qemuSeconds: run.runSeconds,
    });
    allWindows.push(...windows);
    allResults.push(...run.results);
    allInstr.push(...run.instructions);
    console.error(`batch ${b + 1}/${BATCHES} ${df.MODES[p.mode]}: DynaFuse ${(100 * s.accuracy).toFixed(1)} % vs static ${(100 * s.staticAccuracy).toFixed(1)} %, ` +
      `${diffs.length} mismatches, flash ${(run.flashBytes / 1e6).toFixed(2)} MB, build ${run.buildSeconds.toFixed(1)} s, QEMU ${run.runSeconds.toFixed(1)} s (${secs()} s)`);
  }

  const overall = summarize(profile, allWindows, allResults, allInstr, eInstr);
  const byMode = Object.fromEntries(df.MODES.map((m, i) => [m, summarize(profile, allWindows, allResults, allInstr, eInstr, i)]));
  const gains = rows.map((r) => r.accuracy - r.staticAccuracy);
  const best = gains.indexOf(Math.max(...gains));
  // How well the on-device noise estimate tracks the injected sigma, per modality (in channel stds).
  const estimatorError = config.modalities.map((m, i) => {
    const err = allWindows.map((w, k) => allResults[k].sigmaQ12[i] / 4096 - w.sigmas[i]);
    return { modality: m.name, meanAbs: err.reduce((a, e) => a + Math.abs(e), 0) / err.length, mean: err.reduce((a, e) => a + e, 0) / err.length };
  });
  const meanSaving = rows.reduce((a, r) => a + (1 - r.computeJ / r.staticComputeJ), 0) / rows.length;
  const totalInstr = rows.reduce((a, r) => a + r.instructions, 0), totalStaticInstr = rows.reduce((a, r) => a + r.staticInstructions, 0);
  const report = {
    protocol: { batches: BATCHES, windowsPerBatch: WINDOWS, seed: SEED, sigma: `U[0,${MAX_SIGMA}) per modality per batch`, demands: '50% high-accuracy, 30% nominal, 20% energy-saving', data: test.file },
    board: board.name, energyPerInstructionJ: eInstr, bitExact: differences.length === 0, mismatches: differences.length, differences: differences.slice(0, 20),
    batches: rows, overall, byMode, estimatorError, largestBatchGain: { batch: best + 1, points: 100 * gains[best] }, meanComputeSavingPerBatch: meanSaving,
    countedInstructions: { dynafuse: totalInstr, static: totalStaticInstr }, seconds: (Date.now() - started) / 1000,
  };
  if (opt.json) writeFileSync(opt.json, JSON.stringify(report, null, 2) + '\n');

  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const uj = (j: number) => (j * 1e6).toFixed(1);
  const mj = (j: number) => `${(j * 1e3).toFixed(2)} mJ`;
  console.log(`DynaFuse paper protocol on ${board.name} under QEMU: ${BATCHES} batches x ${WINDOWS} windows (held-out ${DATA_NAME} rows with replacement), ` +
    `sigma ~ U[0, ${MAX_SIGMA}) per modality per batch, seed ${SEED}`);
  console.log(`device vs TS twin + emulator: ${differences.length === 0 ? `bit-exact on every field of all ${allWindows.length} windows` : `${differences.length} differences:\n  ${differences.slice(0, 10).join('\n  ')}`}\n`);
  console.log('| batch | demand | sigma per modality | branches | top-1 DynaFuse | top-1 static | gain | compute DynaFuse / static (uJ/window) | saving |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(`| ${r.batch} | ${r.mode} | ${r.sigmas.map((x) => x.toFixed(2)).join(' ')} | ${r.branches.toFixed(2)} | ${pct(r.accuracy)} | ${pct(r.staticAccuracy)} | ` +
      `${(100 * (r.accuracy - r.staticAccuracy)).toFixed(1)} | ${uj(r.computeJ)} / ${uj(r.staticComputeJ)} | ${pct(1 - r.computeJ / r.staticComputeJ)} |`);
  console.log('\n| demand | batches | windows | branches | top-1 DynaFuse | top-1 static | compute DynaFuse / static | total, all sensors sampled | total, skipped sensors off | static total |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const [name, s] of [...Object.entries(byMode), ['all', overall] as const]) {
    if (s.windows === 0) continue;
    const nb = name === 'all' ? rows.length : rows.filter((r) => r.mode === name).length;
    console.log(`| ${name} | ${nb} | ${s.windows} | ${s.branches.toFixed(2)} | ${pct(s.accuracy)} | ${pct(s.staticAccuracy)} | ${uj(s.computeJ)} / ${uj(s.staticComputeJ)} uJ | ` +
      `${mj(s.totalAllSensorsJ)} | ${mj(s.totalSelectedSensorsJ)} | ${mj(s.staticTotalJ)} |`);
  }
  console.log(`\nlargest per-batch gain: ${(100 * gains[best]).toFixed(1)} points (batch ${best + 1}, ${rows[best].mode}); ` +
    `mean compute-energy saving per batch ${pct(meanSaving)} (overall ${pct(1 - overall.computeJ / overall.staticComputeJ)})`);
  console.log(`counted instructions: DynaFuse (routine + selective inference + fuse) ${(totalInstr / 1e9).toFixed(3)} G, static fusion ${(totalStaticInstr / 1e9).toFixed(3)} G ` +
    `(${(overall.decisionInstructions / 1e3).toFixed(1)} k routine, ${(overall.inferenceInstructions / 1e3).toFixed(1)} k inference, ${(overall.fuseInstructions / 1e3).toFixed(1)} k fuse per window)`);
  console.log(`on-device noise estimate vs injected sigma (channel stds): ${estimatorError.map((e) => `${e.modality} mean |error| ${e.meanAbs.toFixed(3)}, bias ${e.mean >= 0 ? '+' : ''}${e.mean.toFixed(3)}`).join('; ')}`);
  const maxFlash = Math.max(...rows.map((r) => r.flashBytes));
  console.log(`${rows.length} firmware images, up to ${maxFlash} bytes of flash; build ${rows.reduce((a, r) => a + r.buildSeconds, 0).toFixed(0)} s, ` +
    `QEMU ${rows.reduce((a, r) => a + r.qemuSeconds, 0).toFixed(0)} s in all; total ${report.seconds.toFixed(0)} s`);
  exitCode = differences.length === 0 ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exitCode = exitCode;
