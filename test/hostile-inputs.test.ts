// Hostile and broken inputs (issue 18): each one the independent campaign reported, rebuilt by hand,
// must be refused with a TinyM2Error naming the file / node / row (or, for valid models, compile),
// and never throw anything else. The fuzzer (test/fuzz.test.ts) covers the same ground at random.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { TinyM2Error } from '../compiler/errors.ts';
import { loadOnnx, loadOnnxBytes } from '../compiler/onnx/import.ts';
import { parseNpz, formatNpy, readNpz } from '../compiler/data/npz.ts';
import { datasetFromArrays } from '../compiler/data/dataset.ts';
import { checkPlan } from '../compiler/quant/plan.ts';
import { uniform } from '../compiler/quant/evaluate.ts';
import { compileGraph } from '../compiler/commands/compile.ts';
import { haveTool } from '../compiler/codegen/hostcheck.ts';
import { writeNpz } from '../compiler/data/npz.ts';
import { buildModel, values, writeModel, type ModelSpec, type NodeSpec, type TensorSpec } from './helpers/onnx-builder.ts';
import { REPO_ROOT } from './helpers/models.ts';

const dir = mkdtempSync(join(tmpdir(), 'tm2-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The error a call throws (fails the test when it throws nothing or something that is not a TinyM2Error). */
function refusal(f: () => unknown): TinyM2Error {
  try {
    f();
  } catch (e) {
    if (e instanceof TinyM2Error) return e;
    throw new Error(`expected a TinyM2Error, got ${(e as Error).stack}`);
  }
  throw new Error('expected a refusal, the call succeeded');
}

/** A model x[1,4] -> Relu -> Add(shape-ish constant path) -> y, with `extra` nodes and initializers in front. */
function withFold(nodes: NodeSpec[], initializers: Array<TensorSpec & { name: string }>, opset = 13): Uint8Array {
  const spec: ModelSpec = {
    opset,
    inputs: [{ name: 'x', shape: [1, 4] }],
    outputs: [{ name: 'y', shape: [1, 4] }],
    initializers,
    nodes: [...nodes, { op: 'Relu', inputs: ['x'], outputs: ['y'] }],
  };
  return buildModel(spec);
}

const I64 = (name: string, data: number[], dims = [data.length]) => ({ name, dims, dataType: 7, data });

describe('constant folding refuses what it cannot evaluate, naming the node', () => {
  const cases: Array<[string, NodeSpec[], Array<TensorSpec & { name: string }>, RegExp]> = [
    ['Concat of nothing', [{ op: 'Concat', name: 'cat', inputs: [], outputs: ['c'], attrs: { axis: { i: 0 } } }], [], /node 'cat' \(Concat\)/],
    ['Gather index 5 of 2', [{ op: 'Gather', name: 'g', inputs: ['d', 'i'], outputs: ['c'] }], [I64('d', [1, 2]), I64('i', [5], [])], /node 'g'.*index 5 is out of range/],
    ['Unsqueeze axis 7', [{ op: 'Unsqueeze', name: 'u', inputs: ['d', 'a'], outputs: ['c'] }], [I64('d', [1, 2]), I64('a', [7])], /node 'u'.*axis 7 is out of range/],
    ['Transpose perm out of range', [{ op: 'Transpose', name: 't', inputs: ['d'], outputs: ['c'], attrs: { perm: { ints: [5, 0] } } }], [I64('d', [1, 2, 3, 4], [2, 2])], /node 't'.*not a permutation/],
    ['ConstantOfShape [-1]', [{ op: 'ConstantOfShape', name: 'k', inputs: ['s'], outputs: ['c'] }], [I64('s', [-1])], /node 'k'.*not a whole number >= 0/],
    ['ConstantOfShape [1e9]', [{ op: 'ConstantOfShape', name: 'k', inputs: ['s'], outputs: ['c'] }], [I64('s', [1e9])], /node 'k'.*over the limit.*--max-tensor-elements/],
    ['ConstantOfShape [1.5]', [{ op: 'Cast', name: 'f', inputs: ['s'], outputs: ['sf'], attrs: { to: { i: 1 } } }, { op: 'Div', name: 'h', inputs: ['sf', 'two'], outputs: ['half'] }, { op: 'ConstantOfShape', name: 'k', inputs: ['half'], outputs: ['c'] }], [I64('s', [3]), { name: 'two', dims: [1], data: [2] }], /node 'k'.*1\.5 is not a whole number/],
    ['Slice step 0', [{ op: 'Slice', name: 'sl', inputs: ['d', 'b', 'e', 'a', 'st'], outputs: ['c'] }], [I64('d', [1, 2, 3]), I64('b', [0]), I64('e', [3]), I64('a', [0]), I64('st', [0])], /node 'sl'.*step is 0/],
    ['Range step 0', [{ op: 'Range', name: 'r', inputs: ['b', 'l', 'st'], outputs: ['c'] }], [I64('b', [0], []), I64('l', [10], []), I64('st', [0], [])], /node 'r'.*delta is 0/],
    ['Range of 2^40 values', [{ op: 'Range', name: 'r', inputs: ['b', 'l', 'st'], outputs: ['c'] }], [I64('b', [0], []), I64('l', [2 ** 40], []), I64('st', [1], [])], /node 'r'.*over the limit/],
    ['integer division by zero', [{ op: 'Div', name: 'dv', inputs: ['a', 'z'], outputs: ['c'] }], [I64('a', [4]), I64('z', [0])], /node 'dv'.*division by zero/],
  ];
  it.each(cases)('%s', (_what, nodes, inits, message) => {
    expect(refusal(() => loadOnnxBytes(withFold(nodes, inits), 'hostile.onnx')).message).toMatch(message);
  });

  it('folds a 200,000-value int64 Concat (no spread push, no stack overflow)', () => {
    const long = Array.from({ length: 200_000 }, (_, i) => i);
    const bytes = withFold([{ op: 'Concat', name: 'cat', inputs: ['a', 'b'], outputs: ['c'], attrs: { axis: { i: 0 } } }], [I64('a', long), I64('b', [1])]);
    expect(loadOnnxBytes(bytes, 'long.onnx').nodes.length).toBe(1);
  });
});

describe('non-finite and extreme values are refused at import', () => {
  const dense = (w: number[], extra: Partial<NodeSpec> = {}, op = 'LeakyRelu'): Uint8Array =>
    buildModel({
      opset: 13,
      inputs: [{ name: 'x', shape: [1, 4] }],
      outputs: [{ name: 'y', shape: [1, 4] }],
      initializers: [{ name: 'w', dims: [4, 4], data: w }, { name: 'z', dims: [1], data: [0] }],
      nodes: [
        { op: 'MatMul', name: 'fc', inputs: ['x', 'w'], outputs: ['h'] },
        { op, name: 'act', inputs: op === 'Div' ? ['h', 'z'] : ['h'], outputs: ['y'], ...extra },
      ],
    });
  it('LeakyRelu alpha=NaN', () => {
    expect(refusal(() => loadOnnxBytes(dense(values(16), { attrs: { alpha: { f: NaN } } }), 'm.onnx')).message).toMatch(/node 'act' \(LeakyRelu\): attribute alpha is NaN or infinite/);
  });
  it('Div by a constant 0', () => {
    expect(refusal(() => loadOnnxBytes(dense(values(16), {}, 'Div'), 'm.onnx')).message).toMatch(/node 'act' \(Div\).*Infinity/);
  });
  it('a NaN weight', () => {
    const w = values(16);
    w[3] = NaN;
    expect(refusal(() => loadOnnxBytes(dense(w), 'm.onnx')).message).toMatch(/initializer 'w' holds NaN at index 3/);
  });
  it('weights of 3e38 compile to finite C or are refused (float overflow, unquantizable), never an internal error', () => {
    const w = values(16);
    w[0] = 3e38;
    for (const big of [3e38, -3e38, 1e30]) {
      for (const input of [[1, 2, 3, 4], [1e30, 1, 1, 1]]) {
        const w = values(16);
        w[0] = big;
        const g = loadOnnxBytes(dense(w), 'm.onnx');
        const rows = [{ x: Float32Array.from(input) }];
        try {
          const { model } = compileGraph(g, rows, uniform(g, 8), { name: 'm', source: 'm.onnx', precision: 'INT8', perChannelInputs: true, testRows: rows });
          for (const [file, text] of model.files) {
            if (!/\.[ch]$/.test(file)) continue;
            const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
            expect(`${file}: ${/\b(nan|inf|infinity)\b/i.exec(code)?.[0] ?? 'finite'}`).toBe(`${file}: finite`);
          }
        } catch (e) {
          if (!(e instanceof TinyM2Error)) throw e;
          expect(e.message).toMatch(/overflows float32|cannot quantize/);
        }
      }
    }
  });
});

describe('caps on input files', () => {
  it('a tensor over --max-tensor-elements is refused naming the option; the cap can be raised', () => {
    const file = join(REPO_ROOT, 'test/models/sensor1d.onnx');
    expect(refusal(() => loadOnnx(file, { maxTensorElements: 100 })).message).toMatch(/over the limit of 100.*--max-tensor-elements/);
    expect(refusal(() => loadOnnx(file, { maxTensorBytes: 1000 })).message).toMatch(/--max-tensor-bytes/);
    expect(refusal(() => loadOnnx(file, { maxModelBytes: 1000 })).message).toMatch(/--max-model-bytes/);
    expect(refusal(() => loadOnnx(file, { maxNodes: 2 })).message).toMatch(/--max-nodes/);
    expect(loadOnnx(file).nodes.length).toBeGreaterThan(2);
  });
  it('a Pad to 2^30 rows is refused at import (before any calibration)', () => {
    const bytes = buildModel({
      opset: 13, inputs: [{ name: 'x', shape: [1, 1, 8] }], outputs: [{ name: 'y' }],
      initializers: [I64('p', [0, 0, 0, 0, 0, 2 ** 30])],
      nodes: [{ op: 'Pad', name: 'pad', inputs: ['x', 'p'], outputs: ['y'] }],
    });
    expect(refusal(() => loadOnnxBytes(bytes, 'pad.onnx')).message).toMatch(/node 'pad'.*over the limit/);
  });
});

describe('fit checks come from shapes, before calibration', () => {
  it('a Pad to 2^21 rows with --board: exit 3 naming the activation, without calibrating it', () => {
    const model = join(dir, 'bigpad.onnx');
    writeFileSync(model, buildModel({
      opset: 13, inputs: [{ name: 'x', shape: [1, 1, 8] }], outputs: [{ name: 'y' }],
      initializers: [I64('p', [0, 0, 0, 0, 0, 2 ** 21])],
      nodes: [{ op: 'Pad', name: 'pad', inputs: ['x', 'p'], outputs: ['y'] }],
    }));
    const data = join(dir, 'bigpad.npz');
    writeNpz(data, { x: { shape: [2, 1, 8], data: Float32Array.from(values(16, 4)) } });
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'tinym2.js'), 'compile', model, '--calib', data, '--board', 'nrf52840-dk', '-o', join(dir, 'bigpad')], { encoding: 'utf8', cwd: REPO_ROOT });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/needs at least a 2097160-byte arena \(activation 'y' alone, counted from the shapes\)/);
    expect(performance.now() - t0).toBeLessThan(30_000);
  });
});

