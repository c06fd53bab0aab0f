/*
 * mul.c - elementwise product of two activations, one requantization. The parameters are read into locals
 * once: stores to the int8 output could alias *p, which would make the compiler reload them per element.
 * Four elements per step from word loads (every product |(a - a_zp) * (b - b_zp)| <= 2^16, any shift).
 * AArch64: 16 per step, products widened to int32 and requantized by neon.h's exact output stage (shift <= -1).
 */
#include "neon.h"

void tm2_mul_s8(const tm2_mul_params *p, const int8_t *a, const int8_t *b, int8_t *out) {
  const int32_t n = p->size, a_zp = p->a_zp, b_zp = p->b_zp, mult = p->multiplier, shift = p->shift;
  const int32_t out_zp = p->out_zp, act_min = p->act_min, act_max = p->act_max;
  int32_t i = 0;
#if TM2_HAVE_NEON
  if (shift <= -1) {
    const int16x8_t za = vdupq_n_s16((int16_t)a_zp), zb = vdupq_n_s16((int16_t)b_zp), zo = vdupq_n_s16((int16_t)out_zp);
    const int32x4_t m = vdupq_n_s32(mult), s = vdupq_n_s32(shift);
    const int8x16_t lo = vdupq_n_s8((int8_t)act_min), hi = vdupq_n_s8((int8_t)act_max);
    for (; i + 16 <= n; i += 16) {
      const int8x16_t x = vld1q_s8(a + i), y = vld1q_s8(b + i);
      const int16x8_t xl = vsubq_s16(vmovl_s8(vget_low_s8(x)), za), xh = vsubq_s16(vmovl_high_s8(x), za);
      const int16x8_t yl = vsubq_s16(vmovl_s8(vget_low_s8(y)), zb), yh = vsubq_s16(vmovl_high_s8(y), zb);
      vst1q_s8(out + i, tm2_neon_narrow16(tm2_neon_rq(vmull_s16(vget_low_s16(xl), vget_low_s16(yl)), m, s),
                                          tm2_neon_rq(vmull_high_s16(xl, yl), m, s),
                                          tm2_neon_rq(vmull_s16(vget_low_s16(xh), vget_low_s16(yh)), m, s),
                                          tm2_neon_rq(vmull_high_s16(xh, yh), m, s), zo, lo, hi));
    }
  }
#endif
  for (; i + 4 <= n; i += 4) {
    const uint32_t x = tm2_load_u32(a + i), y = tm2_load_u32(b + i);
    int32_t k;
    for (k = 0; k < 4; k++) {
      const int32_t xa = (int8_t)(x >> (8 * k)), yb = (int8_t)(y >> (8 * k));
      out[i + k] = tm2_requant((xa - a_zp) * (yb - b_zp), mult, shift, out_zp, act_min, act_max);
    }
  }
  for (; i < n; i++) out[i] = tm2_requant((a[i] - a_zp) * (b[i] - b_zp), mult, shift, out_zp, act_min, act_max);
}
