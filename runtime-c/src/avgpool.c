/*
 * avgpool.c - optimized average pooling (the definition: avgpool_ref.c; divisor and rounding as
 * ARITHMETIC.md). The window's valid positions are summed 4 channels at a time as raw values with
 * SXTAB16 (even and odd channels in int16 halves: exact while the window has at most 256 valid
 * positions, 256 * 128 = 2^15), then zp times the valid count is subtracted once per channel:
 * sum(x - zp) = sum(x) - n_valid * zp. Windows of more than 256 valid positions and the last c % 4
 * channels take the reference loop's arithmetic per channel.
 */
#include "tm2_simd.h"

/* acc / n rounded half away from zero, C integer division (as avgpool_ref.c). */
static int32_t div_round(int32_t acc, int32_t n) {
  return acc >= 0 ? (acc + n / 2) / n : -((-acc + n / 2) / n);
}

static int32_t min32(int32_t a, int32_t b) { return a < b ? a : b; }
static int32_t max32(int32_t a, int32_t b) { return a > b ? a : b; }

static int8_t finish(const tm2_pool_params *p, int32_t acc, int32_t n) {
  const int32_t v = n > 0 ? p->zp + div_round(acc, n) : p->zp;
  return (int8_t)(v < p->act_min ? p->act_min : v > p->act_max ? p->act_max : v);
}

void tm2_avgpool_s8(const tm2_pool_params *p, const int8_t *in, int8_t *out) {
  const int32_t c = p->c, row = p->in_w * c;
  int32_t oy, ox, i, y, x;
  for (oy = 0; oy < p->out_h; oy++) {
    const int32_t y0 = oy * p->stride_h - p->pad_top, y1 = y0 + p->kernel_h;
    const int32_t ya = max32(y0, 0), yb = min32(y1, p->in_h);
    /* Rows of the window counted in the divisor. */
    const int32_t ny = p->count_include_pad ? min32(y1, p->in_h + p->pad_bottom) - max32(y0, -p->pad_top) : yb - ya;
    for (ox = 0; ox < p->out_w; ox++) {
      const int32_t x0 = ox * p->stride_w - p->pad_left, x1 = x0 + p->kernel_w;
      const int32_t xa = max32(x0, 0), xb = min32(x1, p->in_w);
      const int32_t nx = p->count_include_pad ? min32(x1, p->in_w + p->pad_right) - max32(x0, -p->pad_left) : xb - xa;
      const int32_t n = ny * nx, valid = (yb > ya && xb > xa) ? (yb - ya) * (xb - xa) : 0;
      const int32_t zsum = valid * p->zp;
      const int8_t *first = valid ? in + (ya * p->in_w + xa) * c : in;
      int8_t *o = out + (oy * p->out_w + ox) * c;
      i = 0;
      if (valid > 0 && valid <= 256) {
        for (; i + 4 <= c; i += 4) {
          const int8_t *r = first + i;
          uint32_t se = 0, so = 0; /* (x0, x2) and (x1, x3) sums, int16 halves */
          for (y = ya; y < yb; y++, r += row) {
            const int8_t *t = r;
            for (x = xa; x < xb; x++, t += c) {
              const uint32_t v = tm2_load_u32(t);
              se = tm2_sxtab16(se, v);
              so = tm2_sxtab16_ror8(so, v);
            }
          }
          o[i] = finish(p, (int32_t)(int16_t)(se & 0xFFFFu) - zsum, n);
          o[i + 1] = finish(p, (int32_t)(int16_t)(so & 0xFFFFu) - zsum, n);
          o[i + 2] = finish(p, (int32_t)(int16_t)(se >> 16) - zsum, n);
          o[i + 3] = finish(p, (int32_t)(int16_t)(so >> 16) - zsum, n);
        }
      }
      for (; i < c; i++) {
        const int8_t *r = first + i;
        int32_t acc = 0;
        if (valid > 0)
          for (y = ya; y < yb; y++, r += row) {
            const int8_t *t = r;
            for (x = xa; x < xb; x++, t += c) acc += *t - p->zp;
          }
        o[i] = finish(p, acc, n);
      }
    }
  }
}
