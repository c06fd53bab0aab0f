/*
 * neon_pool.c - AArch64 Advanced SIMD global average pool and max pool (rpi4): 16 channels per vector, raw values
 * summed per pixel with SADDW into int16 lanes (exact for up to 256 pixels: 256 * 128 = 2^15), those
 * partial sums widened into int32 every 256 pixels; then sum(q - zp) = sum(q) - n * zp and the rounding
 * division of ARITHMETIC.md per channel. A channel count that is not a multiple of 16 ends with a
 * vector overlapping the previous one; fewer than 16 channels take gap.c's loop. Max pool below.
 */
#include "neon.h"

#if TM2_HAVE_NEON

int tm2_neon_gap(const int8_t *in, int32_t n, int32_t c, int32_t zp, int32_t act_min, int32_t act_max, int8_t *out) {
  int32_t ch;
  if (c < 16 || n < 1) return 0;
  for (ch = 0; ch < c; ch += 16) {
    int32x4_t s[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
    int32_t i0, i, acc[16];
    if (ch > c - 16) ch = c - 16;
    for (i0 = 0; i0 < n; i0 += 256) {
      const int32_t i1 = n - i0 < 256 ? n : i0 + 256;
      int16x8_t l = vdupq_n_s16(0), h = l;
      const int8_t *x = in + i0 * c + ch;
      for (i = i0; i < i1; i++, x += c) {
        const int8x16_t v = vld1q_s8(x);
        l = vaddw_s8(l, vget_low_s8(v));
        h = vaddw_high_s8(h, v);
      }
      s[0] = vaddw_s16(s[0], vget_low_s16(l));
      s[1] = vaddw_high_s16(s[1], l);
      s[2] = vaddw_s16(s[2], vget_low_s16(h));
      s[3] = vaddw_high_s16(s[3], h);
    }
    for (i = 0; i < 4; i++) vst1q_s32(acc + 4 * i, s[i]);
    for (i = 0; i < 16; i++) {
      const int32_t a = acc[i] - zp * n, v = zp + (a >= 0 ? (a + n / 2) / n : -((-a + n / 2) / n));
      out[ch + i] = (int8_t)(v < act_min ? act_min : v > act_max ? act_max : v);
    }
  }
  return 1;
}

/*
 * Max pool: per output pixel, the valid window (as maxpool.c) folded with SMAX, 16 channels per vector (8 when
 * there are 8 to 15), the last vector overlapping the previous one. Fewer than 8 channels: maxpool.c's loop.
 */
int tm2_neon_maxpool(const tm2_pool_params *p, const int8_t *in, int8_t *out) {
  const int32_t c = p->c, row = p->in_w * c, lanes = c >= 16 ? 16 : 8;
  int32_t oy, ox, ch, y, x;
  if (c < 8) return 0;
  for (oy = 0; oy < p->out_h; oy++) {
    const int32_t y0 = oy * p->stride_h - p->pad_top;
    const int32_t ya = y0 < 0 ? 0 : y0, yb = y0 + p->kernel_h > p->in_h ? p->in_h : y0 + p->kernel_h;
    for (ox = 0; ox < p->out_w; ox++) {
      const int32_t x0 = ox * p->stride_w - p->pad_left;
      const int32_t xa = x0 < 0 ? 0 : x0, xb = x0 + p->kernel_w > p->in_w ? p->in_w : x0 + p->kernel_w;
      int8_t *o = out + (oy * p->out_w + ox) * c;
      const int8_t *first = in + (ya * p->in_w + xa) * c;
      if (ya >= yb || xa >= xb) { /* a window wholly in the padding outputs the zero point (real 0) */
        for (ch = 0; ch < c; ch++) o[ch] = (int8_t)p->zp;
        continue;
      }
      for (ch = 0; ch < c; ch += lanes) {
        const int8_t *r;
        if (ch > c - lanes) ch = c - lanes;
        r = first + ch;
        if (lanes == 16) {
          int8x16_t m = vld1q_s8(r);
          for (y = ya; y < yb; y++, r += row)
            for (x = 0; x < xb - xa; x++) m = vmaxq_s8(m, vld1q_s8(r + x * c));
          vst1q_s8(o + ch, m);
        } else {
          int8x8_t m = vld1_s8(r);
          for (y = ya; y < yb; y++, r += row)
            for (x = 0; x < xb - xa; x++) m = vmax_s8(m, vld1_s8(r + x * c));
          vst1_s8(o + ch, m);
        }
      }
    }
  }
  return 1;
}

#else
/* Not an AArch64 NEON build: gap.c's and maxpool.c's loops. ISO C wants a declaration. */
typedef int tm2_neon_pool_unused;
#endif
