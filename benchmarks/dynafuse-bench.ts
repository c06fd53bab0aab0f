// DynaFuse protocol benchmark, in the TypeScript twin + the integer emulator (bit-exact with the C, so the
// figures are the device's): batches of windows drawn from the held-out test rows, a noise sigma drawn from
// U[0, 2] per modality per batch (in each channel's calibration std), a demand per batch (50% high accuracy,
// 30% nominal, 20% energy saving). Compares top-1 accuracy and energy per window of DynaFuse under both rules
// for the all-selected case (the paper's k = N with dynamic weights, and the fused head) with the two static
// baselines: the paper's static intrinsic weights (late fusion, fixed weights = the heads' noise-free accuracies)
// and the fused head over every branch. Per-batch gains are reported as max / median / mean and batches won,
// and everything is repeated over several seeds (mean and spread across seeds).
//
//   npx tsx benchmarks/dynafuse-bench.ts [--example dsa-har|av-digits] [--batches 40] [--windows 300] [--seeds 1,2,3] [--no-qemu] [--json FILE]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { batchGainStats, loadDynaFuseSetup, MODEL_OPTIONS, protocolModes, spread } from './dynafuse-setup.ts';
import { haveTool } from '../compiler/codegen/hostcheck.ts';
import { FALLBACK_INSTRUCTIONS_PER_MAC } from '../compiler/dynafuse/command.ts';
import { measureOpInstructions, measureRoutineInstructions } from '../compiler/dynafuse/measure.ts';
import { mulberry32 } from '../compiler/random.ts';
import { gaussian, profileDynaFuse, type InstructionSource } from '../compiler/dynafuse/profile.ts';
import * as df from '../compiler/dynafuse/runtime.ts';
import { emulate } from '../compiler/quant/emulator.ts';
import { quantizeInput } from '../compiler/quant/io.ts';

const { values: opt } = parseArgs({
  options: {
    batches: { type: 'string', default: '40' }, windows: { type: 'string', default: '300' }, seeds: { type: 'string', default: '1,2,3' },
    'no-qemu': { type: 'boolean' }, json: { type: 'string' },
    ...MODEL_OPTIONS,
  },
});
const BATCHES = Number(opt.batches), WINDOWS = Number(opt.windows), SEEDS = opt.seeds.split(',').map(Number);
const { DATA_NAME, graph, calib, test, config, board, q, eInstr } = loadDynaFuseSetup(opt);
const started = Date.now();

const work = mkdtempSync(join(tmpdir(), 'tm2-dynafuse-bench-'));
const qemu = !opt['no-qemu'] && haveTool('arm-none-eabi-gcc') && haveTool('qemu-system-arm');
let instructions: InstructionSource = { instructionsPerMac: FALLBACK_INSTRUCTIONS_PER_MAC, basis: `estimate: MACs x ${FALLBACK_INSTRUCTIONS_PER_MAC}` };
if (qemu) instructions = { perOp: (await measureOpInstructions(q, calib.rows.slice(0, 2), board, join(work, 'm'))).perOp, instructionsPerMac: 0, basis: 'measured: QEMU per-op profile' };
const profile = profileDynaFuse(graph, q, calib, config, { board, instructions });
// The routine's own cost (noise estimates of every modality + decide + fuse), measured on the device when possible.
const routine = qemu ? await measureRoutineInstructions(profile, q, calib.rows[calib.rows.length - 1], board, join(work, 'r')) : undefined;
rmSync(work, { recursive: true, force: true });
const routineJ = routine ? (routine.noise.reduce((a, b) => a + b, 0) + routine.decide + routine.fuse) * eInstr : 0;
console.error(`profile ready (${((Date.now() - started) / 1000).toFixed(0)} s, instructions ${instructions.basis})`);

