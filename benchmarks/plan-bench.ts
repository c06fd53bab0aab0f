// How long mixed-precision planning takes per example model, and what it buys.
//
//   npx tsx benchmarks/plan-bench.ts [--sensitivity NAME] [--iterations N] [--batch N]
//                                    [--untied] [--variants] [--no-accuracy] [--out FILE] [example ...]
//   npx tsx benchmarks/plan-bench.ts --from FILE ... [--markdown | --write]
//
// --out FILE keeps one JSON row per model; --from reads such files, --markdown prints the table and
// --write puts it into the top-level README.md between the plan-bench markers.
//
// For every examples/<name>/model.onnx with calib.npz (and test.npz for accuracy), and with
// --variants every other <v>.onnx with <v>.calib.npz / <v>.test.npz: times the sensitivity (--sensitivity) and
// the ILP solve (tied, at the paper's 20%-of-FP32 target, or all-INT4 when that is larger), then
// prints FP32 / INT8 / INT4 / mixed accuracy in the integer emulator and weight bytes.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { analyzeLayers } from '../compiler/ilp/from-graph.ts';
import { type SensitivityCriterion, defaultFlashBudget, labelsForEveryHead, measureSensitivity, modelCosts, planFromSensitivity } from '../compiler/ilp/planner.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { calibrateGraph, evaluatePlan, loadDataSet } from '../compiler/quant/evaluate.ts';
import { uniformPlan } from '../compiler/quant/plan.ts';
import { lowerPriority } from './low-priority.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    iterations: { type: 'string' },
    batch: { type: 'string' },
    sensitivity: { type: 'string' },
    variants: { type: 'boolean' },
    untied: { type: 'boolean' },
    'no-accuracy': { type: 'boolean' },
    out: { type: 'string' },
    from: { type: 'string', multiple: true },
    markdown: { type: 'boolean' },
    write: { type: 'boolean' },
  },
});

/** One model's figures (accuracy of the last labelled output, the fused head of multi-head models). */
interface BenchRow {
  example: string;
  layers: number;
  macs: number;
  criterion: string;
  sensitivitySeconds: number;
  sensitivityRows: number;
  testRows: number;
  output: string;
  fp32: { accuracy: number; bytes: number };
  int8: { accuracy: number; bytes: number };
  int4: { accuracy: number; bytes: number };
  mixed: { accuracy: number; bytes: number; flashBudget: number; bits: string };
  date: string;
}
const benchRows: BenchRow[] = [];

lowerPriority();
const root = join(import.meta.dirname, '..', 'examples');
const names = positionals.length ? positionals : values.from ? [] : readdirSync(root).filter((d) => existsSync(join(root, d, 'model.onnx')));
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

const method = values.sensitivity as SensitivityCriterion | undefined;

/** (label, onnx, calib, test) of every model to plan. */
function jobs(): Array<[string, string, string, string]> {
  const out: Array<[string, string, string, string]> = [];
  for (const name of names) {
    if (name.includes('/')) {
      // One variant: examples/<example>/<variant>.onnx with its own arrays or the example's.
      const [example, v] = name.split('/');
      const dir = join(root, example);
      const own = existsSync(join(dir, `${v}.calib.npz`));
      out.push([name, join(dir, `${v}.onnx`), join(dir, own ? `${v}.calib.npz` : 'calib.npz'), join(dir, own ? `${v}.test.npz` : 'test.npz')]);
      continue;
    }
    const dir = join(root, name);
    if (!existsSync(join(dir, 'model.onnx')) || !existsSync(join(dir, 'calib.npz'))) {
      console.log(`${name}: no model.onnx / calib.npz yet, skipped`);
    } else {
      out.push([name, join(dir, 'model.onnx'), join(dir, 'calib.npz'), join(dir, 'test.npz')]);
    }
    if (!values.variants || !existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) {
      const v = f.slice(0, -'.onnx'.length);
      if (!f.endsWith('.onnx') || v === 'model') continue;
      // A variant without its own arrays reads the example's (same input names).
      const own = existsSync(join(dir, `${v}.calib.npz`));
      out.push([`${name}/${v}`, join(dir, f), join(dir, own ? `${v}.calib.npz` : 'calib.npz'), join(dir, own ? `${v}.test.npz` : 'test.npz')]);
    }
  }
  return out;
}

