/*
 * maxpool.c - optimized max pooling (the definition: maxpool_ref.c). Each output pixel's valid window
 * is found once; then, 4 channels at a time, the first valid position is loaded and every other one
 * folded in with a 4-byte signed max (SSUB8 + SEL on DSP cores): about 5 instructions per tap and 4
 * channels instead of ~6 per tap and channel. The last c % 4 channels take the scalar loop.
 */
#include "neon.h" /* AArch64: neon_pool.c */

void tm2_maxpool_s8(const tm2_pool_params *p, const int8_t *in, int8_t *out) {
  const int32_t c = p->c, c4 = c & ~3, row = p->in_w * c;
  int32_t oy, ox, i, y, x;
#if TM2_HAVE_NEON
  if (tm2_neon_maxpool(p, in, out)) return;
#endif
  for (oy = 0; oy < p->out_h; oy++) {
    const int32_t y0 = oy * p->stride_h - p->pad_top;
    const int32_t ya = y0 < 0 ? 0 : y0, yb = y0 + p->kernel_h > p->in_h ? p->in_h : y0 + p->kernel_h;
    for (ox = 0; ox < p->out_w; ox++) {
      const int32_t x0 = ox * p->stride_w - p->pad_left;
      const int32_t xa = x0 < 0 ? 0 : x0, xb = x0 + p->kernel_w > p->in_w ? p->in_w : x0 + p->kernel_w;
      const int32_t nx = xb - xa;
      int8_t *o = out + (oy * p->out_w + ox) * c;
      const int8_t *first = in + (ya * p->in_w + xa) * c;
      if (ya >= yb || xa >= xb) { /* a window wholly in the padding outputs the zero point (real 0) */
        for (i = 0; i < c; i++) o[i] = (int8_t)p->zp;
        continue;
      }
      for (i = 0; i < c4; i += 4) {
        const int8_t *r = first + i;
        uint32_t m = tm2_load_u32(r);
        for (y = ya; y < yb; y++, r += row) {
          const int8_t *t = r;
          for (x = 0; x < nx; x++, t += c) m = tm2_max_s8x4(m, tm2_load_u32(t));
        }
        tm2_store_u32(o + i, m);
      }
      for (; i < c; i++) {
        const int8_t *r = first + i;
        int8_t m = *r;
        for (y = ya; y < yb; y++, r += row) {
          const int8_t *t = r;
          for (x = 0; x < nx; x++, t += c)
            if (*t > m) m = *t;
        }
        o[i] = m;
      }
    }
  }
}
