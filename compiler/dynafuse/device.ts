// DynaFuse on the device, end to end: one firmware that, for each of N test windows, does what a
// wearable would do with a fresh window of every sensor:
//   1. decision: tm2_dynafuse_noise_s8 on each modality's raw int8 window (channels-last, sensor order)
//      + tm2_dynafuse_decide (mode forced per window) -> branch mask + Q15 weights;
//   2. selective inference: the selected modalities' windows into the model's input struct (ONNX order)
//      + tm2_<name>_run_heads with the output bits of the selected heads (or the fused head);
//   3. fusion: tm2_dynafuse_fuse -> class;
//   4. for comparison, static fusion in the same firmware: every window into the struct, run_heads with
//      the fused head only (it reads all five trunks), argmax of its logits;
//   5. and the paper's static baseline: every branch's own head, fused with fixed intrinsic weights (the heads'
//      noise-free accuracies, Q15) through the same tm2_dynafuse_fuse.
// Each step is its own tm2_count region (step 2 is two: the copy and run_heads), so QEMU counts the routine
// and the inference separately.
// The host computes the same windows with the TypeScript twin (runtime.ts) and the integer emulator;
// compareWithHost() lists every field that differs (there should be none).
//
// The noisy windows are made on the host (Gaussian noise sigma x the channel's calibration std, seeded)
// and quantized with the model's input quantization, exactly as profile.ts and the benchmark do.
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { intRows } from '../codegen/cformat.ts';
import { generateModel } from '../codegen/generate.ts';
import { writeOutputDir } from '../codegen/output.ts';
import { emulate } from '../quant/emulator.ts';
import type { DataSet } from '../quant/evaluate.ts';
import { quantizeInput } from '../quant/io.ts';
import type { QGraph } from '../quant/qgraph.ts';
import type { Board } from '../target/boards.ts';
import { buildFirmware } from '../target/build.ts';
import { runFirmware } from '../target/run.ts';
import { emitDynaFuseC } from './emit.ts';
import { gaussian, type DynaFuseProfile } from './profile.ts';
import * as df from './runtime.ts';

const DYNAFUSE_DIR = fileURLToPath(new URL('../../runtime-c/dynafuse', import.meta.url));

/** One test window as the device receives it. */
export interface DeviceWindow {
  /** Row of the data set and its label. */
  row: number;
  label: number;
  /** Injected noise per modality, in standard deviations of each channel (calibration set). */
  sigmas: number[];
  /** The demand of this window (forced mode). */
  mode: number;
  /** Per modality (profile order): the quantized raw window, channels-last (window[t * channels + c]). */
  windows: Int8Array[];
}

export interface WindowOptions {
  /** Number of windows (taken from the data set's rows, evenly spaced). */
  count: number;
  seed: number;
  /** Sigma per modality for every window; default: drawn from U[0, maxSigma) per modality per window. */
  sigmas?: number[];
  maxSigma?: number;
  /** Modes cycled over the windows (default high accuracy, nominal, energy saving). */
  modes?: number[];
}

/** mulberry32: seeded uniform draws in [0, 1). */
function uniformSource(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Noisy, quantized test windows: the same noise model as the compile-time profile and the benchmark. */
export function makeWindows(q: QGraph, p: DynaFuseProfile, data: DataSet, o: WindowOptions): DeviceWindow[] {
  const labels = data.labels.get('labels');
  if (!labels) throw new Error(`${data.file} has no 'labels'`);
  const uniform = uniformSource(o.seed);
  const normal = gaussian(o.seed * 7919 + 1);
  const modes = o.modes ?? [df.HIGH_ACCURACY, df.NOMINAL, df.ENERGY_SAVING];
  const count = Math.min(o.count, data.rows.length);
  const out: DeviceWindow[] = [];
  for (let w = 0; w < count; w++) {
    const row = Math.floor((w * data.rows.length) / count);
    const sigmas = o.sigmas ?? p.modalities.map(() => (o.maxSigma ?? 2) * uniform());
    const windows = p.modalities.map((m, i) => {
      // Float rows are in ONNX order ([C][L]): channel c, sample k at c * samples + k.
      const x = Float32Array.from(data.rows[row][m.input]);
      for (let c = 0; c < m.channels; c++) for (let k = 0; k < m.samples; k++) x[c * m.samples + k] += sigmas[i] * m.channelStd[c] * normal();
      return quantizeInput(q, m.input, x);
    });
    out.push({ row, label: labels[row], sigmas, mode: modes[w % modes.length], windows });
  }
  return out;
}

/** What the firmware prints per window, and what the host computes for it. */
export interface WindowResult {
  sigmaQ12: number[];
  mode: number;
  mask: number;
  useFused: boolean;
  weightQ15: number[];
  probsQ15: number[];
  cls: number;
  /** Static fusion: argmax of the fused head over all branches. */
  staticCls: number;
  /** Static intrinsic weights: every head, fixed weights = the heads' noise-free accuracies. */
  staticWeightsCls: number;
}

/** The paper's static intrinsic weights: Q15 shares of the heads' noise-free accuracies, every modality. */
export function staticIntrinsicDecision(t: df.DynaFuseTables): df.Decision {
  const all = 2 ** t.modalities.length - 1;
  const weightQ15 = df.q15Shares(t.modalities.map((m) => m.resilience.y[0] ?? 0), all);
  return { mode: df.HIGH_ACCURACY, mask: all, useFused: false, accQ15: [], wInitQ15: [], weightQ15, energyNj: 0 };
}

/** Graph output index of each modality's head and of the fused head. */
function headIndices(q: QGraph, p: DynaFuseProfile): { heads: number[]; fused: number } {
  const idx = (t: string) => {
    const j = q.outputs.indexOf(t);
    if (j < 0) throw new Error(`internal: ${t} is not a graph output of ${q.name}`);
    return j;
  };
  if (!p.fused) throw new Error('the on-device comparison needs a fused head (static fusion = the fused head over all branches)');
  return { heads: p.modalities.map((m) => idx(m.head)), fused: idx(p.fused.head) };
}

function firstArgmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let c = 1; c < v.length; c++) if (v[c] > v[best]) best = c;
  return best;
}

