// Code generator decisions that the bit-exact runs do not show by themselves: where tensors live in
// the arena (concat slices, views, in place, copies when sharing is not safe), the arena against its
// lower bound, the C names, and that the same model gives the same bytes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { overlappingOps, planModelMemory, tensorBytes } from '../compiler/codegen/arena.ts';
import { cFloat, cInt } from '../compiler/codegen/cformat.ts';
import { cIdentifier, uniqueIdentifiers } from '../compiler/codegen/names.ts';
import { generateModel, modelNameFromFile, runtimeFiles } from '../compiler/codegen/generate.ts';
import { checkOnHost, haveTool } from '../compiler/codegen/hostcheck.ts';
import { writeOutputDir } from '../compiler/codegen/output.ts';
import { computeTestVectors, harnessSource } from '../compiler/codegen/testvectors.ts';
import { tensorSize, type Graph } from '../compiler/ir.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { calibrateGraph, loadDataSet, uniform } from '../compiler/quant/evaluate.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import type { QGraph } from '../compiler/quant/qgraph.ts';
import { REPO_ROOT } from './helpers/models.ts';
import { values, writeModel } from './helpers/onnx-builder.ts';

const work = mkdtempSync(join(tmpdir(), 'tm2-arena-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function randomRows(graph: Graph, n: number, seed = 11): Array<Record<string, Float32Array>> {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
  return Array.from({ length: n }, () => Object.fromEntries(graph.inputs.map((i) => [i.name, Float32Array.from({ length: tensorSize(i.shape) }, rand)])));
}

function quantized(file: string, rows?: Array<Record<string, Float32Array>>): { graph: Graph; q: QGraph; rows: Array<Record<string, Float32Array>> } {
  const graph = loadOnnx(file);
  const r = rows ?? randomRows(graph, 8);
  return { graph, q: quantizeGraph(graph, calibrateGraph(graph, r), uniform(graph, 8)), rows: r };
}

/** Dense layers on a [1, 8] input whose outputs feed two concats: `a` goes into both, and twice into the second. */
function sharedConcatModel(): string {
  const w = (name: string, dims: number[], seed: number) => ({ name, dims, data: values(dims[0] * dims[1], seed).map((v) => v * 0.5) });
  return writeModel(join(work, 'shared_concat.onnx'), {
    opset: 13,
    inputs: [{ name: 'x', shape: [1, 8] }],
    outputs: [{ name: 'o1', shape: [1, 3] }, { name: 'o2', shape: [1, 3] }],
    initializers: [w('wa', [8, 4], 1), w('wb', [8, 4], 2), w('wc', [8, 4], 3), w('w1', [8, 3], 4), w('w2', [12, 3], 5)],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'wa'], outputs: ['a'] },
      { op: 'MatMul', inputs: ['x', 'wb'], outputs: ['b'] },
      { op: 'MatMul', inputs: ['x', 'wc'], outputs: ['c'] },
      { op: 'Concat', inputs: ['a', 'b'], outputs: ['d'], attrs: { axis: { i: 1 } } },
      { op: 'Concat', inputs: ['c', 'a', 'a'], outputs: ['e'], attrs: { axis: { i: 1 } } },
      { op: 'MatMul', inputs: ['d', 'w1'], outputs: ['o1'] },
      { op: 'MatMul', inputs: ['e', 'w2'], outputs: ['o2'] },
    ],
  });
}

