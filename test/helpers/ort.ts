// Runs a model with onnxruntime-node: the independent oracle for the float reference.
import * as ort from 'onnxruntime-node';
import { mulberry32 } from '../../compiler/random.ts';

/** Feeds batch-1 inputs (shapes as given) and returns every graph output as float32. */
export async function runOnnxRuntime(
  file: string,
  inputs: Record<string, { data: Float32Array; shape: number[] }>,
): Promise<Map<string, { data: Float32Array; shape: number[] }>> {
  const session = await ort.InferenceSession.create(file);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(inputs)) feeds[name] = new ort.Tensor('float32', t.data, t.shape);
    const results = await session.run(feeds);
    const out = new Map<string, { data: Float32Array; shape: number[] }>();
    for (const name of session.outputNames) {
      const t = results[name];
      out.set(name, { data: Float32Array.from(t.data as Float32Array), shape: [...t.dims] });
    }
    return out;
  } finally {
    await session.release();
  }
}

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32), so failures reproduce. */
export function randomInput(size: number, seed: number): Float32Array {
  const uniform = mulberry32(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = uniform() * 2 - 1;
  return out;
}

/** max |a - b| / max(1e-3, max |b|): the error relative to the output's scale. */
export function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0, scale = 1e-3;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}
