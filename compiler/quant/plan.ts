// A precision plan: the bit widths the planner chose for each weighted layer. It is what
// `tinym2 plan` writes to plan.json and what `tinym2 compile --plan` reads.
import type { Bits } from './qgraph.ts';

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
}

export function uniformPlan(model: string, layerNames: string[], bits: Bits): PrecisionPlan {
  const layers: Record<string, LayerPrecision> = {};
  for (const name of layerNames) layers[name] = { weightBits: bits, activationBits: bits };
  return { model, layers };
}
