import { describe, expect, it } from 'vitest';
import { activationParams, decodeMultiplier, encodeMultiplier, requantRaw, requantRawBigInt } from '../compiler/quant/fixedpoint.ts';

describe('encodeMultiplier', () => {
  it('is frexp-style with M in [2^30, 2^31)', () => {
    expect(encodeMultiplier(0.5)).toEqual({ multiplier: 2 ** 30, shift: 0 });
    expect(encodeMultiplier(1)).toEqual({ multiplier: 2 ** 30, shift: 1 });
    expect(encodeMultiplier(0.75)).toEqual({ multiplier: 3 * 2 ** 29, shift: 0 });
    expect(encodeMultiplier(0)).toEqual({ multiplier: 0, shift: 0 });
    for (const real of [1e-9, 3.3e-5, 0.0123, 0.9999999999, 7.5, 1234.5]) {
      const { multiplier, shift } = encodeMultiplier(real);
      expect(multiplier).toBeGreaterThanOrEqual(2 ** 30);
      expect(multiplier).toBeLessThan(2 ** 31);
      expect(Math.abs(decodeMultiplier(multiplier, shift) / real - 1)).toBeLessThan(2 ** -30);
    }
  });
  it('halves M when rounding reaches 2^31', () => {
    const real = 1 - 2 ** -40; // m * 2^31 rounds to 2^31
    expect(encodeMultiplier(real)).toEqual({ multiplier: 2 ** 30, shift: 1 });
  });
  it('encodes multipliers below 2^-32 as zero (r would exceed 62)', () => {
    expect(encodeMultiplier(2 ** -33)).toEqual({ multiplier: 0, shift: 0 });
    expect(encodeMultiplier(2 ** -32).shift).toBe(-31); // r = 62 still allowed
  });
});

describe('requantRaw (64-bit product, single rounding, half up)', () => {
  it('rounds ties toward +infinity', () => {
    // M = 2^30, s = 0: multiply by 0.5 (r = 31).
    expect(requantRaw(3, 2 ** 30, 0)).toBe(2); // 1.5 -> 2
    expect(requantRaw(-3, 2 ** 30, 0)).toBe(-1); // -1.5 -> -1
    expect(requantRaw(-5, 2 ** 30, 0)).toBe(-2); // -2.5 -> -2
    expect(requantRaw(5, 2 ** 30, 0)).toBe(3);
    expect(requantRaw(-4, 2 ** 30, 0)).toBe(-2);
  });
  it('handles r = 1 and r = 62', () => {
    // r = 1 (s = 30): acc * M / 2 rounded half up.
    expect(requantRaw(3, 1, 30)).toBe(2);
    expect(requantRaw(-3, 1, 30)).toBe(-1);
    expect(requantRaw(1000, 2 ** 30, 30)).toBe(1000 * 2 ** 29);
    // r = 62 (s = -31): (acc * M + 2^61) >> 62.
    expect(requantRaw(2 ** 31 - 1, 2 ** 31 - 1, -31)).toBe(1); // ~ (2^62 - 2^32) / 2^62 = 0.99999 -> 1
    expect(requantRaw(-(2 ** 31), 2 ** 31 - 1, -31)).toBe(-1);
    expect(requantRaw(2 ** 30, 2 ** 30, -31)).toBe(0); // exactly 0.25 -> 0
    expect(requantRaw(2 ** 31 - 1, 2 ** 30, -31)).toBe(0); // just under 0.5 -> 0
    expect(requantRaw(-(2 ** 31), 2 ** 30, -31)).toBe(0); // exactly -0.5 -> 0 (half up)
    expect(requantRaw(-(2 ** 31), 2 ** 30 + 1, -31)).toBe(-1); // just below -0.5 -> -1
  });
  it('matches BigInt exactly on random and edge operands', () => {
    let seed = 12345;
    const rand = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
    const accs = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 65535, -65536, 32768, -32769];
    const mults = [0, 1, 2 ** 30, 2 ** 31 - 1, 2 ** 30 + 65535, 1518500250];
    const cases: Array<[number, number, number]> = [];
    for (const a of accs) for (const m of mults) for (let s = -31; s <= 30; s++) cases.push([a, m, s]);
    for (let i = 0; i < 20000; i++) {
      const a = Math.floor(rand() * 2 ** 32) - 2 ** 31;
      const m = 2 ** 30 + Math.floor(rand() * 2 ** 30);
      const s = -31 + Math.floor(rand() * 62);
      cases.push([a, m, s]);
    }
    for (const [a, m, s] of cases) {
      const exact = requantRawBigInt(a, m, s);
      const got = requantRaw(a, m, s);
      if (Math.abs(exact) <= 2 ** 53) {
        if (got !== exact) throw new Error(`requantRaw(${a}, ${m}, ${s}) = ${got}, BigInt says ${exact}`);
      } else {
        expect(Math.abs(got / exact - 1)).toBeLessThan(1e-12);
      }
    }
  });
});

describe('activationParams', () => {
  it('includes 0 in the range and maps it exactly', () => {
    const p = activationParams(0.5, 6, 8);
    expect(p.zeroPoint).toBe(-128);
    expect(p.scale).toBeCloseTo(6 / 255, 7);
    const n = activationParams(-1, 1, 4);
    expect(n.scale).toBeCloseTo(2 / 15, 7);
    expect(n.zeroPoint).toBeGreaterThanOrEqual(-8);
    expect(n.zeroPoint).toBeLessThanOrEqual(7);
  });
});
