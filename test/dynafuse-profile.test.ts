// DynaFuse compile-time profile on the dsa-har example (a subset of the calibration rows, to stay fast):
// resilience tables against an independent full-graph evaluation, the noise estimator's calibration
// end to end, the emitted C tables against the TypeScript twin (host gcc, strict), and branch
// instructions measured under QEMU adding up to the whole inference.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { haveTool } from '../compiler/codegen/hostcheck.ts';
import { loadFusionConfig } from '../compiler/dynafuse/config.ts';
import { emitDynaFuseC } from '../compiler/dynafuse/emit.ts';
import { measureOpInstructions, measureRoutineInstructions, routineLogits, routineWeights } from '../compiler/dynafuse/measure.ts';
import { energyNanojoules, gaussian, opsFor, profileDynaFuse } from '../compiler/dynafuse/profile.ts';
import * as df from '../compiler/dynafuse/runtime.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { emulate } from '../compiler/quant/emulator.ts';
import { calibrateGraph, loadDataSet, type DataSet } from '../compiler/quant/evaluate.ts';
import { quantizeInput, quantizeInputs } from '../compiler/quant/io.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import { loadBoard } from '../compiler/target/boards.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EX = join(ROOT, 'examples', 'dsa-har');
const graph = loadOnnx(join(EX, 'model.onnx'));
const full = loadDataSet(graph, join(EX, 'calib.npz'));
const q = quantizeGraph(graph, calibrateGraph(graph, full.rows));
// Every 6th calibration row (38 rows, every class).
const pick = full.rows.map((_, i) => i).filter((i) => i % 6 === 0);
const calib: DataSet = { file: full.file, rows: pick.map((i) => full.rows[i]), labels: new Map([['labels', Int32Array.from(pick, (i) => full.labels.get('labels')![i])]]) };
const config = loadFusionConfig(join(EX, 'fusion.json'), graph);
const board = loadBoard('mps2-an386');
const profile = profileDynaFuse(graph, q, calib, config, { board, instructions: { instructionsPerMac: 2.235, basis: 'estimate for the test' } });
const work = mkdtempSync(join(tmpdir(), 'tm2-dynafuse-profile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function argmax(a: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[b]) b = i;
  return b;
}

describe('DynaFuse profile (dsa-har)', () => {
  it('noise-free resilience knots equal each head\'s accuracy from a full-graph emulation', () => {
    const labels = calib.labels.get('labels')!;
    const correct = new Map(config.modalities.map((m) => [m.head, 0]));
    calib.rows.forEach((row, r) => {
      const values = emulate(q, quantizeInputs(q, row));
      graph.outputs.forEach((o, k) => {
        if (correct.has(o.name) && argmax(values.get(q.outputs[k])!) === labels[r]) correct.set(o.name, correct.get(o.name)! + 1);
      });
    });
    profile.modalities.forEach((m) => {
      expect(m.accuracy[0]).toBe(correct.get(m.head)! / calib.rows.length);
      expect(m.resilience.y[0]).toBe(Math.round(m.accuracy[0] * 32768));
      expect(m.resilience.x).toEqual(config.noiseSigmas.map((s) => Math.round(s * 4096)));
      // Noise of 2 standard deviations costs every head accuracy.
      expect(m.accuracy[m.accuracy.length - 1]).toBeLessThan(m.accuracy[0] - 0.1);
    });
  });

  it('the noise estimate tracks the injected sigma (Q12) and its map is increasing', () => {
    for (const m of profile.modalities) {
      config.noiseSigmas.forEach((s, k) => {
        if (s >= 1) expect(Math.abs(m.estimateQ12[k] - s * 4096)).toBeLessThan(0.15 * s * 4096);
      });
      for (let k = 1; k < m.estToSigma.x.length; k++) expect(m.estToSigma.x[k]).toBeGreaterThan(m.estToSigma.x[k - 1]);
    }
  });

  it('end to end: the twin estimates the sigma of noise added to a window not used for calibration', () => {
    const test = loadDataSet(graph, join(EX, 'test.npz'), 40);
    const normal = gaussian(99);
    for (const [mi, m] of profile.modalities.entries()) {
      for (const sigma of [0.5, 1.5]) {
        const errs: number[] = [];
        for (const row of test.rows.slice(0, 20)) {
          const x = Float32Array.from(row[m.input]);
          for (let c = 0; c < m.channels; c++) for (let t = 0; t < m.samples; t++) x[c * m.samples + t] += sigma * m.channelStd[c] * normal();
          errs.push(df.noiseS8(profile.tables.modalities[mi], quantizeInput(q, m.input, x)) / 4096 - sigma);
        }
        errs.sort((a, b) => a - b);
        expect(Math.abs(errs[10]), `${m.name} sigma ${sigma}`).toBeLessThan(0.3);
      }
    }
  });

  it('energies are rounded to 3 significant digits', () => {
    expect(energyNanojoules(18.10384e-3)).toBe(18_100_000);
    expect(energyNanojoules(1.3559e-6)).toBe(1360);
    expect(energyNanojoules(42e-9)).toBe(42);
    expect(energyNanojoules(0)).toBe(0);
  });

  it('energy per window = sensing (config) + compute (instructions x board energy per instruction)', () => {
    for (const [i, m] of profile.modalities.entries()) {
      expect(m.sensingEnergyJ).toBeCloseTo(config.modalities[i].sensor.energyPerSampleJ * 125, 12);
      expect(m.instructions).toBeCloseTo(m.macs * 2.235, 6);
      expect(profile.tables.modalities[i].energyNj).toBe(energyNanojoules(m.energyJ));
      expect(Math.abs(profile.tables.modalities[i].energyNj - m.energyJ * 1e9)).toBeLessThanOrEqual(0.005 * m.energyJ * 1e9);
    }
    expect(profile.fused!.extraOps).toBeGreaterThan(0);
  });

  it.runIf(haveTool('gcc'))('the emitted C tables give the same estimates and decisions as the twin (host gcc, strict)', () => {
    const files = emitDynaFuseC(profile, 'dsa_har');
    for (const [f, text] of files) writeFileSync(join(work, f), text);
    const rows = calib.rows.slice(0, 6);
    const windows = rows.flatMap((row) => profile.modalities.map((m) => quantizeInput(q, m.input, row[m.input])));
    const sigmaSets = [[0, 0, 0, 0, 0], [8192, 0, 4096, 2048, 6000], [3000, 3000, 3000, 3000, 3000], [9000, 9000, 9000, 9000, 100]];
    const main = [
      '#include <stdio.h>', '#include "dsa_har_dynafuse.h"',
      `static const int8_t windows[${windows.length}][${windows[0].length}] = {${windows.map((w) => `{${Array.from(w).join(',')}}`).join(',\n')}};`,
      `static const int32_t sigmas[${sigmaSets.length}][5] = {${sigmaSets.map((s) => `{${s.join(',')}}`).join(',')}};`,
      'int main(void) {', '  int i, k, mode;',
      `  for (i = 0; i < ${windows.length}; i++) printf("%ld\\n", (long)tm2_dynafuse_noise_s8(&tm2_dsa_har_dynafuse.modalities[i % 5], windows[i]));`,
      `  for (i = 0; i < ${sigmaSets.length}; i++) for (mode = 0; mode < 3; mode++) {`,
      '    tm2_dynafuse_request req; tm2_dynafuse_decision d;',
      '    for (k = 0; k < 5; k++) req.sigma_q12[k] = sigmas[i][k];',
      '    req.battery_pct = -1; req.forced_mode = mode;',
      '    tm2_dynafuse_decide(&tm2_dsa_har_dynafuse, &req, &d);',
      '    printf("%d %lu %d %lu", d.mode, (unsigned long)d.mask, d.use_fused, (unsigned long)d.energy_nj);',
      '    for (k = 0; k < 5; k++) printf(" %ld %ld", (long)d.acc_q15[k], (long)d.weight_q15[k]);',
      '    printf("\\n");', '  }', '  return 0;', '}', ''].join('\n');
    writeFileSync(join(work, 'main.c'), main);
    const exe = join(work, 'tables');
    const b = spawnSync('gcc', ['-std=c99', '-Wall', '-Wextra', '-Werror', '-pedantic', `-I${work}`, `-I${join(ROOT, 'runtime-c', 'dynafuse')}`,
      join(work, 'main.c'), join(work, 'dsa_har_dynafuse.c'), join(ROOT, 'runtime-c', 'dynafuse', 'tm2_dynafuse.c'), '-o', exe], { encoding: 'utf8' });
    expect(b.stderr).toBe('');
    const r = spawnSync(exe, { encoding: 'utf8' });
    const want: string[] = windows.map((w, i) => String(df.noiseS8(profile.tables.modalities[i % 5], w)));
    for (const s of sigmaSets) for (let mode = 0; mode < 3; mode++) {
      const d = df.decide(profile.tables, { sigmaQ12: s, batteryPct: -1, forcedMode: mode });
      want.push([d.mode, d.mask, d.useFused ? 1 : 0, d.energyNj, ...d.accQ15.flatMap((a, k) => [a, d.weightQ15[k]])].join(' '));
    }
    expect(r.stdout.trim().split('\n')).toEqual(want);
  });

  it.runIf(haveTool('arm-none-eabi-gcc'))('the emitted tables compile for Cortex-M4 without warnings', () => {
    const files = emitDynaFuseC(profile, 'dsa_har');
    for (const [f, text] of files) writeFileSync(join(work, f), text);
    const b = spawnSync('arm-none-eabi-gcc', ['-std=c99', '-Wall', '-Wextra', '-Werror', '-pedantic', '-mcpu=cortex-m4', '-mthumb', '-O2', `-I${join(ROOT, 'runtime-c', 'dynafuse')}`,
      '-c', join(work, 'dsa_har_dynafuse.c'), '-o', join(work, 'tables_m4.o')], { encoding: 'utf8' });
    expect(b.stderr).toBe('');
    expect(b.status).toBe(0);
  });

  it.runIf(haveTool('arm-none-eabi-gcc') && haveTool('qemu-system-arm'))('QEMU per-op profile: the branches and the fused head add up to the inference', async () => {
    const m = await measureOpInstructions(q, calib.rows.slice(0, 1), board, join(work, 'qemu'));
    const heads = [...config.modalities.map((x) => x.head), config.fusedHead!].map((h) => q.outputs[graph.outputs.findIndex((o) => o.name === h)]);
    const covered = new Set(heads.flatMap((h) => opsFor(q, [h])));
    const sum = [...covered].reduce((s, i) => s + m.perOp[i], 0);
    expect(covered.size).toBe(q.ops.length);
    expect(sum).toBeLessThan(m.inference);
    expect(sum).toBeGreaterThan(0.9 * m.inference);
    const torso = opsFor(q, [heads[0]]).reduce((s, i) => s + m.perOp[i], 0);
    expect(torso).toBeGreaterThan(0.15 * m.inference);
    expect(torso).toBeLessThan(0.25 * m.inference);
  }, 240_000);

  it.runIf(haveTool('arm-none-eabi-gcc') && haveTool('qemu-system-arm'))('on Cortex-M4 under QEMU the routine computes what the twin computes (and its instruction counts)', async () => {
    const row = calib.rows[calib.rows.length - 1];
    const r = await measureRoutineInstructions(profile, q, row, board, join(work, 'routine'));
    const t = profile.tables;
    const n = t.modalities.length;
    const sigmaQ12 = profile.modalities.map((m, i) => df.noiseS8(t.modalities[i], quantizeInput(q, m.input, row[m.input])));
    const d = df.decide(t, { sigmaQ12, batteryPct: -1, forcedMode: df.NOMINAL });
    const logits = Array.from({ length: n + 1 }, (_, i) => Array.from({ length: t.classes }, (_, c) => routineLogits(i, c)));
    const f = df.fuse(t, { ...d, mask: 2 ** n - 1, useFused: false, weightQ15: routineWeights(n) }, logits.slice(0, n), logits[n]);
    expect(r.outputs).toEqual([...sigmaQ12, d.mode, d.mask, d.useFused ? 1 : 0, ...d.accQ15, ...d.weightQ15, d.energyNj, ...f.probsQ15, f.argmax]);
    for (const k of r.noise) expect(k).toBeGreaterThan(5000);
    expect(r.decide).toBeGreaterThan(100);
    expect(r.fuse).toBeGreaterThan(1000);
  }, 240_000);
});
