/* depthwise_ref.c - reference depthwise convolution with channel multiplier. */
#include "ref_weights.h"

static void ref_depthwise(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out) {
  int32_t oy, ox, o, ky, kx;
  for (oy = 0; oy < p->out_h; oy++) {
    for (ox = 0; ox < p->out_w; ox++) {
      for (o = 0; o < p->out_c; o++) {
        const int32_t ci = o / p->ch_mult;
        int32_t acc = p->bias ? p->bias[o] : 0;
        for (ky = 0; ky < p->kernel_h; ky++) {
          const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
          if (iy < 0 || iy >= p->in_h) continue;
          for (kx = 0; kx < p->kernel_w; kx++) {
            const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
            if (ix < 0 || ix >= p->in_w) continue;
            acc += (in[(iy * p->in_w + ix) * p->in_c + ci] - p->in_zp) *
                   tm2_ref_weight(w, bits, (ky * p->kernel_w + kx) * p->out_c + o);
          }
        }
        out[(oy * p->out_w + ox) * p->out_c + o] =
            tm2_requant(acc, p->multiplier[o], p->shift[o], p->out_zp, p->act_min, p->act_max);
      }
    }
  }
}

void tm2_ref_depthwise_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out) {
  ref_depthwise(p, in, w, 8, out);
}

void tm2_ref_depthwise_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out) {
  ref_depthwise(p, in, w_packed, 4, out);
}
