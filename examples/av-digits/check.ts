// Independent check of the exported av-digits models: runs every .onnx in this folder with
// onnxruntime-node on its test .npz and compares the accuracy with the figure train.py measured
// in PyTorch (results.json). A mismatch means the export, the npz or the input naming is wrong.
//
//   npx tsx examples/av-digits/check.ts [--json]
//
// Exit code 0 when every model matches (at most one test row may flip: float summation order
// differs between PyTorch and onnxruntime), 1 otherwise.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { unzipSync } from 'fflate';
import ort from 'onnxruntime-node';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Which test file each model reads, and which results.json figure it must reproduce. */
const CASES: Array<{ model: string; npz: string; figure: 'test_accuracy_pairs' | 'test_accuracy_fsdd_300' }> = [
  { model: 'model', npz: 'test.npz', figure: 'test_accuracy_pairs' },
  { model: 'image_only', npz: 'image_only.test.npz', figure: 'test_accuracy_pairs' },
  { model: 'audio_only', npz: 'audio_only.test.npz', figure: 'test_accuracy_fsdd_300' },
  { model: 'early_fusion', npz: 'early_fusion.test.npz', figure: 'test_accuracy_pairs' },
  { model: 'late_fusion', npz: 'test.npz', figure: 'test_accuracy_pairs' },
];

interface Npy {
  dtype: string;
  shape: number[];
  data: Float32Array | BigInt64Array;
}

/** The two dtypes train.py writes: little-endian float32 and int64, C order. */
function parseNpy(bytes: Uint8Array, name: string): Npy {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = new TextDecoder().decode(bytes.subarray(major === 1 ? 10 : 12, start));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').filter((s) => s.trim()).map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${name}: Fortran order not supported`);
  const body = bytes.slice(start).buffer;
  if (descr === '<f4') return { dtype: 'float32', shape, data: new Float32Array(body) };
  if (descr === '<i8') return { dtype: 'int64', shape, data: new BigInt64Array(body) };
  throw new Error(`${name}: dtype ${descr} not supported`);
}

function readNpz(file: string): Map<string, Npy> {
  const out = new Map<string, Npy>();
  for (const [entry, bytes] of Object.entries(unzipSync(readFileSync(file)))) {
    out.set(entry.replace(/\.npy$/, ''), parseNpy(bytes, `${file}:${entry}`));
  }
  return out;
}

async function accuracy(modelFile: string, npzFile: string): Promise<{ rows: number; accuracy: Record<string, number> }> {
  const session = await ort.InferenceSession.create(modelFile);
  const arrays = readNpz(npzFile);
  const labels = arrays.get('labels');
  if (!labels) throw new Error(`${npzFile}: no labels`);
  const rows = labels.shape[0];
  const correct: Record<string, number> = Object.fromEntries(session.outputNames.map((n) => [n, 0]));
  for (let r = 0; r < rows; r++) {
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of session.inputNames) {
      const a = arrays.get(name);
      if (!a || !(a.data instanceof Float32Array)) throw new Error(`${npzFile}: no float32 array '${name}'`);
      const perRow = a.shape.slice(1);
      const size = perRow.reduce((x, y) => x * y, 1);
      feeds[name] = new ort.Tensor('float32', a.data.subarray(r * size, (r + 1) * size), [1, ...perRow]);
    }
    const out = await session.run(feeds);
    for (const name of session.outputNames) {
      const logits = out[name].data as Float32Array;
      let best = 0;
      for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
      if (BigInt(best) === labels.data[r]) correct[name]++;
    }
  }
  return { rows, accuracy: Object.fromEntries(Object.entries(correct).map(([k, v]) => [k, v / rows])) };
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false } } });
  const results = JSON.parse(readFileSync(join(HERE, 'results.json'), 'utf8')) as {
    models: Record<string, Record<string, Record<string, number>>>;
  };
  const report = [];
  let ok = true;
  for (const c of CASES) {
    const expected = results.models[c.model]?.[c.figure];
    if (!expected) continue;
    const got = await accuracy(join(HERE, `${c.model}.onnx`), join(HERE, c.npz));
    const matches = Object.entries(expected).every(([k, v]) => Math.abs((got.accuracy[k] ?? -1) - v) * got.rows <= 1.001);
    ok &&= matches;
    report.push({ model: `${c.model}.onnx`, npz: c.npz, rows: got.rows, onnxruntime: got.accuracy, pytorch: expected, matches });
  }
  if (values.json) {
    console.log(JSON.stringify({ ok, models: report }, null, 1));
  } else {
    for (const r of report) {
      const figures = Object.entries(r.onnxruntime).map(([k, v]) => `${k} ${(100 * v).toFixed(1)}%`).join(', ');
      console.log(`${r.matches ? 'ok  ' : 'FAIL'} ${r.model.padEnd(18)} ${r.npz.padEnd(22)} ${String(r.rows).padStart(5)} rows  ${figures}`);
    }
  }
  return ok ? 0 : 1;
}

process.exitCode = await main();