describe('a valid one-node model compiles', () => {
  it('Reshape [1,4,2,2] -> [1,16,1] generates C that the host check runs bit-exact', () => {
    const model = join(dir, 'reshape.onnx');
    writeFileSync(model, buildModel({
      opset: 13, inputs: [{ name: 'x', shape: [1, 4, 2, 2] }], outputs: [{ name: 'y', shape: [1, 16, 1] }],
      initializers: [I64('s', [1, 16, 1])], nodes: [{ op: 'Reshape', inputs: ['x', 's'], outputs: ['y'] }],
    }));
    const data = join(dir, 'reshape.npz');
    writeNpz(data, { x: { shape: [3, 4, 2, 2], data: Float32Array.from(values(48, 3)) } });
    const args = ['compile', model, '--calib', data, '--test', data, '-o', join(dir, 'out'), '--json', '--quiet'];
    if (haveTool('gcc')) args.push('--check');
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'tinym2.js'), ...args], { encoding: 'utf8', cwd: REPO_ROOT });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    if (haveTool('gcc')) expect(j.check).toEqual({ rows: 3, mismatches: 0, quantizeMismatches: 0, scratchErrors: 0 });
  });
});

describe('import runs in linear time', () => {
  const chain = (n: number, reversed: boolean): Uint8Array => {
    const nodes: NodeSpec[] = Array.from({ length: n }, (_, i) => ({ op: 'Relu', name: `r${i}`, inputs: [i === 0 ? 'x' : `t${i - 1}`], outputs: [i === n - 1 ? 'y' : `t${i}`] }));
    if (reversed) nodes.reverse();
    return buildModel({ opset: 13, inputs: [{ name: 'x', shape: [1, 4] }], outputs: [{ name: 'y', shape: [1, 4] }], nodes });
  };
  it.each([false, true])('a 20,000-node chain (reversed: %s) imports in under 2 s', (reversed) => {
    const bytes = chain(20_000, reversed);
    // Best of three: the machine running the suite is shared, and a first run pays for JIT warm-up.
    let seconds = Infinity;
    for (let k = 0; k < 3; k++) {
      const t0 = performance.now();
      const g = loadOnnxBytes(bytes, 'chain.onnx');
      seconds = Math.min(seconds, (performance.now() - t0) / 1000);
      expect(g.nodes.length).toBe(20_000);
    }
    expect(seconds).toBeLessThan(2);
  });
});

