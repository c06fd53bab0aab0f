// OUT_DIR/tinym2.json: how `tinym2 compile` made an output folder (paths relative to it), written by
// compile and read by verify. One type for both sides; qgraph.json beside it holds the quantized graph.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TensorInfo } from '../ir.ts';
import type { PrecisionPlan } from '../quant/plan.ts';
import type { Int4Activations } from '../quant/qgraph.ts';

export const MANIFEST_FILE = 'tinym2.json';
export const QGRAPH_FILE = 'qgraph.json';

export interface Manifest {
  /** The ONNX model and the calibration rows, relative to the output folder. */
  model: string;
  calib: string;
  /** sha256 of the model file compiled: verify compares with the float model only when the file it finds has it. */
  modelSha256?: string;
  name?: string;
  precision?: string;
  perChannelInputs?: boolean;
  /** How 4-bit activations are stored (--int4-activations); absent = packed. */
  int4Activations?: Int4Activations;
  plan?: PrecisionPlan | string;
  /** The quantized graph compiled (QGRAPH_FILE), and the model's inputs / outputs for reading data sets. */
  qgraph?: string;
  inputs?: TensorInfo[];
  outputs?: TensorInfo[];
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}
