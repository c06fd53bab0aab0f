// The ILP planner's view of bit widths and fused layer outputs (compiler/ilp/from-graph.ts) is
// derived from the quantizer's own rules (OpDef.quant hooks and quant/lower.ts clampChain). This
// test holds them to it on every model in test/models/ and examples/: for random plans that keep
// the planner's equal-bits groups, each weighted layer's input bits in the lowered QGraph are the
// bits the planner predicts, and the layer writes the tensor the planner names as its output.
import { describe, expect, it } from 'vitest';
import { analyzeLayers, ilpLayers } from '../compiler/ilp/from-graph.ts';
import { tensorSize } from '../compiler/ir.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { calibrateGraph } from '../compiler/quant/evaluate.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import type { PrecisionPlan } from '../compiler/quant/plan.ts';
import type { Bits } from '../compiler/quant/qgraph.ts';
import { mulberry32 } from '../compiler/random.ts';
import { listOnnxModels, repoRelative } from './helpers/models.ts';
import { randomInput } from './helpers/ort.ts';

const models = listOnnxModels();

describe('ILP bit rules equal the quantizer on every model', () => {
  it('finds models', () => expect(models.length).toBeGreaterThan(5));

  for (const file of models) {
    it(repoRelative(file), () => {
      const graph = loadOnnx(file);
      const layers = analyzeLayers(graph);
      const { equalActivationBits } = ilpLayers(layers, () => ({ omegaWeights: { 4: 0, 8: 0 }, omegaActivations: { 4: 0, 8: 0 } }));
      const rows = [1, 2, 3].map((seed) => Object.fromEntries(graph.inputs.map((inp, k) => [inp.name, randomInput(tensorSize(inp.shape), seed * 10 + k).map((v) => 3 * v)])));
      const calib = calibrateGraph(graph, rows);
      const u = mulberry32(tensorSize([layers.length, file.length]));
      for (let trial = 0; trial < 3; trial++) {
        // Random bits, equal within each group the planner ties (lower.ts would widen them anyway).
        const act = new Map<string, Bits>(layers.map((l) => [l.name, (u() < 0.5 ? 4 : 8) as Bits]));
        for (const group of equalActivationBits) for (const name of group) act.set(name, act.get(group[0])!);
        const plan: PrecisionPlan = { model: file, layers: Object.fromEntries(layers.map((l) => [l.name, { weightBits: (u() < 0.5 ? 4 : 8) as Bits, activationBits: act.get(l.name)! }])) };
        const q = quantizeGraph(graph, calib, plan);
        for (const l of layers) {
          const ops = q.ops.filter((o) => o.name === l.name);
          const weighted = ops.find((o) => 'weights' in o);
          expect(weighted, `${l.name} lowers to an op with weights`).toBeDefined();
          const inputBits = q.tensors.get(weighted!.inputs[0])!.bits;
          const predicted = Math.max(l.readsFixed8 || l.sources.length === 0 ? 8 : 4, ...l.sources.map((s) => act.get(s)!));
          expect(inputBits, `input bits of ${l.name} (trial ${trial})`).toBe(predicted);
          expect(ops[ops.length - 1].output, `output tensor of ${l.name}`).toBe(l.outputTensor);
          expect(q.tensors.get(l.outputTensor)!.bits, `output bits of ${l.name}`).toBe(act.get(l.name));
        }
      }
    });
  }
});
