// ADMN adaptive depth under the DynaFuse protocol on mps2-an386: accuracy vs instructions per window for
//   - static full depth: every branch, every block, the model's fused head;
//   - DynaFuse branch skipping (the paper's rules, per-batch demand), every block of the selected branches;
//   - ADMN depth allocation: every branch, the controller (runtime-c/admn) spends a budget of instructions
//     on blocks from the noise estimates, the fused head reads the trunks at their depths;
//   - both: DynaFuse selects branches and weights, ADMN allocates blocks among the selected ones;
//   - static depth d < D: every branch at the same depth, no controller (the non-adaptive control).
// Budgets are fractions of the full-depth cost of the branches that run. Per window the noise estimate
// (DynaFuse's estimator) feeds both controllers.
//
// Where the figures come from: accuracy from the integer emulator (bit-exact with the device: every case of
// the device check below matches, and test/admn.test.ts checks every mask of a small model); instructions
// from counts under QEMU: each branch at each depth (run_heads_layers with that head and depth), the fused
// head at full depth, the DynaFuse routine (noise estimates, decide, fuse) and the ADMN controller. A
// configuration's instructions are the sum of its parts (block costs are data-independent and additive:
// test/admn.test.ts); the fused head at a depth tuple = its full-depth count minus the skipped blocks.
//
//   nice npx tsx benchmarks/admn-protocol.ts --example av-digits|dsa-har [--batches 40] [--windows 300] [--seeds 1,2,3] [--json FILE]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { allBlocksMask, depthMask, type AdmnBlocks } from '../compiler/admn/blocks.ts';
import { allocate, type AdmnTables } from '../compiler/admn/controller.ts';
import { compareCases, hostCases, runCasesOnDevice, type MaskCase } from '../compiler/admn/device.ts';
import { branchByDepth, branchPlan } from '../compiler/admn/emulate.ts';
import { runControllerOnDevice, twinAllocations, type ControllerCase } from '../compiler/admn/measure.ts';
import { profileAdmn } from '../compiler/admn/profile.ts';
import { quantizeAdmn } from '../compiler/admn/pipeline.ts';
import { generateModel } from '../compiler/codegen/generate.ts';
import { loadFusionConfig } from '../compiler/dynafuse/config.ts';
import { measureOpInstructions, measureRoutineInstructions } from '../compiler/dynafuse/measure.ts';
import { gaussian, opsFor, profileDynaFuse } from '../compiler/dynafuse/profile.ts';
import * as df from '../compiler/dynafuse/runtime.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { runOp, type QValues } from '../compiler/quant/emulator.ts';
import { calibrateGraph, loadDataSet } from '../compiler/quant/evaluate.ts';
import { quantizeInput, quantizeInputs } from '../compiler/quant/io.ts';
import { mulberry32 } from '../compiler/random.ts';
import { loadBoard } from '../compiler/target/boards.ts';
import { lowerPriority } from './low-priority.ts';
import { protocolModes, spread } from './dynafuse-setup.ts';

lowerPriority();
const { values: opt } = parseArgs({
  options: {
    example: { type: 'string', default: 'av-digits' }, batches: { type: 'string', default: '40' }, windows: { type: 'string', default: '300' },
    seeds: { type: 'string', default: '1,2,3' }, budgets: { type: 'string', default: '0.3,0.45,0.6,0.75,0.9,1' }, json: { type: 'string' },
    'calib-rows': { type: 'string' },
  },
});
const BATCHES = Number(opt.batches), WINDOWS = Number(opt.windows), SEEDS = opt.seeds.split(',').map(Number);
const BUDGETS = opt.budgets.split(',').map(Number);
const EX = `examples/${opt.example}`;
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;

const graph = loadOnnx(`${EX}/admn.onnx`);
const calibAll = loadDataSet(graph, `${EX}/calib.npz`);
const calib = opt['calib-rows'] ? { ...calibAll, rows: calibAll.rows.slice(0, Number(opt['calib-rows'])) } : calibAll;
const test = loadDataSet(graph, `${EX}/test.npz`);
const config = loadFusionConfig(`${EX}/fusion.json`, graph);
const board = loadBoard('mps2-an386');
const { q, admn } = quantizeAdmn(graph, calibrateGraph(graph, calibAll.rows));
const qName = (onnx: string) => q.outputs[graph.outputs.findIndex((o) => o.name === onnx)];
const heads = config.modalities.map((m) => qName(m.head));
const fusedHead = qName(config.fusedHead!);
const N = config.modalities.length;
const work = mkdtempSync(join(tmpdir(), 'tm2-admn-bench-'));