/** The host's answer for each window: TS twin of the routine + integer emulator for the heads. */
export function hostResults(q: QGraph, p: DynaFuseProfile, windows: DeviceWindow[]): WindowResult[] {
  const t = p.tables;
  const { heads, fused } = headIndices(q, p);
  return windows.map((w) => {
    const inputs: Record<string, Int8Array> = {};
    p.modalities.forEach((m, i) => (inputs[m.input] = w.windows[i]));
    const values = emulate(q, inputs);
    const sigmaQ12 = t.modalities.map((m, i) => df.noiseS8(m, w.windows[i]));
    const d = df.decide(t, { sigmaQ12, batteryPct: -1, forcedMode: w.mode });
    const headOut = heads.map((j) => values.get(q.outputs[j])!);
    const fusedOut = values.get(q.outputs[fused])!;
    const f = df.fuse(t, d, headOut, fusedOut);
    const staticWeightsCls = df.fuse(t, staticIntrinsicDecision(t), headOut).argmax;
    return { sigmaQ12, mode: d.mode, mask: d.mask, useFused: d.useFused, weightQ15: d.weightQ15, probsQ15: f.probsQ15, cls: f.argmax, staticCls: firstArgmax(fusedOut), staticWeightsCls };
  });
}

/** The firmware's main(): windows as const data, five count regions per window (REGIONS), one result line each. */
export function firmwareSource(q: QGraph, p: DynaFuseProfile, modelName: string, fields: { inputs: string[]; outputs: string[] }, windows: DeviceWindow[]): string {
  const n = p.modalities.length;
  const classes = p.tables.classes;
  const { heads, fused } = headIndices(q, p);
  const inField = p.modalities.map((m) => fields.inputs[q.inputs.indexOf(m.input)]);
  const bit = (j: number) => `0x${(2 ** j).toString(16)}u`;
  const pre = `tm2_${modelName}`;
  const lines: string[] = [
    `/* DynaFuse on the device: ${windows.length} windows of ${modelName} (generated by tinym2's compiler/dynafuse/device.ts). */`,
    '#include <stdio.h>',
    '#include <string.h>',
    '#include "tm2_count.h"',
    `#include "${modelName}.h"`,
    `#include "${modelName}_dynafuse.h"`,
    '',
    `#define WINDOWS ${windows.length}`,
    `#define MODALITIES ${n}`,
    `#define CLASSES ${classes}`,
    '',
    '/* Raw quantized sensor windows, channels-last (sample-interleaved, as a sensor FIFO delivers them). */',
  ];
  p.modalities.forEach((m, i) => {
    const size = m.channels * m.samples;
    lines.push(`static const int8_t win_${inField[i]}[WINDOWS][${size}] = {\n${windows.map((w) => `  {\n${intRows(w.windows[i], 24, '    ')}\n  }`).join(',\n')}\n};`);
  });
  lines.push(
    `static const int8_t modes[WINDOWS] = {${windows.map((w) => w.mode).join(', ')}};`,
    '',
    '/* Sensor order [t][c] -> the API\'s ONNX order [c][t]. */',
    'static void to_api(const int8_t *win, int8_t *dst, int channels, int samples) {',
    '  int c, t;',
    '  for (c = 0; c < channels; c++)',
    '    for (t = 0; t < samples; t++) dst[c * samples + t] = win[t * channels + c];',
    '}',
    '',
    `static void load_window(int i, int w, ${pre}_inputs *in) {`,
    '  switch (i) {',
    ...p.modalities.map((m, i) => `  case ${i}: to_api(win_${inField[i]}[w], in->${inField[i]}, ${m.channels}, ${m.samples}); break;`),
    '  default: break;',
    '  }',
    '}',
    '',
    `static const uint32_t head_bit[MODALITIES] = {${heads.map(bit).join(', ')}};`,
    `#define FUSED_BIT ${bit(fused)}`,
    `#define ALL_HEAD_BITS (${heads.map(bit).join(' | ')})`,
    '',
    '/* The static baseline\'s decision: every modality, fixed weights = the heads\' noise-free accuracies (Q15). */',
    `static const tm2_dynafuse_decision static_weights = {0, 0x${(2 ** n - 1).toString(16)}u, 0, {0}, {0}, {${staticIntrinsicDecision(p.tables).weightQ15.join(', ')}}, 0u};`,
    '',
    'int main(void) {',
    `  static ${pre}_inputs in;`,
    `  static ${pre}_outputs out;`,
    `  const int8_t *const heads[MODALITIES] = {${heads.map((j) => `out.${fields.outputs[j]}`).join(', ')}};`,
    '  tm2_dynafuse_request req;',
    '  tm2_dynafuse_decision d;',
    '  int32_t probs[CLASSES], static_probs[CLASSES], cls, static_cls, static_weights_cls;',
    '  uint32_t outputs;',
    '  int w, i, c;',
    '  for (w = 0; w < WINDOWS; w++) {',
    '    /* (a) the decision: noise estimate of every window + mode rules, before any branch runs. */',
    '    tm2_count_begin();',
    ...p.modalities.map((_, i) => `    req.sigma_q12[${i}] = tm2_dynafuse_noise_s8(&tm2_${modelName}_dynafuse.modalities[${i}], win_${inField[i]}[w]);`),
    '    req.battery_pct = -1;',
    '    req.forced_mode = modes[w];',
    `    tm2_dynafuse_decide(&tm2_${modelName}_dynafuse, &req, &d);`,
    '    tm2_count_end();',
    '    /* (b) the selective inference: only the selected windows enter (b1: copy into the API struct), */',
    '    /*     only their layers run (b2). */',
    '    tm2_count_begin();',
    '    outputs = d.use_fused ? FUSED_BIT : 0u;',
    '    for (i = 0; i < MODALITIES; i++) {',
    '      if (!((d.mask >> i) & 1u)) continue;',
    '      load_window(i, w, &in);',
    '      if (!d.use_fused) outputs |= head_bit[i];',
    '    }',
    '    tm2_count_end();',
    '    tm2_count_begin();',
    `    ${pre}_run_heads(&in, &out, outputs);`,
    '    tm2_count_end();',
    '    /* (c) the fusion. */',
    '    tm2_count_begin();',
    `    cls = tm2_dynafuse_fuse(&tm2_${modelName}_dynafuse, &d, heads, out.${fields.outputs[fused]}, probs);`,
    '    tm2_count_end();',
    '    /* (d) static fusion on the same window: every branch, the fused head. */',
    '    tm2_count_begin();',
    '    for (i = 0; i < MODALITIES; i++) load_window(i, w, &in);',
    `    ${pre}_run_heads(&in, &out, FUSED_BIT);`,
    '    static_cls = 0;',
    `    for (c = 1; c < CLASSES; c++) if (out.${fields.outputs[fused]}[c] > out.${fields.outputs[fused]}[static_cls]) static_cls = c;`,
    '    tm2_count_end();',
    '    /* (e) static intrinsic weights on the same window: every branch with its own head, fixed weights. */',
    '    tm2_count_begin();',
    `    ${pre}_run_heads(&in, &out, ALL_HEAD_BITS);`,
    `    static_weights_cls = tm2_dynafuse_fuse(&tm2_${modelName}_dynafuse, &static_weights, heads, out.${fields.outputs[fused]}, static_probs);`,
    '    tm2_count_end();',
    '    printf("window %d sigma", w);',
    '    for (i = 0; i < MODALITIES; i++) printf(" %ld", (long)req.sigma_q12[i]);',
    '    printf(" mode %d mask %lu fused %d weights", d.mode, (unsigned long)d.mask, d.use_fused);',
    '    for (i = 0; i < MODALITIES; i++) printf(" %ld", (long)d.weight_q15[i]);',
    '    printf(" probs");',
    '    for (c = 0; c < CLASSES; c++) printf(" %ld", (long)probs[c]);',
    '    printf(" class %ld static %ld static_weights %ld\\n", (long)cls, (long)static_cls, (long)static_weights_cls);',
    '  }',
    '  printf("dynafuse_done windows=%d\\n", WINDOWS);',
    '  return 0;',
    '}',
    '',
  );
  return lines.join('\n');
}