// The same tables under each all-selected rule (the config's own rule is one of them).
const rules = Object.fromEntries(df.ALL_SELECTED_RULES.map((rule, i) => [rule, { ...profile.tables, allSelectedRule: i }])) as Record<df.AllSelectedRule, df.DynaFuseTables>;
const t = profile.tables;
const N = t.modalities.length;
const heads = config.modalities.map((m) => q.outputs[graph.outputs.findIndex((o) => o.name === m.head)]);
const fusedHead = q.outputs[graph.outputs.findIndex((o) => o.name === config.fusedHead)];
const labels = test.labels.get('labels')!;
const sensing = profile.modalities.map((m) => m.sensingEnergyJ);
const compute = profile.modalities.map((m) => m.computeEnergyJ);
const fusedExtraJ = profile.fused!.extraEnergyJ;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const staticEnergyJ = sum(sensing) + sum(compute) + fusedExtraJ;
const staticComputeJ = sum(compute) + fusedExtraJ;
// Static late fusion: fixed weights from the design-time (noise-free) accuracies, every modality.
const staticWeights = df.q15Shares(t.modalities.map((m) => m.resilience.y[0]), 2 ** N - 1);

type Result = { argmax: number; energyJ: number; branches: number };
interface Tally { windows: number; correct: Record<string, number>; energyJ: Record<string, number>; branches: Record<string, number>; sigmaAbsErr: number }
const newTally = (): Tally => ({ windows: 0, correct: {}, energyJ: {}, branches: {}, sigmaAbsErr: 0 });
const add = (tl: Tally, key: keyof Pick<Tally, 'correct' | 'energyJ' | 'branches'>, name: string, v: number) => (tl[key][name] = (tl[key][name] ?? 0) + v);

// Re-estimating the noise only every REESTIMATE-th window lets the sensors of skipped branches sleep in between.
// The re-estimates run on a clock of their own (phase 3), so the first 3 windows of each batch still use the
// previous batch's noise levels: the device does not know when the noise changes.
const REESTIMATE = 10;
const PAPER = 'dynafuse, paper rule (all selected: dynamic weights)';
const FUSED_RULE = 'dynafuse, fused-head rule';
const STATIC_WEIGHTS = 'static intrinsic weights (late)';
const STATIC_FUSED = 'static fused head';