// ---- instructions under QEMU, and the device check ------------------------------------------------
const model = generateModel(q, { name: 'admn', source: 'admn.onnx', precision: 'INT8', admn });
const headBit = (i: number) => 2 ** q.outputs.indexOf(heads[i]);
const fusedBit = 2 ** q.outputs.indexOf(fusedHead);
const full: Record<string, number> = Object.fromEntries(admn.modalities.map((m) => [m, admn.blocksOf[m].length]));
const costCases: MaskCase[] = [];
config.modalities.forEach((m, i) => {
  for (let d = 0; d <= admn.blocksOf[m.name].length; d++) costCases.push({ row: 0, outputMask: headBit(i), blockMask: depthMask(admn, { ...full, [m.name]: d }) });
});
costCases.push({ row: 0, outputMask: fusedBit, blockMask: allBlocksMask(admn) });
// Random masks on random rows, every output: the bit-exactness check on this model.
const rnd = mulberry32(4242);
const checkRows = Array.from({ length: 6 }, (_, k) => quantizeInputs(q, test.rows[Math.floor(rnd() * test.rows.length)] ?? test.rows[k]));
const checkCases: MaskCase[] = Array.from({ length: 40 }, (_, k) => ({ row: k % checkRows.length, blockMask: Math.floor(rnd() * (allBlocksMask(admn) + 1)) }));
const deviceRun = await runCasesOnDevice(q, model, checkRows, [...costCases, ...checkCases], board, join(work, 'cases'));
const deviceDiffs = compareCases(deviceRun.outputs, hostCases(q, admn, model, checkRows, [...costCases, ...checkCases]));
if (deviceDiffs.length) {
  console.error(`device != emulator:\n${deviceDiffs.slice(0, 10).join('\n')}`);
  process.exit(1);
}
let k = 0;
const branchInstr = config.modalities.map((m) => Array.from({ length: admn.blocksOf[m.name].length + 1 }, () => deviceRun.instructions[k++]));
const fusedFull = deviceRun.instructions[k++];
console.error(`device check: ${checkCases.length} random block masks x ${checkRows.length} rows bit-exact; branch instructions by depth ${JSON.stringify(branchInstr)}, fused head ${fusedFull} (${elapsed()})`);

// ---- DynaFuse profile and routine, ADMN profile and controller cost ----------------------------------
const perOp = (await measureOpInstructions(q, calib.rows.slice(0, 2), board, join(work, 'ops'))).perOp;
const dfProfile = profileDynaFuse(graph, q, calib, config, { board, instructions: { perOp, instructionsPerMac: 0, basis: 'measured: QEMU per-op profile' } });
const routine = await measureRoutineInstructions(dfProfile, q, calib.rows[calib.rows.length - 1], board, join(work, 'routine'));
const t = dfProfile.tables;
const admnProfile = profileAdmn(q, admn, calib, dfProfile.modalities.map((m, i) => ({ name: m.name, input: m.input, head: heads[i], channels: m.channels, samples: m.samples, channelStd: m.channelStd })), config.noiseSigmas, branchInstr);
const tables: AdmnTables = admnProfile.tables;
console.error(`profiles ready (${elapsed()}): ADMN head top-1 at sigma 0 by depth ${JSON.stringify(admnProfile.accuracy.map((m) => m.map((d) => +d[0].toFixed(3))))}`);
const sumFull = branchInstr.reduce((s, b) => s + b[b.length - 1], 0);
const ctlCases: ControllerCase[] = Array.from({ length: 48 }, (_, i) => ({
  sigmaQ12: Array.from({ length: N }, () => Math.floor(rnd() * 8192)),
  modalityMask: i % 2 ? 2 ** N - 1 : 1 + Math.floor(rnd() * (2 ** N - 1)),
  budget: Math.round(BUDGETS[i % BUDGETS.length] * sumFull),
}));
const ctl = await runControllerOnDevice(tables, ctlCases, board, join(work, 'ctl'));
if (JSON.stringify(ctl.allocations) !== JSON.stringify(twinAllocations(tables, ctlCases))) {
  console.error('ADMN controller: device != TypeScript twin');
  process.exit(1);
}
const controllerInstr = spread(ctl.instructions);
rmSync(work, { recursive: true, force: true });
console.error(`controller on the device = twin on ${ctlCases.length} cases, ${controllerInstr.mean.toFixed(0)} instructions (${controllerInstr.min}..${controllerInstr.max}) (${elapsed()})`);

