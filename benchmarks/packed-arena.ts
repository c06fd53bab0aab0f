// Arena bytes with packed INT4 activations (compiler/quant/act-storage.ts): for every model in the
// repository (test/models and examples), the arena of the uniform INT8 plan, of the uniform INT4 plan
// (every 4-bit tensor the rule allows stored two per byte) and of a fixed mixed plan, with how many
// activation bytes are packed. Before packing, an INT4 arena equalled the INT8 one (one value per byte).
// Sizes depend only on shapes and bits, so calibration uses one seeded random row.
//
//   npx tsx benchmarks/packed-arena.ts [--write]   (--write: the table into compiler/quant/README.md)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { planModelMemory } from '../compiler/codegen/arena.ts';
import type { Graph } from '../compiler/ir.ts';
import { tensorSize } from '../compiler/ir.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { packedActivations } from '../compiler/quant/act-storage.ts';
import { calibrateGraph, uniform, weightedLayers } from '../compiler/quant/evaluate.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import type { PrecisionPlan } from '../compiler/quant/plan.ts';
import type { QGraph } from '../compiler/quant/qgraph.ts';
import { listOnnxModels, repoRelative, REPO_ROOT } from '../test/helpers/models.ts';

/** The mixed plan of test/codegen-models.test.ts: weight and activation bits alternate in different rhythms. */
export function mixedPlan(graph: Graph): PrecisionPlan {
  const layers: PrecisionPlan['layers'] = {};
  weightedLayers(graph).forEach((name, k) => {
    layers[name] = { weightBits: k % 2 === 0 ? 4 : 8, activationBits: (k >> 1) % 2 === 0 ? 8 : 4 };
  });
  return { model: graph.file, layers };
}

/** Calibration rows: sizes depend only on shapes and bits, so one seeded random row does (it decides no size). */
const CALIB_ROWS = 1;

export interface ArenaRow { model: string; int8: number; int4: number; mixed: number; int4Packed: string; }

function packedShare(q: QGraph): string {
  const packed = packedActivations(q);
  let four = 0, inPacked = 0;
  for (const [name, t] of q.tensors) {
    if (t.bits !== 4) continue;
    const n = t.shape[0] * t.shape[1] * t.shape[2];
    four += n;
    if (packed.has(name)) inPacked += n;
  }
  return four ? `${((100 * inPacked) / four).toFixed(0)} %` : '-';
}

export function arenaRows(): ArenaRow[] {
  const rows: ArenaRow[] = [];
  for (const file of listOnnxModels()) {
    const graph = loadOnnx(file);
    let seed = 11;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
    const calib = Array.from({ length: CALIB_ROWS }, () => Object.fromEntries(graph.inputs.map((i) => [i.name, Float32Array.from({ length: tensorSize(i.shape) }, rand)])));
    const cal = calibrateGraph(graph, calib);
    const arena = (plan: PrecisionPlan) => {
      const q = quantizeGraph(graph, cal, plan);
      return { bytes: planModelMemory(q).plan.arenaBytes, q };
    };
    const a4 = arena(uniform(graph, 4));
    rows.push({ model: repoRelative(file), int8: arena(uniform(graph, 8)).bytes, int4: a4.bytes, mixed: arena(mixedPlan(graph)).bytes, int4Packed: packedShare(a4.q) });
  }
  return rows;
}

export function arenaTable(rows: ArenaRow[]): string {
  const lines = [
    '| model | INT8 arena | all-INT4 arena | INT4 / INT8 | mixed arena | INT4 values stored packed |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.model} | ${r.int8} | ${r.int4} | ${(r.int4 / r.int8).toFixed(2)} | ${r.mixed} | ${r.int4Packed} |`),
  ];
  return lines.join('\n');
}

const isMain = process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!);
if (isMain) {
  const { values } = parseArgs({ options: { write: { type: 'boolean', default: false } } });
  const table = arenaTable(arenaRows());
  console.log(table);
  if (values.write) {
    const readme = join(REPO_ROOT, 'compiler/quant/README.md');
    const text = readFileSync(readme, 'utf8');
    const begin = '<!-- packed-arena:begin -->', end = '<!-- packed-arena:end -->';
    const i = text.indexOf(begin), j = text.indexOf(end);
    if (i < 0 || j < 0) throw new Error(`${readme} has no ${begin} ... ${end} markers`);
    writeFileSync(readme, `${text.slice(0, i + begin.length)}\n${table}\n${text.slice(j)}`);
    console.log(`wrote ${readme}`);
  }
}
