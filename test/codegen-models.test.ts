// Generated C against the TypeScript integer emulator, bit for bit, on every model in the repository
// (test/models and examples, found by glob) at uniform INT8, uniform INT4 and a mixed plan.
//
// Per model the three variants (C names <model>_int8, _int4, _mixed) and their test-vector harnesses
// are linked into one program (each harness's main renamed), built with host gcc and clang at
// -std=c99 -Wall -Wextra -Werror -pedantic and once more with AddressSanitizer + UBSan, and run: every
// output of every row must equal the emulator's, the quantize helpers must equal the emulator's input
// quantization, and no kernel may need more scratch than the arena plan gave it. The same sources are
// compiled for a Cortex-M4 (arm-none-eabi-gcc -Os) without a warning.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateModel, RUNTIME_DIR, runtimeFiles } from '../compiler/codegen/generate.ts';
import { writeOutputDir } from '../compiler/codegen/output.ts';
import { compileObjects, haveTool, includeFlags, link, runHarness, STRICT_C99 } from '../compiler/codegen/hostcheck.ts';
import { harnessSource, parseHarnessOutput } from '../compiler/codegen/testvectors.ts';
import { TinyM2Error } from '../compiler/errors.ts';
import type { Graph } from '../compiler/ir.ts';
import { tensorSize } from '../compiler/ir.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { calibrateGraph, loadDataSet, uniform, weightedLayers, type DataSet } from '../compiler/quant/evaluate.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import type { PrecisionPlan } from '../compiler/quant/plan.ts';
import { listOnnxModels, repoRelative } from './helpers/models.ts';
import { values, writeModel } from './helpers/onnx-builder.ts';

const STRICT = STRICT_C99;
const have = haveTool;
const TEST_ROWS = 3;
const CALIB_ROWS = 64;

/** Calibration and test rows for a model: <stem>.npz, <stem>.calib/.test.npz, calib/test.npz next to model.onnx, else seeded random rows. */
function dataFor(file: string, graph: Graph): { calib: DataSet['rows']; test: DataSet['rows']; source: string } {
  const stem = file.replace(/\.onnx$/, '');
  const dir = dirname(file);
  const pairs: Array<[string, string]> = [
    [`${stem}.calib.npz`, `${stem}.test.npz`],
    [`${stem}.npz`, `${stem}.npz`],
  ];
  // The folder's calib/test sets serve every model of the folder that takes the same inputs.
  pairs.push([join(dir, 'calib.npz'), join(dir, 'test.npz')]);
  for (const [c, t] of pairs) {
    if (existsSync(c) && existsSync(t)) {
      if (basename(file) !== 'model.onnx' && c.endsWith('/calib.npz')) {
        try {
          loadDataSet(graph, c, 1);
        } catch {
          continue; // another model's inputs
        }
      }
      const calib = loadDataSet(graph, c, CALIB_ROWS).rows;
      const all = loadDataSet(graph, t, c === t ? Infinity : TEST_ROWS).rows;
      return { calib, test: c === t ? all.slice(-TEST_ROWS) : all, source: basename(c) };
    }
  }
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
  const rows = Array.from({ length: 16 }, () => Object.fromEntries(graph.inputs.map((i) => [i.name, Float32Array.from({ length: tensorSize(i.shape) }, rand)])));
  return { calib: rows, test: rows.slice(0, TEST_ROWS), source: 'random rows' };
}

/** A fixed mixed plan: weight and activation bits alternate over the layers in different rhythms; INT4 first input. */
function mixedPlan(graph: Graph): PrecisionPlan {
  const layers: PrecisionPlan['layers'] = {};
  weightedLayers(graph).forEach((name, k) => {
    layers[name] = { weightBits: k % 2 === 0 ? 4 : 8, activationBits: (k >> 1) % 2 === 0 ? 8 : 4 };
  });
  return { model: graph.file, layers, inputBits: { [graph.inputs[0].name]: 4 } };
}

/**
 * A model with every QOp kind the repository's models may lack, on spatial tensors: channel concat
 * of [H, W, C] tensors (a copy kernel, not a slice), sigmoid LUT in place, residual add, product of
 * two activations, average pool with padding folded in, transpose (permute), constant pad with a
 * non-zero value, global average pool, dense, softmax, and a spatial graph output (layout
 * conversion back to NCHW). Written at load time; rows are seeded random.
 */
