// ADMN adaptive depth: blocks declared in the ONNX metadata, one quantization per residual stream,
// tm2_<name>_run_layers(in, out, block_mask) bit-exact with the masked emulator for EVERY mask of a
// small two-modality model (host gcc and Cortex-M4 under QEMU), skipped blocks cost no layer
// instructions, and clear refusals for blocks that cannot be skipped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allBlocksMask, depthMask, type AdmnBlocks } from '../compiler/admn/blocks.ts';
import { compareCases, hostCases, runCasesOnDevice, runCasesOnHost, type MaskCase } from '../compiler/admn/device.ts';
import { branchByDepth, branchPlan, emulateLayers } from '../compiler/admn/emulate.ts';
import { opsFor } from '../compiler/dynafuse/profile.ts';
import { quantizeAdmn } from '../compiler/admn/pipeline.ts';
import { generateModel } from '../compiler/codegen/generate.ts';
import { haveTool } from '../compiler/codegen/hostcheck.ts';
import { TinyM2Error } from '../compiler/errors.ts';
import { tensorSize } from '../compiler/ir.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { loadDataSet } from '../compiler/quant/evaluate.ts';
import { mulberry32 } from '../compiler/random.ts';
import { REPO_ROOT } from './helpers/models.ts';
import { emulate } from '../compiler/quant/emulator.ts';
import { calibrateGraph } from '../compiler/quant/evaluate.ts';
import { quantizeInputs } from '../compiler/quant/io.ts';
import type { QGraph } from '../compiler/quant/qgraph.ts';
import { loadBoard } from '../compiler/target/boards.ts';
import { values, writeModel, type ModelSpec, type NodeSpec } from './helpers/onnx-builder.ts';