// ---- the protocol ----------------------------------------------------------------------------------
const noiseInstr = routine.noise.reduce((a, b) => a + b, 0);
const plans = config.modalities.map((m, i) => branchPlan(q, admn, m.name, opsFor(q, [heads[i]])));
const branchOps = new Set(plans.flatMap((p) => p.ops));
const fusedExtra = opsFor(q, [fusedHead]).filter((k) => !branchOps.has(k));
const labels = test.labels.get('labels')!;
const argmax = (a: ArrayLike<number>) => { let b = 0; for (let i = 1; i < a.length; i++) if (a[i] > a[b]) b = i; return b; };
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** The fused head with each modality at its depth. */
function fusedAt(byDepth: QValues[][], depth: number[]): Int8Array {
  const v: QValues = new Map();
  byDepth.forEach((perDepth, i) => { for (const [name, x] of perDepth[depth[i]]) v.set(name, x); });
  for (const k of fusedExtra) v.set(q.ops[k].output, runOp(q, q.ops[k], v));
  return v.get(fusedHead)!;
}
/** Fused head at a depth tuple: the full-depth count minus the skipped blocks of each branch. */
const fusedInstr = (depth: number[]) => fusedFull - sum(branchInstr.map((b, i) => b[b.length - 1] - b[depth[i]]));

const STATIC = 'static full depth (fused head)';
const DYNAFUSE = 'DynaFuse branch skipping (full depth)';
const admnName = (f: number) => `ADMN depth allocation, budget ${Math.round(f * 100)} %`;
const bothName = (f: number) => `DynaFuse + ADMN, budget ${Math.round(f * 100)} %`;
// Non-adaptive controls: every modality at the same depth d < D, no controller (is it adaptivity or redundancy?).
const UNIFORM = Array.from({ length: Math.min(...admn.modalities.map((m) => admn.blocksOf[m].length)) }, (_, d) => d);
const uniformName = (d: number) => `static depth ${d} (every modality, fused head)`;
const POLICIES = [STATIC, ...UNIFORM.map(uniformName), DYNAFUSE, ...BUDGETS.map(admnName), ...BUDGETS.map(bothName)];
const allMask = 2 ** N - 1;

