// .npz reading / writing: round trips, numpy interop in both directions, and dataset loading.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNpz, writeNpz } from '../compiler/data/npz.ts';
import { loadDataset } from '../compiler/data/dataset.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { TinyM2Error } from '../compiler/errors.ts';
import { REPO_ROOT } from './helpers/models.ts';

const dir = mkdtempSync(join(tmpdir(), 'tm2-npz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const python = (code: string): string => execFileSync('/usr/bin/python3', ['-c', code], { encoding: 'utf8' });

describe('npz', () => {
  it('round-trips every dtype it writes', () => {
    const file = join(dir, 'round.npz');
    const arrays = {
      f: { shape: [2, 3], data: Float32Array.from([1.5, -2, 3, 4, 5, 6.25]) },
      i: { shape: [4], data: Int32Array.from([1, -2, 3, 2147483647]) },
      l: { shape: [2, 1], data: BigInt64Array.from([-5n, 9007199254740993n]) },
      u: { shape: [3], data: Uint8Array.from([0, 128, 255]) },
      s: { shape: [], data: Float32Array.from([7]) },
    };
    writeNpz(file, arrays);
    const back = readNpz(file);
    expect([...back.keys()].sort()).toEqual(['f', 'i', 'l', 's', 'u']);
    expect(back.get('f')).toEqual({ shape: [2, 3], dtype: 'float32', data: arrays.f.data });
    expect(back.get('i')).toEqual({ shape: [4], dtype: 'int32', data: arrays.i.data });
    expect(back.get('l')).toEqual({ shape: [2, 1], dtype: 'int64', data: arrays.l.data });
    expect(back.get('u')).toEqual({ shape: [3], dtype: 'uint8', data: arrays.u.data });
    expect(back.get('s')!.shape).toEqual([]);
  });

  it('reads what numpy writes (savez and savez_compressed, f8 narrowed, bool, int8)', () => {
    const file = join(dir, 'numpy.npz');
    const zfile = join(dir, 'numpy_z.npz');
    python(`
import numpy as np
a = dict(f4=np.arange(6, dtype='<f4').reshape(2, 3) / 4, f8=np.array([[0.1, -2.5]], dtype='<f8'),
         i8=np.array([-1, 2**40], dtype='<i8'), i4=np.array([3, -4], dtype='<i4'),
         u1=np.array([1, 255], dtype='u1'), i1=np.array([-128, 5], dtype='i1'), b=np.array([True, False, True]))
np.savez('${file}', **a)
np.savez_compressed('${zfile}', **a)
`);
    for (const f of [file, zfile]) {
      const m = readNpz(f);
      expect(Array.from(m.get('f4')!.data as Float32Array)).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25]);
      expect(m.get('f4')!.shape).toEqual([2, 3]);
      expect(m.get('f8')!.dtype).toBe('float32');
      expect(Array.from(m.get('f8')!.data as Float32Array)).toEqual([Math.fround(0.1), -2.5]);
      expect(Array.from(m.get('i8')!.data as BigInt64Array)).toEqual([-1n, 2n ** 40n]);
      expect(Array.from(m.get('i4')!.data as Int32Array)).toEqual([3, -4]);
      expect(Array.from(m.get('u1')!.data as Uint8Array)).toEqual([1, 255]);
      expect(Array.from(m.get('i1')!.data as Int8Array)).toEqual([-128, 5]);
      expect(m.get('b')!.dtype).toBe('bool');
      expect(Array.from(m.get('b')!.data as Uint8Array)).toEqual([1, 0, 1]);
    }
  });

  it('writes what numpy reads', () => {
    const file = join(dir, 'ours.npz');
    writeNpz(file, {
      x: { shape: [2, 2], data: Float32Array.from([1, 2, 3, 4.5]) },
      labels: { shape: [2], data: BigInt64Array.from([7n, -1n]) },
      n: { shape: [3], data: Int32Array.from([1, 2, 3]) },
    });
    const out = python(`
import numpy as np
d = np.load('${file}')
print(d['x'].dtype, d['x'].shape, d['x'].tolist(), d['labels'].dtype, d['labels'].tolist(), d['n'].dtype, d['n'].tolist())
`);
    expect(out.trim()).toBe('float32 (2, 2) [[1.0, 2.0], [3.0, 4.5]] int64 [7, -1] int32 [1, 2, 3]');
  });

  it('refuses fortran order, big-endian and non-zip files with a clear message', () => {
    const f1 = join(dir, 'fortran.npz');
    python(`
import numpy as np, zipfile, io
buf = io.BytesIO(); np.save(buf, np.asfortranarray(np.ones((2, 3), dtype='<f4')))
with zipfile.ZipFile('${f1}', 'w') as z: z.writestr('a.npy', buf.getvalue())
np.savez('${join(dir, 'big.npz')}', a=np.ones(3, dtype='>f4'))
`);
    expect(() => readNpz(f1)).toThrow(/fortran_order/);
    expect(() => readNpz(join(dir, 'big.npz'))).toThrow(/dtype '>f4' is not supported/);
    const bad = join(dir, 'bad.npz');
    writeFileSync(bad, 'hello');
    expect(() => readNpz(bad)).toThrow(TinyM2Error);
    expect(() => readNpz(join(dir, 'missing.npz'))).toThrow(/cannot read/);
  });

  it('leaves no partial file when writing fails', () => {
    const target = join(dir, 'no-such-dir', 'x.npz');
    expect(() => writeNpz(target, { a: { shape: [1], data: Float32Array.from([1]) } })).toThrow(TinyM2Error);
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('loadDataset', () => {
  const model = join(REPO_ROOT, 'test', 'models', 'tiny_fusion_op13.onnx');

  it('splits each input into rows and reads labels', () => {
    const graph = loadOnnx(model);
    const file = join(dir, 'ds.npz');
    python(`
import numpy as np
np.savez('${file}', imu=np.arange(3*6*32, dtype='f8').reshape(3, 6, 32), image=np.ones((3, 1, 12, 12), 'f4'), labels=np.array([0, 4, 2]))
`);
    const ds = loadDataset(file, graph);
    expect(ds.rows).toBe(3);
    expect(ds.inputs.imu.length).toBe(3);
    expect(ds.inputs.imu[1].length).toBe(6 * 32);
    expect(ds.inputs.imu[1][0]).toBe(6 * 32);
    expect(Array.from(ds.labels!)).toEqual([0, 4, 2]);
  });

  it('names the input and the shape expected when an array is missing or misshaped', () => {
    const graph = loadOnnx(model);
    const file = join(dir, 'ds_bad.npz');
    writeNpz(file, { imu: { shape: [2, 6, 32], data: new Float32Array(2 * 6 * 32) } });
    expect(() => loadDataset(file, graph)).toThrow(/no array 'image' for model input 'image' \(expected shape \[rows, 1, 12, 12\]\)/);
    writeNpz(file, {
      imu: { shape: [2, 6, 30], data: new Float32Array(2 * 6 * 30) },
      image: { shape: [2, 1, 12, 12], data: new Float32Array(2 * 144) },
    });
    expect(() => loadDataset(file, graph)).toThrow(/array 'imu' has shape \[2, 6, 30\], model input 'imu' needs \[rows, 6, 32\]/);
    writeNpz(file, {
      imu: { shape: [2, 6, 32], data: new Float32Array(2 * 6 * 32) },
      image: { shape: [3, 1, 12, 12], data: new Float32Array(3 * 144) },
    });
    expect(() => loadDataset(file, graph)).toThrow(/same number of rows/);
  });
});
