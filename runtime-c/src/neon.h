/*
 * neon.h - private: the AArch64 Advanced SIMD kernels of the rpi4 board (Cortex-A72: no SDOT, so
 * widening multiply-accumulate) and their shared output stage. Each tm2_neon_* kernel returns 1 when it
 * computed the layer and 0 when the shape is not one it handles (the caller then runs its portable
 * path); the reference kernels (*_ref.c) are the definitions they are tested against.
 *
 * Output stage, exact: with P = acc * M and r = 31 - shift >= 32 (shift <= -1),
 *   SQDMULH gives t = floor(P / 2^31) (no saturation: M < 2^31), and SRSHL by shift (a rounding right
 *   shift by n = -shift) gives floor((t + 2^(n-1)) / 2^n) = floor((P + 2^(r-1)) / 2^r) = rq exactly:
 *   adding the integer 2^(n-1) commutes with the inner floor, and nested floors of divisions compose.
 *   Ties round up, as ARITHMETIC.md says (SRSHL rounds half up; gemmlowp's RoundingDivideByPOT, which
 *   rounds half away from zero, is not used). SQRDMULH would round twice and is not used either.
 *   Narrowing saturates (SQXTN to int16, SQADD of the zero point, SQXTN to int8), then SMAX/SMIN clamp:
 *   a value that saturated was already beyond [-128, 127], so the clamp gives what the exact sum does.
 * Channels with shift >= 0 (r <= 31, real multiplier >= 1/2) take the scalar tm2_requant.
 */
#ifndef TM2_NEON_H
#define TM2_NEON_H

#include "tm2_simd.h"

#if TM2_HAVE_NEON

/** Bytes of the stack buffer the GEMM kernels pack weight rows into (zero-padded to 16, 4 rows interleaved). */
#ifndef TM2_NEON_PACK_BYTES
#define TM2_NEON_PACK_BYTES 4096
#endif

/** Bytes of the stack image neon_gemm.c pads a small conv input into (first layers). */
#ifndef TM2_NEON_PAD_BYTES
#define TM2_NEON_PAD_BYTES 4096
#endif

int tm2_neon_conv(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out);
int tm2_neon_pointwise(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out);
int tm2_neon_dense(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out);
int tm2_neon_depthwise(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out);
int tm2_neon_maxpool(const tm2_pool_params *p, const int8_t *in, int8_t *out);
int tm2_neon_gap(const int8_t *in, int32_t n, int32_t c, int32_t zp, int32_t act_min, int32_t act_max, int8_t *out);

/** rq of four accumulators (every shift <= -1): SQDMULH, then SRSHL by the (negative) shift. */
static inline int32x4_t tm2_neon_rq(int32x4_t acc, int32x4_t mul, int32x4_t shift) {
  return vrshlq_s32(vqdmulhq_s32(acc, mul), shift);
}

/** clamp(rq + zp) of 16 values (four rq vectors, in order) as bytes. */
static inline int8x16_t tm2_neon_narrow16(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d, int16x8_t zp,
                                          int8x16_t lo, int8x16_t hi) {
  const int16x8_t ab = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(a), b), zp);
  const int16x8_t cd = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(c), d), zp);
  return vminq_s8(vmaxq_s8(vqmovn_high_s16(vqmovn_s16(ab), cd), lo), hi);
}

#endif

#endif /* TM2_NEON_H */