/** Count regions per window: decision, copy, run_heads, fuse, static fusion (fused head), static intrinsic weights. */
const REGIONS = 6;

/** Instructions of one window's count regions. */
export interface WindowInstructions {
  decision: number;
  /** Selective inference: copy of the selected windows into the API struct + run_heads. */
  inference: number;
  /** Of which the copy from sensor order [t][c] into the API's ONNX order [c][t]. */
  copy: number;
  fuse: number;
  staticFusion: number;
  /** Static intrinsic weights: every head (the windows are already in the struct) + the fixed-weight fusion. */
  staticWeights: number;
}

export interface DeviceRun {
  results: WindowResult[];
  instructions: WindowInstructions[];
  flashBytes: number;
  buildSeconds: number;
  runSeconds: number;
}

/** Reads the firmware's result lines back. */
export function parseDeviceOutput(text: string, n: number, classes: number): WindowResult[] {
  const out: WindowResult[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^window (\d+) sigma (.*) mode (\d+) mask (\d+) fused (\d) weights (.*) probs (.*) class (\d+) static (\d+) static_weights (\d+)$/.exec(line.trim());
    if (!m) continue;
    const ints = (s: string) => s.trim().split(/\s+/).map(Number);
    const r: WindowResult = {
      sigmaQ12: ints(m[2]), mode: Number(m[3]), mask: Number(m[4]), useFused: m[5] === '1', weightQ15: ints(m[6]),
      probsQ15: ints(m[7]), cls: Number(m[8]), staticCls: Number(m[9]), staticWeightsCls: Number(m[10]),
    };
    if (r.sigmaQ12.length !== n || r.weightQ15.length !== n || r.probsQ15.length !== classes) throw new Error(`malformed firmware line: ${line}`);
    out[Number(m[1])] = r;
  }
  return out;
}

