// Per-channel input quantization in the generated C API: tm2_<name>_quantize_<input>() must give the
// same int8 values as the TypeScript input quantization (compiler/quant/io.ts quantizeInput) for
// every float, including values on rounding ties, just outside the range and far outside it, at
// INT8 and INT4 inputs, for NCL and NCHW inputs; an input read by a padded conv keeps one scale.
//
// The probe values are the rows of a test-vector harness (compiler/codegen/testvectors.ts), which
// calls the helpers on the floats, counts differences from the emulator's quantization and runs the
// model on the result: built with host gcc (strict C99) and run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateModel, runtimeFiles } from '../compiler/codegen/generate.ts';
import { checkOnHost, haveTool } from '../compiler/codegen/hostcheck.ts';
import { writeOutputDir } from '../compiler/codegen/output.ts';
import { harnessSource } from '../compiler/codegen/testvectors.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { calibrateGraph, uniform } from '../compiler/quant/evaluate.ts';
import { activationRange } from '../compiler/quant/fixedpoint.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import type { PrecisionPlan } from '../compiler/quant/plan.ts';
import type { InputChannelAffine, QGraph } from '../compiler/quant/qgraph.ts';
import { values, writeModel } from './helpers/onnx-builder.ts';

const work = mkdtempSync(join(tmpdir(), 'tm2-input-quant-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * Three inputs: 'acc' [1, 3, 32] (raw sensor units, unpadded Conv1d), 'img' [1, 2, 6, 6] (unpadded
 * Conv2d) and 'pic' [1, 2, 6, 6] (a Conv2d with padding: per-channel inputs do not apply).
 */
function writeSensorModel(): string {
  const w = (name: string, dims: number[], seed: number, scale = 0.5) => ({ name, dims, data: values(dims.reduce((a, b) => a * b, 1), seed).map((v) => v * scale) });
  const gapDense = (x: string, ch: number, tag: string, k: number) => [
    { op: 'GlobalAveragePool', inputs: [x], outputs: [`${tag}_g`] },
    { op: 'Flatten', inputs: [`${tag}_g`], outputs: [`${tag}_f`] },
    { op: 'Gemm', inputs: [`${tag}_f`, `${tag}_wd`, `${tag}_bd`], outputs: [`${tag}_logits`], attrs: { transB: { i: 1 } } },
  ].map((n) => ({ ...n, name: `${n.op}_${tag}_${k}_${ch}` }));
  return writeModel(join(work, 'sensor_pci.onnx'), {
    opset: 13,
    inputs: [{ name: 'acc', shape: [1, 3, 32] }, { name: 'img', shape: [1, 2, 6, 6] }, { name: 'pic', shape: [1, 2, 6, 6] }],
    outputs: [{ name: 'acc_logits', shape: [1, 4] }, { name: 'img_logits', shape: [1, 4] }, { name: 'pic_logits', shape: [1, 4] }],
    initializers: [
      w('wa', [6, 3, 5], 1), w('ba', [6], 2), w('wi', [5, 2, 3, 3], 3), w('bi', [5], 4), w('wp', [5, 2, 3, 3], 5), w('bp', [5], 6),
      w('acc_wd', [4, 6], 7), w('acc_bd', [4], 8), w('img_wd', [4, 5], 9), w('img_bd', [4], 10), w('pic_wd', [4, 5], 11), w('pic_bd', [4], 12),
    ],
    nodes: [
      { op: 'Conv', inputs: ['acc', 'wa', 'ba'], outputs: ['a0'], name: 'conv_acc' },
      { op: 'Relu', inputs: ['a0'], outputs: ['a'] },
      ...gapDense('a', 6, 'acc', 0),
      { op: 'Conv', inputs: ['img', 'wi', 'bi'], outputs: ['i0'], name: 'conv_img' },
      { op: 'Relu', inputs: ['i0'], outputs: ['i'] },
      ...gapDense('i', 5, 'img', 1),
      { op: 'Conv', inputs: ['pic', 'wp', 'bp'], outputs: ['p0'], name: 'conv_pic', attrs: { pads: { ints: [1, 1, 1, 1] } } },
      { op: 'Relu', inputs: ['p0'], outputs: ['p'] },
      ...gapDense('p', 5, 'pic', 2),
    ],
  });
}

/** Channel c of every input: centre and half-width in raw units (very different per channel, as in dsa-har). */
const CHANNELS: Record<string, Array<[number, number]>> = {
  acc: [[9.8, 4], [0, 0.08], [150, 650]],
  img: [[-40, 3], [0.5, 0.5]],
  pic: [[2, 1], [-1, 0.25]],
};

function calibrationRows(graphInputs: Array<{ name: string; shape: number[] }>, n: number): Array<Record<string, Float32Array>> {
  return Array.from({ length: n }, (_, r) =>
    Object.fromEntries(
      graphInputs.map((inp, k) => {
        const size = inp.shape.reduce((a, b) => a * b, 1);
        const per = size / inp.shape[1];
        const noise = values(size, 100 * r + k + 1);
        return [inp.name, Float32Array.from({ length: size }, (_, i) => CHANNELS[inp.name][Math.floor(i / per)][0] + CHANNELS[inp.name][Math.floor(i / per)][1] * noise[i])];
      }),
    ),
  );
}

/**
 * Floats that probe the helper of `input`: for each channel, every code k of the range +-3 at
 * x = offset + k * scale and on the ties x = offset + (k + 0.5) * scale (as float32, as the API
 * takes them), then huge values of both signs and zero; spread over as many rows as that takes.
 */
function probeRows(q: QGraph, rowsFor: Array<Record<string, Float32Array>>, input: string, affine: InputChannelAffine): Array<Record<string, Float32Array>> {
  const t = q.tensors.get(input)!;
  const [lo, hi] = activationRange(t.bits);
  const shape = q.io[input].onnxShape;
  const channels = shape[1];
  const per = shape.slice(2).reduce((a, b) => a * b, 1);
  const candidates = Array.from({ length: channels }, (_, c) => {
    const out: number[] = [0, 3e38, -3e38, 1e6, -1e6];
    for (let k = lo - 3; k <= hi + 3; k++) {
      out.push(Math.fround(affine.offset[c] + k * affine.scale[c]), Math.fround(affine.offset[c] + (k + 0.5) * affine.scale[c]), Math.fround(affine.offset[c] + (k - 0.5) * affine.scale[c]));
    }
    return out;
  });
  const rows = Math.ceil(Math.max(...candidates.map((c) => c.length)) / per);
  return Array.from({ length: rows }, (_, r) => {
    const base = rowsFor[r % rowsFor.length];
    const data = new Float32Array(channels * per);
    for (let c = 0; c < channels; c++) for (let j = 0; j < per; j++) data[c * per + j] = candidates[c][(r * per + j) % candidates[c].length];
    return { ...base, [input]: data };
  });
}

const file = writeSensorModel();
const graph = loadOnnx(file);
const calib = calibrationRows(graph.inputs, 32);
const calibration = calibrateGraph(graph, calib);

describe('per-channel input quantization in the generated C', () => {
  it('is the default for inputs read only by unpadded convs; --per-tensor-inputs (perChannelInputs: false) turns it off', () => {
    const q = quantizeGraph(graph, calibration, uniform(graph, 8));
    expect(q.io.acc.channelAffine?.scale).toHaveLength(3);
    expect(q.io.img.channelAffine?.scale).toHaveLength(2);
    expect(q.io.pic.channelAffine).toBeUndefined();
    const off = quantizeGraph(graph, calibration, uniform(graph, 8), { perChannelInputs: false });
    for (const name of ['acc', 'img', 'pic']) expect(off.io[name].channelAffine).toBeUndefined();

    const model = generateModel(q, { name: 'pci', source: 'sensor_pci.onnx', precision: 'INT8' });
    const c = model.files.get('pci.c')!;
    expect(c).toMatch(/static const double acc_channel_scale\[3\]/);
    expect(c).toMatch(/static const double img_channel_offset\[2\]/);
    expect(c).not.toMatch(/pic_channel_scale/);
    expect(model.files.get('pci.h')).toMatch(/#define TM2_PCI_ACC_PER_CHANNEL 1/);
    expect(model.inputs.find((i) => i.tensor === 'acc')!.channelAffine).toEqual(q.io.acc.channelAffine);
  });

  const plans: Array<[string, PrecisionPlan]> = [
    ['int8', uniform(graph, 8)],
    ['int4', uniform(graph, 4)],
    ['int4_inputs', { ...uniform(graph, 8), inputBits: { acc: 4, img: 4, pic: 4 } }],
  ];
  for (const [variant, plan] of plans) {
    it.skipIf(!haveTool('gcc'))(`${variant}: the helpers equal quantizeInput on ties, edges and out-of-range floats; outputs bit-exact`, () => {
      const q = quantizeGraph(graph, calibration, plan);
      const rows = [
        ...calib.slice(0, 2),
        ...probeRows(q, calib, 'acc', q.io.acc.channelAffine!),
        ...probeRows(q, calib, 'img', q.io.img.channelAffine!),
      ];
      const name = `pci_${variant}`;
      const model = generateModel(q, { name, source: 'sensor_pci.onnx', precision: variant });
      model.files.set(`${name}_test.c`, harnessSource(q, model, rows));
      const outDir = join(work, name);
      writeOutputDir(outDir, model.files);
      const r = checkOnHost(outDir, name, { buildDir: join(work, `${name}-build`), runtimeSources: runtimeFiles().filter((f) => f.endsWith('.c')) });
      expect({ rows: r.rows, mismatches: r.mismatches, quantize: r.quantizeMismatches, scratch: r.scratchErrors }).toEqual({ rows: rows.length, mismatches: 0, quantize: 0, scratch: 0 });
      expect(r.exitCode, r.stderr).toBe(0);
    }, 120_000);
  }

  it.skipIf(!haveTool('gcc'))('exact ties (scale 2^-k, offsets on the grid) round half away from zero in C as in TypeScript', () => {
    const q = quantizeGraph(graph, calibration, uniform(graph, 8));
    // Scales and offsets whose ties x = offset + (k + 0.5) * scale are exact in float32 and double:
    // the helper's rounding, not the representation, decides them.
    q.io.acc.channelAffine = { scale: [0.25, 0.5, 2], offset: [-3.5, 97, 0.125] };
    const rows = [...calib.slice(0, 1), ...probeRows(q, calib, 'acc', q.io.acc.channelAffine)];
    const model = generateModel(q, { name: 'pci_ties', source: 'sensor_pci.onnx', precision: 'INT8' });
    model.files.set('pci_ties_test.c', harnessSource(q, model, rows));
    const outDir = join(work, 'pci_ties');
    writeOutputDir(outDir, model.files);
    const r = checkOnHost(outDir, 'pci_ties', { buildDir: join(work, 'pci_ties-build'), runtimeSources: runtimeFiles().filter((f) => f.endsWith('.c')) });
    expect({ rows: r.rows, quantize: r.quantizeMismatches, mismatches: r.mismatches }).toEqual({ rows: rows.length, quantize: 0, mismatches: 0 });
  }, 120_000);
});
