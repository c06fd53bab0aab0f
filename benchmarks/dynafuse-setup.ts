// What the DynaFuse benchmarks share: which late-fusion model to use and everything loaded from it
// (datasets, fusion config, INT8 quantized graph, the board's energy per instruction).
import { basename, dirname } from 'node:path';
import { loadFusionConfig } from '../compiler/dynafuse/config.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { calibrateGraph, loadDataSet } from '../compiler/quant/evaluate.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import { loadBoard } from '../compiler/target/boards.ts';
import * as df from '../compiler/dynafuse/runtime.ts';
import { estimateInference } from '../compiler/target/power.ts';

/** parseArgs options every DynaFuse benchmark takes to pick its model. */
export const MODEL_OPTIONS = {
  example: { type: 'string' }, model: { type: 'string' }, fusion: { type: 'string' }, calib: { type: 'string' }, test: { type: 'string' },
} as const;

/** The late-fusion model of each example that has a fusion.json. */
const EXAMPLE_MODELS: Record<string, string> = { 'dsa-har': 'model.onnx', 'av-digits': 'late_fusion.onnx' };

export interface ModelChoice { example?: string; model?: string; fusion?: string; calib?: string; test?: string }

/**
 * Default dsa-har: --example NAME = examples/NAME with its late-fusion model, fusion.json, calib.npz and
 * test.npz; or --model FILE (--fusion, --calib, --test default to the files beside it).
 */
export function loadDynaFuseSetup(opt: ModelChoice) {
  const EXAMPLE = opt.example ?? 'dsa-har';
  if (!opt.model && !(EXAMPLE in EXAMPLE_MODELS)) throw new Error(`--example ${EXAMPLE}: known examples are ${Object.keys(EXAMPLE_MODELS).join(', ')} (or give --model)`);
  const EX = opt.model ? dirname(opt.model) : `examples/${EXAMPLE}`;
  const MODEL = opt.model ?? `${EX}/${EXAMPLE_MODELS[EXAMPLE]}`;
  const DATA_NAME = opt.model ? basename(MODEL, '.onnx') : EXAMPLE;
  const graph = loadOnnx(MODEL);
  const calib = loadDataSet(graph, opt.calib ?? `${EX}/calib.npz`);
  const test = loadDataSet(graph, opt.test ?? `${EX}/test.npz`);
  const config = loadFusionConfig(opt.fusion ?? `${EX}/fusion.json`, graph);
  const board = loadBoard('mps2-an386');
  const q = quantizeGraph(graph, calibrateGraph(graph, calib.rows));
  const eInstr = estimateInference(board, 1).energyPerInstructionJoules;
  return { EXAMPLE, EX, MODEL, DATA_NAME, graph, calib, test, config, board, q, eInstr };
}

/**
 * The protocol's demand per batch: 50% high accuracy, 30% nominal, 20% energy saving, in an order shuffled with
 * `uniform` (its first draws: both benchmarks draw the demands first, then per batch the sigmas and rows).
 */
export function protocolModes(batches: number, uniform: () => number): number[] {
  const modes: number[] = [];
  for (let b = 0; b < batches; b++) modes.push(b < Math.round(0.5 * batches) ? df.HIGH_ACCURACY : b < Math.round(0.8 * batches) ? df.NOMINAL : df.ENERGY_SAVING);
  for (let i = modes.length - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    [modes[i], modes[j]] = [modes[j], modes[i]];
  }
  return modes;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const medianOfSorted = (sorted: number[]) => {
  const mid = sorted.length / 2;
  return sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Mean, median, min, max and sample standard deviation (over seeds, batches, ...). */
export function spread(xs: number[]) {
  const m = mean(xs);
  const sorted = [...xs].sort((a, b) => a - b);
  return { mean: m, median: medianOfSorted(sorted), min: sorted[0], max: sorted[sorted.length - 1], sd: xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1)) : 0 };
}

/** Per-batch accuracy gains (points) of a policy over a baseline: max (with its batch index), median, mean, min, batches won / lost. */
export function batchGainStats(gains: number[]) {
  const s = spread(gains);
  const best = gains.indexOf(s.max);
  return { max: s.max, maxBatch: best + 1, median: s.median, mean: s.mean, min: s.min, won: gains.filter((g) => g > 0).length, lost: gains.filter((g) => g < 0).length, batches: gains.length };
}
