// The sample data shipped with the test models and the stress example: every .npz must match its
// model's graph inputs (names, shapes, labels), and the stress model run by onnxruntime on its
// committed test split must reproduce the FP32 accuracies its training script recorded.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { readNpz, type NpyArray } from '../../compiler/data/npz.ts';
import { loadOnnx } from '../../compiler/onnx/import.ts';
import { REPO_ROOT } from '../helpers/models.ts';

const TEST_MODELS = ['sensor1d', 'dscnn2d', 'bn_nodes', 'relu6_residual', 'grouped_conv', 'gemm_variants', 'dscnn_shared_bn', 'fixed_batch4'];
const STRESS = join(REPO_ROOT, 'examples', 'stress');

/** Checks that `npz` holds one array per graph input (rows x the input's shape without batch) and int64 labels < classes. */
function expectMatchesGraph(npz: Map<string, NpyArray>, onnxFile: string, rows?: number): number {
  const graph = loadOnnx(onnxFile);
  expect([...npz.keys()].filter((k) => k !== 'labels').sort()).toEqual(graph.inputs.map((i) => i.name).sort());
  const labels = npz.get('labels')!;
  expect(labels.dtype).toBe('int64');
  const n = labels.shape[0];
  if (rows !== undefined) expect(n).toBe(rows);
  for (const input of graph.inputs) {
    const a = npz.get(input.name)!;
    expect(a.dtype, input.name).toBe('float32');
    expect(a.shape, input.name).toEqual([n, ...input.shape.slice(1)]);
    expect((a.data as Float32Array).every(Number.isFinite), `${input.name} is finite`).toBe(true);
  }
  const classes = graph.outputs[0].shape[graph.outputs[0].shape.length - 1];
  for (const v of labels.data as BigInt64Array) {
    expect(v >= 0n && v < BigInt(classes)).toBe(true);
  }
  return n;
}

describe('test model sample inputs', () => {
  for (const name of TEST_MODELS) {
    it(`${name}.npz matches ${name}.onnx (8 rows), file small`, () => {
      const file = join(REPO_ROOT, 'test', 'models', `${name}.onnx`);
      expect(statSync(file).size).toBeLessThan(200 * 1024);
      expectMatchesGraph(readNpz(join(REPO_ROOT, 'test', 'models', `${name}.npz`)), file, 8);
    });
  }
});

describe('stress example', () => {
  const modelFile = join(STRESS, 'model.onnx');

  it('calib.npz and test.npz match the graph inputs', () => {
    const calibRows = expectMatchesGraph(readNpz(join(STRESS, 'calib.npz')), modelFile);
    expect(calibRows).toBeGreaterThanOrEqual(100);
    const testRows = expectMatchesGraph(readNpz(join(STRESS, 'test.npz')), modelFile);
    expect(testRows).toBeGreaterThanOrEqual(100);
  });

  it('onnxruntime reproduces the recorded FP32 test accuracy of every head', async () => {
    const metrics = JSON.parse(readFileSync(join(STRESS, 'metrics.json'), 'utf8'));
    const test = readNpz(join(STRESS, 'test.npz'));
    const labels = test.get('labels')!.data as BigInt64Array;
    const session = await ort.InferenceSession.create(modelFile);
    try {
      const correct = new Map<string, number>(session.outputNames.map((o) => [o, 0]));
      for (let row = 0; row < labels.length; row++) {
        const feeds: Record<string, ort.Tensor> = {};
        for (const name of session.inputNames) {
          const a = test.get(name)!;
          const per = a.data.length / a.shape[0];
          feeds[name] = new ort.Tensor('float32', (a.data as Float32Array).slice(row * per, (row + 1) * per), [1, ...a.shape.slice(1)]);
        }
        const out = await session.run(feeds);
        for (const o of session.outputNames) {
          const logits = out[o].data as Float32Array;
          const predicted = logits.indexOf(Math.max(...logits));
          if (BigInt(predicted) === labels[row]) correct.set(o, correct.get(o)! + 1);
        }
      }
      for (const o of session.outputNames) {
        const head = o.replace(/_logits$/, '');
        const recorded = metrics.test[head].accuracy as number;
        // Float differences between PyTorch and onnxruntime may flip a window whose top two logits tie.
        expect(Math.abs(correct.get(o)! - recorded * labels.length), `${head} correct windows`).toBeLessThanOrEqual(2);
      }
    } finally {
      await session.release();
    }
  });
});
