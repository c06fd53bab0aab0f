// DynaFuse protocol benchmark on dsa-har, in the TypeScript twin + the integer emulator (bit-exact with
// the C, so the figures are the device's): batches of windows drawn from the held-out test rows, a noise
// sigma drawn from U[0, 2] per modality per batch (in each channel's calibration std), a demand per batch
// (50% high accuracy, 30% nominal, 20% energy saving). Compares top-1 accuracy and energy per window with
// static fusion (the fused head over all five IMUs; and fixed weights = the heads' noise-free accuracies).
//
//   npx tsx benchmarks/dynafuse-bench.ts [--example dsa-har|av-digits] [--batches 40] [--windows 300] [--seed 1] [--no-qemu] [--json FILE]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDynaFuseSetup, MODEL_OPTIONS } from './dynafuse-setup.ts';
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
    batches: { type: 'string', default: '40' }, windows: { type: 'string', default: '300' }, seed: { type: 'string', default: '1' },
    'no-qemu': { type: 'boolean' }, json: { type: 'string' },
    ...MODEL_OPTIONS,
  },
});
const BATCHES = Number(opt.batches), WINDOWS = Number(opt.windows), SEED = Number(opt.seed);
const { graph, calib, test, config, board, q, eInstr } = loadDynaFuseSetup(opt);
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

// Demand per batch: 50% / 30% / 20% of the batches, in a seeded random order.
const uniform = mulberry32(SEED);
const modes: number[] = [];
for (let b = 0; b < BATCHES; b++) modes.push(b < Math.round(0.5 * BATCHES) ? df.HIGH_ACCURACY : b < Math.round(0.8 * BATCHES) ? df.NOMINAL : df.ENERGY_SAVING);
for (let i = modes.length - 1; i > 0; i--) {
  const j = Math.floor(uniform() * (i + 1));
  [modes[i], modes[j]] = [modes[j], modes[i]];
}
const normal = gaussian(SEED * 7919);

interface Tally { windows: number; correct: Record<string, number>; energyJ: Record<string, number>; branches: Record<string, number>; sigmaAbsErr: number }
const newTally = (): Tally => ({ windows: 0, correct: {}, energyJ: {}, branches: {}, sigmaAbsErr: 0 });
const byMode = [newTally(), newTally(), newTally()];
const all = newTally();
const add = (tl: Tally, key: keyof Pick<Tally, 'correct' | 'energyJ' | 'branches'>, name: string, v: number) => (tl[key][name] = (tl[key][name] ?? 0) + v);