describe('arena placement', () => {
  it('two-branch fusion: branch outputs are produced straight into their slice of the concat', () => {
    const { q } = quantized(join(REPO_ROOT, 'test/models/dscnn2d.onnx'), loadDataSet(loadOnnx(join(REPO_ROOT, 'test/models/dscnn2d.onnx')), join(REPO_ROOT, 'test/models/dscnn2d.npz')).rows);
    const mem = planModelMemory(q);
    const concat = q.ops.findIndex((o) => o.op === 'concat');
    const op = q.ops[concat];
    expect(mem.concatInPlace.get(concat)).toEqual([true, true]);
    const base = mem.tensorOffset.get(op.output)!;
    expect(mem.tensorOffset.get(op.inputs[0])).toBe(base);
    expect(mem.tensorOffset.get(op.inputs[1])).toBe(base + tensorBytes(q, op.inputs[0]));
    // Flatten is a view of the max-pool output.
    for (const r of q.ops.filter((o) => o.op === 'reshape')) expect(mem.tensorOffset.get(r.output)).toBe(mem.tensorOffset.get(r.inputs[0]));
    expect(overlappingOps(q, mem)).toEqual([]);
    expect(mem.plan.arenaBytes).toBeGreaterThanOrEqual(mem.plan.lowerBound);
    expect(mem.plan.arenaBytes).toBeLessThan(mem.unsharedBytes / 2);
    const c = generateModel(q, { name: 'dscnn2d', source: 'dscnn2d.onnx', precision: 'INT8' }).files.get('dscnn2d.c')!;
    expect(c).toContain('every input was produced straight into its slice');
    expect(c).not.toMatch(/memcpy\(A \+ \d+ \+ \d+, A \+/);
  });

  it('the trained example fits its arena in the lower bound', () => {
    const file = join(REPO_ROOT, 'examples/av-digits/model.onnx');
    const graph = loadOnnx(file);
    const { q } = quantized(file, loadDataSet(graph, join(REPO_ROOT, 'examples/av-digits/calib.npz'), 64).rows);
    const mem = planModelMemory(q);
    expect(mem.plan.arenaBytes).toBe(mem.plan.lowerBound);
  });

  it('an input used by two concats (once twice) is placed in one slice and copied into the others; the C stays bit-exact', () => {
    const file = sharedConcatModel();
    const { q, rows } = quantized(file);
    const mem = planModelMemory(q);
    const [i1, i2] = q.ops.flatMap((o, i) => (o.op === 'concat' ? [i] : []));
    const placed = [...mem.concatInPlace.get(i1)!, ...mem.concatInPlace.get(i2)!];
    // a is placed once (in d), c is placed in e; a's second and third uses are copies.
    expect(placed.filter(Boolean).length).toBe(3);
    expect(mem.concatInPlace.get(i2)!.slice(1)).toEqual([false, false]);
    expect(overlappingOps(q, mem)).toEqual([]);
    if (!haveTool('gcc')) return;
    const model = generateModel(q, { name: 'shared_concat', source: 'shared_concat.onnx', precision: 'INT8' });
    expect(model.files.get('shared_concat.c')!.match(/memcpy\(A \+ \d+ \+ \d+, A \+/g)?.length).toBe(2);
    model.files.set('shared_concat_test.c', harnessSource(q, model, rows.slice(0, 4)));
    const out = join(work, 'shared_concat');
    writeOutputDir(out, model.files);
    const r = checkOnHost(out, 'shared_concat', { buildDir: join(work, 'shared_build'), runtimeSources: runtimeFiles().filter((f) => f.endsWith('.c')) });
    expect(r).toMatchObject({ rows: 4, mismatches: 0, quantizeMismatches: 0, scratchErrors: 0 });
  }, 60_000);

  it('every model: no op reads bytes it writes unless it runs in place; the arena is at least the lower bound', () => {
    for (const f of ['sensor1d', 'bn_nodes', 'relu6_residual', 'grouped_conv', 'gemm_variants']) {
      const file = join(REPO_ROOT, `test/models/${f}.onnx`);
      const { q } = quantized(file);
      const mem = planModelMemory(q);
      expect(overlappingOps(q, mem), f).toEqual([]);
      expect(mem.plan.arenaBytes, f).toBeGreaterThanOrEqual(mem.plan.lowerBound);
      for (const [name, off] of mem.tensorOffset) {
        expect(off % 4, `${f}: ${name}`).toBe(0);
        expect(off + tensorBytes(q, name), `${f}: ${name}`).toBeLessThanOrEqual(mem.plan.arenaBytes);
      }
    }
  });

  it('inputs and outputs already in kernel order stay in the caller structs; NCL inputs are converted into the arena', () => {
    const { q } = quantized(join(REPO_ROOT, 'test/models/sensor1d.onnx'));
    const mem = planModelMemory(q);
    // imu [3, 64] and env [2, 32] are NCL with several channels: permuted into the arena.
    for (const i of q.inputs) expect(mem.external.has(i)).toBe(false);
    // The logits are vectors: the last dense layers write the output struct directly.
    for (const o of q.outputs) expect(mem.external.get(o)).toEqual({ kind: 'output', tensor: o, offset: 0 });
    const c = generateModel(q, { name: 's', source: 'sensor1d.onnx', precision: 'INT8' }).files.get('s.c')!;
    expect(c).toMatch(/tm2_dense_s8\(&l5, A \+ \d+, tm2_s_l5_w, out->imu_logits \+ 0, /);
    expect(c).toContain('/* imu_logits: used in place in the output struct */');
    // One-channel images (dscnn2d) are read straight from the input struct, with no arena bytes.
    const d = quantized(join(REPO_ROOT, 'test/models/dscnn2d.onnx'));
    const dm = planModelMemory(d.q);
    for (const i of d.q.inputs) expect(dm.external.get(i)?.kind).toBe('input');
    expect(generateModel(d.q, { name: 'd', source: 'dscnn2d.onnx', precision: 'INT8' }).files.get('d.c')).toContain('in->image + 0');
  });

  it('each input enters the arena just before the first layer that reads it (one branch at a time)', () => {
    const { q } = quantized(join(REPO_ROOT, 'test/models/sensor1d.onnx'));
    const mem = planModelMemory(q);
    const envReader = q.ops.findIndex((o) => o.inputs.includes('env'));
    expect(envReader).toBeGreaterThan(0);
    expect(mem.boundaryOp.get('imu')).toBe(0);
    expect(mem.boundaryOp.get('env')).toBe(envReader);
    const c = generateModel(q, { name: 's', source: 'sensor1d.onnx', precision: 'INT8' }).files.get('s.c')!;
    // The env conversion sits right before that layer's call, after the whole imu branch.
    const envCopy = c.indexOf('tm2_permute_s8(in->env');
    expect(envCopy).toBeGreaterThan(c.indexOf(`/* ${envReader - 1}: `));
    expect(envCopy).toBeLessThan(c.indexOf(`/* ${envReader}: `) + 200);
    expect(envCopy).toBeGreaterThan(c.indexOf(`/* ${envReader}: `));
    // So env's bytes are bytes the imu branch used before it (they could not be if env lived from the start).
    const range = (t: string) => [mem.tensorOffset.get(t)!, mem.tensorOffset.get(t)! + tensorBytes(q, t)];
    const [e0, e1] = range('env');
    const reused = q.ops.slice(0, envReader).some((op) => {
      if (mem.external.has(op.output)) return false;
      const [a0, a1] = range(op.output);
      return a0 < e1 && e0 < a1;
    });
    expect(reused).toBe(true);
  });

  it('a residual add whose input dies there writes over it (relu6_residual, bn_nodes)', () => {
    for (const m of ['relu6_residual', 'bn_nodes']) {
      const file = join(REPO_ROOT, `test/models/${m}.onnx`);
      const { q } = quantized(file, loadDataSet(loadOnnx(file), file.replace(/\.onnx$/, '.npz')).rows);
      const mem = planModelMemory(q);
      const adds = [...mem.inPlace].filter((i) => q.ops[i].op === 'add');
      expect(adds.length, m).toBeGreaterThan(0);
      for (const i of adds) {
        const op = q.ops[i];
        expect(op.inputs.map((x) => mem.tensorOffset.get(x)), m).toContain(mem.tensorOffset.get(op.output));
      }
      expect(overlappingOps(q, mem), m).toEqual([]);
    }
  });

  it('a LUT whose input dies there runs in place (gemm_variants: Sigmoid)', () => {
    const { q } = quantized(join(REPO_ROOT, 'test/models/gemm_variants.onnx'));
    const mem = planModelMemory(q);
    const luts = q.ops.flatMap((o, i) => (o.op === 'lut' ? [i] : []));
    expect(luts.length).toBeGreaterThan(0);
    for (const i of mem.inPlace) expect(mem.tensorOffset.get(q.ops[i].output)).toBe(mem.tensorOffset.get(q.ops[i].inputs[0]));
    expect(mem.inPlace.size).toBeGreaterThan(0);
  });
});

describe('run_heads (multi-head models)', () => {
  it.skipIf(!haveTool('gcc'))('computes each requested head exactly and skips the branches of the others', () => {
    for (const [m, npz] of [['test/models/sensor1d.onnx', 'test/models/sensor1d.npz'], ['examples/dsa-har/model.onnx', 'examples/dsa-har/test.npz']]) {
      const file = join(REPO_ROOT, m);
      const graph = loadOnnx(file);
      const rows = loadDataSet(graph, join(REPO_ROOT, npz), 8).rows;
      const { q } = quantized(file, rows);
      const name = `heads_${q.outputs.length}`;
      const model = generateModel(q, { name, source: m, precision: 'INT8' });
      const v = computeTestVectors(q, model, rows.slice(0, 1));
      const p = `tm2_${name}`;
      const arrays = [
        ...model.inputs.map((io) => `static const int8_t in_${io.field}[] = {${Array.from(v.inputs[0][io.field]).join(', ')}};`),
        ...model.outputs.map((io) => `static const int8_t e_${io.field}[] = {${Array.from(v.expected[0][io.field]).join(', ')}};`),
      ];
      // For each head alone: it equals the emulator; heads whose branch was skipped keep the 0x55 fill.
      const checks = model.outputs.map((io, j) => `  memset(&out, 0x55, sizeof out);
  ${p}_run_heads(&in, &out, 1u << ${j});
  bad += memcmp(out.${io.field}, e_${io.field}, sizeof e_${io.field}) != 0;
${model.outputs.filter((o) => o !== io).map((o) => `  untouched += out.${o.field}[0] == 0x55 && out.${o.field}[${o.size - 1}] == 0x55;`).join('\n')}`);
      model.files.set(`${name}_test.c`, `#include <stdio.h>
#include <string.h>
#include "${name}.h"
${arrays.join('\n')}
int main(void) {
  static ${p}_inputs in;
  static ${p}_outputs out;
  int bad = 0, untouched = 0;
${model.inputs.map((io) => `  memcpy(in.${io.field}, in_${io.field}, sizeof in.${io.field});`).join('\n')}
${checks.join('\n')}
  printf("untouched %d\\n", untouched);
  printf("tm2_result rows=1 mismatches=%d quantize_mismatches=0 scratch_errors=0\\n", bad);
  return bad;
}
`);
      const out = join(work, name);
      writeOutputDir(out, model.files);
      const r = checkOnHost(out, name, { buildDir: join(work, `${name}-build`), runtimeSources: runtimeFiles().filter((f) => f.endsWith('.c')) });
      expect(r.mismatches, m).toBe(0);
      const untouched = Number(/untouched (\d+)/.exec(r.stdout)?.[1]);
      if (m.includes('sensor1d')) expect(untouched).toBe(2); // two independent branches: each skips the other
      else expect(untouched).toBeGreaterThan(0); // per-modality heads skip the other modalities' branches
    }
  }, 120_000);
});

describe('generated sources', () => {
  it('are the same bytes for the same model and options', () => {
    const file = join(REPO_ROOT, 'test/models/relu6_residual.onnx');
    const graph = loadOnnx(file);
    const rows = randomRows(graph, 8);
    const a = generateModel(quantizeGraph(graph, calibrateGraph(graph, rows), uniform(graph, 4)), { name: 'r6', source: 'relu6_residual.onnx', precision: 'INT4' });
    const graph2 = loadOnnx(file);
    const b = generateModel(quantizeGraph(graph2, calibrateGraph(graph2, rows), uniform(graph2, 4)), { name: 'r6', source: 'relu6_residual.onnx', precision: 'INT4' });
    expect([...a.files.keys()]).toEqual([...b.files.keys()]);
    for (const [f, text] of a.files) expect(b.files.get(f), f).toBe(text);
  });

  it('declare the API the README promises', () => {
    const file = join(REPO_ROOT, 'test/models/sensor1d.onnx');
    const { q } = quantized(file);
    const m = generateModel(q, { name: 'sensor1d', source: 'sensor1d.onnx', precision: 'INT8' });
    const h = m.files.get('sensor1d.h')!;
    expect(h).toContain('void tm2_sensor1d_run(const tm2_sensor1d_inputs *in, tm2_sensor1d_outputs *out);');
    expect(h).toContain(`#define TM2_SENSOR1D_ARENA_BYTES ${m.arenaBytes}`);
    expect(h).toContain('#define TM2_SENSOR1D_IMU_SIZE 192');
    expect(h).toContain('#define TM2_SENSOR1D_NUM_CLASSES 4');
    expect(h).toContain('void tm2_sensor1d_quantize_imu(const float *x, int8_t *q);');
    expect(h).toContain('void tm2_sensor1d_dequantize_env_logits(const int8_t *q, float *x);');
    const c = m.files.get('sensor1d.c')!;
    // NCL input -> channels-last arena through the permute kernel; no float in the layer sequence.
    expect(c).toContain('tm2_permute_s8(in->imu');
    const run = c.slice(c.indexOf('void tm2_sensor1d_run'), c.indexOf('void tm2_sensor1d_quantize_imu'));
    expect(run).not.toMatch(/float|double/);
    expect(m.files.get('sensor1d_weights.c')).toMatch(/TM2_ALIGN4 const int8_t tm2_sensor1d_l0_w\[/);
  });

  it('packs INT4 weights two per byte, first value in the low nibble', () => {
    const file = join(REPO_ROOT, 'test/models/sensor1d.onnx');
    const graph = loadOnnx(file);
    const q = quantizeGraph(graph, calibrateGraph(graph, randomRows(graph, 8)), uniform(graph, 4));
    const m = generateModel(q, { name: 's', source: 'sensor1d.onnx', precision: 'INT4' });
    const op = q.ops[0];
    if (op.op !== 'conv') throw new Error('expected a conv first');
    const text = m.files.get('s_weights.c')!;
    const body = text.slice(text.indexOf('tm2_s_l0_w['), text.indexOf('};', text.indexOf('tm2_s_l0_w[')));
    const bytes = body.slice(body.indexOf('{') + 1).split(',').map((v) => Number(v.trim()));
    expect(bytes.length).toBe(Math.ceil(op.weights.length / 2));
    const nib = (v: number) => (v >= 8 ? v - 16 : v);
    for (let i = 0; i < op.weights.length; i++) {
      const b = bytes[i >> 1] & 0xff;
      expect(nib(i % 2 === 0 ? b & 15 : b >> 4)).toBe(op.weights[i]);
    }
  });
});

describe('C names and literals', () => {
  it('model names come from the file, or its folder when the file is just "model"', () => {
    expect(modelNameFromFile('examples/av-digits/model.onnx')).toBe('av_digits');
    expect(modelNameFromFile('/x/KWS DS-CNN.onnx')).toBe('kws_ds_cnn');
    expect(modelNameFromFile('3d-net.onnx')).toBe('m_3d_net');
    expect(cIdentifier('/image/body/body.0/Conv')).toBe('image_body_body_0_conv');
  });
  it('io names that collide after cleaning get suffixes', () => {
    expect([...uniqueIdentifiers(['in:0', 'in.0', 'IN_0']).values()]).toEqual(['in_0', 'in_0_2', 'in_0_3']);
  });
  it('literals read back exactly', () => {
    expect(cInt(-2147483648)).toBe('(-2147483647 - 1)');
    for (const v of [0.1, 1 / 3, 1e-7, 123456.78, -2.5e-30]) {
      const lit = cFloat(v);
      expect(Math.fround(parseFloat(lit.slice(0, -1)))).toBe(Math.fround(v));
    }
  });
});