const work = mkdtempSync(join(tmpdir(), 'tm2-admn-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Two 1-D modalities: a (4 ch, 3 blocks of width 8) and b (3 ch, 2 blocks of width 6); a head each and their sum. */
function tinySpec(options: { reluAfterAdd?: boolean; leak?: boolean; declare?: Array<{ modality: string; input: string; output: string }> } = {}): ModelSpec {
  const nodes: NodeSpec[] = [];
  const inits: ModelSpec['initializers'] = [];
  let seed = 1;
  const w = (name: string, dims: number[]) => inits.push({ name, dims, data: values(dims.reduce((a, b) => a * b, 1), seed++).map((v) => v * 0.5) });
  const conv = (x: string, y: string, cin: number, cout: number, k: number) => {
    w(`${y}_w`, [cout, cin, k]);
    w(`${y}_b`, [cout]);
    nodes.push({ op: 'Conv', inputs: [x, `${y}_w`, `${y}_b`], outputs: [y], attrs: { kernel_shape: { ints: [k] }, pads: { ints: [k >> 1, k >> 1] } } });
  };
  const declared: Array<{ modality: string; input: string; output: string }> = [];
  const branch = (m: string, cin: number, c: number, blocks: number) => {
    conv(m, `${m}_s`, cin, c, 3);
    nodes.push({ op: 'Relu', inputs: [`${m}_s`], outputs: [`${m}_0`] });
    for (let k = 0; k < blocks; k++) {
      const x = `${m}_${k}`, y = options.reluAfterAdd && k === 0 ? `${m}_${k}_sum` : `${m}_${k + 1}`;
      conv(x, `${m}_${k}_c1`, c, c, 3);
      nodes.push({ op: 'Relu', inputs: [`${m}_${k}_c1`], outputs: [`${m}_${k}_r`] });
      conv(`${m}_${k}_r`, `${m}_${k}_c2`, c, c, 1);
      nodes.push({ op: 'Add', inputs: [x, `${m}_${k}_c2`], outputs: [y] });
      if (options.reluAfterAdd && k === 0) nodes.push({ op: 'Relu', inputs: [y], outputs: [`${m}_${k + 1}`] });
      declared.push({ modality: m, input: x, output: y });
    }
    nodes.push({ op: 'GlobalAveragePool', inputs: [`${m}_${blocks}`], outputs: [`${m}_g`] });
    nodes.push({ op: 'Flatten', inputs: [`${m}_g`], outputs: [`${m}_f`], attrs: { axis: { i: 1 } } });
    // A tensor inside block 0 read outside it: that block cannot be skipped.
    const feat = options.leak && m === 'a' ? `${m}_leak` : `${m}_f`;
    if (options.leak && m === 'a') {
      nodes.push({ op: 'GlobalAveragePool', inputs: [`${m}_0_r`], outputs: [`${m}_lg`] });
      nodes.push({ op: 'Flatten', inputs: [`${m}_lg`], outputs: [`${m}_lf`], attrs: { axis: { i: 1 } } });
      nodes.push({ op: 'Add', inputs: [`${m}_f`, `${m}_lf`], outputs: [feat] });
    }
    w(`${m}_fc_w`, [5, c]);
    w(`${m}_fc_b`, [5]);
    nodes.push({ op: 'Gemm', inputs: [feat, `${m}_fc_w`, `${m}_fc_b`], outputs: [`${m}_logits`], attrs: { transB: { i: 1 } } });
  };
  branch('a', 4, 8, 3);
  branch('b', 3, 6, 2);
  nodes.push({ op: 'Add', inputs: ['a_logits', 'b_logits'], outputs: ['logits'] });
  return {
    opset: 13,
    inputs: [{ name: 'a', shape: [1, 4, 16] }, { name: 'b', shape: [1, 3, 12] }],
    outputs: [{ name: 'a_logits', shape: [1, 5] }, { name: 'b_logits', shape: [1, 5] }, { name: 'logits', shape: [1, 5] }],
    initializers: inits,
    nodes,
    metadata: { 'tinym2.admn.blocks': JSON.stringify(options.declare ?? declared) },
  };
}

function rowsFor(graph: ReturnType<typeof loadOnnx>, n: number, seed: number) {
  return Array.from({ length: n }, (_, r) => Object.fromEntries(graph.inputs.map((i, j) => [i.name, Float32Array.from(values(tensorSize(i.shape), seed + 100 * r + j).map((v) => v * 2))])));
}

function tinyModel(): { q: QGraph; admn: AdmnBlocks; rows: Array<Record<string, Int8Array>> } {
  const file = writeModel(join(work, 'tiny_admn.onnx'), tinySpec());
  const graph = loadOnnx(file);
  const { q, admn } = quantizeAdmn(graph, calibrateGraph(graph, rowsFor(graph, 16, 7)));
  return { q, admn, rows: rowsFor(graph, 3, 99).map((r) => quantizeInputs(q, r)) };
}

describe('ADMN blocks', () => {
  const { q, admn, rows } = tinyModel();

  it('finds the declared blocks in the QGraph and ties each residual stream to one quantization', () => {
    expect(admn.modalities).toEqual(['a', 'b']);
    expect(admn.blocksOf).toEqual({ a: [0, 1, 2], b: [3, 4] });
    for (const m of admn.modalities) {
      const stream = admn.blocksOf[m].flatMap((b) => [admn.blocks[b].input, admn.blocks[b].output]).map((t) => q.tensors.get(t)!);
      expect(new Set(stream.map((t) => `${t.scale}/${t.zeroPoint}`)).size).toBe(1);
    }
    // f = conv, conv (relu folded), add: three ops per block.
    expect(admn.blocks.map((b) => b.ops.length)).toEqual([3, 3, 3, 3, 3]);
    expect(depthMask(admn, { a: 1, b: 2 })).toBe(0b11001);
    expect(depthMask(admn, { a: 0, b: 0 })).toBe(0);
  });

  it('the masked emulator with every block equals the plain emulator; skipping changes the outputs', () => {
    const full = emulate(q, rows[0]);
    const all = emulateLayers(q, admn, rows[0], allBlocksMask(admn));
    for (const t of q.outputs) expect(all.get(t)).toEqual(full.get(t));
    const none = emulateLayers(q, admn, rows[0], 0);
    expect(none.get(admn.blocks[2].output)).toEqual(none.get(admn.blocks[0].input));
    expect(q.outputs.some((t) => none.get(t)!.some((v, i) => v !== full.get(t)![i]))).toBe(true);
  });

  it('branchByDepth (one run + the tail per depth) equals the masked emulator at every depth', () => {
    for (const [m, head] of [['a', q.outputs[0]], ['b', q.outputs[1]]] as const) {
      const byDepth = branchByDepth(q, branchPlan(q, admn, m, opsFor(q, [head])), rows[1]);
      expect(byDepth.length).toBe(admn.blocksOf[m].length + 1);
      byDepth.forEach((v, d) => expect(v.get(head)).toEqual(emulateLayers(q, admn, rows[1], depthMask(admn, { a: 3, b: 2, [m]: d })).get(head)));
    }
  });

  it('generated C on the host: every one of the 32 block masks x 3 rows, and with output masks, equals the emulator', () => {
    const model = generateModel(q, { name: 'tiny_admn', source: 'tiny_admn.onnx', precision: 'INT8', admn });
    const h = model.files.get('tiny_admn.h')!;
    expect(h).toContain('void tm2_tiny_admn_run_layers(const tm2_tiny_admn_inputs *in, tm2_tiny_admn_outputs *out, uint32_t block_mask);');
    expect(h).toContain('#define TM2_TINY_ADMN_BLOCK_B_1 0x10u');
    const cases: MaskCase[] = [];
    for (let mask = 0; mask < 32; mask++) for (let row = 0; row < rows.length; row++) cases.push({ row, blockMask: mask });
    for (let mask = 0; mask < 32; mask += 5) for (const outputMask of [1, 2, 3, 4]) cases.push({ row: mask % 3, blockMask: mask, outputMask });
    const device = runCasesOnHost(q, model, rows, cases, join(work, 'host'));
    expect(compareCases(device.outputs, hostCases(q, admn, model, rows, cases))).toEqual([]);
  });

  it.skipIf(!haveTool('arm-none-eabi-gcc') || !haveTool('qemu-system-arm'))('on Cortex-M4 (QEMU mps2-an386): every mask bit-exact; a skipped block costs only its copy', async () => {
    const model = generateModel(q, { name: 'tiny_admn', source: 'tiny_admn.onnx', precision: 'INT8', admn });
    const cases: MaskCase[] = Array.from({ length: 32 }, (_, mask) => ({ row: mask % rows.length, blockMask: mask }));
    const run = await runCasesOnDevice(q, model, rows, cases, loadBoard('mps2-an386'), join(work, 'qemu'));
    expect(compareCases(run.outputs, hostCases(q, admn, model, rows, cases))).toEqual([]);
    // Fewer blocks, fewer instructions: each block adds a fixed cost whatever the other bits are.
    const cost = (mask: number) => run.instructions[mask];
    for (let b = 0; b < 5; b++) {
      const deltas = Array.from({ length: 32 }, (_, m) => m).filter((m) => !((m >> b) & 1)).map((m) => cost(m | (1 << b)) - cost(m));
      expect(Math.min(...deltas)).toBeGreaterThan(1000);
      expect(Math.max(...deltas) - Math.min(...deltas)).toBeLessThan(Math.min(...deltas) * 0.05);
    }
  }, 300_000);
});

describe.skipIf(!haveTool('arm-none-eabi-gcc') || !haveTool('qemu-system-arm'))('ADMN example models on Cortex-M4 (QEMU mps2-an386)', () => {
  for (const example of ['av-digits', 'dsa-har']) {
    it(`${example}/admn.onnx: random block and output masks bit-exact with the emulator`, async () => {
      const dir = join(REPO_ROOT, 'examples', example);
      const graph = loadOnnx(join(dir, 'admn.onnx'));
      const { q, admn } = quantizeAdmn(graph, calibrateGraph(graph, loadDataSet(graph, join(dir, 'calib.npz'), 32).rows));
      const rows = loadDataSet(graph, join(dir, 'test.npz'), 3).rows.map((r) => quantizeInputs(q, r));
      const model = generateModel(q, { name: 'ex_admn', source: 'admn.onnx', precision: 'INT8', admn });
      const rnd = mulberry32(17);
      const cases: MaskCase[] = Array.from({ length: 12 }, (_, k) => ({
        row: k % rows.length,
        blockMask: Math.floor(rnd() * (allBlocksMask(admn) + 1)),
        ...(k % 3 === 2 ? { outputMask: 1 + Math.floor(rnd() * (2 ** q.outputs.length - 1)) } : {}),
      }));
      const run = await runCasesOnDevice(q, model, rows, cases, loadBoard('mps2-an386'), join(work, `ex-${example}`));
      expect(compareCases(run.outputs, hostCases(q, admn, model, rows, cases))).toEqual([]);
    }, 600_000);
  }
});

describe('ADMN refusals', () => {
  const refuse = (spec: ModelSpec, pattern: RegExp) => {
    const file = writeModel(join(work, 'bad.onnx'), spec);
    const graph = loadOnnx(file);
    let err: unknown;
    try {
      quantizeAdmn(graph, calibrateGraph(graph, rowsFor(graph, 2, 3)));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TinyM2Error);
    expect((err as TinyM2Error).exitCode).toBe(2);
    expect((err as Error).message).toMatch(pattern);
  };
  it('an activation after the Add', () => refuse(tinySpec({ reluAfterAdd: true }), /block 0 .*followed by Relu/));
  it('a block tensor read outside the block', () => refuse(tinySpec({ leak: true }), /block 0 .*'a_0_r' inside the block is also read by node/));
  it('an output that is not a residual Add of its input', () => refuse(tinySpec({ declare: [{ modality: 'a', input: 'a_0', output: 'a_0_c2' }] }), /block 0 .*not made by an Add/));
  it('a residual of another tensor', () => refuse(tinySpec({ declare: [{ modality: 'a', input: 'a_0_r', output: 'a_1' }] }), /block 0 .*does not read 'a_0_r'/));
  it('shapes that differ', () => refuse(tinySpec({ declare: [{ modality: 'a', input: 'a', output: 'a_1' }] }), /block 0 .*shape/));
  it('a missing tensor', () => refuse(tinySpec({ declare: [{ modality: 'a', input: 'nope', output: 'a_1' }] }), /no tensor 'nope'/));
});
