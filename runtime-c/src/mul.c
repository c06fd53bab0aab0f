/* mul.c - elementwise product of two activations, one requantization. */
#include "tm2.h"

void tm2_mul_s8(const tm2_mul_params *p, const int8_t *a, const int8_t *b, int8_t *out) {
  int32_t i;
  for (i = 0; i < p->size; i++)
    out[i] = tm2_requant((a[i] - p->a_zp) * (b[i] - p->b_zp), p->multiplier, p->shift, p->out_zp, p->act_min,
                         p->act_max);
}
