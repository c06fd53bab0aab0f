// Instructions per layer at each weight width, counted on the board, for the ILP's latency budget.
//
// Counted, not modelled: the model is compiled twice (every layer INT8, every layer INT4) and run
// under QEMU with one count region per op (compiler/dynafuse/measure.ts, the same profile DynaFuse
// uses). A layer's instructions at b bits are the counts of its ops in the uniform-b build; what no
// layer owns (pooling, reshapes, input quantization, the harness between regions) is fixed. A plan's
// instructions are then fixed + the sum of its layers' counts. That is exact as far as a kernel's
// cost depends only on its own weight width (packed INT4 activations, compiler/quant/act-storage.ts,
// add unpacking that depends on the neighbours' bits too); benchmarks/latency-check.ts measures mixed
// plans against the sum.
//
// Kernels change (runtime-c is being tuned), so counts are cached per board, per hash of the
// runtime-c sources and per layer shape, never typed in.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Graph } from '../ir.ts';
import { measureOpInstructions } from '../dynafuse/measure.ts';
import type { Calibration } from '../quant/calibrate.ts';
import { quantizeGraph, type LowerOptions } from '../quant/lower.ts';
import { uniformPlan } from '../quant/plan.ts';
import { packedIO } from '../quant/act-storage.ts';
import type { Bits, QGraph, QOp } from '../quant/qgraph.ts';
import type { Board } from '../target/boards.ts';
import type { LayerInfo } from './from-graph.ts';

export interface LayerInstructionCounts {
  board: string;
  /** Per layer (in `layers` order): instructions of its ops at 4 and 8 weight bits. */
  perLayer: Array<Record<Bits, number>>;
  /** Instructions per inference no layer choice changes (from the INT8 build). */
  fixed: number;
  /** Whole-inference counts of the two builds (QEMU). */
  int8: number;
  int4: number;
  /** Whether every count came from the cache. */
  cached: boolean;
}

const RUNTIME_SRC = fileURLToPath(new URL('../../runtime-c/', import.meta.url));

/** Hash of every runtime-c source file (kernels and headers): counts are valid for these kernels only. */
function runtimeHash(): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(c|h)$/.test(e.name)) h.update(e.name).update(readFileSync(p));
    }
  };
  for (const sub of ['src', 'include']) if (existsSync(join(RUNTIME_SRC, sub))) walk(join(RUNTIME_SRC, sub));
  return h.digest('hex').slice(0, 16);
}

/**
 * What decides a kernel's instruction count: op kind, shapes and bits of its tensors, kernel
 * geometry, weight bits. Weight bits belong to every op that has them (LSTM / GRU too, which have no
 * kernel geometry: leaving them out once gave an LSTM its INT8 count at INT4 from the cache).
 */
function opSignature(q: QGraph, op: QOp): string {
  const tensor = (t: string) => {
    const x = q.tensors.get(t);
    return x ? [x.shape, x.bits] : [];
  };
  const geometry = 'kernel' in op ? [op.kernel, op.stride, op.pad, 'groups' in op ? op.groups : 1] : [];
  // Packed INT4 inputs / output (compiler/quant/act-storage.ts) run other entry points than byte-stored ones.
  return JSON.stringify([op.op, op.inputs.map(tensor), tensor(op.output), geometry, 'weightBits' in op ? op.weightBits : null, packedIO(q, op).flags]);
}

function layerOps(q: QGraph, layer: string): number[] {
  return q.ops.flatMap((op, k) => (op.name === layer ? [k] : []));
}

/**
 * Counts (or reads from `cacheDir`) each layer's instructions at 4 and 8 bits on `board`.
 * `rows`: one or two calibration rows to run (counts barely depend on data).
 */
export async function countLayerInstructions(
  graph: Graph,
  layers: LayerInfo[],
  calibration: Calibration,
  board: Board,
  rows: Array<Record<string, Float32Array>>,
  options: { cacheDir: string; workDir: string; lowerOptions?: LowerOptions; onProgress?: (s: string) => void },
): Promise<LayerInstructionCounts> {
  const names = layers.map((l) => l.name);
  const builds = { 8: quantizeGraph(graph, calibration, uniformPlan(graph.file, names, 8), options.lowerOptions), 4: quantizeGraph(graph, calibration, uniformPlan(graph.file, names, 4), options.lowerOptions) } as Record<Bits, QGraph>;
  mkdirSync(options.cacheDir, { recursive: true });
  const cacheFile = join(options.cacheDir, `${board.name}-${runtimeHash()}.json`);
  const cache: Record<string, number> = existsSync(cacheFile) ? JSON.parse(readFileSync(cacheFile, 'utf8')) : {};
  // The whole-model key: the fixed part and the totals depend on every op, so they are cached per model build.
  const modelKey = (q: QGraph) => createHash('sha256').update(q.ops.map((op) => opSignature(q, op)).join('\n')).digest('hex').slice(0, 24);
  const perOpOf = async (bits: Bits): Promise<{ perOp: number[]; inference: number; hit: boolean }> => {
    const q = builds[bits];
    const key = `model:${modelKey(q)}`;
    const sigs = q.ops.map((op) => `op:${opSignature(q, op)}`);
    if (cache[key] !== undefined && sigs.every((s) => cache[s] !== undefined)) {
      return { perOp: sigs.map((s) => cache[s]), inference: cache[key], hit: true };
    }
    options.onProgress?.(`counting instructions of every layer at INT${bits} under QEMU (${board.name})`);
    const m = await measureOpInstructions(q, rows, board, join(options.workDir, `int${bits}`));
    sigs.forEach((s, k) => (cache[s] = m.perOp[k]));
    cache[key] = m.inference;
    return { ...m, hit: false };
  };
  const c8 = await perOpOf(8);
  const c4 = await perOpOf(4);
  // Counts another process wrote meanwhile are kept (merged, this run's last); the file is replaced whole (rename).
  const now: Record<string, number> = existsSync(cacheFile) ? JSON.parse(readFileSync(cacheFile, 'utf8')) : {};
  const tmp = `${cacheFile}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify({ ...now, ...cache }, null, 1)}\n`);
  renameSync(tmp, cacheFile);
  const sum = (perOp: number[], ks: number[]) => ks.reduce((s, k) => s + perOp[k], 0);
  const perLayer = names.map((n) => ({ 8: sum(c8.perOp, layerOps(builds[8], n)), 4: sum(c4.perOp, layerOps(builds[4], n)) }) as Record<Bits, number>);
  const fixed = c8.inference - perLayer.reduce((s, l) => s + l[8], 0);
  return { board: board.name, perLayer, fixed, int8: c8.inference, int4: c4.inference, cached: c8.hit && c4.hit };
}

/** Predicted instructions of a plan from the counts: fixed + each layer at its weight width. */
export function predictInstructions(counts: LayerInstructionCounts, weightBits: Bits[]): number {
  return counts.fixed + counts.perLayer.reduce((s, l, i) => s + l[weightBits[i]], 0);
}
