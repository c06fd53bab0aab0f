/*
 * conv_transpose_ref.c - reference transposed convolution (the readable definition) (ONNX ConvTranspose, 1-D and 2-D, strides, dilation,
 * padding, groups), written as a gather so every output is one accumulator and one requant
 * (ARITHMETIC.md "ConvTranspose"). Weights OHWI [Cout][KH][KW][Cin/groups] like conv (the
 * compiler reorders ONNX's [Cin][Cout/groups][KH][KW]). Input position (iy, ix) feeds output
 * (iy*stride_h - pad_top + ky*dilation_h, ...); output_padding only adds rows/columns, which
 * follow from out_h / out_w.
 */
#include "ref_weights.h"

/* The input index feeding output o through tap k, or -1 when there is none. */
static inline int32_t source(int32_t o, int32_t k, int32_t stride, int32_t pad, int32_t dilation, int32_t size) {
  const int32_t t = o + pad - k * dilation;
  int32_t i;
  if (t < 0) return -1;
  i = t / stride;
  return (i * stride == t && i < size) ? i : -1;
}

static void conv_transpose(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out) {
  const int32_t cin_g = p->in_c / p->groups, cout_g = p->out_c / p->groups;
  int32_t oy, ox, o, ky, kx, c;
  for (oy = 0; oy < p->out_h; oy++) {
    for (ox = 0; ox < p->out_w; ox++) {
      for (o = 0; o < p->out_c; o++) {
        const int32_t g = o / cout_g;
        int32_t acc = p->bias ? p->bias[o] : 0;
        for (ky = 0; ky < p->kernel_h; ky++) {
          const int32_t iy = source(oy, ky, p->stride_h, p->pad_top, p->dilation_h, p->in_h);
          if (iy < 0) continue;
          for (kx = 0; kx < p->kernel_w; kx++) {
            const int32_t ix = source(ox, kx, p->stride_w, p->pad_left, p->dilation_w, p->in_w);
            const int8_t *x;
            int32_t wi;
            if (ix < 0) continue;
            x = in + (iy * p->in_w + ix) * p->in_c + g * cin_g;
            wi = ((o * p->kernel_h + ky) * p->kernel_w + kx) * cin_g;
            for (c = 0; c < cin_g; c++) acc += (x[c] - p->in_zp) * tm2_ref_weight(w, bits, wi + c);
          }
        }
        *out++ = tm2_requant(acc, p->multiplier[o], p->shift[o], p->out_zp, p->act_min, p->act_max);
      }
    }
  }
}

void tm2_ref_conv_transpose_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out) {
  conv_transpose(p, in, w, 8, out);
}

void tm2_ref_conv_transpose_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out) {
  conv_transpose(p, in, w_packed, 4, out);
}