function runProtocol(seed: number) {
  const uniform = mulberry32(seed);
  const modes = protocolModes(BATCHES, uniform);
  const normal = gaussian(seed * 7919);
  const correct: Record<string, number> = Object.fromEntries(POLICIES.map((p) => [p, 0]));
  const instr: Record<string, number> = Object.fromEntries(POLICIES.map((p) => [p, 0]));
  const blocks: Record<string, number> = Object.fromEntries(POLICIES.map((p) => [p, 0]));
  const batchAcc: Record<string, number[]> = Object.fromEntries(POLICIES.map((p) => [p, []]));
  let windows = 0;
  for (let b = 0; b < BATCHES; b++) {
    const sigmas = config.modalities.map(() => 2 * uniform());
    const mode = modes[b];
    const before = { ...correct };
    for (let w = 0; w < WINDOWS; w++) {
      const r = Math.floor(uniform() * test.rows.length);
      const inputs = dfProfile.modalities.map((m, i) => {
        const x = Float32Array.from(test.rows[r][m.input]);
        for (let c = 0; c < m.channels; c++) for (let s = 0; s < m.samples; s++) x[c * m.samples + s] += sigmas[i] * m.channelStd[c] * normal();
        return quantizeInput(q, m.input, x);
      });
      const byDepth = plans.map((p, i) => branchByDepth(q, p, { [dfProfile.modalities[i].input]: inputs[i] }));
      const headAt = (i: number, d: number) => byDepth[i][d].get(heads[i])!;
      const fullDepth = plans.map((p) => p.stream.length - 1);
      const estimated = t.modalities.map((m, i) => df.noiseS8(m, inputs[i]));
      const score = (name: string, cls: number, cost: number, nBlocks: number) => {
        if (cls === labels[r]) correct[name]++;
        instr[name] += cost;
        blocks[name] += nBlocks;
      };
      score(STATIC, argmax(fusedAt(byDepth, fullDepth)), fusedFull, sum(fullDepth));
      for (const u of UNIFORM) {
        const depth = fullDepth.map(() => u);
        score(uniformName(u), argmax(fusedAt(byDepth, depth)), fusedInstr(depth), sum(depth));
      }
      const d = df.decide(t, { sigmaQ12: estimated, batteryPct: -1, forcedMode: mode });
      const sel = [...Array(N).keys()].filter((i) => (d.mask >>> i) & 1);
      const dynafuseOut = df.fuse(t, d, fullDepth.map((D, i) => headAt(i, D)), d.useFused ? fusedAt(byDepth, fullDepth) : undefined);
      score(DYNAFUSE, dynafuseOut.argmax, noiseInstr + routine.decide + routine.fuse + (d.useFused ? fusedFull : sum(sel.map((i) => branchInstr[i][fullDepth[i]]))), sum(sel.map((i) => fullDepth[i])));
      for (const f of BUDGETS) {
        const a = allocate(tables, estimated, allMask, Math.round(f * sumFull));
        score(admnName(f), argmax(fusedAt(byDepth, a.depth)), noiseInstr + controllerInstr.mean + fusedInstr(a.depth), sum(a.depth));
        const selFull = sum(sel.map((i) => branchInstr[i][fullDepth[i]]));
        const ab = allocate(tables, estimated, d.mask, Math.round(f * selFull));
        const out = df.fuse(t, d, ab.depth.map((dd, i) => headAt(i, dd)), d.useFused ? fusedAt(byDepth, ab.depth) : undefined);
        score(bothName(f), out.argmax, noiseInstr + routine.decide + routine.fuse + controllerInstr.mean + (d.useFused ? fusedInstr(ab.depth) : sum(sel.map((i) => branchInstr[i][ab.depth[i]]))), sum(sel.map((i) => ab.depth[i])));
      }
      windows++;
    }
    for (const p of POLICIES) batchAcc[p].push((100 * (correct[p] - before[p])) / WINDOWS);
    console.error(`seed ${seed} batch ${b + 1}/${BATCHES} (${df.MODES[mode]}, sigma ${sigmas.map((x) => x.toFixed(2)).join(' ')}): static ${batchAcc[STATIC][b].toFixed(1)} %, ` +
      `DynaFuse ${batchAcc[DYNAFUSE][b].toFixed(1)} %, ${admnName(BUDGETS[0])} ${batchAcc[admnName(BUDGETS[0])][b].toFixed(1)} % (${elapsed()})`);
  }
  return Object.fromEntries(POLICIES.map((p) => [p, { accuracy: (100 * correct[p]) / windows, instructions: instr[p] / windows, blocks: blocks[p] / windows, batchAccuracy: batchAcc[p] }]));
}

const runs = SEEDS.map(runProtocol);
const across = Object.fromEntries(POLICIES.map((p) => [p, {
  accuracy: spread(runs.map((r) => r[p].accuracy)), instructions: spread(runs.map((r) => r[p].instructions)), blocks: spread(runs.map((r) => r[p].blocks)),
  gainVsStatic: spread(runs.map((r) => r[p].accuracy - r[STATIC].accuracy)),
  batchGainMedian: spread(runs.map((r) => spread(r[p].batchAccuracy.map((a, b) => a - r[STATIC].batchAccuracy[b])).median)),
}]));
const staticInstr = across[STATIC].instructions.mean;
const staticAcc = across[STATIC].accuracy.mean;
/** The cheapest budget of a family whose mean accuracy reaches the static one minus `tolerance` points. */
const cheapest = (names: string[], tolerance: number) => names.map((n) => ({ n, ...across[n] })).filter((x) => x.accuracy.mean >= staticAcc - tolerance).sort((a, b) => a.instructions.mean - b.instructions.mean)[0];