describe('.npz data sets', () => {
  const sensor = () => loadOnnx(join(REPO_ROOT, 'test/models/sensor1d.onnx'));
  const npy = (header: string, body: Uint8Array): Uint8Array => {
    const h = new TextEncoder().encode(header);
    const out = new Uint8Array(10 + h.length + body.length);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    out[8] = h.length & 0xff; out[9] = h.length >> 8;
    out.set(h, 10);
    out.set(body, 10 + h.length);
    return out;
  };
  it('negative dimensions in a header are refused', () => {
    const z = zipSync({ 'x.npy': npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1536, 4), }\n", new Uint8Array(64)) });
    expect(refusal(() => parseNpz(z, 'neg.npz')).message).toMatch(/neg\.npz: x\.npy: shape \(-1536, 4\).*not a list of whole numbers/);
  });
  it('the declared decompressed size is capped before inflating', () => {
    const big = formatNpy({ shape: [1 << 20], data: new Float32Array(1 << 20) });
    const z = zipSync({ 'x.npy': [big, { level: 9 }] });
    expect(z.length).toBeLessThan(100_000);
    expect(refusal(() => parseNpz(z, 'bomb.npz', { maxDataBytes: 1 << 20 })).message).toMatch(/bomb\.npz: .* over the limit of 1048576 bytes.*--max-data-bytes/);
  });
  it('labels out of range and NaN rows are refused naming the file and row', () => {
    const g = sensor();
    const file = join(REPO_ROOT, 'test/models/sensor1d.npz');
    const arrays = readNpz(file);
    const input = g.inputs[0].name;
    const x = arrays.get(input)!;
    const rows = x.shape[0];
    const classes = g.outputs[0].shape[g.outputs[0].shape.length - 1];
    for (const bad of [-1, classes, 2 ** 40]) {
      const labels = { shape: [rows], dtype: 'int64', data: BigInt64Array.from({ length: rows }, (_, r) => BigInt(r === 1 ? bad : 0)) };
      const m = new Map(arrays).set('labels', labels);
      expect(refusal(() => datasetFromArrays(m, 'l.npz', g)).message).toMatch(/l\.npz: 'labels' row 1 is/);
    }
    const data = Float32Array.from(x.data as Float32Array);
    const perRow = data.length / rows;
    data[2 * perRow + 5] = NaN;
    const m = new Map(arrays).set(input, { ...x, data });
    expect(refusal(() => datasetFromArrays(m, 'n.npz', g)).message).toMatch(/n\.npz: array '.*' row 2 holds NaN/);
  });
});

