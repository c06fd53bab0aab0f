import { describe, expect, it } from 'vitest';
import { fakeQuantizeWeights, packInt4, quantizationErrorSq, quantizeWeightsPerChannel, unpackInt4 } from '../compiler/quant/weights.ts';

describe('quantizeWeightsPerChannel', () => {
  it('uses max|w|/qmax per output channel, INT8', () => {
    const w = new Float32Array([1.27, -0.635, 0, 0.01, /* ch1 */ -2.54, 1.0, 0.5, 0]);
    const { q, scale } = quantizeWeightsPerChannel(w, 2, 8);
    expect(scale[0]).toBeCloseTo(0.01, 7);
    expect(scale[1]).toBeCloseTo(0.02, 7);
    expect(Array.from(q)).toEqual([127, -64, 0, 1, -127, 50, 25, 0]);
  });

  it('INT4 stays in [-7, 7] and rounds half away from zero', () => {
    // Exactly representable: scale 0.5, so 0.75 -> 1.5 and -1.25 -> -2.5 are true ties.
    const w = new Float32Array([3.5, 0.1, -0.1, 0.75, -3.5, -1.25]);
    const { q, scale } = quantizeWeightsPerChannel(w, 1, 4);
    expect(scale[0]).toBe(0.5);
    expect(Math.max(...q)).toBe(7);
    expect(Math.min(...q)).toBe(-7);
    expect(q[3]).toBe(2);
    expect(q[5]).toBe(-3);
  });

  it('gives an all-zero channel scale 0 and zeros', () => {
    const { q, scale } = quantizeWeightsPerChannel(new Float32Array([0, 0, 1, -1]), 2, 8);
    expect(scale[0]).toBe(0);
    expect(Array.from(q)).toEqual([0, 0, 127, -127]);
  });

  it('fake quantization error shrinks with more bits', () => {
    const w = new Float32Array(64).map((_, i) => Math.sin(i * 1.7) * (1 + (i % 8)));
    const fq = fakeQuantizeWeights(w, 4, 8);
    expect(fq.length).toBe(64);
    const e8 = quantizationErrorSq(w, 4, 8);
    const e4 = quantizationErrorSq(w, 4, 4);
    expect(e8).toBeGreaterThan(0);
    expect(e4).toBeGreaterThan(e8 * 50);
  });
});

describe('INT4 packing', () => {
  it('puts the first value in the low nibble', () => {
    expect(Array.from(packInt4(new Int8Array([1, 2, 3, 4])))).toEqual([0x21, 0x43]);
    expect(Array.from(packInt4(new Int8Array([-1, 7, -7])))).toEqual([0x7f, 0x09]);
    expect(Array.from(unpackInt4(packInt4(new Int8Array([-1, 7, -7])), 3))).toEqual([-1, 7, -7]);
  });
});