for (const [name, modelFile, calibFile, testFile] of values.from ? [] : jobs()) {
  const graph = loadOnnx(modelFile);
  const calib = labelsForEveryHead(graph, loadDataSet(graph, calibFile)).set;
  const t0 = performance.now();
  const sens = measureSensitivity(graph, calib, calib, method, {
    untied: Boolean(values.untied),
    traceOptions: {
      maxIterations: values.iterations ? Number(values.iterations) : undefined,
      batchSize: values.batch ? Number(values.batch) : undefined,
    },
  });
  const tSens = (performance.now() - t0) / 1000;
  const fp32 = modelCosts(graph).fp32Bytes;
  const flash = defaultFlashBudget(graph).bytes;
  const t1 = performance.now();
  const result = planFromSensitivity(graph, sens, { flashBytes: flash }, !values.untied, 'model.onnx');
  const tSolve = (performance.now() - t1) / 1000;
  const macs = sens.layers.reduce((s, l) => s + l.macs, 0);
  const how = `${sens.criterion}: ${sens.method}`;
  console.log(
    `${name}: ${sens.layers.length} layers, ${macs} MACs, ${calib.rows.length} calib rows | sensitivity ${tSens.toFixed(1)} s ` +
      `(${how}) | ` +
      `solve ${(1000 * tSolve).toFixed(0)} ms (${result.solve.method}, ${result.solve.provenOptimal ? 'proven optimal' : 'not proven'})`,
  );
  const bits = result.layers.map((l) => (values.untied ? `${l.weightBits}/${l.activationBits}` : String(l.weightBits))).join(' ');
  console.log(`  ${values.untied ? 'W/A bits' : 'bits'} per layer: ${bits}; flash budget ${flash} (${pct(flash / fp32)} of FP32 ${fp32})`);
  if (values['no-accuracy'] || !existsSync(testFile)) continue;
  const test = labelsForEveryHead(graph, loadDataSet(graph, testFile)).set;
  const calibration = calibrateGraph(graph, calib.rows);
  const layerNames = analyzeLayers(graph).map((l) => l.name);
  const outs = graph.outputs.map((o) => o.name);
  const rows: Array<[string, Record<string, number>, number]> = [];
  let fpAcc: Record<string, number> = {};
  for (const [label, plan] of [
    ['INT8', uniformPlan('model.onnx', layerNames, 8)],
    ['INT4', uniformPlan('model.onnx', layerNames, 4)],
    ['mixed', result.plan],
  ] as const) {
    const ev = evaluatePlan(graph, calib, test, plan, {}, calibration);
    fpAcc = ev.floatAccuracyPerOutput;
    rows.push([label, ev.accuracyPerOutput, ev.weightBytes]);
  }
  const labelled = outs.filter((n) => !Number.isNaN(fpAcc[n]));
  if (labelled.length) {
    const out = labelled[labelled.length - 1];
    const fig = (k: number) => ({ accuracy: rows[k][1][out], bytes: rows[k][2] });
    benchRows.push({
      example: name, layers: sens.layers.length, macs, criterion: sens.criterion, sensitivitySeconds: tSens, sensitivityRows: calib.rows.length,
      testRows: test.rows.length, output: out, fp32: { accuracy: fpAcc[out], bytes: fp32 }, int8: fig(0), int4: fig(1),
      mixed: { ...fig(2), flashBudget: flash, bits }, date: new Date().toISOString().slice(0, 10),
    });
    if (values.out) writeFileSync(values.out, `${JSON.stringify(benchRows, null, 2)}\n`);
  }
  // The last labelled output first: for multi-head models it is the fused head.
  for (const out of labelled.reverse()) {
    console.log(
      `  accuracy (${out}, ${test.rows.length} test rows): FP32 ${pct(fpAcc[out])} at ${fp32} B` +
        rows.map(([l, a, b]) => `, ${l} ${pct(a[out])} at ${b} B (${pct(b / fp32)})`).join(''),
    );
  }
}

const BEGIN = '<!-- plan-bench: begin (generated by benchmarks/plan-bench.ts --write; do not edit) -->';
const END = '<!-- plan-bench: end -->';

function markdown(rs: BenchRow[]): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const cell = (f: { accuracy: number; bytes: number }) => `${pct(f.accuracy)}, ${n(f.bytes)} B`;
  const lines = ['| example | layers, MACs | FP32 | INT8 | INT4 | mixed (tied, default) | bits per layer | sensitivity |', '|---|---|---|---|---|---|---|---|'];
  for (const r of rs) {
    const mixed = `${cell(r.mixed)} (${pct(r.mixed.bytes / r.fp32.bytes)} of FP32; budget ${n(r.mixed.flashBudget)} B)`;
    lines.push(
      `| ${r.example} (${r.testRows} test rows) | ${r.layers}, ${n(r.macs)} | ${cell(r.fp32)} | ${cell(r.int8)} | ${cell(r.int4)} | ${mixed} | ${r.mixed.bits} | \`${r.criterion}\`, ${r.sensitivityRows} rows, ${r.sensitivitySeconds.toFixed(0)} s |`,
    );
  }
  return lines.join('\n');
}

for (const f of values.from ?? []) benchRows.push(...(JSON.parse(readFileSync(f, 'utf8')) as BenchRow[]));
if (values.markdown) console.log(markdown(benchRows));
if (values.write) {
  const file = join(import.meta.dirname, '..', 'README.md');
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(BEGIN), b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md has no plan-bench markers (${BEGIN} ... ${END})`);
  writeFileSync(file, `${text.slice(0, a + BEGIN.length)}\n${markdown(benchRows)}\n${text.slice(b)}`);
}
