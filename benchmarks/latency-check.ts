// Is the ILP's instruction count right? compiler/ilp/latency.ts predicts a plan's instructions as
// fixed + each layer's count at its weight width (counted in the uniform INT8 / INT4 builds). This
// builds random mixed plans, runs them under QEMU and prints predicted vs counted instructions.
//
//   nice npx tsx benchmarks/latency-check.ts [--only NAME ...] [--plans N] [--board NAME] [--json]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { measureOpInstructions } from '../compiler/dynafuse/measure.ts';
import { analyzeLayers } from '../compiler/ilp/from-graph.ts';
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

const { values } = parseArgs({
  options: {
    only: { type: 'string', multiple: true },
    plans: { type: 'string' },
    board: { type: 'string' },
    json: { type: 'boolean' },
  },
});
const root = resolve(join(import.meta.dirname, '..', 'examples'));
const board = loadBoard(values.board ?? 'mps2-an386');
const models = exampleModels(root, Boolean(values.only?.some((o) => o.includes('/')))).filter((m) => !values.only || values.only.includes(m.label));
const rows: Array<{ example: string; plan: string; predicted: number; counted: number; errorPct: number }> = [];
const work = mkdtempSync(join(tmpdir(), 'tinym2-latency-check-'));
try {
  for (const m of models) {
    const graph = loadOnnx(m.onnx);
    const calib = labelsForEveryHead(graph, loadDataSet(graph, m.calib)).set;
    const layers = analyzeLayers(graph);
    const calibration = calibrateOnSet(graph, calib);
    const counts = await countLayerInstructions(graph, layers, calibration, board, calib.rows.slice(0, 1), {
      cacheDir: ensureCacheDir('latency'),
      workDir: join(work, m.label.replace('/', '_')),
      onProgress: (s) => process.stderr.write(`${m.label}: ${s}\n`),
    });
    const rand = mulberry32(7);
    for (let k = 0; k < Number(values.plans ?? 3); k++) {
      const bits: Bits[] = layers.map(() => (rand() < 0.5 ? 4 : 8));
      const plan = { model: 'model', layers: Object.fromEntries(layers.map((l, i) => [l.name, { weightBits: bits[i], activationBits: bits[i] }])) };
      const q = quantizeGraph(graph, calibration, plan);
      const counted = (await measureOpInstructions(q, calib.rows.slice(0, 1), board, join(work, `${m.label.replace('/', '_')}-${k}`))).inference;
      const predicted = predictInstructions(counts, bits);
      const row = { example: m.label, plan: bits.join(''), predicted, counted, errorPct: (100 * (predicted - counted)) / counted };
      rows.push(row);
      if (!values.json) console.log(`${row.example} plan ${row.plan}: predicted ${predicted}, counted ${counted} (${row.errorPct.toFixed(2)}%)`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (values.json) console.log(JSON.stringify(rows, null, 2));
else console.log(`largest |error|: ${Math.max(...rows.map((r) => Math.abs(r.errorPct))).toFixed(2)}% over ${rows.length} plans on ${board.name}`);