/** One run of the protocol: per-batch tallies (with each batch's demand), and per-demand and overall tallies. */
function runProtocol(seed: number) {
  // Demand per batch: 50% / 30% / 20% of the batches, in a seeded random order.
  const uniform = mulberry32(seed);
  const modes = protocolModes(BATCHES, uniform);
  const normal = gaussian(seed * 7919);
  const byMode = [newTally(), newTally(), newTally()];
  const all = newTally();
  const batches: Array<{ mode: number; sigmas: number[]; tally: Tally }> = [];
  let held: number[] = [];
  let windowClock = 0;
  for (let b = 0; b < BATCHES; b++) {
    const sigmas = config.modalities.map(() => 2 * uniform());
    const mode = modes[b];
    const batch = newTally();
    for (let w = 0; w < WINDOWS; w++) {
      const r = Math.floor(uniform() * test.rows.length);
      const inputs: Record<string, Int8Array> = {};
      profile.modalities.forEach((m, i) => {
        const x = Float32Array.from(test.rows[r][m.input]);
        for (let c = 0; c < m.channels; c++) for (let k = 0; k < m.samples; k++) x[c * m.samples + k] += sigmas[i] * m.channelStd[c] * normal();
        inputs[m.input] = quantizeInput(q, m.input, x);
      });
      // Every head is computed so every policy can be scored on the same windows; a policy only pays for what it runs.
      const values = emulate(q, inputs);
      const headOut = heads.map((h) => values.get(h)!);
      const fusedOut = values.get(fusedHead)!;
      const estimated = t.modalities.map((m, i) => df.noiseS8(m, inputs[profile.modalities[i].input]));
      const oracle = sigmas.map((x) => Math.round(x * df.SIGMA_ONE));
      const results: Record<string, Result> = {};
      const dynafuse = (tables: df.DynaFuseTables, sigmaQ12: readonly number[], routineShareJ: number, sensorsJ: (sel: number[]) => number): Result => {
        const d = df.decide(tables, { sigmaQ12: [...sigmaQ12], batteryPct: -1, forcedMode: mode });
        const f = df.fuse(tables, d, headOut, fusedOut);
        const sel = [...Array(N).keys()].filter((i) => (d.mask >>> i) & 1);
        const computeJ = sum(sel.map((i) => compute[i])) + (d.useFused ? fusedExtraJ : 0) + routineShareJ;
        return { argmax: f.argmax, energyJ: sensorsJ(sel) + computeJ, branches: sel.length };
      };
      const fresh = windowClock++ % REESTIMATE === 3 || held.length === 0;
      if (fresh) held = estimated;
      const allSensors = () => sum(sensing);
      const selectedSensors = (sel: number[]) => sum(sel.map((i) => sensing[i]));
      const noSensors = () => 0;
      for (const [label, tables] of [[PAPER, rules['dynamic-weights']], [FUSED_RULE, rules['fused-head']]] as const) {
        // The estimator reads every modality's window, so every sensor is sampled; with noise levels known
        // (the oracle), unselected sensors can be off.
        results[label] = dynafuse(tables, estimated, routineJ, allSensors);
        results[`${label} (compute only)`] = dynafuse(tables, estimated, routineJ, noSensors);
        results[`${label}, oracle sigma`] = dynafuse(tables, oracle, routineJ, selectedSensors);
        const routineShare = fresh ? routineJ : routine ? (routine.decide + routine.fuse) * eInstr : 0;
        results[`${label}, estimate every ${REESTIMATE}th window`] = dynafuse(tables, held, routineShare, fresh ? allSensors : selectedSensors);
      }
      const staticLate = df.fuse(t, { mode: 0, mask: 2 ** N - 1, useFused: false, accQ15: [], wInitQ15: [], weightQ15: staticWeights, energyNj: 0 }, headOut);
      let best = 0;
      for (let c = 1; c < fusedOut.length; c++) if (fusedOut[c] > fusedOut[best]) best = c;
      results[STATIC_FUSED] = { argmax: best, energyJ: staticEnergyJ, branches: N };
      results[`${STATIC_FUSED} (compute only)`] = { argmax: best, energyJ: staticComputeJ, branches: N };
      results[STATIC_WEIGHTS] = { argmax: staticLate.argmax, energyJ: sum(sensing) + sum(compute), branches: N };
      results[`${STATIC_WEIGHTS} (compute only)`] = { argmax: staticLate.argmax, energyJ: sum(compute), branches: N };
      for (const tl of [byMode[mode], all, batch]) {
        tl.windows++;
        tl.sigmaAbsErr += sum(estimated.map((e, i) => Math.abs(e / df.SIGMA_ONE - sigmas[i]))) / N;
        for (const [name, res] of Object.entries(results)) {
          add(tl, 'correct', name, res.argmax === labels[r] ? 1 : 0);
          add(tl, 'energyJ', name, res.energyJ);
          add(tl, 'branches', name, res.branches);
        }
      }
    }
    batches.push({ mode, sigmas, tally: batch });
    const acc = (name: string) => (100 * batch.correct[name]) / batch.windows;
    console.error(`seed ${seed} batch ${b + 1}/${BATCHES} (${df.MODES[mode]}, sigma ${sigmas.map((x) => x.toFixed(2)).join(' ')}): ` +
      `paper rule ${acc(PAPER).toFixed(1)} %, fused-head rule ${acc(FUSED_RULE).toFixed(1)} %, static weights ${acc(STATIC_WEIGHTS).toFixed(1)} %, ` +
      `static fused ${acc(STATIC_FUSED).toFixed(1)} % (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  return { seed, batches, byMode, all };
}

const summarize = (tl: Tally) => ({
  windows: tl.windows,
  meanAbsSigmaError: tl.sigmaAbsErr / tl.windows,
  policies: Object.fromEntries(Object.keys(tl.correct).map((name) => [name, {
    accuracy: tl.correct[name] / tl.windows, energyPerWindowJ: tl.energyJ[name] / tl.windows, branchesPerWindow: tl.branches[name] / tl.windows,
  }])),
});

/** Per-batch accuracy gains of `policy` over `baseline`, in points: max, median, mean, and batches won / lost. */
function batchGains(run: ReturnType<typeof runProtocol>, policy: string, baseline: string) {
  const stats = batchGainStats(run.batches.map((b) => (100 * (b.tally.correct[policy] - b.tally.correct[baseline])) / b.tally.windows));
  return { ...stats, maxDemand: df.MODES[run.batches[stats.maxBatch - 1].mode] };
}

const runs = SEEDS.map(runProtocol);
const COMPARISONS = [PAPER, FUSED_RULE].flatMap((p) => [STATIC_WEIGHTS, STATIC_FUSED].map((b) => ({ policy: p, baseline: b })));
const perSeed = runs.map((run) => ({
  seed: run.seed,
  overall: summarize(run.all),
  byMode: Object.fromEntries(df.MODES.map((m, i) => [m, summarize(run.byMode[i])])),
  batchGains: COMPARISONS.map((c) => ({ ...c, ...batchGains(run, c.policy, c.baseline) })),
}));
const policies = Object.keys(perSeed[0].overall.policies);
const acrossSeeds = {
  accuracy: Object.fromEntries(policies.map((p) => [p, spread(perSeed.map((s) => 100 * s.overall.policies[p].accuracy))])),
  accuracyByMode: Object.fromEntries(df.MODES.filter((m) => perSeed.every((s) => s.byMode[m].windows > 0)).map((m) => [m, Object.fromEntries([PAPER, FUSED_RULE, STATIC_WEIGHTS, STATIC_FUSED].map((p) => [p, spread(perSeed.map((s) => 100 * s.byMode[m].policies[p].accuracy))]))])),
  energyPerWindowJ: Object.fromEntries(policies.map((p) => [p, spread(perSeed.map((s) => s.overall.policies[p].energyPerWindowJ))])),
  batchGains: COMPARISONS.map((c, k) => ({
    ...c,
    max: spread(perSeed.map((s) => s.batchGains[k].max)), median: spread(perSeed.map((s) => s.batchGains[k].median)),
    mean: spread(perSeed.map((s) => s.batchGains[k].mean)), won: spread(perSeed.map((s) => s.batchGains[k].won)), lost: spread(perSeed.map((s) => s.batchGains[k].lost)),
  })),
};
const report = {
  protocol: { batches: BATCHES, windowsPerBatch: WINDOWS, seeds: SEEDS, sigma: 'U[0,2] per modality per batch', demands: '50% high-accuracy, 30% nominal, 20% energy-saving', data: test.file },
  board: board.name, instructionBasis: instructions.basis, routineInstructions: routine, routineEnergyJ: routineJ,
  branchInstructions: profile.modalities.map((m) => Math.round(m.instructions)), sensingEnergyPerWindowJ: sensing[0],
  perSeed, acrossSeeds,
  seconds: (Date.now() - started) / 1000,
};
if (opt.json) writeFileSync(opt.json, JSON.stringify(report, null, 2) + '\n');

const ms = (s: ReturnType<typeof spread>, digits = 1) => `${s.mean.toFixed(digits)} (${s.min.toFixed(digits)}..${s.max.toFixed(digits)})`;
console.log(`DynaFuse protocol on ${DATA_NAME} (TS twin + integer emulator = the device's arithmetic): ${BATCHES} batches x ${WINDOWS} windows, ` +
  `sigma ~ U[0, 2) per modality per batch, seeds ${SEEDS.join(', ')}; mean over seeds (min..max)\n`);
console.log('| policy | top-1 % | energy mJ/window | branches |');
console.log('|---|---|---|---|');
for (const p of policies) {
  const br = spread(perSeed.map((s) => s.overall.policies[p].branchesPerWindow));
  console.log(`| ${p} | ${ms(acrossSeeds.accuracy[p])} | ${(acrossSeeds.energyPerWindowJ[p].mean * 1e3).toFixed(4)} | ${br.mean.toFixed(2)} |`);
}
console.log('\n| demand | paper rule | fused-head rule | static intrinsic weights | static fused head |');
console.log('|---|---|---|---|---|');
for (const [m, a] of Object.entries(acrossSeeds.accuracyByMode)) {
  console.log(`| ${m} | ${ms(a[PAPER])} | ${ms(a[FUSED_RULE])} | ${ms(a[STATIC_WEIGHTS])} | ${ms(a[STATIC_FUSED])} |`);
}
console.log('\nper-batch top-1 gain in points (mean over seeds, min..max across seeds)\n');
console.log('| DynaFuse rule | vs | max | median | mean | batches won | batches lost |');
console.log('|---|---|---|---|---|---|---|');
for (const g of acrossSeeds.batchGains)
  console.log(`| ${g.policy.replace('dynafuse, ', '')} | ${g.baseline} | ${ms(g.max)} | ${ms(g.median)} | ${ms(g.mean)} | ${ms(g.won)} of ${BATCHES} | ${ms(g.lost)} |`);
console.log(`\nmean |sigma estimate - sigma| ${spread(perSeed.map((s) => s.overall.meanAbsSigmaError)).mean.toFixed(3)} std; ${report.seconds.toFixed(0)} s; instructions: ${instructions.basis}`);