function writeOpZoo(dir: string): string {
  const w = (name: string, dims: number[], seed: number, scale = 0.5) => ({ name, dims, data: values(dims.reduce((a, b) => a * b, 1), seed).map((v) => v * scale) });
  return writeModel(join(dir, 'op_zoo.onnx'), {
  opset: 13,
  inputs: [{ name: 'x', shape: [1, 4, 8, 8] }, { name: 'y', shape: [1, 4, 8, 8] }],
  outputs: [{ name: 'probs', shape: [1, 5] }, { name: 'u', shape: [1, 8, 3, 3] }],
  initializers: [w('w1', [6, 4, 3, 3], 1), w('b1', [6], 2), w('w2', [2, 4, 1, 1], 3), w('w3', [8, 8, 3, 3], 4, 0.2), w('w4', [8, 8, 1, 1], 5), w('wd', [5, 8], 6), w('bd', [5], 7),
    { name: 'pads', dims: [8], dataType: 7, data: [0, 0, 1, 1, 0, 0, 1, 1] }, { name: 'cval', dims: [], data: [0.1] }],
  nodes: [
    { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['a0'], attrs: { pads: { ints: [1, 1, 1, 1] } } },
    { op: 'Relu', inputs: ['a0'], outputs: ['a'] },
    { op: 'Conv', inputs: ['y', 'w2'], outputs: ['b'] },
    { op: 'Concat', inputs: ['a', 'b'], outputs: ['c'], attrs: { axis: { i: 1 } } },
    { op: 'Sigmoid', inputs: ['c'], outputs: ['d'] },
    { op: 'Conv', inputs: ['d', 'w3'], outputs: ['e'], attrs: { pads: { ints: [1, 1, 1, 1] } } },
    { op: 'Add', inputs: ['e', 'd'], outputs: ['f'] },
    { op: 'Conv', inputs: ['f', 'w4'], outputs: ['h'] },
    { op: 'Mul', inputs: ['f', 'h'], outputs: ['g'] },
    { op: 'Pad', inputs: ['g', 'pads'], outputs: ['p'] },
    { op: 'AveragePool', inputs: ['p'], outputs: ['q'], attrs: { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] }, count_include_pad: { i: 1 } } },
    { op: 'Transpose', inputs: ['q'], outputs: ['t'], attrs: { perm: { ints: [0, 1, 3, 2] } } },
    { op: 'Pad', inputs: ['t', 'pads', 'cval'], outputs: ['tp'] },
    { op: 'MaxPool', inputs: ['tp'], outputs: ['u'], attrs: { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } } },
    { op: 'GlobalAveragePool', inputs: ['u'], outputs: ['v'] },
    { op: 'Flatten', inputs: ['v'], outputs: ['fl'] },
    { op: 'Gemm', inputs: ['fl', 'wd', 'bd'], outputs: ['z'], attrs: { transB: { i: 1 } } },
    { op: 'Softmax', inputs: ['z'], outputs: ['probs'], attrs: { axis: { i: 1 } } },
  ],
});
}

const work = mkdtempSync(join(tmpdir(), 'tm2-codegen-'));
const models = [...listOnnxModels(), writeOpZoo(work)];
const runtimeSources = runtimeFiles().filter((f) => f.endsWith('.c')).map((f) => join(RUNTIME_DIR, f));
const runtimeObjects = new Map<string, string[]>();

