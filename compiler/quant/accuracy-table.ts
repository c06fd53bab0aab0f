// Prints FP32 / INT8 / INT4 accuracy (and argmax agreement with FP32, weight bytes) for models
// with calib.npz / test.npz next to them, for both calibration methods. A developer tool:
//   npx tsx compiler/quant/accuracy-table.ts examples/*/model.onnx [--rows N] [--per-tensor-inputs] [--json]
// Inputs are quantized per channel where they can be, as quantizeGraph does by default
// (--per-channel-inputs says so explicitly); --per-tensor-inputs gives every input one scale.
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadOnnx } from '../onnx/import.ts';
import { calibrateOnSet, evaluatePlan, loadDataSet, uniform } from './evaluate.ts';
import type { CalibrationOptions } from './calibrate.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rows: { type: 'string', default: '1000' }, 'calib-rows': { type: 'string', default: '500' }, json: { type: 'boolean', default: false }, 'per-channel-inputs': { type: 'boolean', default: false }, 'per-tensor-inputs': { type: 'boolean', default: false }, methods: { type: 'string', default: 'minmax,p99.99,p99.9,mse,default' } },
});
const maxRows = Number(values.rows);
const maxCalib = Number(values['calib-rows']);
const allMethods: Array<[string, CalibrationOptions]> = [
  ['minmax', { method: 'minmax' }],
  ['p99.99', { method: 'percentile', percentile: 99.99, percentileInt4: 99.99 }],
  ['p99.9', { method: 'percentile', percentile: 99.9, percentileInt4: 99.9 }],
  ['mse', { method: 'mse' }],
  ['default', {}],
];
const methods = allMethods.filter(([n]) => values.methods!.split(',').includes(n));
if (values['per-channel-inputs'] && values['per-tensor-inputs']) throw new Error('--per-channel-inputs and --per-tensor-inputs contradict each other');
const lowerOptions = { perChannelInputs: !values['per-tensor-inputs'] };
const results: unknown[] = [];
const pct = (x: number) => (Number.isNaN(x) ? '  -  ' : (100 * x).toFixed(2).padStart(6));

for (const file of positionals) {
  const dir = dirname(file);
  const stem = basename(file, '.onnx');
  const calibFile = [join(dir, `${stem}.calib.npz`), join(dir, 'calib.npz')].find((f) => existsSync(f) && (stem === 'model' ? f.endsWith('/calib.npz') : true))!;
  const testFile = [join(dir, `${stem}.test.npz`), join(dir, 'test.npz')].find((f) => existsSync(f) && (stem === 'model' ? f.endsWith('/test.npz') : true))!;
  if (!calibFile || !testFile) { console.error(`${file}: no calib/test npz`); continue; }
  const graph = loadOnnx(file);
  const calib = loadDataSet(graph, calibFile, maxCalib);
  const test = loadDataSet(graph, testFile, maxRows);
  for (const [mname, opts] of methods) {
    const t0 = performance.now();
    calibrateOnSet(graph, calib, opts);
    const tCal = performance.now() - t0;
    for (const bits of [8, 4] as const) {
      const t1 = performance.now();
      const ev = evaluatePlan(graph, calib, test, uniform(graph, bits), opts, undefined, lowerOptions);
      const secs = (performance.now() - t1) / 1000;
      results.push({ model: file, calibration: mname, bits, ...ev, seconds: secs, calibrationSeconds: tCal / 1000 });
      if (!values.json) {
        for (const o of graph.outputs) {
          console.log(`${file.padEnd(30)} ${o.name.padEnd(16)} ${mname.padEnd(6)}${lowerOptions.perChannelInputs ? '' : '+per-tensor-inputs'} INT${bits}  FP32 ${pct(ev.floatAccuracyPerOutput[o.name])}  quant ${pct(ev.accuracyPerOutput[o.name])}  agree ${pct(ev.agreementWithFloat[o.name])}  weights ${ev.weightBytes} B  rows ${ev.rows}  ${secs.toFixed(1)} s`);
        }
      }
    }
  }
}
if (values.json) console.log(JSON.stringify(results, null, 2));
