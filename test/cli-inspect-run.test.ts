// `tinym2 inspect` and `tinym2 run` through the real entry point (node bin/tinym2.js): exit
// codes, --json shapes, written outputs, and clean failures (one message, no stack, no file).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNpz, writeNpz } from '../compiler/data/npz.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { runFloat } from '../compiler/reference/interpreter.ts';
import { REPO_ROOT } from './helpers/models.ts';
import { values, writeModel } from './helpers/onnx-builder.ts';
import { expectJsonOutput } from './helpers/json-output.ts';

const dir = mkdtempSync(join(tmpdir(), 'tm2-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tinym2(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'tinym2.js'), ...args], { encoding: 'utf8', cwd: REPO_ROOT });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

// Conv 3->4, 3x3, pad 1 on 8x8: 4*8*8 outputs x 3 inputs x 9 taps = 6912 MACs, 4*27 + 4 = 112 params.
// Flatten then Gemm 256 -> 10: 2560 MACs, 2570 params.
const model = writeModel(join(dir, 'small.onnx'), {
  opset: 13,
  inputs: [{ name: 'x', shape: ['N', 3, 8, 8] }],
  outputs: [{ name: 'logits' }],
  initializers: [
    { name: 'w', dims: [4, 3, 3, 3], data: values(108, 1) }, { name: 'b', dims: [4], data: values(4, 2) },
    { name: 'fw', dims: [10, 256], data: values(2560, 3) }, { name: 'fb', dims: [10], data: values(10, 4) },
  ],
  nodes: [
    { op: 'Conv', name: 'conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { pads: { ints: [1, 1, 1, 1] } } },
    { op: 'Relu', inputs: ['c'], outputs: ['r'] },
    { op: 'Flatten', inputs: ['r'], outputs: ['f'] },
    { op: 'Gemm', name: 'fc', inputs: ['f', 'fw', 'fb'], outputs: ['logits'], attrs: { transB: { i: 1 } } },
  ],
});

describe('tinym2 inspect', () => {
  it('prints a layer table with totals', () => {
    const r = tinym2('inspect', model);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/conv\s+Conv\s+Conv\s+\[1,3,8,8\]\s+\[1,4,8,8\]\s+112\s+6912/);
    expect(r.stdout).toMatch(/total\s+2682\s+9472/);
  });

  it('--json gives inputs, outputs, layers and totals', () => {
    const r = tinym2('inspect', model, '--json');
    expect(r.code).toBe(0);
    const j = expectJsonOutput('inspect', r.stdout) as any;
    expect(j.inputs).toEqual([{ name: 'x', shape: [1, 3, 8, 8], dtype: 'float32' }]);
    expect(j.outputs).toEqual([{ name: 'logits', shape: [1, 10], dtype: 'float32' }]);
    expect(j.layers.map((l: { op: string }) => l.op)).toEqual(['Conv', 'Relu', 'Reshape', 'Dense']);
    expect(j.layers[3]).toMatchObject({ name: 'fc', inputs: [[1, 256]], outputs: [[1, 10]], params: 2570, macs: 2560 });
    expect(j.totals).toEqual({ params: 2682, macs: 9472 });
  });

  it('a bad model: exit 2, one message naming the file, no stack; --json error object', () => {
    const bad = join(dir, 'bad.onnx');
    writeFileSync(bad, 'not a model');
    const r = tinym2('inspect', bad);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(bad);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr.trim().split('\n').length).toBe(1);
    const j = tinym2('inspect', bad, '--json');
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false });
  });
});

describe('tinym2 run', () => {
  const onnx = join(REPO_ROOT, 'test/models/sensor1d.onnx');
  const data = join(REPO_ROOT, 'test/models/sensor1d.npz');

  it('runs every row, writes outputs batch first, reports accuracy vs labels', () => {
    const out = join(dir, 'out.npz');
    const r = tinym2('run', onnx, '--data', data, '--out', out, '--json');
    expect(r.code).toBe(0);
    const j = expectJsonOutput('run', r.stdout) as any;
    const inputs = readNpz(data);
    const rows = inputs.get('labels')!.shape[0];
    expect(j.rows).toBe(rows);
    const written = readNpz(out);
    const graph = loadOnnx(onnx);
    const labels = Array.from(inputs.get('labels')!.data as BigInt64Array, Number);
    for (const o of graph.outputs) {
      const arr = written.get(o.name)!;
      expect(arr.shape).toEqual([rows, ...o.shape.slice(1)]);
      // Row by row equal to the interpreter, and the reported accuracy recomputed from it.
      let correct = 0;
      const per = arr.data.length / rows;
      for (let row = 0; row < rows; row++) {
        const feed = Object.fromEntries(graph.inputs.map((i) => {
          const a = inputs.get(i.name)!.data as Float32Array;
          const n = a.length / rows;
          return [i.name, a.slice(row * n, (row + 1) * n)];
        }));
        const y = runFloat(graph, feed).get(o.name)!;
        const got = (arr.data as Float32Array).slice(row * per, (row + 1) * per);
        expect(Array.from(got)).toEqual(Array.from(y));
        if (y.indexOf(Math.max(...y)) === labels[row]) correct++;
      }
      expect(j.outputs.find((x: { name: string }) => x.name === o.name)).toMatchObject({ accuracy: correct / rows, correct });
    }
    const text = tinym2('run', onnx, '--data', data);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`${rows} rows`));
    expect(text.stdout).toMatch(/imu_logits \[\d+, 4\]\s+accuracy/);
  });

  it('refuses misshaped data or a missing --data with exit 2 and writes nothing', () => {
    const bad = join(dir, 'bad.npz');
    writeNpz(bad, { imu: { shape: [2, 3, 60], data: new Float32Array(360) }, env: { shape: [2, 2, 32], data: new Float32Array(128) } });
    const out = join(dir, 'never.npz');
    const r = tinym2('run', onnx, '--data', bad, '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/array 'imu' has shape \[2, 3, 60\], model input 'imu' needs \[rows, 3, 64\]/);
    expect(existsSync(out)).toBe(false);
    expect(tinym2('run', onnx).code).toBe(2);
    expect(tinym2('run', onnx, '--bogus').code).toBe(2);
    expect(tinym2('run', '--help').code).toBe(0);
  });
});