// Re-estimating the noise only every REESTIMATE-th window lets the sensors of skipped branches sleep in between.
// The re-estimates run on a clock of their own (phase 3), so the first 3 windows of each batch still use the
// previous batch's noise levels: the device does not know when the noise changes.
const REESTIMATE = 10;
let held: number[] = [];
let windowClock = 0;
for (let b = 0; b < BATCHES; b++) {
  const sigmas = config.modalities.map(() => 2 * uniform());
  const mode = modes[b];
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
    const results: Record<string, { argmax: number; energyJ: number; branches: number }> = {};
    const fresh = windowClock++ % REESTIMATE === 3 || held.length === 0;
    if (fresh) held = estimated;
    {
      const d = df.decide(t, { sigmaQ12: held, batteryPct: -1, forcedMode: mode });
      const f = df.fuse(t, d, headOut, fusedOut);
      const sel = [...Array(N).keys()].filter((i) => (d.mask >>> i) & 1);
      const routineShare = fresh ? routineJ : routine ? (routine.decide + routine.fuse) * eInstr : 0;
      const computeJ = sum(sel.map((i) => compute[i])) + (d.useFused ? fusedExtraJ : 0) + routineShare;
      results[`dynafuse, estimate every ${REESTIMATE}th window`] = { argmax: f.argmax, energyJ: (fresh ? sum(sensing) : sum(sel.map((i) => sensing[i]))) + computeJ, branches: sel.length };
    }
    for (const [name, sigmaQ12] of [['dynafuse', estimated], ['dynafuse-oracle-sigma', oracle]] as const) {
      const d = df.decide(t, { sigmaQ12: [...sigmaQ12], batteryPct: -1, forcedMode: mode });
      const f = df.fuse(t, d, headOut, fusedOut);
      const sel = [...Array(N).keys()].filter((i) => (d.mask >>> i) & 1);
      const computeJ = sum(sel.map((i) => compute[i])) + (d.useFused ? fusedExtraJ : 0) + routineJ;
      // The estimator reads every modality's window, so every sensor is sampled; with noise levels known
      // (the oracle), unselected sensors can be off.
      const energyJ = (name === 'dynafuse' ? sum(sensing) : sum(sel.map((i) => sensing[i]))) + computeJ;
      results[name] = { argmax: f.argmax, energyJ, branches: sel.length };
      results[`${name} (compute only)`] = { argmax: f.argmax, energyJ: computeJ, branches: sel.length };
    }
    const staticLate = df.fuse(t, { mode: 0, mask: 2 ** N - 1, useFused: false, accQ15: [], wInitQ15: [], weightQ15: staticWeights, energyNj: 0 }, headOut);
    let best = 0;
    for (let c = 1; c < fusedOut.length; c++) if (fusedOut[c] > fusedOut[best]) best = c;
    results['static fused head'] = { argmax: best, energyJ: staticEnergyJ, branches: N };
    results['static fused head (compute only)'] = { argmax: best, energyJ: staticComputeJ, branches: N };
    results['static weights (late)'] = { argmax: staticLate.argmax, energyJ: sum(sensing) + sum(compute), branches: N };
    for (const tl of [byMode[mode], all]) {
      tl.windows++;
      tl.sigmaAbsErr += sum(estimated.map((e, i) => Math.abs(e / df.SIGMA_ONE - sigmas[i]))) / N;
      for (const [name, res] of Object.entries(results)) {
        add(tl, 'correct', name, res.argmax === labels[r] ? 1 : 0);
        add(tl, 'energyJ', name, res.energyJ);
        add(tl, 'branches', name, res.branches);
      }
    }
  }
  console.error(`batch ${b + 1}/${BATCHES} (${df.MODES[mode]}, sigma ${sigmas.map((x) => x.toFixed(2)).join(' ')}) done, ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

const summarize = (tl: Tally) => ({
  windows: tl.windows,
  meanAbsSigmaError: tl.sigmaAbsErr / tl.windows,
  policies: Object.fromEntries(Object.keys(tl.correct).map((name) => [name, {
    accuracy: tl.correct[name] / tl.windows, energyPerWindowJ: tl.energyJ[name] / tl.windows, branchesPerWindow: tl.branches[name] / tl.windows,
  }])),
});
const report = {
  protocol: { batches: BATCHES, windowsPerBatch: WINDOWS, seed: SEED, sigma: 'U[0,2] per modality per batch', demands: '50% high-accuracy, 30% nominal, 20% energy-saving', data: test.file },
  board: board.name, instructionBasis: instructions.basis, routineInstructions: routine, routineEnergyJ: routineJ,
  branchInstructions: profile.modalities.map((m) => Math.round(m.instructions)), sensingEnergyPerWindowJ: sensing[0],
  overall: summarize(all),
  byMode: Object.fromEntries(df.MODES.map((m, i) => [m, summarize(byMode[i])])),
  seconds: (Date.now() - started) / 1000,
};
if (opt.json) writeFileSync(opt.json, JSON.stringify(report, null, 2) + '\n');
const line = (label: string, sm: ReturnType<typeof summarize>) => {
  console.log(`\n${label} (${sm.windows} windows, mean |sigma estimate - sigma| ${sm.meanAbsSigmaError.toFixed(3)})`);
  for (const [name, p] of Object.entries(sm.policies))
    console.log(`  ${name.padEnd(38)} accuracy ${(100 * p.accuracy).toFixed(1).padStart(5)} %  energy ${(p.energyPerWindowJ * 1e3).toFixed(4).padStart(9)} mJ/window  branches ${p.branchesPerWindow.toFixed(2)}`);
};
line('all batches', report.overall);
for (const m of df.MODES) line(m, report.byMode[m]);
console.log(`\n${report.seconds.toFixed(0)} s; instructions: ${instructions.basis}`);
