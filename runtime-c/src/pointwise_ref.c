/* pointwise_ref.c - reference 1x1 convolution: out[p][o] = requant(bias + sum_c (x[p][c]-zp) w[o][c]). */
#include "ref_weights.h"

static void ref_pointwise(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out) {
  const int32_t pixels = p->in_h * p->in_w;
  int32_t px, o, c;
  for (px = 0; px < pixels; px++) {
    for (o = 0; o < p->out_c; o++) {
      int32_t acc = p->bias ? p->bias[o] : 0;
      for (c = 0; c < p->in_c; c++)
        acc += (in[px * p->in_c + c] - p->in_zp) * tm2_ref_weight(w, bits, o * p->in_c + c);
      out[px * p->out_c + o] = tm2_requant(acc, p->multiplier[o], p->shift[o], p->out_zp, p->act_min, p->act_max);
    }
  }
}

void tm2_ref_pointwise_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out) {
  ref_pointwise(p, in, w, 8, out);
}

void tm2_ref_pointwise_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out) {
  ref_pointwise(p, in, w_packed, 4, out);
}
