// Symmetric per-output-channel weight quantization (INT8 [-127, 127], INT4 [-7, 7]).
//
// scale[o] = max|w[o]| / qmax, q = round(w / scale) clamped to [-qmax, qmax]. A channel of all
// zeros gets scale 0 and q = 0 (its real weights are exactly 0, and a zero scale encodes as
// multiplier 0 downstream). The weight array is read as [outChannels][rest] in whatever order
// the caller stores the rest: only the split by output channel matters here.
import type { Bits } from './qgraph.ts';

export interface QuantizedWeights {
  /** Quantized values, same order and length as the input. */
  q: Int8Array;
  /** Per output channel scale: real = scale[o] * q. */
  scale: Float32Array;
}

export function weightQmax(bits: Bits): number {
  return bits === 8 ? 127 : 7;
}

/** Round half away from zero (what C's round() and numpy-free references agree on). */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** Quantizes weights stored as [outChannels][...] with one symmetric scale per output channel. */
export function quantizeWeightsPerChannel(w: Float32Array, outChannels: number, bits: Bits): QuantizedWeights {
  if (outChannels <= 0 || w.length % outChannels !== 0) {
    throw new Error(`internal: ${w.length} weights do not split into ${outChannels} output channels`);
  }
  const perChannel = w.length / outChannels;
  const qmax = weightQmax(bits);
  const q = new Int8Array(w.length);
  const scale = new Float32Array(outChannels);
  for (let o = 0; o < outChannels; o++) {
    const base = o * perChannel;
    let maxAbs = 0;
    for (let i = 0; i < perChannel; i++) maxAbs = Math.max(maxAbs, Math.abs(w[base + i]));
    // The scale is stored as float32 (it goes to C as float metadata); quantize with the stored
    // value so that q * scale is exactly what every consumer reconstructs.
    const s = Math.fround(maxAbs / qmax);
    scale[o] = s;
    if (s === 0) continue;
    for (let i = 0; i < perChannel; i++) {
      const v = roundHalfAway(w[base + i] / s);
      q[base + i] = Math.max(-qmax, Math.min(qmax, v));
    }
  }
  return { q, scale };
}

/** Q_b(W): the weights after quantizing and dequantizing, same layout as the input. */
export function fakeQuantizeWeights(w: Float32Array, outChannels: number, bits: Bits): Float32Array {
  const { q, scale } = quantizeWeightsPerChannel(w, outChannels, bits);
  const perChannel = w.length / outChannels;
  const out = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = q[i] * scale[Math.floor(i / perChannel)];
  return out;
}

/** ||Q_b(W) - W||^2, the perturbation term of the HAWQ sensitivity Omega. */
export function quantizationErrorSq(w: Float32Array, outChannels: number, bits: Bits): number {
  const fq = fakeQuantizeWeights(w, outChannels, bits);
  let sum = 0;
  for (let i = 0; i < w.length; i++) {
    const d = fq[i] - w[i];
    sum += d * d;
  }
  return sum;
}

/** Packs INT4 values two per byte, first value in the low nibble; an odd count leaves the last high nibble 0. */
export function packInt4(q: Int8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(q.length / 2));
  for (let i = 0; i < q.length; i++) {
    const nib = q[i] & 0x0f;
    out[i >> 1] |= (i & 1) === 0 ? nib : nib << 4;
  }
  return out;
}

/** Inverse of packInt4 (nibbles are two's complement). */
export function unpackInt4(packed: Uint8Array, count: number): Int8Array {
  const out = new Int8Array(count);
  for (let i = 0; i < count; i++) {
    const nib = (i & 1) === 0 ? packed[i >> 1] & 0x0f : packed[i >> 1] >> 4;
    out[i] = nib >= 8 ? nib - 16 : nib;
  }
  return out;
}
