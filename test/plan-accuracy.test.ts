// benchmarks/plan-accuracy.ts reuses the outputs of ops that mixed plans share; its accuracies must be
// exactly evaluatePlan's, plan after plan, in any order (a skip connection, a recurrent layer and lookup-table activations included).
import { describe, expect, it } from 'vitest';
import { PlanAccuracy } from '../compiler/sensitivity/plan-accuracy.ts';
import { analyzeLayers } from '../compiler/ilp/from-graph.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { calibrateOnSet, evaluatePlan, loadDataSet } from '../compiler/quant/evaluate.ts';
import { uniformPlan } from '../compiler/quant/plan.ts';
import { emulate } from '../compiler/quant/emulator.ts';
import { quantizeInputs } from '../compiler/quant/io.ts';
import { mulberry32 } from '../compiler/random.ts';

describe('PlanAccuracy', () => {
  for (const name of ['dscnn2d', 'relu6_residual', 'rnn_conv_gru2', 'lut_acts']) {
    it(`equals evaluatePlan on random mixed plans of ${name}, with ops reused`, () => {
      const graph = loadOnnx(`test/models/${name}.onnx`);
      const set = loadDataSet(graph, `test/models/${name}.npz`, 16);
      const calibration = calibrateOnSet(graph, set);
      const names = analyzeLayers(graph).map((l) => l.name);
      const evaluator = new PlanAccuracy(graph, calibration, set);
      const rand = mulberry32(5);
      for (let k = 0; k < 8; k++) {
        const plan = uniformPlan(graph.file, names, 8);
        for (const n of names) if (rand() < 0.5) plan.layers[n] = { weightBits: 4, activationBits: 4 };
        expect(evaluator.accuracy(plan)).toEqual(evaluatePlan(graph, set, set, plan, {}, calibration).accuracyPerOutput);
        // Bit for bit: every row's every output is what the emulator computes from scratch.
        const { q, outputs } = evaluator.outputValues(plan);
        set.rows.forEach((row, r) => {
          const direct = emulate(q, quantizeInputs(q, row));
          q.outputs.forEach((o, k) => expect(outputs[k][r]).toEqual(direct.get(o)));
        });
      }
      expect(evaluator.stats.reused).toBeGreaterThan(0);
    });
  }
});
