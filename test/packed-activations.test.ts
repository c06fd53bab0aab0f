// Packed INT4 activations end to end (compiler/quant/act-storage.ts, runtime-c/src/s4_act.c):
// - the arena of every model at uniform INT8, uniform INT4 and a fixed mixed plan, pinned exactly
//   (benchmarks/packed-arena.ts prints the same table into compiler/quant/README.md); all-INT4 arenas
//   of the convolutional examples are about half the INT8 ones;
// - the generated C with packed tensors bit-exact with the emulator on Cortex-M4 (mps2-an386 under
//   QEMU) and the Pi 4 (rpi4 under qemu-aarch64), all-INT4 and mixed, on the examples and the test
//   models with packed tensors of every packed kind (conv, depthwise, pointwise, dense, pools, gap,
//   add, mul, lut, views, concat). The host builds of every model and plan run in codegen-models.test.ts.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { arenaRows, mixedPlan } from '../benchmarks/packed-arena.ts';
import { generateModel } from '../compiler/codegen/generate.ts';
import { haveTool } from '../compiler/codegen/hostcheck.ts';
import { tensorSize } from '../compiler/ir.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { packedActivations, storedBytes } from '../compiler/quant/act-storage.ts';
import { planModelMemory } from '../compiler/codegen/arena.ts';
import { calibrateGraph, loadDataSet, uniform } from '../compiler/quant/evaluate.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import { REPO_ROOT } from './helpers/models.ts';
import { expectBitExactOnBoard } from './helpers/harness-qemu.ts';

const work = mkdtempSync(join(tmpdir(), 'tm2-packed-act-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('arena with packed INT4 activations', () => {
  it('every model: INT8 / all-INT4 / mixed arena bytes, exact', () => {
    const rows = Object.fromEntries(arenaRows().map((r) => [r.model, [r.int8, r.int4, r.mixed, r.int4Packed]]));
    expect(rows).toEqual(ARENAS);
  }, 120_000);

  it('the scratch an op is granted beyond its own (wider bands) overlaps no tensor alive during the op', () => {
    let widened = 0;
    for (const rel of [...M4_MODELS, 'test/models/dscnn2d.onnx', 'test/models/sensor1d.onnx', 'test/models/grouped_conv.onnx', 'test/models/tiny_patterns_op13.onnx']) {
      const graph = loadOnnx(join(REPO_ROOT, rel));
      const row = Object.fromEntries(graph.inputs.map((i) => [i.name, new Float32Array(tensorSize(i.shape)).fill(0.5)]));
      const cal = calibrateGraph(graph, [row]);
      for (const plan of [uniform(graph, 4), mixedPlan(graph)]) {
        const q = quantizeGraph(graph, cal, plan);
        const mem = planModelMemory(q);
        // Lifetimes from the graph itself: written at step j + 1 by op j (a graph input when it is converted into
        // the arena, boundaryOp + 1), read up to the last reader (outputs: the end).
        const live = new Map<string, [number, number]>();
        for (const t of q.inputs) live.set(t, [mem.boundaryOp.get(t)! + 1, mem.boundaryOp.get(t)! + 1]);
        q.ops.forEach((op, j) => {
          live.set(op.output, [j + 1, j + 1]);
          for (const x of op.inputs) if (live.has(x)) live.get(x)![1] = j + 1;
        });
        for (const t of q.outputs) live.get(t)![1] = q.ops.length + 1;
        mem.scratch.forEach((sc, i) => {
          if (!sc) return;
          expect(sc.granted).toBeGreaterThanOrEqual(sc.bytes);
          expect(sc.offset + sc.granted).toBeLessThanOrEqual(mem.plan.arenaBytes);
          if (sc.granted > sc.bytes) widened++;
          for (const [t, [a, b]] of live) {
            const at = mem.tensorOffset.get(t);
            if (at === undefined || a > i + 1 || b < i + 1) continue;
            const end = at + storedBytes(q, t);
            expect(at >= sc.offset + sc.granted || end <= sc.offset, `${rel} op ${i}: granted [${sc.offset}, ${sc.offset + sc.granted}) and ${t} [${at}, ${end})`).toBe(true);
          }
        });
      }
    }
    expect(widened).toBeGreaterThan(0);
  }, 120_000);

  it('all-INT4 arenas of the convolutional examples are at most 0.6x their INT8 arenas', () => {
    for (const m of ['examples/av-digits/model.onnx', 'examples/av-digits/image_only.onnx', 'examples/av-digits/audio_only.onnx', 'examples/kws-fsdd/model.onnx']) {
      const [int8, int4] = ARENAS[m] as number[];
      expect(int4 / int8, m).toBeLessThanOrEqual(0.6);
    }
  });
});

