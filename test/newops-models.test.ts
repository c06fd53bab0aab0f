// Issue 11's new operators end to end on the two PyTorch exports test/models/newops_2d.onnx and
// newops_1d.onnx (PRelu, Split, Slice, ConvTranspose 1-D and 2-D, Resize nearest / bilinear by
// scales and by sizes, dilated grouped conv 1-D and 2-D, dilated depthwise with multiplier 2,
// ReduceMean and ReduceMax over spatial axes and over channels, LogSoftmax): every new kernel is in
// the lowered graph, and the generated C runs bit-exact with the integer emulator on Cortex-M4
// under QEMU (mps2-an386) at uniform INT8 and uniform INT4 (weights and activations). The float
// reference against onnxruntime and the host C builds run for these models in the model-wide
// tests (reference.test.ts, codegen-models.test.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateModel } from '../compiler/codegen/generate.ts';
import { haveTool } from '../compiler/codegen/hostcheck.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { calibrateGraph, loadDataSet, uniform } from '../compiler/quant/evaluate.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import { REPO_ROOT } from './helpers/models.ts';
import { expectBitExactOnBoard } from './helpers/harness-qemu.ts';

const work = mkdtempSync(join(tmpdir(), 'tm2-newops-models-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const ROWS = 2;

const MODELS = {
  newops_2d: ['prelu', 'slice', 'conv_transpose', 'resize_nearest', 'resize_bilinear', 'conv', 'depthwise', 'gap', 'reduce_max', 'log_softmax'],
  newops_1d: ['slice', 'conv_transpose', 'resize_bilinear', 'conv', 'reduce_max', 'reduce_mean', 'lut', 'log_softmax'],
} as const;

describe.skipIf(!haveTool('arm-none-eabi-gcc') || !haveTool('qemu-system-arm'))('new operators end to end on Cortex-M4 (QEMU mps2-an386)', () => {
  for (const [name, kinds] of Object.entries(MODELS)) {
    for (const bits of [8, 4] as const) {
      it(`${name}, uniform INT${bits}: the new kernels are used and the C equals the emulator`, async () => {
        const file = join(REPO_ROOT, `test/models/${name}.onnx`);
        const graph = loadOnnx(file);
        const data = loadDataSet(graph, join(REPO_ROOT, `test/models/${name}.npz`), 8);
        const q = quantizeGraph(graph, calibrateGraph(graph, data.rows), uniform(graph, bits));
        const used = new Set(q.ops.map((op) => op.op));
        for (const k of kinds) expect(used, `${name} lowers to a ${k} op`).toContain(k);
        const model = generateModel(q, { name, source: `${name}.onnx`, precision: `int${bits}` });
        await expectBitExactOnBoard(q, model, name, data.rows.slice(0, ROWS), join(work, `int${bits}`));
      }, 300_000);
    }
  }
});