/** Generates the model + tables + main, builds one firmware, runs it under QEMU. */
export async function runOnDevice(q: QGraph, p: DynaFuseProfile, windows: DeviceWindow[], board: Board, workDir: string, modelName = 'dfd'): Promise<DeviceRun> {
  mkdirSync(workDir, { recursive: true });
  const model = generateModel(q, { name: modelName, source: p.model.split('/').pop() ?? 'model.onnx', precision: 'INT8' });
  if (model.outputs.length < 2) throw new Error(`${p.model} has one output: run_heads (selective branches) needs a multi-head model`);
  const fields = { inputs: model.inputs.map((io) => io.field), outputs: model.outputs.map((io) => io.field) };
  model.files.set(`${modelName}_dynafuse_main.c`, firmwareSource(q, p, modelName, fields, windows));
  for (const [f, text] of emitDynaFuseC(p, modelName)) model.files.set(f, text);
  const dir = join(workDir, 'src');
  writeOutputDir(dir, model.files);
  const runtime = readdirSync(join(dir, 'runtime/src')).filter((f) => f.endsWith('.c')).map((f) => join(dir, 'runtime/src', f));
  const sources = [
    join(dir, `${modelName}_dynafuse_main.c`), join(dir, `${modelName}.c`), join(dir, `${modelName}_weights.c`),
    join(dir, `${modelName}_dynafuse.c`), join(DYNAFUSE_DIR, 'tm2_dynafuse.c'), ...runtime,
  ];
  const fw = await buildFirmware({
    board, sources, outDir: join(workDir, 'fw'), includeDirs: [dir, join(dir, 'runtime/include'), join(dir, 'runtime/src'), DYNAFUSE_DIR],
    defines: { TM2_COUNT_MARKERS: true }, extraCflags: ['-std=c99', '-Wall', '-Wextra', '-pedantic'],
  });
  // Our main() must compile cleanly; warnings in the model or kernels are their owners' to report.
  const ours = fw.warnings.filter((w) => w.includes('_dynafuse_main.c'));
  if (ours.length) throw new Error(`internal: the DynaFuse firmware main has warnings:\n${ours.join('\n')}`);
  const r = await runFirmware(fw.elf, board, { timeoutMs: 600_000 });
  const results = parseDeviceOutput(r.stdout, p.modalities.length, p.tables.classes);
  if (r.exitCode !== 0 || !r.stdout.includes(`dynafuse_done windows=${windows.length}`) || r.regions.length !== REGIONS * windows.length)
    throw new Error(`internal: the DynaFuse firmware failed (exit ${r.exitCode}, ${r.regions.length} count regions for ${windows.length} windows): ${r.stderr.slice(0, 500)}`);
  const instructions = windows.map((_, w) => {
    const [decision, copy, runHeads, fuse, staticFusion, staticWeights] = r.regions.slice(REGIONS * w, REGIONS * (w + 1));
    return { decision, inference: copy + runHeads, copy, fuse, staticFusion, staticWeights };
  });
  return { results, instructions, flashBytes: fw.sizes.flashBytes, buildSeconds: fw.seconds, runSeconds: r.seconds };
}

