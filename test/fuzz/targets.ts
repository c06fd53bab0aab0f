// What the fuzzer feeds and how it judges the outcome. Each target calls the library in-process the
// way the commands do (import, data-set checks, plan / fusion / board checks, then calibration,
// lowering, C generation and the test harness in memory). A TinyM2Error is a refusal (fine); any
// other exception is a crash; a case that runs longer than the hang limit is a hang.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync, zipSync } from 'fflate';
import { TinyM2Error } from '../../compiler/errors.ts';
import type { Graph } from '../../compiler/ir.ts';
import { tensorSize } from '../../compiler/ir.ts';
import { parseJsonText } from '../../compiler/json-schema.ts';
import { loadOnnxBytes } from '../../compiler/onnx/import.ts';
import { parseNpz } from '../../compiler/data/npz.ts';
import { datasetFromArrays } from '../../compiler/data/dataset.ts';
import { compileGraph } from '../../compiler/commands/compile.ts';
import { uniform } from '../../compiler/quant/evaluate.ts';
import { checkPlan, type PrecisionPlan } from '../../compiler/quant/plan.ts';
import { checkFusionConfig } from '../../compiler/dynafuse/config.ts';
import { checkBoard } from '../../compiler/target/boards.ts';
import { gaussian } from '../../compiler/random.ts';
import { nodeMacs } from '../../compiler/reference/layer-cost.ts';
import { caseSeed, mutateBytes, mutateJson, mutateOnnx, Rng } from './mutate.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type TargetName = 'onnx' | 'npz' | 'plan' | 'fusion' | 'board';
export const TARGETS: readonly TargetName[] = ['onnx', 'npz', 'plan', 'fusion', 'board'];

/** Seed files per target (the repository's own models, data sets and configs). */
export const SEEDS: Record<TargetName, string[]> = {
  onnx: [
    'test/models/bn_nodes.onnx', 'test/models/gemm_variants.onnx', 'test/models/grouped_conv.onnx', 'test/models/relu6_residual.onnx',
    'test/models/sensor1d.onnx', 'test/models/tiny_fusion_op11.onnx', 'test/models/tiny_fusion_op13.onnx', 'test/models/tiny_fusion_op17.onnx',
    'test/models/tiny_patterns_op11.onnx', 'test/models/tiny_patterns_op13.onnx', 'test/models/dscnn2d.onnx',
    'examples/av-digits/audio_only.onnx', 'examples/av-digits/late_fusion.onnx', 'examples/dsa-har/model.onnx', 'examples/stress/model.onnx',
  ],
  npz: ['test/models/sensor1d.npz', 'test/models/gemm_variants.npz', 'test/models/relu6_residual.npz', 'examples/stress/test.npz'],
  plan: ['test/models/sensor1d.onnx', 'test/models/tiny_fusion_op13.onnx'],
  fusion: ['examples/dsa-har/fusion.json', 'examples/av-digits/fusion.json'],
  board: ['boards/mps2-an386.json', 'boards/rpi4.json', 'boards/nrf52840-dk.json'],
};

/** The model an .npz or a config is checked against. */
const MODEL_OF: Record<string, string> = {
  'test/models/sensor1d.npz': 'test/models/sensor1d.onnx',
  'test/models/gemm_variants.npz': 'test/models/gemm_variants.onnx',
  'test/models/relu6_residual.npz': 'test/models/relu6_residual.onnx',
  'examples/stress/test.npz': 'examples/stress/model.onnx',
  'examples/dsa-har/fusion.json': 'examples/dsa-har/model.onnx',
  'examples/av-digits/fusion.json': 'examples/av-digits/late_fusion.onnx',
};

/** Graphs larger than this are imported but not compiled (keeps a case fast; import is what takes hostile shapes). */
const COMPILE_MAX_ACTIVATION_ELEMENTS = 1 << 21;
const COMPILE_MAX_NODES = 400;
/** 30x the largest example (dsa-har, 602k MACs): a mutant that grew a layer to billions of MACs is slow, not hung. */
const COMPILE_MAX_MACS = 20_000_000;

const cache = new Map<string, Uint8Array>();
function seedBytes(file: string): Uint8Array {
  let b = cache.get(file);
  if (!b) cache.set(file, (b = readFileSync(join(ROOT, file))));
  return b;
}
const graphs = new Map<string, Graph>();
function seedGraph(file: string): Graph {
  let g = graphs.get(file);
  if (!g) graphs.set(file, (g = loadOnnxBytes(seedBytes(file), file)));
  return g;
}

