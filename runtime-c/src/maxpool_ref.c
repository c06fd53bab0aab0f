/* maxpool_ref.c - reference max pooling over the valid part of each window (padding ignored); in/out
 * share scale and zp. The definition maxpool.c (the optimized kernel) is tested against. */
#include "tm2.h"

void tm2_ref_maxpool_s8(const tm2_pool_params *p, const int8_t *in, int8_t *out) {
  int32_t oy, ox, c, y, x;
  for (oy = 0; oy < p->out_h; oy++) {
    const int32_t y0 = oy * p->stride_h - p->pad_top;
    const int32_t ya = y0 < 0 ? 0 : y0, yb = y0 + p->kernel_h > p->in_h ? p->in_h : y0 + p->kernel_h;
    for (ox = 0; ox < p->out_w; ox++) {
      const int32_t x0 = ox * p->stride_w - p->pad_left;
      const int32_t xa = x0 < 0 ? 0 : x0, xb = x0 + p->kernel_w > p->in_w ? p->in_w : x0 + p->kernel_w;
      int8_t *o = out + (oy * p->out_w + ox) * p->c;
      /* A window wholly in the padding has no value: it outputs the zero point (real 0). */
      for (c = 0; c < p->c; c++) o[c] = (int8_t)((ya < yb && xa < xb) ? -128 : p->zp);
      /* Channels innermost: contiguous reads, one compare per value. */
      for (y = ya; y < yb; y++)
        for (x = xa; x < xb; x++) {
          const int8_t *i = in + (y * p->in_w + x) * p->c;
          for (c = 0; c < p->c; c++)
            if (i[c] > o[c]) o[c] = i[c];
        }
    }
  }
}