/** Exact figures: benchmarks/packed-arena.ts (calibration on one seeded random row; sizes depend only on shapes and bits). */
const ARENAS: Record<string, [number, number, number, string]> = {
  'examples/av-digits/admn.onnx': [12544, 6944, 10784, '100 %'],
  'examples/av-digits/audio_only.onnx': [10240, 5216, 10240, '100 %'],
  'examples/av-digits/early_fusion.onnx': [15680, 8404, 15680, '100 %'],
  'examples/av-digits/image_only.onnx': [7840, 3968, 7840, '100 %'],
  'examples/av-digits/late_fusion.onnx': [10240, 5216, 7840, '100 %'],
  'examples/av-digits/model.onnx': [10304, 5248, 7840, '100 %'],
  'examples/dsa-har-lstm/conv-gru.onnx': [4640, 4640, 4640, '51 %'],
  'examples/dsa-har-lstm/model.onnx': [4640, 4640, 4640, '51 %'],
  'examples/dsa-har/admn.onnx': [3152, 2072, 3152, '100 %'],
  'examples/dsa-har/model.onnx': [2504, 2064, 2424, '99 %'],
  'examples/kws-fsdd/model.onnx': [16256, 9280, 16000, '100 %'],
  'examples/stress/model.onnx': [2512, 2100, 2512, '100 %'],
  'test/models/bn_nodes.onnx': [4096, 2304, 4096, '100 %'],
  'test/models/dscnn2d.onnx': [6472, 3572, 5320, '100 %'],
  'test/models/dscnn_shared_bn.onnx': [1056, 768, 1024, '100 %'],
  'test/models/fixed_batch4.onnx': [500, 404, 500, '99 %'],
  'test/models/gemm_variants.onnx': [60, 76, 60, '95 %'],
  'test/models/grouped_conv.onnx': [3476, 3044, 3476, '100 %'],
  'test/models/lut_acts.onnx': [3456, 1920, 3456, '100 %'],
  'test/models/newops_1d.onnx': [528, 528, 528, '13 %'],
  'test/models/newops_2d.onnx': [9412, 9412, 9412, '0 %'],
  'test/models/relu6_residual.onnx': [4456, 2920, 4456, '100 %'],
  'test/models/rnn_conv_gru2.onnx': [308, 308, 308, '0 %'],
  'test/models/rnn_seq_reads.onnx': [220, 220, 220, '0 %'],
  'test/models/rnn_stacked_lstm.onnx': [328, 328, 328, '0 %'],
  'test/models/sensor1d.onnx': [784, 592, 784, '100 %'],
  'test/models/tiny_fusion_op11.onnx': [3624, 2020, 2568, '100 %'],
  'test/models/tiny_fusion_op13.onnx': [3624, 2020, 2568, '100 %'],
  'test/models/tiny_fusion_op17.onnx': [3624, 2020, 2568, '100 %'],
  'test/models/tiny_patterns_op11.onnx': [624, 492, 624, '65 %'],
  'test/models/tiny_patterns_op13.onnx': [624, 492, 624, '65 %'],
};

// Between them every packed kind, 1-D and 2-D, odd element counts; the Pi 4 runs the portable C (a subset).
const M4_MODELS = ['examples/kws-fsdd/model.onnx', 'examples/av-digits/model.onnx', 'examples/dsa-har/model.onnx',
  'test/models/tiny_fusion_op13.onnx', 'test/models/relu6_residual.onnx'];
const BOARDS = [
  { board: 'mps2-an386', tools: ['arm-none-eabi-gcc', 'qemu-system-arm'], models: M4_MODELS },
  { board: 'rpi4', tools: ['aarch64-linux-gnu-gcc', 'qemu-aarch64'], models: [M4_MODELS[0], M4_MODELS[2], M4_MODELS[3]] },
];

/** A model's graph, rows and calibration, computed once for both boards (the Pi 4 runs a subset of the M4's models). */
const prepared = new Map<string, { graph: ReturnType<typeof loadOnnx>; rows: Array<Record<string, Float32Array>>; cal: ReturnType<typeof calibrateGraph> }>();
function prepare(rel: string) {
  const hit = prepared.get(rel);
  if (hit) return hit;
  const file = join(REPO_ROOT, rel);
  const graph = loadOnnx(file);
  const npz = [file.replace(/\.onnx$/, '.npz'), join(dirname(file), 'calib.npz')].find(existsSync);
  let rows;
  if (npz) rows = loadDataSet(graph, npz, 16).rows;
  else {
    let seed = 5;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
    rows = Array.from({ length: 8 }, () => Object.fromEntries(graph.inputs.map((i) => [i.name, Float32Array.from({ length: tensorSize(i.shape) }, rand)])));
  }
  const p = { graph, rows, cal: calibrateGraph(graph, rows) };
  prepared.set(rel, p);
  return p;
}

for (const { board, tools, models } of BOARDS) {
  describe.skipIf(!tools.every(haveTool))(`packed INT4 activations bit-exact on ${board} under QEMU`, () => {
    for (const rel of models) {
      it(`${rel}: all-INT4 and mixed`, async () => {
        const { graph, rows, cal } = prepare(rel);
        for (const [plan, p] of [['int4', uniform(graph, 4)], ['mixed', mixedPlan(graph)]] as const) {
          const q = quantizeGraph(graph, cal, p);
          if (plan === 'int4') expect(packedActivations(q).size, 'tensors stored packed').toBeGreaterThan(0);
          const name = `${rel.split('/').at(-2)!.replace(/-/g, '_')}_${plan}`;
          const model = generateModel(q, { name, source: rel, precision: plan });
          await expectBitExactOnBoard(q, model, name, rows.slice(0, 2), join(work, board, name), board);
        }
      }, 600_000);
    }
  });
}
