// A precision plan: the bit widths the planner chose for each weighted layer. It is what
// `tinym2 plan` writes to plan.json and what `tinym2 compile --plan` reads.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_BAD_INPUT, TinyM2Error } from '../errors.ts';
import type { Graph } from '../ir.ts';
import { checkAgainstSchema, readJsonFile } from '../json-schema.ts';
import type { Bits, Int4Activations } from './qgraph.ts';
import { isWeighted } from '../ops/registry.ts';

export const PLAN_SCHEMA_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'plan.schema.json');

export interface LayerPrecision {
  /** Bits of the layer's weights (per-output-channel symmetric). */
  weightBits: Bits;
  /**
   * Bits of the layer's output activations (and of the quantization-transparent ops after it:
   * pooling, reshape, concat). A layer's BOPS use the bits of its *input* activations.
   */
  activationBits: Bits;
}

export interface PrecisionPlan {
  /** Model file name the plan was made for (checked when the plan is used). */
  model: string;
  /** Keyed by IR node name of each weighted layer (Conv and Dense nodes in compiler/ir.ts). */
  layers: Record<string, LayerPrecision>;
  /** Bits of the graph inputs (per input name); 8 unless the planner says otherwise. */
  inputBits?: Record<string, Bits>;
  /**
   * How the model the plan was made for stores its 4-bit activations (tinym2 plan --int4-activations):
   * the RAM budget and the instruction counts the planner met assume it, so compile --plan follows it
   * unless told otherwise. Absent in plans written before it was recorded (read as packed).
   */
  int4Activations?: Int4Activations;
}

export function uniformPlan(model: string, layerNames: string[], bits: Bits): PrecisionPlan {
  const layers: Record<string, LayerPrecision> = {};
  for (const name of layerNames) layers[name] = { weightBits: bits, activationBits: bits };
  return { model, layers };
}

/** The layers a plan gives bits to (Conv and Dense today: ops/registry.ts isWeighted), by IR name. */
export function weightedLayers(graph: Graph): string[] {
  return graph.nodes.filter(isWeighted).map((n) => n.name);
}

/**
 * Checks a parsed plan against plan.schema.json (bits in {4, 8}, no null entries) and against the
 * graph (every layer and input it names exists). `file` names it in messages.
 */
export function checkPlan(data: unknown, file: string, graph: Graph): PrecisionPlan {
  checkAgainstSchema(data, PLAN_SCHEMA_FILE, `precision plan ${file}`, file);
  const plan = data as PrecisionPlan;
  const known = new Set(weightedLayers(graph));
  for (const layer of Object.keys(plan.layers)) {
    if (!known.has(layer)) {
      throw new TinyM2Error(`${file} has layer '${layer}', which ${graph.file} does not have: was the plan made for another model?`, { exitCode: EXIT_BAD_INPUT, details: { file, layer } });
    }
  }
  for (const input of Object.keys(plan.inputBits ?? {})) {
    if (!graph.inputs.some((i) => i.name === input)) {
      throw new TinyM2Error(`${file} gives bits to input '${input}', which ${graph.file} does not have`, { exitCode: EXIT_BAD_INPUT, details: { file, input } });
    }
  }
  return plan;
}

/** Reads plan.json (written by `tinym2 plan`) for `graph`. */
export function loadPlan(file: string, graph: Graph): PrecisionPlan {
  return checkPlan(readJsonFile(file, `precision plan ${file}`), file, graph);
}
