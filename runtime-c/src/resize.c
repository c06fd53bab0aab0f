/*
 * resize.c - ONNX Resize on the H and W axes of an [H][W][C] activation (ARITHMETIC.md "Resize").
 * The compiler resolves ONNX's coordinate transformation and nearest rounding modes into
 * per-output-row and per-output-column source tables, so the kernels only gather:
 *   nearest:  out[oy][ox][c] = in[y0[oy]][x0[ox]][c]
 *   bilinear: with d(y, x) = in[y][x][c] - zp and Q10 weights wy, wx in [0, 1024],
 *             acc = (1024 - wy[oy]) * ((1024 - wx[ox]) * d(y0, x0) + wx[ox] * d(y0, x1))
 *                 + wy[oy] * ((1024 - wx[ox]) * d(y1, x0) + wx[ox] * d(y1, x1))
 *             out = clamp(zp + ((acc + 2^19) >> 20), act_min, act_max)
 * In and out share scale and zero point.
 */
#include <string.h>

#include "tm2.h"

void tm2_resize_nearest_s8(const tm2_resize_params *p, const int8_t *in, int8_t *out) {
  const int32_t c = p->c;
  int32_t oy, ox;
  for (oy = 0; oy < p->out_h; oy++) {
    const int8_t *row = in + p->y0[oy] * p->in_w * c;
    if (oy > 0 && p->y0[oy] == p->y0[oy - 1]) { /* same source row as the previous output row */
      memcpy(out, out - p->out_w * c, (size_t)(p->out_w * c));
      out += p->out_w * c;
      continue;
    }
    for (ox = 0; ox < p->out_w; ox++, out += c) memcpy(out, row + p->x0[ox] * c, (size_t)c);
  }
}

void tm2_resize_bilinear_s8(const tm2_resize_params *p, const int8_t *in, int8_t *out) {
  const int32_t c = p->c, zp = p->zp, stride = p->in_w * c;
  int32_t oy, ox, ch;
  for (oy = 0; oy < p->out_h; oy++) {
    const int8_t *r0 = in + p->y0[oy] * stride, *r1 = in + p->y1[oy] * stride;
    const int32_t wy = p->wy[oy];
    for (ox = 0; ox < p->out_w; ox++) {
      const int32_t wx = p->wx[ox], a = p->x0[ox] * c, b = p->x1[ox] * c;
      for (ch = 0; ch < c; ch++) {
        const int32_t top = (1024 - wx) * (r0[a + ch] - zp) + wx * (r0[b + ch] - zp);
        const int32_t bot = (1024 - wx) * (r1[a + ch] - zp) + wx * (r1[b + ch] - zp);
        const int32_t acc = (1024 - wy) * top + wy * bot; /* |acc| <= 2^20 * 255 */
        const int32_t v = zp + ((acc + (1 << 19)) >> 20);
        *out++ = (int8_t)(v < p->act_min ? p->act_min : v > p->act_max ? p->act_max : v);
      }
    }
  }
}
