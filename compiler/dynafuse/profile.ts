// Compile-time DynaFuse profiling of a late-fusion model, all through the integer emulator:
//   - resilience: each modality head's top-1 accuracy when Gaussian noise of sigma (in standard
//     deviations of each channel over the calibration set) is added to that modality's input only;
//   - the noise estimator's calibration: the run-time estimate (median |first difference| per channel
//     of the quantized window, scaled to sigma units for white noise, mean over channels) measured on
//     the same noisy windows, and the map estimate -> sigma fitted on the injected sigmas;
//   - energy per window: sensing (the config's sensor spec) + compute (branch instructions x the
//     board's energy per instruction).
// The result becomes the const tables of the C routine (emit.ts) and the TypeScript twin (runtime.ts).
import { tensorSize, type Graph } from '../ir.ts';
import { gaussian } from '../random.ts';
import { runOp, type QValues } from '../quant/emulator.ts';
import { quantizeInput } from '../quant/io.ts';
import type { QGraph, QOp } from '../quant/qgraph.ts';
import type { DataSet } from '../quant/evaluate.ts';
import { estimateInference } from '../target/power.ts';
import type { Board } from '../target/boards.ts';
import type { FusionConfig } from './config.ts';
import { ALL_SELECTED_RULES, expTableFor, medianAbsDiffs, MODES, Q15_ONE, SIGMA_ONE, type DynaFuseTables, type Pwl } from './runtime.ts';
import type { Progress } from '../progress.ts';

/** Median |difference| of white Gaussian noise of std s is 0.6745 * sqrt(2) * s. */
const MAD_OF_DIFFERENCE = 0.6744897501960817 * Math.SQRT2;

/** Where a branch's instruction count comes from. */
export interface InstructionSource {
  /** Instructions per op of the whole graph (e.g. a QEMU per-layer profile), indexed like q.ops. */
  perOp?: number[];
  /** Used when perOp is absent: instructions = MACs x this. */
  instructionsPerMac: number;
  basis: string;
}

export interface ModalityProfile {
  name: string;
  input: string;
  head: string;
  channels: number;
  samples: number;
  /** Std of each channel over the calibration set, raw units. */
  channelStd: number[];
  /** Top-1 accuracy of the head at each sigma of the grid (noise on this modality only). */
  accuracy: number[];
  /** Median over rows of the run-time estimate (Q12) at each sigma. */
  estimateQ12: number[];
  estMultQ16: number[];
  estToSigma: Pwl;
  resilience: Pwl;
  ops: number;
  macs: number;
  instructions: number;
  computeEnergyJ: number;
  sensingEnergyJ: number;
  energyJ: number;
}

export interface DynaFuseProfile {
  model: string;
  rows: number;
  repeats: number;
  sigmas: number[];
  classes: number;
  modalities: ModalityProfile[];
  fused?: { head: string; accuracy: number; extraOps: number; extraMacs: number; extraInstructions: number; extraEnergyJ: number };
  board: string;
  energyPerInstructionJ: number;
  instructionBasis: string;
  tables: DynaFuseTables;
}

export interface ProfileOptions {
  board: Board;
  instructions: InstructionSource;
  /** Noise draws per calibration row and sigma (default 1). */
  repeats?: number;
  seed?: number;
  /** Progress of the noise sweep per modality (stderr). */
  steps?: Progress;
}

/** Reproducible standard normal draws (shared with the benchmark and tests). */
export { gaussian };

/** Joules -> nanojoules rounded to 3 significant digits. */
export function energyNanojoules(joules: number): number {
  const n = joules * 1e9;
  if (n <= 0) return 0;
  const step = 10 ** Math.max(0, Math.floor(Math.log10(n)) - 2);
  return Math.round(n / step) * step;
}

/** Indices of the ops needed to compute `outputs` (in graph order). */
export function opsFor(q: QGraph, outputs: string[]): number[] {
  const needed = new Set(outputs);
  const keep: number[] = [];
  for (let i = q.ops.length - 1; i >= 0; i--) {
    const op = q.ops[i];
    if (!needed.has(op.output)) continue;
    keep.push(i);
    for (const x of op.inputs) needed.add(x);
  }
  return keep.reverse();
}

/** Graph inputs an op list reads. */
function inputsOf(q: QGraph, ops: number[]): string[] {
  const read = new Set(ops.flatMap((i) => q.ops[i].inputs));
  return q.inputs.filter((n) => read.has(n));
}

