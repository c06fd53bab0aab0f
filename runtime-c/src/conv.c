/*
 * conv.c - optimized standard / grouped convolution (1-D and 2-D, strides, dilation, padding):
 * im2col of two output pixels at a time into int16 columns (padding = 0 after the zero-point
 * subtraction), then the matrix-multiply core per group, two output channels at a time.
 */
#include <string.h>

#include "tm2_mm.h"

size_t tm2_conv_scratch_size(const tm2_conv_params *p) {
  return tm2_col_pair_bytes(p->kernel_h * p->kernel_w * (p->in_c / p->groups));
}

/* Column of output pixel (oy, ox) for group g, group stride `stride` words. */
static void im2col(const tm2_conv_params *p, const int8_t *in, int32_t bits, int32_t g, int32_t oy, int32_t ox,
                   uint32_t *col, int32_t stride) {
  const int32_t cin_g = p->in_c / p->groups;
  const int32_t k = p->kernel_h * p->kernel_w * cin_g, gv = tm2_col_group_values(bits);
  int32_t ky, kx, c, i = 0;
  /* The last partial group of the column is read whole: give it defined contents. */
  if (k % gv) memset(col + (k / gv) * stride, 0, (size_t)tm2_col_group_words(bits) * sizeof(uint32_t));
  for (ky = 0; ky < p->kernel_h; ky++) {
    const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
    for (kx = 0; kx < p->kernel_w; kx++) {
      const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
      if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
        for (c = 0; c < cin_g; c++, i++) tm2_col_put(col, bits, stride, i, 0);
      } else {
        const int8_t *x = in + (iy * p->in_w + ix) * p->in_c + g * cin_g;
        for (c = 0; c < cin_g; c++, i++) tm2_col_put(col, bits, stride, i, x[c] - p->in_zp);
      }
    }
  }
}

static void conv(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out,
                 void *scratch) {
  const int32_t cin_g = p->in_c / p->groups, cout_g = p->out_c / p->groups;
  const int32_t k = p->kernel_h * p->kernel_w * cin_g;
  const int32_t pixels = p->out_h * p->out_w;
  const int32_t gw = tm2_col_group_words(bits);
  uint32_t *col = (uint32_t *)scratch;
  int32_t px, g;
  for (px = 0; px < pixels; px += 2) {
    const int two = px + 1 < pixels;
    for (g = 0; g < p->groups; g++) {
      im2col(p, in, bits, g, px / p->out_w, px % p->out_w, col, two ? 2 * gw : gw);
      if (two) im2col(p, in, bits, g, (px + 1) / p->out_w, (px + 1) % p->out_w, col + gw, 2 * gw);
      if (bits == 8)
        tm2_mm_s8(p, w, k, col, two, g * cout_g, (g + 1) * cout_g, out + px * p->out_c, out + (px + 1) * p->out_c);
      else
        tm2_mm_s4(p, w, k, col, two, g * cout_g, (g + 1) * cout_g, out + px * p->out_c, out + (px + 1) * p->out_c);
    }
  }
}

void tm2_conv_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out, void *scratch) {
  conv(p, in, w, 8, out, scratch);
}

void tm2_conv_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out, void *scratch) {
  conv(p, in, w_packed, 4, out, scratch);
}