export interface FuzzCase {
  target: TargetName;
  /** Seed file it was derived from (for the model an npz or config belongs to). */
  seed: string;
  bytes: Uint8Array;
  /** For plan cases: the plan applies to this model. */
  model?: string;
}

/** Case `index` of a run with `seed`: the target comes from `mix` (weights per target). */
export function makeCase(seed: number, index: number, mix: Partial<Record<TargetName, number>> = { onnx: 1 }): FuzzCase {
  const rng = new Rng(caseSeed(seed, index));
  const entries = Object.entries(mix).filter(([, w]) => (w ?? 0) > 0) as Array<[TargetName, number]>;
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let r = (rng.int(1 << 30) / (1 << 30)) * total;
  let target = entries[0][0];
  for (const [t, w] of entries) { if (r < w) { target = t; break; } r -= w; }
  const file = rng.pick(SEEDS[target]);
  switch (target) {
    case 'onnx': {
      const bytes = rng.chance(0.5) ? mutateBytes(seedBytes(file), rng) : mutateOnnx(seedBytes(file), rng);
      return { target, seed: file, bytes };
    }
    case 'npz': return { target, seed: file, bytes: mutateNpz(seedBytes(file), rng) };
    case 'plan': {
      const plan = uniform(seedGraph(file), rng.chance(0.5) ? 4 : 8);
      const text = mutateJson(JSON.stringify({ ...plan, inputBits: Object.fromEntries(seedGraph(file).inputs.map((i) => [i.name, 8])) }), rng);
      return { target, seed: file, bytes: new TextEncoder().encode(text), model: file };
    }
    default: {
      const text = mutateJson(new TextDecoder().decode(seedBytes(file)), rng);
      return { target, seed: file, bytes: new TextEncoder().encode(text) };
    }
  }
}

/** .npz mutants: damage to a .npy header (shape, dtype), hostile values, or to the zip itself. */
export function mutateNpz(seed: Uint8Array, rng: Rng): Uint8Array {
  if (rng.chance(0.3)) return mutateBytes(seed, rng);
  const entries = unzipSync(seed);
  const names = Object.keys(entries);
  const name = rng.pick(names);
  const npy = entries[name];
  const headerLen = npy[8] | (npy[9] << 8);
  const header = new TextDecoder('latin1').decode(npy.subarray(10, 10 + headerLen));
  let body = npy.subarray(10 + headerLen);
  let newHeader = header;
  switch (rng.int(5)) {
    case 0: newHeader = header.replace(/'shape': \(([^)]*)\)/, (_m, dims: string) => `'shape': (${dims.split(',').filter((d) => d.trim()).map((d) => (rng.chance(0.5) ? rng.pick(['-1', '-1536', '0', '1e9', '2**40', '99999999999', 'x', '']) : d)).join(', ')},)`); break;
    case 1: newHeader = header.replace(/'descr': '[^']*'/, `'descr': '${rng.pick(['<f8', '<i8', '>f4', '|b1', '<f2', 'O', '<U3', '<i4'])}'`); break;
    case 2: { // a hostile value somewhere in the data (float32 or int64 labels)
      const copy = Uint8Array.from(body);
      const view = new DataView(copy.buffer);
      if (header.includes("'<i8'") && copy.length >= 8) view.setBigInt64(8 * rng.int(copy.length >> 3), BigInt(rng.pick([-1, 100, 2 ** 40, 10, -(2 ** 40)])), true);
      else if (copy.length >= 4) view.setFloat32(4 * rng.int(copy.length >> 2), rng.pick([NaN, Infinity, -Infinity, 3e38, 1e-45]), true);
      body = copy;
      break;
    }
    case 3: newHeader = header.replace(/'fortran_order': False/, rng.pick(["'fortran_order': True", "'fortran_order': maybe", ''])); break;
    default: { // the labels array: wrong dtype, shape or rank
      if (names.includes('labels.npy') && rng.chance(0.7)) delete entries['labels.npy'];
      else entries[rng.pick(['labels.npy', 'extra.npy', `${'x'.repeat(300)}.npy`])] = npy;
    }
  }
  if (newHeader !== header) {
    const h = new TextEncoder().encode(newHeader);
    const out = new Uint8Array(10 + h.length + body.length);
    out.set(npy.subarray(0, 8));
    out[8] = h.length & 0xff; out[9] = h.length >> 8;
    out.set(h, 10);
    out.set(body, 10 + h.length);
    entries[name] = out;
  } else if (body !== npy.subarray(10 + headerLen)) {
    const out = Uint8Array.from(npy);
    out.set(body, 10 + headerLen);
    entries[name] = out;
  }
  return zipSync(Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, [v, { level: rng.chance(0.3) ? 6 : 0 }]])) as never);
}

