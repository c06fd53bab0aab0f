// What an HTML report shows, as plain data: every section is optional, because each command knows
// a different part (compile: layers and memory; verify: instructions, accuracy and flash; plan: the
// precision plan; dynafuse: resilience and energy). `tinym2 report OUT_DIR` fills what the
// artifacts in OUT_DIR hold. Charts (charts.ts) and the page (html.ts) are made from this alone, so
// the same inputs always give the same file.

export interface ReportData {
  /** Model name (the C name) and where it came from. */
  model: string;
  source?: string;
  /** How the precision was chosen ("INT8", "mixed precision from plan.json", ...). */
  precision?: string;
  /** Which command made the report and from what, one line each (shown under the title). */
  provenance: string[];
  layers?: LayerSection;
  memory?: MemorySection;
  plan?: PlanSection;
  accuracy?: AccuracySection;
  dynafuse?: DynaFuseSection;
}

export interface LayerRow {
  index: number;
  name: string;
  op: string;
  /** Output shape H x W x C (channels last, as the generated code stores it). */
  shape: [number, number, number];
  weightBits?: 4 | 8;
  activationBits: 4 | 8;
  weightBytes: number;
  macs: number;
  /** Mean instructions of the layer per inference under QEMU (verify --profile-layers). */
  instructions?: number;
}

export interface LayerSection {
  rows: LayerRow[];
  /** Board the instructions were counted on, when they were. */
  board?: string;
  /** Instructions of a whole inference (counted without per-layer markers), for the share column. */
  inferenceInstructions?: number;
}

/** One buffer of the arena plan: `bytes` at `offset`, alive from step `first` to `last` (inclusive). */
export interface ArenaBuffer {
  name: string;
  kind: 'tensor' | 'scratch' | 'state';
  offset: number;
  bytes: number;
  first: number;
  last: number;
}

export interface MemorySection {
  arenaBytes: number;
  lowerBound: number;
  /** Every tensor and scratch buffer with its own bytes, without sharing. */
  unsharedBytes: number;
  /** Steps: 0 = inputs copied in, op i runs at step i + 1, outputs copied out at the last step. */
  steps: number;
  buffers: ArenaBuffer[];
  /** Flash of the model inside a firmware image (verify), split by what the bytes are. */
  flash?: { code: number; weights: number; tables: number };
}

export interface PlanLayerRow {
  name: string;
  op: string;
  traceMean: number;
  traceStdErr: number;
  omega4: number;
  omega8: number;
  weightBits: 4 | 8;
  activationBits: 4 | 8;
  bytes: number;
}

/** One point of the accuracy-vs-cost curve: a plan (planner at a budget, or uniform) evaluated on test data. */
export interface PlanCurvePoint {
  kind: 'budget' | 'chosen' | 'INT8' | 'INT4';
  weightBytes: number;
  bops: number;
  /** Instructions of one inference of the plan's generated C under QEMU (first test row), when measured. */
  instructions?: number;
  /** Top-1 accuracy of each output in the integer emulator. */
  accuracy: Record<string, number>;
}

export interface PlanSection {
  method: string;
  /** Board the curve's instructions were counted on. */
  board?: string;
  layers: PlanLayerRow[];
  /** Present when the plan was made with test data and a report. */
  curve?: PlanCurvePoint[];
}

export interface OutputAccuracy {
  output: string;
  rows: number;
  /** Top-1 vs labels (null without labels). */
  float: number | null;
  emulator: number | null;
  target: number | null;
  agreementWithFloat: number | null;
  bitExactRows: number;
}

export interface ConfusionMatrix {
  output: string;
  classes: number;
  /** counts[label][predicted] of the target's top-1. */
  counts: number[][];
}

export interface AccuracySection {
  board: string;
  outputs: OutputAccuracy[];
  confusion: ConfusionMatrix[];
}

export interface DynaFuseSection {
  /** Accuracy vs noise sigma for each modality's branch (and the fused head). */
  resilience: Array<{ branch: string; sigma: number; accuracy: number }>;
  /** Noise estimator: estimated vs injected sigma per modality. */
  calibration: Array<{ modality: string; injected: number; estimated: number }>;
  /** Which branches each mode runs. */
  modes: Array<{ mode: string; branches: string[] }>;
  /** Per branch and window: instructions, and energy of the compute (board power model) and of the sensing (sensor datasheet). */
  energy: Array<{ branch: string; instructions: number; computeUj: number; sensingUj: number }>;
}
