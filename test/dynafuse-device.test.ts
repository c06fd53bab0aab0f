// DynaFuse end to end on the Cortex-M4 (mps2-an386 under QEMU): one firmware runs the decision routine on the
// raw int8 windows, the selected branches only (tm2_<name>_run_heads), the fusion, and static fusion, for a few
// held-out dsa-har windows with injected noise; the host computes the same with the TS twin + the integer
// emulator and every field must match bit for bit. Tables from a subset of the calibration rows (fast).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { haveTool } from '../compiler/codegen/hostcheck.ts';
import { loadFusionConfig } from '../compiler/dynafuse/config.ts';
import { compareWithHost, hostResults, makeWindows, runOnDevice, summarize, type DeviceRun } from '../compiler/dynafuse/device.ts';
import { opsFor, profileDynaFuse } from '../compiler/dynafuse/profile.ts';
import * as df from '../compiler/dynafuse/runtime.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { calibrateGraph, loadDataSet, type DataSet } from '../compiler/quant/evaluate.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import { loadBoard } from '../compiler/target/boards.ts';

const EX = 'examples/dsa-har';
const qemu = haveTool('arm-none-eabi-gcc') && haveTool('qemu-system-arm');

describe.skipIf(!qemu)('DynaFuse on the device (dsa-har, mps2-an386)', () => {
  const graph = loadOnnx(`${EX}/model.onnx`);
  const full = loadDataSet(graph, `${EX}/calib.npz`);
  const q = quantizeGraph(graph, calibrateGraph(graph, full.rows));
  const pick = full.rows.map((_, i) => i).filter((i) => i % 6 === 0);
  const calib: DataSet = { file: full.file, rows: pick.map((i) => full.rows[i]), labels: new Map([['labels', Int32Array.from(pick, (i) => full.labels.get('labels')![i])]]) };
  const board = loadBoard('mps2-an386');
  // The fused-head rule for the all-selected case, so that one firmware exercises both fusion paths (the fused
  // head, and weighted heads; the paper's all-selected rule is the weighted path with every bit of the mask set).
  const config = { ...loadFusionConfig(`${EX}/fusion.json`, graph), allSelected: 'fused-head' as const };
  const profile = profileDynaFuse(graph, q, calib, config, { board, instructions: { instructionsPerMac: 2.235, basis: 'estimate for the test' } });
  const test = loadDataSet(graph, `${EX}/test.npz`);
  // 12 windows, the three modes in turn; sigmas from U[0, 1.5): high-accuracy windows take the fused head, the others fuse a subset of heads.
  const windows = makeWindows(q, profile, test, { count: 12, seed: 3, maxSigma: 1.5 });
  const host = hostResults(q, profile, windows);
  const work = mkdtempSync(join(tmpdir(), 'tm2-dynafuse-device-'));
  let run: DeviceRun | undefined;
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('the firmware matches the TS twin + emulator bit for bit (mask, weights, probabilities, classes)', async () => {
    run = await runOnDevice(q, profile, windows, board, work);
    expect(run.results).toHaveLength(windows.length);
    expect(compareWithHost(run.results, host)).toEqual([]);
    // The windows exercise every mode and both fusion paths.
    expect(new Set(host.map((h) => h.mode))).toEqual(new Set([df.HIGH_ACCURACY, df.NOMINAL, df.ENERGY_SAVING]));
    expect(host.some((h) => h.useFused)).toBe(true);
    expect(host.some((h) => !h.useFused)).toBe(true);
    // The static intrinsic-weights baseline ran on the device too (compared above) and is a real classifier.
    expect(host.filter((h, w) => h.staticWeightsCls === windows[w].label).length).toBeGreaterThan(windows.length / 2);
  }, 120_000);

  it('skipped branches cost nothing: inference instructions follow the number of branches run', () => {
    expect(run).toBeDefined();
    const r = run!;
    // The whole graph's MACs vs one branch's: a one-branch window must run far fewer instructions than static fusion.
    const oneBranch = host.map((h, w) => (h.mask.toString(2).split('1').length - 1 === 1 ? w : -1)).filter((w) => w >= 0);
    expect(oneBranch.length).toBeGreaterThan(0);
    for (const w of oneBranch) expect(r.instructions[w].inference).toBeLessThan(0.3 * r.instructions[w].staticFusion);
    // Windows with the same mask (and fusion path) run the same layers: same inference count within 1 %.
    const byMask = new Map<string, number[]>();
    host.forEach((h, w) => byMask.set(`${h.mask}/${h.useFused}`, [...(byMask.get(`${h.mask}/${h.useFused}`) ?? []), r.instructions[w].inference]));
    for (const counts of byMask.values()) for (const c of counts) expect(Math.abs(c - counts[0]) / counts[0]).toBeLessThan(0.01);
    // The decision routine (five noise estimates + decide) is small next to any inference.
    for (const x of r.instructions) expect(x.decision).toBeLessThan(x.inference);
    // A mask of every modality with the fused head runs exactly the static-fusion layers (plus nothing else).
    host.forEach((h, w) => {
      if (h.useFused) expect(Math.abs(r.instructions[w].inference - r.instructions[w].staticFusion) / r.instructions[w].staticFusion).toBeLessThan(0.01);
    });
    // Ops a one-branch window skips: the emulator's closure of that head alone is smaller than the graph.
    const head = q.outputs[graph.outputs.findIndex((o) => o.name === profile.modalities[0].head)];
    expect(opsFor(q, [head]).length).toBeLessThan(q.ops.length);
  });

  it('the comparison catches a single changed field, and the summary adds energy as counted', () => {
    expect(run).toBeDefined();
    const r = run!;
    const tampered = r.results.map((x) => ({ ...x, weightQ15: [...x.weightQ15] }));
    tampered[5].weightQ15[0] += 1;
    expect(compareWithHost(tampered, host)).toEqual([expect.stringMatching(/^window 5: weightQ15 /)]);
    expect(compareWithHost(r.results.slice(0, 3), host)).toHaveLength(windows.length - 3);
    const e = 2e-10;
    const s = summarize(profile, windows, r.results, r.instructions, e, df.ENERGY_SAVING);
    const es = windows.map((_, w) => w).filter((w) => windows[w].mode === df.ENERGY_SAVING);
    expect(s.windows).toBe(es.length);
    expect(s.branches).toBe(1);
    const compute = es.reduce((a, w) => a + (r.instructions[w].decision + r.instructions[w].inference + r.instructions[w].fuse) * e, 0) / es.length;
    expect(s.computeJ).toBeCloseTo(compute, 15);
    const sensing = profile.modalities.map((m) => m.sensingEnergyJ);
    expect(s.totalAllSensorsJ).toBeCloseTo(compute + sensing.reduce((a, b) => a + b, 0), 12);
    expect(s.totalSelectedSensorsJ).toBeCloseTo(compute + sensing[0], 12);
    expect(s.accuracy).toBe(es.filter((w) => r.results[w].cls === windows[w].label).length / es.length);
  });
});