function runOps(q: QGraph, ops: number[], inputs: Record<string, Int8Array>): QValues {
  const values: QValues = new Map(Object.entries(inputs));
  for (const i of ops) values.set(q.ops[i].output, runOp(q, q.ops[i], values));
  return values;
}

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

export function opMacs(op: QOp): number {
  return op.op === 'conv' || op.op === 'depthwise' || op.op === 'pointwise' || op.op === 'dense' ? op.macs : 0;
}

/** Per channel std (population) of one input over the rows, ONNX layout [1, C, ...]. */
function channelStd(graph: Graph, rows: DataSet['rows'], input: string): number[] {
  const shape = graph.inputs.find((x) => x.name === input)!.shape;
  const C = shape.length >= 3 ? shape[1] : 1;
  const per = tensorSize(shape) / C;
  const sum = new Float64Array(C), sq = new Float64Array(C);
  for (const row of rows) {
    const x = row[input];
    for (let c = 0; c < C; c++) for (let k = 0; k < per; k++) {
      const v = x[c * per + k];
      sum[c] += v;
      sq[c] += v * v;
    }
  }
  const n = rows.length * per;
  return Array.from(sum, (s, c) => Math.sqrt(Math.max(0, sq[c] / n - (s / n) ** 2)));
}

/** Quantization scale of each input channel (per-channel affine or the tensor's scale). */
function channelScales(q: QGraph, input: string, C: number): number[] {
  const affine = q.io[input].channelAffine;
  return Array.from({ length: C }, (_, c) => (affine ? affine.scale[c] : q.tensors.get(input)!.scale));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[(s.length - 1) >> 1];
}

/** Knots with strictly increasing x (a later knot not above the previous one moves to previous + 1). */
function strictlyIncreasing(x: number[]): number[] {
  const out: number[] = [];
  for (const v of x) out.push(out.length && v <= out[out.length - 1] ? out[out.length - 1] + 1 : v);
  return out;
}

