// The float reference interpreter against onnxruntime on random inputs, for every model in the
// repository (test/models/ and examples/, found by glob).
import { describe, expect, it } from 'vitest';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { runFloat } from '../compiler/reference/interpreter.ts';
import { tensorSize } from '../compiler/ir.ts';
import { listOnnxModels, repoRelative } from './helpers/models.ts';
import { randomInput, relativeError, runOnnxRuntime } from './helpers/ort.ts';

const models = listOnnxModels();

describe('float reference vs onnxruntime', () => {
  it('finds models to test', () => {
    expect(models.length).toBeGreaterThan(0);
  });

  for (const file of models) {
    it(repoRelative(file), async () => {
      const graph = loadOnnx(file);
      // A batch fixed at N by the exporter (compiled as batch 1): onnxruntime runs N rows at once,
      // the reference one row at a time.
      const rows = graph.exportedBatch ?? 1;
      for (const seed of [1, 2, 3]) {
        const feeds: Record<string, { data: Float32Array; shape: number[] }> = {};
        graph.inputs.forEach((inp, k) => {
          const data = randomInput(rows * tensorSize(inp.shape), seed * 100 + k);
          // Scale up so ReLU thresholds, pools and Softmax see a realistic spread.
          for (let i = 0; i < data.length; i++) data[i] *= 3;
          feeds[inp.name] = { data, shape: [rows, ...inp.shape.slice(1)] };
        });
        const ours = new Map(graph.outputs.map((o) => [o.name, new Float32Array(rows * tensorSize(o.shape))]));
        for (let r = 0; r < rows; r++) {
          const row = (name: string, size: number) => feeds[name].data.subarray(r * size, (r + 1) * size);
          const out = runFloat(graph, Object.fromEntries(graph.inputs.map((i) => [i.name, row(i.name, tensorSize(i.shape))])));
          for (const o of graph.outputs) ours.get(o.name)!.set(out.get(o.name)!, r * tensorSize(o.shape));
        }
        const theirs = await runOnnxRuntime(file, feeds);
        for (const out of graph.outputs) {
          const ref = theirs.get(out.name);
          expect(ref, `onnxruntime output ${out.name}`).toBeDefined();
          expect(ref!.shape).toEqual([rows, ...out.shape.slice(1)]);
          const err = relativeError(ours.get(out.name)!, ref!.data);
          expect(err, `${out.name} (seed ${seed})`).toBeLessThan(1e-4);
        }
      }
    });
  }

  it('keepAll returns every tensor, inputs and intermediates included', () => {
    const graph = loadOnnx(models[0]);
    const inputs = Object.fromEntries(graph.inputs.map((i, k) => [i.name, randomInput(tensorSize(i.shape), k)]));
    const all = runFloat(graph, inputs, { keepAll: true });
    for (const name of graph.tensors.keys()) {
      expect(all.get(name)?.length, name).toBe(tensorSize(graph.tensors.get(name)!.shape));
    }
    const outs = runFloat(graph, inputs);
    expect([...outs.keys()]).toEqual(graph.outputs.map((o) => o.name));
  });
});
