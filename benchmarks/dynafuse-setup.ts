// What the DynaFuse benchmarks share: which late-fusion model to use and everything loaded from it
// (datasets, fusion config, INT8 quantized graph, the board's energy per instruction).
import { basename, dirname } from 'node:path';
import { loadFusionConfig } from '../compiler/dynafuse/config.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { calibrateGraph, loadDataSet } from '../compiler/quant/evaluate.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import { loadBoard } from '../compiler/target/boards.ts';
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
