/* dense_ref.c - reference fully connected layer over the flat input vector. */
#include "ref_weights.h"

static void ref_dense(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out) {
  const int32_t k = p->in_h * p->in_w * p->in_c;
  int32_t o, i;
  for (o = 0; o < p->out_c; o++) {
    int32_t acc = p->bias ? p->bias[o] : 0;
    for (i = 0; i < k; i++) acc += (in[i] - p->in_zp) * tm2_ref_weight(w, bits, o * k + i);
    out[o] = tm2_requant(acc, p->multiplier[o], p->shift[o], p->out_zp, p->act_min, p->act_max);
  }
}

void tm2_ref_dense_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out) {
  ref_dense(p, in, w, 8, out);
}

void tm2_ref_dense_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out) {
  ref_dense(p, in, w_packed, 4, out);
}
