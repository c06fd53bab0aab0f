/*
 * tm2_simd.h - private helpers of the optimized kernels: packed 16-bit pairs in a 32-bit word
 * (the Armv7E-M DSP model) and word loads.
 *
 * With __ARM_FEATURE_DSP (Cortex-M4/M7/M33...) these are the single instructions SXTB16,
 * SXTAB16, SMLAD, SMLABB, SMLATT. Elsewhere (host tests, Cortex-M0/M3) a portable C version
 * computes exactly the same bits, so the same optimized data flow runs and is tested on the
 * host. A "pair" word holds two int16 values: low half = first, high half = second.
 */
#ifndef TM2_SIMD_H
#define TM2_SIMD_H

#include <stdint.h>
#include <string.h>

#include "tm2.h"

/* AArch64 (Cortex-A72 and later): Advanced SIMD kernels (neon_rows.c, the NEON paths of pointwise,
 * dense and conv). No SDOT: the A72 has none; widening multiply-accumulate instead. */
#if defined(__aarch64__) && defined(__ARM_NEON)
#define TM2_HAVE_NEON 1
#else
#define TM2_HAVE_NEON 0
#endif

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define TM2_HAVE_DSP 1
#else
#define TM2_HAVE_DSP 0
#endif

/* Hot inner loops live in small non-inlined functions: inlined into their large callers they
 * compete for registers with the outer loops' state and gcc spills accumulators to the stack. */
#if defined(__GNUC__)
#define TM2_NOINLINE __attribute__((noinline))
#else
#define TM2_NOINLINE
#endif