interface Config {
  key: string;
  cc: string;
  flags: string[];
}
const CONFIGS: Config[] = [
  { key: 'gcc', cc: 'gcc', flags: [...STRICT, '-O2'] },
  { key: 'clang', cc: 'clang', flags: [...STRICT, '-O2'] },
  { key: 'asan', cc: 'gcc', flags: [...STRICT, '-O1', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all'] },
];
const ARM_FLAGS = ['-mcpu=cortex-m4', '-mthumb', '-Os', ...STRICT];

/** runtime-c compiled once per configuration (the generated copy is the same files). */
function buildRuntime(config: Config): string[] {
  return compileObjects({ cc: config.cc, flags: [...config.flags, `-I${join(RUNTIME_DIR, 'include')}`, `-I${join(RUNTIME_DIR, 'src')}`] }, runtimeSources, join(work, `runtime-${config.key}`));
}

beforeAll(() => {
  for (const c of CONFIGS) if (have(c.cc)) runtimeObjects.set(c.key, buildRuntime(c));
  if (have('arm-none-eabi-gcc')) buildRuntime({ key: 'arm', cc: 'arm-none-eabi-gcc', flags: ARM_FLAGS });
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('generated C equals the emulator bit for bit', () => {
  it('finds models', () => expect(models.length).toBeGreaterThan(0));
  for (const file of models) {
    const id = file.startsWith(work) ? basename(file) : repoRelative(file);
    describe(id, () => {
      const dir = join(work, id.replace(/[^A-Za-z0-9]+/g, '_'));
      const variants: Array<{ name: string; sources: string[] }> = [];
      let outDir = '';
      /** Set when the quantizer refuses the model (its message names the node): nothing to generate. */
      let refused: string | undefined;
      beforeAll(() => {
        const graph = loadOnnx(file);
        const data = dataFor(file, graph);
        const calibration = calibrateGraph(graph, data.calib);
        const base = basename(file, '.onnx').replace(/[^A-Za-z0-9]+/g, '_').toLowerCase();
        const files = new Map<string, string>();
        const plans: Array<[string, PrecisionPlan]> = [
          ['int8', uniform(graph, 8)],
          ['int4', uniform(graph, 4)],
          ['mixed', mixedPlan(graph)],
        ];
        for (const [suffix, plan] of plans) {
          let q;
          try {
            q = quantizeGraph(graph, calibration, plan);
          } catch (e) {
            if (!(e instanceof TinyM2Error)) throw e;
            refused = e.message;
            return;
          }
          const name = `${base}_${suffix}`;
          const model = generateModel(q, { name, source: basename(file), precision: suffix });
          for (const [f, text] of model.files) if (f.endsWith('.c') || f.endsWith('.h')) files.set(f, text);
          files.set(`${name}_test.c`, harnessSource(q, model, data.test, { entry: `${name}_main` }));
          variants.push({ name, sources: [`${name}.c`, `${name}_weights.c`, `${name}_test.c`] });
        }
        const driver = variants.map((v) => `int ${v.name}_main(void);`).join('\n') +
          `\n#include <stdio.h>\nint main(void) {\n  int bad = 0;\n${variants.map((v) => `  printf("variant ${v.name}\\n");\n  bad |= ${v.name}_main();`).join('\n')}\n  return bad;\n}\n`;
        files.set('driver.c', driver);
        outDir = join(dir, 'src');
        writeOutputDir(outDir, files);
      }, 120_000);

      for (const config of CONFIGS) {
        it.skipIf(!have(config.cc))(`${config.key}: int8, int4 and mixed run bit-exact`, (ctx) => {
          if (refused) return ctx.skip(`the quantizer refuses this model: ${refused}`);
          const exe = join(dir, `run-${config.key}`);
          // One compiler process per configuration: the three variants, their harnesses and the driver.
          const c = { cc: config.cc, flags: [...config.flags, '-DTM2_SELF_CHECK', ...includeFlags(outDir)] };
          link(c, [join(outDir, 'driver.c'), ...variants.flatMap((v) => v.sources.map((s) => join(outDir, s))), ...runtimeObjects.get(config.key)!], exe);
          const r = runHarness(exe);
          const chunks = r.stdout.split(/^variant /m).filter(Boolean);
          expect(chunks.length, r.stderr).toBe(variants.length);
          for (const chunk of chunks) {
            const variant = chunk.slice(0, chunk.indexOf('\n'));
            const res = parseHarnessOutput(chunk);
            expect(res.rows, variant).toBe(TEST_ROWS);
            expect({ variant, mismatches: res.mismatches, quantize: res.quantizeMismatches, scratch: res.scratchErrors }).toEqual({
              variant,
              mismatches: 0,
              quantize: 0,
              scratch: 0,
            });
          }
          expect(r.exitCode, r.stderr).toBe(0);
        }, 120_000);
      }

      it.skipIf(!have('arm-none-eabi-gcc'))('arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os: no warnings', () => {
        const c = { cc: 'arm-none-eabi-gcc', flags: [...ARM_FLAGS, ...includeFlags(outDir)] };
        for (const v of variants) compileObjects(c, v.sources.filter((x) => !x.endsWith('_test.c')).map((s) => join(outDir, s)), join(dir, 'arm'));
      }, 120_000);
    });
  }
});