describe('plan.json', () => {
  const g = () => loadOnnx(join(REPO_ROOT, 'test/models/sensor1d.onnx'));
  it('a null layer entry and bits outside {4, 8} are refused by the schema', () => {
    const graph = g();
    const plan = uniform(graph, 8) as unknown as { layers: Record<string, unknown>; inputBits?: unknown };
    const layer = Object.keys(plan.layers)[0];
    expect(refusal(() => checkPlan({ ...plan, layers: { ...plan.layers, [layer]: null } }, 'p.json', graph)).message).toMatch(/precision plan p\.json is invalid: \/layers\/.* must be object/);
    expect(refusal(() => checkPlan({ ...plan, inputBits: { [graph.inputs[0].name]: 16 } }, 'p.json', graph)).message).toMatch(/must be one of 4, 8/);
    expect(refusal(() => checkPlan({ ...plan, inputBits: { [graph.inputs[0].name]: 3 } }, 'p.json', graph)).message).toMatch(/must be one of 4, 8/);
    expect(checkPlan(JSON.parse(JSON.stringify(plan)), 'p.json', graph).layers[layer]).toEqual({ weightBits: 8, activationBits: 8 });
  });
});


describe('the MAC cap', () => {
  it('a small file that asks for more than --max-macs multiply-accumulates is refused at import, before any data is read', () => {
    // One 3x3 Conv, 64 -> 64 channels on 128x128: 585 M MACs from a 150 kB file.
    const file = writeModel(join(dir, 'macs.onnx'), {
      opset: 13,
      inputs: [{ name: 'x', shape: [1, 64, 128, 128] }],
      outputs: [{ name: 'y', shape: [1, 64, 126, 126] }],
      initializers: [{ name: 'W', dims: [64, 64, 3, 3], data: values(64 * 64 * 9) }],
      nodes: [{ op: 'Conv', inputs: ['x', 'W'], outputs: ['y'], attrs: { kernel_shape: { ints: [3, 3] } } }],
    });
    const e = refusal(() => loadOnnx(file));
    expect(e.message).toMatch(/macs\.onnx: one inference: 585252864 is over the limit of 500000000 multiply-accumulates of one inference; if the file is trusted, raise it with --max-macs/);
    expect(loadOnnx(file, { maxMacs: 600_000_000 }).nodes).toHaveLength(1);
  });
});

