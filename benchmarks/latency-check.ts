// Is the ILP's instruction count right? compiler/ilp/latency.ts predicts a plan's instructions as
// fixed + each layer's count at its weight width (counted in the uniform INT8 / INT4 builds). This
// builds random mixed plans the ILP could return (fan-in groups share their bits), runs them under
// QEMU and prints predicted vs counted instructions.
//
//   nice npx tsx benchmarks/latency-check.ts [--only NAME ...] [--variants] [--plans N] [--board NAME] [--json | --markdown] [--from FILE ...]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { measureOpInstructions } from '../compiler/dynafuse/measure.ts';
import { analyzeLayers, ilpLayers } from '../compiler/ilp/from-graph.ts';
import { countLayerInstructions, predictInstructions } from '../compiler/ilp/latency.ts';
import { labelsForEveryHead } from '../compiler/ilp/planner.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { calibrateOnSet, loadDataSet } from '../compiler/quant/evaluate.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import type { Bits } from '../compiler/quant/qgraph.ts';
import { mulberry32 } from '../compiler/random.ts';
import { loadBoard } from '../compiler/target/boards.ts';
import { exampleModels } from './example-models.ts';
import { ensureCacheDir } from '../compiler/cache.ts';
import { lowerPriority } from './low-priority.ts';

const { values } = parseArgs({
  options: {
    only: { type: 'string', multiple: true },
    variants: { type: 'boolean' },
    plans: { type: 'string' },
    board: { type: 'string' },
    json: { type: 'boolean' },
    markdown: { type: 'boolean' },
    from: { type: 'string', multiple: true },
  },
});
lowerPriority();
const root = resolve(join(import.meta.dirname, '..', 'examples'));
const board = loadBoard(values.board ?? 'mps2-an386');
const models = values.from ? [] : exampleModels(root, Boolean(values.variants) || Boolean(values.only?.some((o) => o.includes('/')))).filter((m) => !values.only || values.only.includes(m.label));
interface CheckRow { example: string; board?: string; plan: string; predicted: number; counted: number; errorPct: number; int8?: number; int4?: number }
const rows: CheckRow[] = values.from ? values.from.flatMap((f) => JSON.parse(readFileSync(f, 'utf8')) as CheckRow[]) : [];
const work = mkdtempSync(join(tmpdir(), 'tinym2-latency-check-'));
try {
  for (const m of models) {
    const graph = loadOnnx(m.onnx);
    const calib = labelsForEveryHead(graph, loadDataSet(graph, m.calib)).set;
    const layers = analyzeLayers(graph);
    const names = layers.map((l) => l.name);
    const zero = { 4: 0, 8: 0 };
    const { equalActivationBits } = ilpLayers(layers, () => ({ omegaWeights: zero, omegaActivations: zero }));
    const calibration = calibrateOnSet(graph, calib);
    const counts = await countLayerInstructions(graph, layers, calibration, board, calib.rows.slice(0, 1), {
      cacheDir: ensureCacheDir('latency'),
      workDir: join(work, m.label.replace('/', '_')),
      onProgress: (s) => process.stderr.write(`${m.label}: ${s}\n`),
    });
    const rand = mulberry32(7);
    for (let k = 0; k < Number(values.plans ?? 3); k++) {
      const bits: Bits[] = layers.map(() => (rand() < 0.5 ? 4 : 8));
      // Plans the ILP can return: layers meeting at a Concat / Add take the same (tied) bits, as its
      // equal-activation-bits rows require (lower.ts would otherwise widen the group's activations,
      // which changes kernels the per-layer sum does not model).
      for (const group of equalActivationBits) {
        const first = names.indexOf(group[0]);
        for (const n of group) bits[names.indexOf(n)] = bits[first];
      }
      const plan = { model: 'model', layers: Object.fromEntries(layers.map((l, i) => [l.name, { weightBits: bits[i], activationBits: bits[i] }])) };
      const q = quantizeGraph(graph, calibration, plan);
      const counted = (await measureOpInstructions(q, calib.rows.slice(0, 1), board, join(work, `${m.label.replace('/', '_')}-${k}`))).inference;
      const predicted = predictInstructions(counts, bits);
      const row = { example: m.label, board: board.name, plan: bits.join(''), predicted, counted, errorPct: (100 * (predicted - counted)) / counted, int8: counts.int8, int4: counts.int4 };
      rows.push(row);
      if (!values.json && !values.markdown) console.log(`${row.example} plan ${row.plan}: predicted ${predicted}, counted ${counted} (${row.errorPct.toFixed(2)}%)`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const n = (x: number | undefined) => (x === undefined ? '' : x.toLocaleString('en-US'));
if (values.json) console.log(JSON.stringify(rows, null, 2));
else if (values.markdown) {
  console.log('| example | board | plan (bits per layer) | predicted | counted | error | all-INT8 | all-INT4 |\n|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.example} | ${r.board ?? ''} | ${r.plan} | ${n(r.predicted)} | ${n(r.counted)} | ${r.errorPct >= 0 ? '+' : ''}${r.errorPct.toFixed(2)}% | ${n(r.int8)} | ${n(r.int4)} |`);
  console.log(`\nlargest |error|: ${Math.max(...rows.map((r) => Math.abs(r.errorPct))).toFixed(2)}% over ${rows.length} plans`);
} else console.log(`largest |error|: ${Math.max(...rows.map((r) => Math.abs(r.errorPct))).toFixed(2)}% over ${rows.length} plans on ${board.name}`);