const ms = (s: ReturnType<typeof spread>, digits = 1) => `${s.mean.toFixed(digits)} (${s.min.toFixed(digits)}..${s.max.toFixed(digits)})`;
const lines: string[] = [];
lines.push(`ADMN under the DynaFuse protocol on ${opt.example} (admn.onnx, INT8, mps2-an386): ${BATCHES} batches x ${WINDOWS} windows, sigma ~ U[0, 2) per modality per batch, ` +
  `seeds ${SEEDS.join(', ')}; mean over seeds (min..max)`, '');
lines.push('| policy | top-1 % | vs static, points | median batch gain | instructions / window | vs static | blocks run |');
lines.push('|---|---|---|---|---|---|---|');
for (const p of POLICIES) {
  const a = across[p];
  lines.push(`| ${p} | ${ms(a.accuracy)} | ${a.gainVsStatic.mean >= 0 ? '+' : ''}${a.gainVsStatic.mean.toFixed(1)} | ${a.batchGainMedian.mean.toFixed(1)} | ${Math.round(a.instructions.mean).toLocaleString('en-US')} | ${(100 * (a.instructions.mean / staticInstr - 1)).toFixed(1)} % | ${a.blocks.mean.toFixed(2)} |`);
}
lines.push('');
for (const [family, names] of [['ADMN depth allocation', BUDGETS.map(admnName)], ['DynaFuse + ADMN', BUDGETS.map(bothName)]] as const) {
  for (const tol of [0, 1]) {
    const c = cheapest(names, tol);
    lines.push(`- ${family}, accuracy >= static${tol ? ` - ${tol} point` : ''} (${(staticAcc - tol).toFixed(1)} %): ` +
      (c ? `${c.n.replace(/.*budget /, 'budget ')}: ${c.accuracy.mean.toFixed(1)} % at ${Math.round(c.instructions.mean).toLocaleString('en-US')} instructions, **${(100 * (c.instructions.mean / staticInstr - 1)).toFixed(1)} %** instructions (ADMN paper: about -75 % FLOPs)` : 'no budget reaches it'));
  }
}
lines.push('', `Parts (QEMU counts): branch instructions by depth ${branchInstr.map((b, i) => `${config.modalities[i].name} ${b.map((x) => x.toLocaleString('en-US')).join(' / ')}`).join('; ')}; fused head at full depth ${fusedFull.toLocaleString('en-US')}; ` +
  `noise estimates ${routine.noise.map((x) => x.toLocaleString('en-US')).join(' + ')}, decide ${routine.decide.toLocaleString('en-US')}, fuse ${routine.fuse.toLocaleString('en-US')}; ADMN controller ${controllerInstr.mean.toFixed(0)} (${controllerInstr.min}..${controllerInstr.max}).`);
lines.push(`ADMN profile (calibration rows, head top-1 % at sigma ${config.noiseSigmas.join(' / ')} by depth): ` +
  admnProfile.accuracy.map((m, i) => `${config.modalities[i].name}: ${m.map((d, dd) => `d${dd} ${d.map((x) => Math.round(100 * x)).join('/')}`).join(', ')}`).join('; '));
lines.push(`Device check: ${checkCases.length} random block masks on ${checkRows.length} test rows and the ${costCases.length} cost cases bit-exact on mps2-an386; controller C = twin on ${ctlCases.length} cases. ${elapsed()}.`);
console.log(lines.join('\n'));
if (opt.json) writeFileSync(opt.json, JSON.stringify({ example: opt.example, batches: BATCHES, windows: WINDOWS, seeds: SEEDS, budgets: BUDGETS, branchInstr, fusedFull, routine, controller: controllerInstr, admnProfile: admnProfile.accuracy, across, staticInstr, markdown: lines.join('\n') }, null, 1) + '\n');
