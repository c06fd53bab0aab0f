// The fixed-point pieces of runtime-c/ARITHMETIC.md that both the quantizer (which encodes
// multipliers) and the integer emulator (which applies them) use.
//
// Exactness: rq(acc, M, s) = (acc * M + 2^(r-1)) >> r needs a 62-bit product, more than a
// double's 53-bit mantissa. `requantRaw` computes it exactly with a split multiply in doubles
// (M = Mh * 2^16 + Ml, every partial product below 2^48), which the tests check against BigInt
// on random and edge-case operands. It is about 9x faster than BigInt (17 ns vs 150 ns per call
// measured here), which matters because the emulator evaluates whole test sets.
import type { Bits, Requant } from './qgraph.ts';
import { TinyM2Error } from '../errors.ts';

export interface EncodedMultiplier {
  multiplier: number;
  shift: number;
}

const TWO_31 = 2 ** 31;

/**
 * Encodes a non-negative real multiplier as Q31 M and shift s with real ~= M * 2^(s - 31),
 * M in [2^30, 2^31) (frexp-style), or M = 0, s = 0 for 0. A multiplier too small for r <= 62
 * (real < 2^-32) encodes as 0: then |acc * real| < 0.5 for every int32 acc, so the exact
 * result rounds to 0 as well. A multiplier of 2^30 or more cannot be encoded (r >= 1).
 */
export function encodeMultiplier(real: number, what = 'multiplier'): EncodedMultiplier {
  // Reachable from a model with extreme weights or ranges (3e38, a range of 1e-40): the model's
  // problem, so a refusal naming the layer, not an internal error.
  if (!(real >= 0) || !Number.isFinite(real)) {
    throw new TinyM2Error(`cannot quantize: ${what} is ${real}; the layer's weights or activation ranges are extreme (check the model for huge or degenerate values)`);
  }
  if (real === 0) return { multiplier: 0, shift: 0 };
  // frexp: real = m * 2^e with 0.5 <= m < 1.
  let e = Math.floor(Math.log2(real)) + 1;
  let m = real / 2 ** e;
  // log2 can be off by one ulp near powers of two; fix m into [0.5, 1).
  while (m >= 1) { m /= 2; e += 1; }
  while (m < 0.5) { m *= 2; e -= 1; }
  let M = Math.round(m * TWO_31);
  if (M === TWO_31) { M /= 2; e += 1; }
  if (e < -31) return { multiplier: 0, shift: 0 };
  if (e > 30) throw new TinyM2Error(`cannot quantize: ${what} ${real} is too large to requantize (the layer's output range is tiny next to its inputs and weights)`);
  return { multiplier: M, shift: e };
}

/** A per-channel Requant from real multipliers. */
export function encodeRequant(reals: ArrayLike<number>, what = 'multiplier'): Requant {
  const multiplier = new Int32Array(reals.length);
  const shift = new Int32Array(reals.length);
  for (let i = 0; i < reals.length; i++) {
    const enc = encodeMultiplier(reals[i], what);
    multiplier[i] = enc.multiplier;
    shift[i] = enc.shift;
  }
  return { multiplier, shift };
}

/** The real number an encoded multiplier stands for. */
export function decodeMultiplier(multiplier: number, shift: number): number {
  return multiplier * 2 ** (shift - 31);
}

/**
 * rq(acc, M, s) = (int64(acc) * M + 2^(r-1)) >> r with r = 31 - s (arithmetic shift, i.e. floor).
 * Exact for every int32 acc, M in [0, 2^31) and 1 <= r <= 62. Results beyond 2^53 in magnitude
 * (only possible for r < 16) are rounded, which cannot change a later clamp to 8 bits.
 */
export function requantRaw(acc: number, multiplier: number, shift: number): number {
  const r = 31 - shift;
  const mh = multiplier >>> 16;
  const ml = multiplier & 0xffff;
  const hi = acc * mh; // |hi| < 2^46, exact
  const lo = acc * ml; // |lo| < 2^47, exact
  const lq = Math.floor(lo * INV_POW2[16]);
  const lr = lo - lq * 65536; // in [0, 65536)
  const t = hi + lq; // product = t * 2^16 + lr, exactly
  if (r >= 17) {
    // (t * 2^16 + lr + 2^(r-1)) >> r: the rounding constant is a multiple of 2^16 and lr < 2^16
    // cannot carry past a multiple of 2^r, so lr drops out: floor((t + 2^(r-17)) / 2^(r-16)).
    return Math.floor((t + POW2[r - 17]) * INV_POW2[r - 16]);
  }
  if (r === 16) return t + (lr >= 32768 ? 1 : 0);
  // r < 16: split the division between the two parts.
  return t * POW2[16 - r] + Math.floor((lr + POW2[r - 1]) * INV_POW2[r]);
}

// Powers of two by table: `2 ** n` with a variable n is a slow generic pow call in V8.
const POW2 = Float64Array.from({ length: 64 }, (_, i) => 2 ** i);
const INV_POW2 = Float64Array.from({ length: 64 }, (_, i) => 2 ** -i);

/** Reference version in BigInt, for tests. */
export function requantRawBigInt(acc: number, multiplier: number, shift: number): number {
  const r = BigInt(31 - shift);
  const v = (BigInt(acc) * BigInt(multiplier) + (1n << (r - 1n))) >> r;
  return Number(v);
}

/** Quantized activation bounds for a bit width: INT8 [-128, 127], INT4 [-8, 7]. */
export function activationRange(bits: Bits): [number, number] {
  return bits === 8 ? [-128, 127] : [-8, 7];
}

export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** Asymmetric activation parameters for a real range; the range is widened to include 0. */
export function activationParams(min: number, max: number, bits: Bits): { scale: number; zeroPoint: number } {
  const [qmin, qmax] = activationRange(bits);
  const lo = Math.min(min, 0);
  let hi = Math.max(max, 0);
  if (hi - lo < 1e-8) hi = lo + 1e-8; // a constant-zero tensor still needs a usable scale
  // float32: the scale goes to C as float metadata and to the requant multipliers; keep one value.
  const scale = Math.fround((hi - lo) / (qmax - qmin));
  const zeroPoint = clamp(Math.round(qmin - lo / scale), qmin, qmax);
  return { scale, zeroPoint };
}
