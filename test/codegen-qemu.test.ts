// The generated C on the real target instruction set: the av-digits example (mixed INT4/INT8 plan)
// and its test-vector harness built for the Cortex-M4 board (compiler/target: the board's gcc flags,
// start-up code, count markers) and run under QEMU mps2-an386. Outputs must equal the emulator's;
// the per-inference instruction counts and the per-layer profile (TM2_PROFILE_LAYERS) must agree.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateModel } from '../compiler/codegen/generate.ts';
import { haveTool } from '../compiler/codegen/hostcheck.ts';
import { writeOutputDir } from '../compiler/codegen/output.ts';
import { harnessSource, layerProfile, parseHarnessOutput } from '../compiler/codegen/testvectors.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { calibrateGraph, loadDataSet, weightedLayers } from '../compiler/quant/evaluate.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import type { PrecisionPlan } from '../compiler/quant/plan.ts';
import { loadBoard } from '../compiler/target/boards.ts';
import { buildFirmware } from '../compiler/target/build.ts';
import { runFirmware } from '../compiler/target/run.ts';
import { REPO_ROOT } from './helpers/models.ts';

const work = mkdtempSync(join(tmpdir(), 'tm2-codegen-qemu-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const ROWS = 2;

describe.skipIf(!haveTool('arm-none-eabi-gcc') || !haveTool('qemu-system-arm'))('generated C on Cortex-M4 (QEMU mps2-an386)', () => {
  it('av-digits, mixed INT4/INT8: bit-exact, one count region per inference, per-layer regions add up', async () => {
    const file = join(REPO_ROOT, 'examples/av-digits/model.onnx');
    const graph = loadOnnx(file);
    const layers: PrecisionPlan['layers'] = {};
    weightedLayers(graph).forEach((n, k) => (layers[n] = { weightBits: k % 3 === 1 ? 8 : 4, activationBits: k % 3 === 1 ? 8 : 4 }));
    const calib = loadDataSet(graph, join(REPO_ROOT, 'examples/av-digits/calib.npz'), 64);
    const test = loadDataSet(graph, join(REPO_ROOT, 'examples/av-digits/test.npz'), ROWS);
    const q = quantizeGraph(graph, calibrateGraph(graph, calib.rows), { model: 'model.onnx', layers });
    const model = generateModel(q, { name: 'av', source: 'model.onnx', precision: 'mixed' });
    model.files.set('av_test.c', harnessSource(q, model, test.rows));
    const out = join(work, 'av');
    writeOutputDir(out, model.files);

    const board = loadBoard('mps2-an386');
    const runtime = readdirSync(join(out, 'runtime/src')).filter((f) => f.endsWith('.c')).map((f) => join(out, 'runtime/src', f));
    const sources = [join(out, 'av_test.c'), join(out, 'av.c'), join(out, 'av_weights.c'), ...runtime];
    const includeDirs = [out, join(out, 'runtime/include'), join(out, 'runtime/src')];
    const regionsFor = async (profile: boolean) => {
      const fw = await buildFirmware({
        board,
        sources,
        includeDirs,
        defines: { TM2_SELF_CHECK: true, TM2_COUNT_MARKERS: true, ...(profile ? { TM2_PROFILE_LAYERS: true } : {}) },
        outDir: join(work, profile ? 'fw-layers' : 'fw'),
        extraCflags: ['-Wall', '-Wextra', '-Werror'],
      });
      const r = await runFirmware(fw.elf, board);
      const res = parseHarnessOutput(r.stdout);
      expect(res).toMatchObject({ rows: ROWS, mismatches: 0, quantizeMismatches: 0, scratchErrors: 0 });
      expect(r.exitCode).toBe(0);
      if (!profile) {
        // The model's own footprint in the image: its weights in flash, its arena in RAM.
        expect(fw.objectBytes.get(join(out, 'av_weights.c'))!.rodata).toBe(model.weightBytes);
        expect(fw.objectBytes.get(join(out, 'av.c'))!.bss).toBe(model.arenaBytes);
      }
      return r.regions;
    };
    const whole = await regionsFor(false);
    expect(whole.length).toBe(ROWS);
    const perLayer = layerProfile(await regionsFor(true), q.ops.length);
    const sum = perLayer.reduce((a, b) => a + b, 0);
    // Layers add up to the inference minus the boundary copies and calls (a few thousand instructions).
    expect(sum).toBeLessThan(whole[0]);
    expect(sum).toBeGreaterThan(0.97 * whole[0]);
    for (const [i, op] of q.ops.entries()) if (op.op === 'reshape') expect(perLayer[i]).toBe(1);
  }, 300_000);
});