/** 4 bytes from any address (compiles to one LDR on cores with unaligned access). */
static inline uint32_t tm2_load_u32(const void *p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/** Stores 4 bytes at any address (one STR on cores with unaligned access). */
static inline void tm2_store_u32(void *p, uint32_t v) { memcpy(p, &v, sizeof v); }

/** Packs two int16 values into a pair word. */
static inline uint32_t tm2_pack16(int32_t lo, int32_t hi) {
  return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}

#if TM2_HAVE_DSP

/** Bytes 0 and 2 sign-extended to a pair. */
static inline uint32_t tm2_sxtb16(uint32_t x) { return (uint32_t)__sxtb16((int8x4_t)x); }
/** Bytes 1 and 3 sign-extended to a pair (SXTB16 with ROR #8). */
static inline uint32_t tm2_sxtb16_ror8(uint32_t x) {
  uint32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
}
/** a + sign-extended bytes 0 and 2 of x, per half (mod 2^16). */
static inline uint32_t tm2_sxtab16(uint32_t a, uint32_t x) {
  return (uint32_t)__sxtab16((int16x2_t)a, (int8x4_t)x);
}
/** a + sign-extended bytes 1 and 3 of x, per half (mod 2^16). */
static inline uint32_t tm2_sxtab16_ror8(uint32_t a, uint32_t x) {
  uint32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
  return r;
}
/** acc + lo(x)*lo(y) + hi(x)*hi(y) (mod 2^32). */
static inline int32_t tm2_smlad(uint32_t x, uint32_t y, int32_t acc) {
  return __smlad((int16x2_t)x, (int16x2_t)y, acc);
}
/** acc + lo(x)*lo(y). */
static inline int32_t tm2_smlabb(uint32_t x, uint32_t y, int32_t acc) {
  return __smlabb((int32_t)x, (int32_t)y, acc);
}
/** acc + hi(x)*hi(y). */
static inline int32_t tm2_smlatt(uint32_t x, uint32_t y, int32_t acc) {
  return __smlatt((int32_t)x, (int32_t)y, acc);
}
/** acc + lo(x)*hi(y). */
static inline int32_t tm2_smlabt(uint32_t x, uint32_t y, int32_t acc) {
  return __smlabt((int32_t)x, (int32_t)y, acc);
}
/** acc + hi(x)*lo(y). */
static inline int32_t tm2_smlatb(uint32_t x, uint32_t y, int32_t acc) {
  return __smlatb((int32_t)x, (int32_t)y, acc);
}

/** Per byte, the larger signed value of a and b (SSUB8 sets the GE flags of bytes where a >= b, SEL picks). */
static inline uint32_t tm2_max_s8x4(uint32_t a, uint32_t b) {
  (void)__ssub8((int8x4_t)a, (int8x4_t)b);
  return (uint32_t)__sel((uint8x4_t)a, (uint8x4_t)b);
}

#else /* portable C with identical results */

static inline uint32_t tm2_max_s8x4(uint32_t a, uint32_t b) {
  uint32_t r = 0;
  int n;
  for (n = 0; n < 4; n++) {
    const int32_t x = (int32_t)(int8_t)(uint8_t)(a >> (8 * n)), y = (int32_t)(int8_t)(uint8_t)(b >> (8 * n));
    r |= (uint32_t)(uint8_t)(x >= y ? x : y) << (8 * n);
  }
  return r;
}

static inline int32_t tm2__lo16(uint32_t x) { return (int32_t)(int16_t)(uint16_t)(x & 0xFFFFu); }
static inline int32_t tm2__hi16(uint32_t x) { return (int32_t)(int16_t)(uint16_t)(x >> 16); }
static inline int32_t tm2__byte(uint32_t x, int n) { return (int32_t)(int8_t)(uint8_t)(x >> (8 * n)); }

static inline uint32_t tm2_sxtb16(uint32_t x) { return tm2_pack16(tm2__byte(x, 0), tm2__byte(x, 2)); }
static inline uint32_t tm2_sxtb16_ror8(uint32_t x) { return tm2_pack16(tm2__byte(x, 1), tm2__byte(x, 3)); }
static inline uint32_t tm2_sxtab16(uint32_t a, uint32_t x) {
  return tm2_pack16(tm2__lo16(a) + tm2__byte(x, 0), tm2__hi16(a) + tm2__byte(x, 2));
}
static inline uint32_t tm2_sxtab16_ror8(uint32_t a, uint32_t x) {
  return tm2_pack16(tm2__lo16(a) + tm2__byte(x, 1), tm2__hi16(a) + tm2__byte(x, 3));
}
static inline int32_t tm2_smlad(uint32_t x, uint32_t y, int32_t acc) {
  const uint32_t s = (uint32_t)acc + (uint32_t)(tm2__lo16(x) * tm2__lo16(y)) + (uint32_t)(tm2__hi16(x) * tm2__hi16(y));
  return (int32_t)s;
}
static inline int32_t tm2_smlabb(uint32_t x, uint32_t y, int32_t acc) {
  return (int32_t)((uint32_t)acc + (uint32_t)(tm2__lo16(x) * tm2__lo16(y)));
}
static inline int32_t tm2_smlatt(uint32_t x, uint32_t y, int32_t acc) {
  return (int32_t)((uint32_t)acc + (uint32_t)(tm2__hi16(x) * tm2__hi16(y)));
}
static inline int32_t tm2_smlabt(uint32_t x, uint32_t y, int32_t acc) {
  return (int32_t)((uint32_t)acc + (uint32_t)(tm2__lo16(x) * tm2__hi16(y)));
}
static inline int32_t tm2_smlatb(uint32_t x, uint32_t y, int32_t acc) {
  return (int32_t)((uint32_t)acc + (uint32_t)(tm2__hi16(x) * tm2__lo16(y)));
}

#endif

/**
 * Eight packed INT4 weights (one 32-bit word, nibble i = value i) -> four pairs holding
 * 16 * weight: (w0,w4) (w2,w6) (w1,w5) (w3,w7), in that order. Masking the even nibbles into
 * the top of each byte and sign-extending bytes with SXTB16 costs 6 instructions for 8
 * weights (as much as INT8 weights); the accumulator carries a factor 16 that the caller
 * removes exactly with >> 4 (all products are multiples of 16).
 */
static inline void tm2_unpack_s4x8(uint32_t w, uint32_t q[4]) {
  const uint32_t even = (w << 4) & 0xF0F0F0F0u; /* nibbles 0,2,4,6 in the top of bytes 0..3 */
  const uint32_t odd = w & 0xF0F0F0F0u;         /* nibbles 1,3,5,7 */
  q[0] = tm2_sxtb16(even);      /* (w0, w4) */
  q[1] = tm2_sxtb16_ror8(even); /* (w2, w6) */
  q[2] = tm2_sxtb16(odd);       /* (w1, w5) */
  q[3] = tm2_sxtb16_ror8(odd);  /* (w3, w7) */
}

/** The 8 nibbles starting at nibble index `nib` of a packed INT4 array, as one word. */
static inline uint32_t tm2_load_s4x8(const int8_t *packed, int32_t nib) {
  const uint8_t *b = (const uint8_t *)packed + (nib >> 1);
  if ((nib & 1) == 0) return tm2_load_u32(b);
  return (tm2_load_u32(b) >> 4) | ((uint32_t)b[4] << 28);
}

/** Up to 8 nibbles (n < 8) starting at `nib`, zero-filled, never reading past them. */
static inline uint32_t tm2_load_s4_tail(const int8_t *packed, int32_t nib, int32_t n) {
  uint32_t v = 0;
  int32_t i;
  for (i = 0; i < n; i++) v |= ((uint32_t)tm2_s4_get(packed, nib + i) & 0xFu) << (4 * i);
  return v;
}

/** Up to 4 bytes (n < 4), zero-filled, never reading past them. */
static inline uint32_t tm2_load_s8_tail(const int8_t *p, int32_t n) {
  uint32_t v = 0;
  int32_t i;
  for (i = 0; i < n; i++) v |= (uint32_t)(uint8_t)p[i] << (8 * i);
  return v;
}

#if TM2_HAVE_NEON
#include <arm_neon.h>

/*
 * Requantizes the accumulators of channels o..o+3 (bias included) and stores the 4 bytes: SQDMULH =
 * floor(acc * M / 2^31), then a rounding shift right by -shift (SRSHL) gives tm2_requant's rq exactly
 * (the proof is in neon.h); channels with shift >= 0 (r <= 31) take tm2_requant itself.
 */
static inline void tm2_neon_requant4(const tm2_conv_params *p, int32_t o, int32x4_t acc, int8_t *out) {
  const int32x4_t sh = vld1q_s32(p->shift + o);
  if (vmaxvq_s32(sh) <= -1) {
    int32x4_t t = vrshlq_s32(vqdmulhq_s32(acc, vld1q_s32(p->multiplier + o)), sh);
    int16x4_t h;
    uint32_t bytes;
    t = vaddq_s32(t, vdupq_n_s32(p->out_zp)); /* r >= 32: |rq| <= 2^30, no overflow */
    t = vmaxq_s32(t, vdupq_n_s32(p->act_min));
    t = vminq_s32(t, vdupq_n_s32(p->act_max));
    h = vmovn_s32(t);
    bytes = vget_lane_u32(vreinterpret_u32_s8(vmovn_s16(vcombine_s16(h, h))), 0);
    memcpy(out, &bytes, 4);
  } else {
    int32_t a[4], i;
    vst1q_s32(a, acc);
    for (i = 0; i < 4; i++)
      out[i] = tm2_requant(a[i], p->multiplier[o + i], p->shift[o + i], p->out_zp, p->act_min, p->act_max);
  }
}

#endif

#endif /* TM2_SIMD_H */
