/* avgpool_ref.c - reference average pooling, divisor and rounding as ARITHMETIC.md (div_round half away
 * from 0). The definition avgpool.c (the optimized kernel) is tested against. */
#include "tm2.h"

/* acc / n rounded half away from zero, C integer division. */
static int32_t div_round(int32_t acc, int32_t n) {
  return acc >= 0 ? (acc + n / 2) / n : -((-acc + n / 2) / n);
}

static int32_t min32(int32_t a, int32_t b) { return a < b ? a : b; }
static int32_t max32(int32_t a, int32_t b) { return a > b ? a : b; }

void tm2_ref_avgpool_s8(const tm2_pool_params *p, const int8_t *in, int8_t *out) {
  int32_t oy, ox, c, y, x;
  for (oy = 0; oy < p->out_h; oy++) {
    const int32_t y0 = oy * p->stride_h - p->pad_top, y1 = y0 + p->kernel_h;
    const int32_t ya = max32(y0, 0), yb = min32(y1, p->in_h);
    /* Rows of the window counted in the divisor. */
    const int32_t ny = p->count_include_pad ? min32(y1, p->in_h + p->pad_bottom) - max32(y0, -p->pad_top) : yb - ya;
    for (ox = 0; ox < p->out_w; ox++) {
      const int32_t x0 = ox * p->stride_w - p->pad_left, x1 = x0 + p->kernel_w;
      const int32_t xa = max32(x0, 0), xb = min32(x1, p->in_w);
      const int32_t nx = p->count_include_pad ? min32(x1, p->in_w + p->pad_right) - max32(x0, -p->pad_left) : xb - xa;
      const int32_t n = ny * nx;
      for (c = 0; c < p->c; c++) {
        int32_t acc = 0, v;
        for (y = ya; y < yb; y++)
          for (x = xa; x < xb; x++) acc += in[(y * p->in_w + x) * p->c + c] - p->zp;
        v = n > 0 ? p->zp + div_round(acc, n) : p->zp;
        out[(oy * p->out_w + ox) * p->c + c] = (int8_t)(v < p->act_min ? p->act_min : v > p->act_max ? p->act_max : v);
      }
    }
  }
}
