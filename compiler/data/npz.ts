// Reading and writing numpy's .npz archives (a zip of .npy files), the exchange format for
// datasets and outputs. Only C-order little-endian arrays: that is what numpy writes by default
// on every machine we target, and refusing the rest is clearer than converting silently.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { unzipSync, zipSync } from 'fflate';
import { TinyM2Error } from '../errors.ts';
import { overLimit, resolveLimits, shapeProblem, type InputLimits } from '../limits.ts';

export type NpyData = Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Int16Array | Uint16Array;

/** dtype names follow numpy's: float32, int32, int64, uint8, int8, int16, uint16, bool. */
export interface NpyArray {
  shape: number[];
  dtype: string;
  data: NpyData;
}

/** numpy descr -> how to read it. '<f8' is narrowed to float32 on purpose: the models are float32. */
const READERS: Record<string, { dtype: string; bytes: number; read: (buf: ArrayBuffer, n: number) => NpyData }> = {
  '<f4': { dtype: 'float32', bytes: 4, read: (b, n) => new Float32Array(b, 0, n) },
  '<f8': { dtype: 'float32', bytes: 8, read: (b, n) => Float32Array.from(new Float64Array(b, 0, n)) },
  '<i8': { dtype: 'int64', bytes: 8, read: (b, n) => new BigInt64Array(b, 0, n) },
  '<i4': { dtype: 'int32', bytes: 4, read: (b, n) => new Int32Array(b, 0, n) },
  '<i2': { dtype: 'int16', bytes: 2, read: (b, n) => new Int16Array(b, 0, n) },
  '<u2': { dtype: 'uint16', bytes: 2, read: (b, n) => new Uint16Array(b, 0, n) },
  '|u1': { dtype: 'uint8', bytes: 1, read: (b, n) => new Uint8Array(b, 0, n) },
  '|i1': { dtype: 'int8', bytes: 1, read: (b, n) => new Int8Array(b, 0, n) },
  '|b1': { dtype: 'bool', bytes: 1, read: (b, n) => new Uint8Array(b, 0, n) },
};

function fail(file: string, what: string): never {
  throw new TinyM2Error(`${file}: ${what}`);
}

/** Parses one .npy blob (format versions 1, 2 and 3). */
export function parseNpy(bytes: Uint8Array, where: string, limits: InputLimits = resolveLimits()): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (bytes.length < 10 || magic.some((m, i) => bytes[i] !== m)) fail(where, 'not a .npy array (bad magic)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) fail(where, `unreadable .npy header ${header.trim()}`);
  if (fortran === 'True') fail(where, 'fortran_order arrays are not supported; save with np.ascontiguousarray(a)');
  const reader = READERS[descr];
  if (!reader) {
    fail(where, `dtype '${descr}' is not supported (supported: ${Object.keys(READERS).join(', ')}; little-endian only)`);
  }
  const dims = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (dims.some((d) => !/^[0-9]+$/.test(d))) fail(where, `shape (${shapeText}) in the .npy header is not a list of whole numbers >= 0`);
  const shape = dims.map(Number);
  const bad = shapeProblem(shape, { ...limits, maxTensorElements: Math.floor(limits.maxDataBytes / reader.bytes) });
  if (bad) fail(where, `shape ${bad.replace(' --max-tensor-elements', ' --max-data-bytes')}`);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLen;
  if (bytes.length - dataStart < count * reader.bytes) {
    fail(where, `truncated: shape (${shape.join(', ')}) needs ${count * reader.bytes} bytes, found ${bytes.length - dataStart}`);
  }
  // Copy into a fresh buffer: the zip entry's offset is rarely aligned for typed arrays.
  const own = new Uint8Array(bytes.subarray(dataStart, dataStart + count * reader.bytes)).buffer;
  return { shape, dtype: reader.dtype, data: reader.read(own, count) };
}

export function readNpz(file: string, limits: Partial<InputLimits> = {}): Map<string, NpyArray> {
  let raw: Uint8Array;
  try {
    raw = readFileSync(file);
  } catch (e) {
    fail(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseNpz(raw, file, limits);
}

/**
 * Parses the bytes of an .npz. The zip directory's declared sizes are summed before anything is
 * inflated (fflate inflates into a buffer of exactly the declared size), so a small file cannot
 * expand past limits.maxDataBytes.
 */
export function parseNpz(raw: Uint8Array, file: string, limits: Partial<InputLimits> = {}): Map<string, NpyArray> {
  const caps = resolveLimits(limits);
  let entries: Record<string, Uint8Array>;
  let total = 0;
  try {
    entries = unzipSync(raw, {
      filter: (f) => {
        if (!f.name.endsWith('.npy')) return false;
        total += f.originalSize;
        if (total > caps.maxDataBytes) overLimit(file, 'maxDataBytes', total, caps);
        return true;
      },
    });
  } catch (e) {
    if (e instanceof TinyM2Error) throw e;
    fail(file, `not a valid .npz (zip) file: ${(e as Error).message}`);
  }
  const out = new Map<string, NpyArray>();
  for (const [entry, bytes] of Object.entries(entries)) {
    out.set(entry.slice(0, -4), parseNpy(bytes, `${file}: ${entry}`, caps));
  }
  return out;
}

/** numpy descr for a typed array we write. */
function descrOf(a: { dtype?: string; data: NpyData }): string {
  const d = a.data;
  if (d instanceof Float32Array) return '<f4';
  if (d instanceof Int32Array) return '<i4';
  if (d instanceof BigInt64Array) return '<i8';
  if (d instanceof Int16Array) return '<i2';
  if (d instanceof Uint16Array) return '<u2';
  if (d instanceof Int8Array) return '|i1';
  return a.dtype === 'bool' ? '|b1' : '|u1';
}

/** Serializes one array as .npy version 1.0 (header padded so the data starts 64-byte aligned, like numpy). */
export function formatNpy(a: { shape: number[]; dtype?: string; data: NpyData }): Uint8Array {
  const count = a.shape.reduce((x, y) => x * y, 1);
  if (count !== a.data.length) {
    throw new Error(`internal: npy shape (${a.shape.join(', ')}) has ${count} elements, data has ${a.data.length}`);
  }
  const shape = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(', ')})`;
  let header = `{'descr': '${descrOf(a)}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + a.data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), 10 + header.length);
  return out;
}

/**
 * Writes arrays as an uncompressed .npz (what np.savez writes). The file appears whole or not
 * at all: it is written next to its destination and renamed.
 */
export function writeNpz(
  file: string,
  arrays: Map<string, { shape: number[]; dtype?: string; data: NpyData }> | Record<string, { shape: number[]; dtype?: string; data: NpyData }>,
): void {
  const entries: Record<string, [Uint8Array, { level: 0 }]> = {};
  const list = arrays instanceof Map ? [...arrays.entries()] : Object.entries(arrays);
  for (const [name, a] of list) entries[`${name}.npy`] = [formatNpy(a), { level: 0 }];
  const zipped = zipSync(entries);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, zipped);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    fail(file, `cannot write (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}