export function profileDynaFuse(graph: Graph, q: QGraph, calib: DataSet, config: FusionConfig, options: ProfileOptions): DynaFuseProfile {
  const repeats = options.repeats ?? 1;
  const labels = calib.labels.get('labels');
  if (!labels) throw new Error(`internal: ${calib.file} has no labels (checked by the caller)`);
  const qName = (onnx: string) => q.outputs[graph.outputs.findIndex((o) => o.name === onnx)];
  const energy = estimateInference(options.board, 1);
  const classes = tensorSize(graph.outputs.find((o) => o.name === config.modalities[0].head)!.shape);
  const branchOps = new Set<number>();
  const instructionsOf = (ops: number[]) =>
    options.instructions.perOp
      ? ops.reduce((s, i) => s + options.instructions.perOp![i], 0)
      : ops.reduce((s, i) => s + opMacs(q.ops[i]), 0) * options.instructions.instructionsPerMac;

  const modalities = config.modalities.map((m, mi): ModalityProfile => {
    const head = qName(m.head);
    const ops = opsFor(q, [head]);
    ops.forEach((i) => branchOps.add(i));
    const reads = inputsOf(q, ops);
    if (reads.length !== 1 || reads[0] !== m.input)
      throw new Error(`internal: head ${m.head} reads inputs [${reads.join(', ')}], expected only ${m.input} (checked by the caller)`);
    const shape = graph.inputs.find((x) => x.name === m.input)!.shape;
    const C = shape.length >= 3 ? shape[1] : 1;
    const T = tensorSize(shape) / C;
    const std = channelStd(graph, calib.rows, m.input);
    const scales = channelScales(q, m.input, C);
    // est_c (Q12) = mad_c x mult_c / 2^16 is sigma for white noise on a constant channel.
    const estMultQ16 = std.map((s, c) => {
      const noiseUnitsPerSigma = (s / scales[c]) * MAD_OF_DIFFERENCE;
      return noiseUnitsPerSigma > 0 ? Math.min(0xffffffff, Math.round((SIGMA_ONE * 65536) / noiseUnitsPerSigma)) : 0;
    });
    const normal = gaussian((options.seed ?? 1) * 1000 + mi);
    const accuracy: number[] = [];
    const estimateQ12: number[] = [];
    const noisy = new Float32Array(tensorSize(shape));
    options.steps?.stage(`DynaFuse: ${m.name} head under noise, ${calib.rows.length} rows per sigma`, config.noiseSigmas.length);
    for (const [si, sigma] of config.noiseSigmas.entries()) {
      options.steps?.update(si, `sigma ${sigma}`);
      let correct = 0, total = 0;
      const estimates: number[] = [];
      for (let r = 0; r < calib.rows.length; r++) {
        for (let k = 0; k < (sigma === 0 ? 1 : repeats); k++) {
          const clean = calib.rows[r][m.input];
          for (let c = 0; c < C; c++) for (let t = 0; t < T; t++) noisy[c * T + t] = clean[c * T + t] + sigma * std[c] * normal();
          const qin = quantizeInput(q, m.input, noisy);
          const out = runOps(q, ops, { [m.input]: qin }).get(head)!;
          if (argmax(out) === labels[r]) correct++;
          total++;
          const mads = medianAbsDiffs(qin, C, T);
          let sum = 0;
          for (let c = 0; c < C; c++) sum += Math.floor((mads[c] * estMultQ16[c] + 32768) / 65536);
          estimates.push(Math.floor(sum / C));
        }
      }
      accuracy.push(correct / total);
      estimateQ12.push(median(estimates));
    }
    options.steps?.update(config.noiseSigmas.length);
    options.steps?.end();
    const sigmaQ12 = config.noiseSigmas.map((s) => Math.round(s * SIGMA_ONE));
    const macs = ops.reduce((s, i) => s + opMacs(q.ops[i]), 0);
    const instructions = instructionsOf(ops);
    const computeEnergyJ = instructions * energy.energyPerInstructionJoules;
    const sensingEnergyJ = m.sensor.energyPerSampleJ * T;
    return {
      name: m.name, input: m.input, head: m.head, channels: C, samples: T, channelStd: std, accuracy, estimateQ12, estMultQ16,
      estToSigma: { x: strictlyIncreasing(estimateQ12), y: sigmaQ12 },
      resilience: { x: sigmaQ12, y: accuracy.map((a) => Math.round(a * Q15_ONE)) },
      ops: ops.length, macs, instructions, computeEnergyJ, sensingEnergyJ, energyJ: computeEnergyJ + sensingEnergyJ,
    };
  });

  let fused: DynaFuseProfile['fused'];
  if (config.fusedHead) {
    const head = qName(config.fusedHead);
    const all = opsFor(q, [head]);
    const extra = all.filter((i) => !branchOps.has(i));
    let correct = 0;
    calib.rows.forEach((row, r) => {
      const inputs = Object.fromEntries(q.inputs.map((n) => [n, quantizeInput(q, n, row[n])]));
      if (argmax(runOps(q, all, inputs).get(head)!) === labels[r]) correct++;
    });
    const extraInstructions = instructionsOf(extra);
    fused = {
      head: config.fusedHead, accuracy: correct / calib.rows.length, extraOps: extra.length,
      extraMacs: extra.reduce((s, i) => s + opMacs(q.ops[i]), 0), extraInstructions,
      extraEnergyJ: extraInstructions * energy.energyPerInstructionJoules,
    };
  }

  // Energies are estimates good to about 1 %: rounded to 3 significant digits, so modalities whose costs differ
  // by less (identical sensors, branches a few instructions apart) tie, and the rule's tie-break (the more
  // accurate modality) decides instead of measurement noise.
  const nj = (j: number) => Math.min(0xffffffff, energyNanojoules(j));
  const scaleOf = (onnx: string) => q.tensors.get(qName(onnx))!.scale;
  const tables: DynaFuseTables = {
    classes,
    modalities: modalities.map((p, i) => ({
      name: p.name, channels: p.channels, samples: p.samples, diffShift: 0, estMultQ16: p.estMultQ16,
      estToSigma: p.estToSigma, resilience: p.resilience, energyNj: nj(p.energyJ), expTable: expTableFor(scaleOf(config.modalities[i].head)),
    })),
    thresholdQ15: Math.round(config.threshold * Q15_ONE),
    defaultMode: MODES.indexOf(config.modes.default),
    batteryEnergySavingBelow: config.modes.batteryEnergySavingBelow,
    batteryNominalBelow: config.modes.batteryNominalBelow,
    fused: fused ? { expTable: expTableFor(scaleOf(fused.head)), energyNj: nj(fused.extraEnergyJ) } : undefined,
    allSelectedRule: ALL_SELECTED_RULES.indexOf(config.allSelected),
  };
  return {
    model: graph.file, rows: calib.rows.length, repeats, sigmas: config.noiseSigmas, classes, modalities, fused,
    board: options.board.name, energyPerInstructionJ: energy.energyPerInstructionJoules, instructionBasis: options.instructions.basis, tables,
  };
}
