// Fills ReportData from what the commands know or left behind: the generated model (layers and
// arena plan), verify's measurements (OUT_DIR/verify.json: instructions, flash, accuracy), the
// planner's result (sensitivity and the accuracy curve). Each function makes one section.
import type { GeneratedModel } from '../codegen/generate.ts';
import type { PlanLayerReport } from '../ilp/planner.ts';
import type { VerifyArtifact } from './artifacts.ts';
import type { AccuracySection, LayerSection, MemorySection, PlanCurvePoint, PlanSection } from './data.ts';

/** Instructions per op counted under QEMU (a per-layer counting build), and of a whole inference. */
export interface LayerCounts {
  board: string;
  perOp: number[];
  inference: number | null;
}

/** Per-layer rows of the generated model, with instructions per layer when they were counted for it. */
export function layerSection(model: GeneratedModel, counts?: LayerCounts): LayerSection {
  if (counts && counts.perOp.length !== model.layers.length) {
    throw new Error(`internal: ${counts.perOp.length} per-layer counts for a model of ${model.layers.length} layers`);
  }
  return {
    rows: model.layers.map((l, i) => ({
      index: l.index,
      name: l.name,
      op: l.kind,
      shape: l.output,
      weightBits: l.weightBits,
      activationBits: l.activationBits,
      weightBytes: l.weightBytes,
      macs: l.macs,
      ...(counts ? { instructions: counts.perOp[i]! } : {}),
    })),
    ...(counts ? { board: counts.board, ...(counts.inference !== null ? { inferenceInstructions: counts.inference } : {}) } : {}),
  };
}

/** verify's per-layer counts (verify --profile-layers), when it ran them. */
export function verifyCounts(verify: VerifyArtifact | undefined): LayerCounts | undefined {
  if (!verify?.layers) return undefined;
  return { board: verify.board, perOp: verify.layers.map((l) => l.instructions), inference: verify.profiledInference };
}

/** The arena plan as placed buffers, and the flash split when verify measured the firmware. */
export function memorySection(model: GeneratedModel, ops: number, verify?: VerifyArtifact): MemorySection {
  const m = model.memory;
  const flash = verify
    ? {
        code: verify.modelBytes.text,
        weights: verify.modelBytes.weights,
        tables: verify.modelBytes.rodata + verify.modelBytes.data - verify.modelBytes.weights,
      }
    : undefined;
  return {
    arenaBytes: m.plan.arenaBytes,
    lowerBound: m.plan.lowerBound,
    unsharedBytes: m.unsharedBytes,
    steps: ops + 1,
    buffers: m.buffers.map((b) => ({
      name: b.name,
      kind: b.name.startsWith('scratch#') ? 'scratch' : b.name.startsWith('state#') ? 'state' : 'tensor',
      offset: m.plan.offsets.get(b.name)!,
      bytes: b.bytes,
      first: b.first,
      last: b.last,
    })),
    ...(flash ? { flash } : {}),
  };
}

export function accuracySection(verify: VerifyArtifact): AccuracySection {
  return { board: verify.board, outputs: verify.outputs, confusion: verify.confusion };
}

/** The planner's per-layer sensitivity and choice (tinym2 plan's result), with the budget sweep when measured. */
export function planSection(method: string, layers: PlanLayerReport[], curve?: PlanCurvePoint[]): PlanSection {
  return {
    method,
    layers: layers.map((l) => ({
      name: l.name,
      op: l.op,
      // The criterion's per-layer estimate (a Hessian trace only for the Hessian criteria; `method` names it).
      traceMean: l.sensitivity.value,
      traceStdErr: l.sensitivity.stdErr,
      omega4: l.omega[4],
      omega8: l.omega[8],
      weightBits: l.weightBits,
      activationBits: l.activationBits,
      bytes: l.bytes,
    })),
    ...(curve ? { curve } : {}),
  };
}
