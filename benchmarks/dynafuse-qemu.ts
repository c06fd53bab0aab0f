// DynaFuse on the device, measured: one mps2-an386 firmware (compiler/dynafuse/device.ts) runs, for each of N
// held-out dsa-har windows (or another example's, --example) with per-modality Gaussian noise injected on the host (seeded, sigma ~ U[0, max) per
// modality per window) and a demand per window (the three modes in turn), the decision routine on the raw int8
// windows, the selected branches only (tm2_<name>_run_heads), the fusion, and static fusion (fused head, all
// branches), each in its own QEMU count region. Checks every field against the TS twin + integer emulator and
// prints per mode: instructions of the routine vs the inference, energy per window (board energy per instruction
// x counted instructions + sensing from fusion.json), accuracy vs static fusion.
//
//   npx tsx benchmarks/dynafuse-qemu.ts [--example dsa-har|av-digits] [--windows 60] [--seed 1] [--max-sigma 2] [--json FILE]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDynaFuseSetup, MODEL_OPTIONS } from './dynafuse-setup.ts';
import { compareWithHost, hostResults, makeWindows, runOnDevice, summarize, type ModeSummary } from '../compiler/dynafuse/device.ts';
import { measureOpInstructions } from '../compiler/dynafuse/measure.ts';
import { profileDynaFuse } from '../compiler/dynafuse/profile.ts';
import * as df from '../compiler/dynafuse/runtime.ts';

const { values: opt } = parseArgs({
  options: {
    windows: { type: 'string', default: '60' }, seed: { type: 'string', default: '1' }, 'max-sigma': { type: 'string', default: '2' },
    json: { type: 'string' },
    ...MODEL_OPTIONS,
  },
});
const { DATA_NAME, graph, calib, test, config, board, q, eInstr } = loadDynaFuseSetup(opt);
const started = Date.now();

const work = mkdtempSync(join(tmpdir(), 'tm2-dynafuse-qemu-'));
try {
  // The tables as `tinym2 dynafuse` makes them: branch energies from the QEMU per-op profile, all calibration rows.
  const perOp = (await measureOpInstructions(q, calib.rows.slice(0, 2), board, join(work, 'ops'))).perOp;
  const profile = profileDynaFuse(graph, q, calib, config, { board, instructions: { perOp, instructionsPerMac: 0, basis: 'measured: QEMU per-op profile' } });
  const windows = makeWindows(q, profile, test, { count: Number(opt.windows), seed: Number(opt.seed), maxSigma: Number(opt['max-sigma']) });
  const host = hostResults(q, profile, windows);
  console.error(`tables and host results ready (${((Date.now() - started) / 1000).toFixed(0)} s); building the firmware`);
  const run = await runOnDevice(q, profile, windows, board, join(work, 'device'));
  const diffs = compareWithHost(run.results, host);

  const byMode = Object.fromEntries(df.MODES.map((m, i) => [m, summarize(profile, windows, run.results, run.instructions, eInstr, i)])) as Record<string, ModeSummary>;
  const overall = summarize(profile, windows, run.results, run.instructions, eInstr);
  const report = {
    board: board.name, energyPerInstructionJ: eInstr, windows: windows.length, seed: Number(opt.seed), maxSigma: Number(opt['max-sigma']),
    data: test.file, firmwareFlashBytes: run.flashBytes, buildSeconds: run.buildSeconds, qemuSeconds: run.runSeconds,
    branchInstructionsFromProfile: profile.modalities.map((m) => m.instructions), perWindow: windows.map((w, i) => ({ row: w.row, label: w.label, sigmas: w.sigmas, ...run.results[i], instructions: run.instructions[i] })),
    bitExact: diffs.length === 0, differences: diffs.slice(0, 20), overall, byMode, seconds: (Date.now() - started) / 1000,
  };
  if (opt.json) writeFileSync(opt.json, JSON.stringify(report, null, 2) + '\n');

  const k = (x: number) => `${(x / 1000).toFixed(1)} k`;
  const mj = (j: number) => `${(j * 1e3).toFixed(3)} mJ`;
  console.log(`DynaFuse on ${board.name} under QEMU: ${windows.length} held-out ${DATA_NAME} windows, sigma ~ U[0, ${opt['max-sigma']}) per modality, seed ${opt.seed}`);
  console.log(`device vs TS twin + emulator: ${diffs.length === 0 ? 'bit-exact on every field (sigma, mode, mask, weights, probabilities, class, static class)' : `${diffs.length} differences:\n  ${diffs.slice(0, 10).join('\n  ')}`}`);
  console.log(`energy per instruction ${(eInstr * 1e9).toFixed(3)} nJ (${board.name} power model); sensing ${mj(profile.modalities[0].sensingEnergyJ)} per sensor per window\n`);
  console.log('| mode | windows | branches | routine (noise x5 + decide) | inference (copy + run_heads) | fuse | static fusion | compute DynaFuse / static | total, all sensors sampled | total, skipped sensors off | static total | top-1 DynaFuse | top-1 static |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const [name, s] of [...Object.entries(byMode), ['all', overall] as const]) {
    console.log(`| ${name} | ${s.windows} | ${s.branches.toFixed(2)} | ${k(s.decisionInstructions)} | ${k(s.inferenceInstructions)} | ${k(s.fuseInstructions)} | ${k(s.staticInstructions)} | ` +
      `${(s.computeJ * 1e6).toFixed(1)} / ${(s.staticComputeJ * 1e6).toFixed(1)} uJ | ${mj(s.totalAllSensorsJ)} | ${mj(s.totalSelectedSensorsJ)} | ${mj(s.staticTotalJ)} | ` +
      `${(100 * s.accuracy).toFixed(1)} % | ${(100 * s.staticAccuracy).toFixed(1)} % |`);
  }
  console.log(`\nper-op QEMU profile (whole-graph run): one branch ${k(profile.modalities[0].instructions)} of layers, fused head extra ${k(profile.fused?.extraInstructions ?? 0)}; ` +
    `the inference includes the copy of the selected windows from sensor order [t][c] into the API struct [c][t]: ${k(overall.copyInstructions)} per window on average (${k(overall.copyInstructions / overall.branches)} per branch)`);
  console.log(`firmware ${run.flashBytes} bytes of flash (windows included); build ${run.buildSeconds.toFixed(1)} s, QEMU run ${run.runSeconds.toFixed(1)} s; total ${report.seconds.toFixed(0)} s`);
  process.exitCode = diffs.length === 0 ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
