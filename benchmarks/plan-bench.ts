// How long mixed-precision planning takes per example model, and what it buys.
//
//   npx tsx benchmarks/plan-bench.ts [--iterations N] [--batch N] [--no-accuracy] [example ...]
//
// For every examples/<name>/model.onnx with calib.npz (and test.npz for accuracy): times the
// Hessian traces and the ILP solve (tied, at the paper's 20%-of-FP32 target, or all-INT4 when that
// is larger), then prints FP32 / INT8 / INT4 / mixed accuracy in the integer emulator and weight bytes.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { analyzeLayers } from '../compiler/ilp/from-graph.ts';
import { DEFAULT_FLASH_FRACTION, buildProblem, calibrationRows, fp32WeightBytes, measureSensitivity, planFromSensitivity } from '../compiler/ilp/planner.ts';
import { evaluateAssignment, uniformAssignment } from '../compiler/ilp/problem.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { calibrateGraph, evaluatePlan, loadDataSet } from '../compiler/quant/evaluate.ts';
import { uniformPlan } from '../compiler/quant/plan.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { iterations: { type: 'string' }, batch: { type: 'string' }, 'no-accuracy': { type: 'boolean' } },
});

const root = join(import.meta.dirname, '..', 'examples');
const names = positionals.length ? positionals : readdirSync(root).filter((d) => existsSync(join(root, d, 'model.onnx')));
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

for (const name of names) {
  const dir = join(root, name);
  const modelFile = join(dir, 'model.onnx');
  if (!existsSync(modelFile) || !existsSync(join(dir, 'calib.npz'))) {
    console.log(`${name}: no model.onnx / calib.npz yet, skipped`);
    continue;
  }
  const graph = loadOnnx(modelFile);
  const calib = loadDataSet(graph, join(dir, 'calib.npz'));
  const t0 = performance.now();
  const sens = measureSensitivity(graph, calibrationRows(graph, calib), {
    maxIterations: values.iterations ? Number(values.iterations) : undefined,
    batchSize: values.batch ? Number(values.batch) : undefined,
  });
  const tSens = (performance.now() - t0) / 1000;
  const fp32 = fp32WeightBytes(sens.layers);
  const probe = buildProblem(graph, sens, {}, true);
  const minBytes = evaluateAssignment(probe, uniformAssignment(probe, 4)).weightBytes;
  const flash = Math.max(Math.floor(DEFAULT_FLASH_FRACTION * fp32), minBytes);
  const t1 = performance.now();
  const result = planFromSensitivity(graph, sens, { flashBytes: flash }, true, 'model.onnx');
  const tSolve = (performance.now() - t1) / 1000;
  const macs = sens.layers.reduce((s, l) => s + l.macs, 0);
  console.log(
    `${name}: ${sens.layers.length} layers, ${macs} MACs, ${calib.rows.length} calib rows | sensitivity ${tSens.toFixed(1)} s ` +
      `(${sens.traces.iterations} iterations x ${sens.traces.batchSize} rows, ${sens.traces.converged ? 'converged' : 'not converged'}) | ` +
      `solve ${(1000 * tSolve).toFixed(0)} ms (${result.solve.method}, ${result.solve.provenOptimal ? 'proven optimal' : 'not proven'})`,
  );
  const bits = result.layers.map((l) => l.weightBits).join(' ');
  console.log(`  bits per layer: ${bits}; flash budget ${flash} (${pct(flash / fp32)} of FP32 ${fp32})`);
  if (values['no-accuracy'] || !existsSync(join(dir, 'test.npz'))) continue;
  const test = loadDataSet(graph, join(dir, 'test.npz'));
  const calibration = calibrateGraph(graph, calib.rows);
  const layerNames = analyzeLayers(graph).map((l) => l.name);
  const out = graph.outputs[0].name;
  const rows: Array<[string, number, number]> = [];
  let fpAcc = NaN;
  for (const [label, plan] of [
    ['INT8', uniformPlan('model.onnx', layerNames, 8)],
    ['INT4', uniformPlan('model.onnx', layerNames, 4)],
    ['mixed', result.plan],
  ] as const) {
    const ev = evaluatePlan(graph, calib, test, plan, {}, calibration);
    fpAcc = ev.floatAccuracyPerOutput[out];
    rows.push([label, ev.accuracyPerOutput[out], ev.weightBytes]);
  }
  console.log(`  accuracy (${out}, ${test.rows.length} test rows): FP32 ${pct(fpAcc)} at ${fp32} B` + rows.map(([l, a, b]) => `, ${l} ${pct(a)} at ${b} B (${pct(b / fp32)})`).join(''));
}