describe('the caps are documented', () => {
  it('the README table lists every cap of compiler/limits.ts with its default', async () => {
    const { DEFAULT_LIMITS, LIMIT_DOCS } = await import('../compiler/limits.ts');
    const readme = (await import('node:fs')).readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    for (const key of Object.keys(LIMIT_DOCS) as Array<keyof typeof LIMIT_DOCS>) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${LIMIT_DOCS[key].option}\``));
      expect(row, LIMIT_DOCS[key].option).toBeDefined();
      expect(row).toContain(LIMIT_DOCS[key].what);
      const v = DEFAULT_LIMITS[key];
      const shown = v % 2 ** 30 === 0 ? `${v / 2 ** 30} GiB` : v % 2 ** 20 === 0 ? `${v / 2 ** 20} ${key === 'maxTensorElements' ? 'Mi' : 'MiB'}` : v.toLocaleString('en-US');
      expect(row).toContain(`| ${shown} |`);
    }
  });
});

describe('the caps on the command line', () => {
  it('every cap of compiler/limits.ts is an option of the CLI table, and it reaches the importer', async () => {
    const { LIMIT_DOCS } = await import('../compiler/limits.ts');
    const { OPTIONS } = await import('../compiler/cli/options.ts');
    for (const doc of Object.values(LIMIT_DOCS)) expect(Object.keys(OPTIONS)).toContain(doc.option.slice(2));
    const model = join(REPO_ROOT, 'test/models/sensor1d.onnx');
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'tinym2.js'), 'inspect', model, '--max-tensor-elements', '100'], { encoding: 'utf8', cwd: REPO_ROOT });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/over the limit of 100 .*--max-tensor-elements/);
    const ok = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'tinym2.js'), 'inspect', model, '--max-model-bytes', '1MB'], { encoding: 'utf8', cwd: REPO_ROOT });
    expect(ok.status).toBe(0);
  });
});