/** Every field where the device and the host differ, as "window w: field device != host" lines. */
export function compareWithHost(device: WindowResult[], host: WindowResult[]): string[] {
  const diffs: string[] = [];
  host.forEach((h, w) => {
    const d = device[w];
    if (!d) {
      diffs.push(`window ${w}: missing on the device`);
      return;
    }
    for (const k of Object.keys(h) as Array<keyof WindowResult>) {
      if (JSON.stringify(d[k]) !== JSON.stringify(h[k])) diffs.push(`window ${w}: ${k} ${JSON.stringify(d[k])} != ${JSON.stringify(h[k])}`);
    }
  });
  return diffs;
}

/** Per-mode summary: instructions, energy (board energy per instruction x counts + sensing), accuracy. */
export interface ModeSummary {
  windows: number;
  branches: number;
  decisionInstructions: number;
  inferenceInstructions: number;
  /** Of the inference: the copy of the selected windows into the API struct. */
  copyInstructions: number;
  fuseInstructions: number;
  staticInstructions: number;
  /** Static intrinsic weights: every head + fixed-weight fusion (the window copy is in the fused-head region). */
  staticWeightsInstructions: number;
  /** Compute energy per window (J): decision + inference + fuse; static: the static region. */
  computeJ: number;
  staticComputeJ: number;
  /** + sensing: every sensor (the estimator reads every window) / only the selected sensors. */
  totalAllSensorsJ: number;
  totalSelectedSensorsJ: number;
  staticTotalJ: number;
  accuracy: number;
  staticAccuracy: number;
  staticWeightsAccuracy: number;
}

export function summarize(p: DynaFuseProfile, windows: DeviceWindow[], results: WindowResult[], instr: WindowInstructions[], energyPerInstructionJ: number, mode?: number): ModeSummary {
  const pick = windows.map((_, w) => w).filter((w) => mode === undefined || windows[w].mode === mode);
  const k = pick.length || 1;
  const mean = (f: (w: number) => number) => pick.reduce((a, w) => a + f(w), 0) / k;
  const sensing = p.modalities.map((m) => m.sensingEnergyJ);
  const allSensing = sensing.reduce((a, b) => a + b, 0);
  const selected = (w: number) => p.modalities.map((_, i) => i).filter((i) => (results[w].mask >>> i) & 1);
  const compute = (w: number) => (instr[w].decision + instr[w].inference + instr[w].fuse) * energyPerInstructionJ;
  return {
    windows: pick.length,
    branches: mean((w) => selected(w).length),
    decisionInstructions: mean((w) => instr[w].decision),
    inferenceInstructions: mean((w) => instr[w].inference),
    copyInstructions: mean((w) => instr[w].copy),
    fuseInstructions: mean((w) => instr[w].fuse),
    staticInstructions: mean((w) => instr[w].staticFusion),
    staticWeightsInstructions: mean((w) => instr[w].staticWeights),
    computeJ: mean(compute),
    staticComputeJ: mean((w) => instr[w].staticFusion * energyPerInstructionJ),
    totalAllSensorsJ: mean((w) => compute(w) + allSensing),
    totalSelectedSensorsJ: mean((w) => compute(w) + selected(w).reduce((a, i) => a + sensing[i], 0)),
    staticTotalJ: mean((w) => instr[w].staticFusion * energyPerInstructionJ + allSensing),
    accuracy: mean((w) => (results[w].cls === windows[w].label ? 1 : 0)),
    staticAccuracy: mean((w) => (results[w].staticCls === windows[w].label ? 1 : 0)),
    staticWeightsAccuracy: mean((w) => (results[w].staticWeightsCls === windows[w].label ? 1 : 0)),
  };
}