/** A few random rows for a graph's inputs (fixed seed: a case repeats exactly). */
function randomRows(graph: Graph, n: number): Array<Record<string, Float32Array>> {
  const g = gaussian(7);
  return Array.from({ length: n }, () => Object.fromEntries(graph.inputs.map((i) => [i.name, Float32Array.from({ length: tensorSize(i.shape) }, g)])));
}

function compileSmall(graph: Graph, plan: PrecisionPlan, given?: Array<Record<string, Float32Array>>): void {
  let activations = 0;
  for (const t of graph.tensors.values()) activations += tensorSize(t.shape);
  if (graph.nodes.length > COMPILE_MAX_NODES || activations > COMPILE_MAX_ACTIVATION_ELEMENTS) return;
  let macs = 0;
  for (const n of graph.nodes) macs += nodeMacs(graph, n);
  if (macs > COMPILE_MAX_MACS) return;
  const rows = given ?? randomRows(graph, 2);
  compileGraph(graph, rows, plan, { name: 'fuzz', source: basename(graph.file), precision: 'fuzz', perChannelInputs: true, testRows: rows.slice(0, 1) });
}

/** Runs one case; throws whatever the library throws. */
export function runTarget(c: FuzzCase): void {
  switch (c.target) {
    case 'onnx': {
      const graph = loadOnnxBytes(c.bytes, `mutant of ${c.seed}`);
      compileSmall(graph, uniform(graph, c.bytes.length % 2 ? 4 : 8));
      return;
    }
    case 'npz': {
      const graph = seedGraph(MODEL_OF[c.seed]);
      const file = `mutant of ${c.seed}`;
      const ds = datasetFromArrays(parseNpz(c.bytes, file), file, graph);
      const rows = Array.from({ length: Math.min(ds.rows, 2) }, (_, r) => Object.fromEntries(graph.inputs.map((i) => [i.name, ds.inputs[i.name][r]])));
      if (rows.length > 0) compileSmall(graph, uniform(graph, 8), rows);
      return;
    }
    case 'plan': {
      const graph = seedGraph(c.model!);
      const file = `mutant plan for ${c.model}`;
      const plan = checkPlan(parseJsonText(new TextDecoder().decode(c.bytes), `precision plan ${file}`, file), file, graph);
      compileSmall(graph, plan);
      return;
    }
    case 'fusion': {
      const file = `mutant of ${c.seed}`;
      checkFusionConfig(parseJsonText(new TextDecoder().decode(c.bytes), `fusion config ${file}`, file), file, seedGraph(MODEL_OF[c.seed]));
      return;
    }
    case 'board': {
      const file = join(ROOT, c.seed); // the board's name must match its file name
      checkBoard(parseJsonText(new TextDecoder().decode(c.bytes), `board file ${file}`, file), file);
      return;
    }
  }
}

export type Outcome = { kind: 'ok' | 'refused'; ms: number } | { kind: 'crash'; ms: number; error: string };

export function runCase(c: FuzzCase): Outcome {
  const t0 = performance.now();
  try {
    runTarget(c);
    return { kind: 'ok', ms: performance.now() - t0 };
  } catch (e) {
    const ms = performance.now() - t0;
    if (e instanceof TinyM2Error) return { kind: 'refused', ms };
    return { kind: 'crash', ms, error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e) };
  }
}

/** File name for a case kept as a regression input (target first, so the test knows how to run it). */
export function regressionFileName(c: FuzzCase, id: string): string {
  const ext = c.target === 'onnx' ? 'onnx' : c.target === 'npz' ? 'npz' : 'json';
  const from = c.seed.replace(/[^A-Za-z0-9]+/g, '_');
  return `${c.target}--${from}--${id}.${ext}`;
}

/** Reads a regression file back into a case. */
export function caseFromFile(name: string, bytes: Uint8Array): FuzzCase {
  const [target, from] = name.split('--') as [TargetName, string];
  const all = [...new Set(Object.values(SEEDS).flat())];
  const seed = all.find((f) => f.replace(/[^A-Za-z0-9]+/g, '_') === from);
  if (!TARGETS.includes(target) || !seed) throw new Error(`regression file ${name}: unknown target or seed`);
  return { target, seed, bytes, model: target === 'plan' ? seed : undefined };
}
