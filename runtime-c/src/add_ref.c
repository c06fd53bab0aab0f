/* add_ref.c - reference residual add, TFLite style (ARITHMETIC.md "Add"): both inputs left-shifted,
 * rescaled to a common scale, summed, requantized. The definition add.c is tested against. */
#include "tm2.h"

void tm2_ref_add_s8(const tm2_add_params *p, const int8_t *a, const int8_t *b, int8_t *out) {
  int32_t i;
  for (i = 0; i < p->size; i++) {
    const int32_t sa = (a[i] - p->a_zp) * ((int32_t)1 << p->left_shift);
    const int32_t sb = (b[i] - p->b_zp) * ((int32_t)1 << p->left_shift);
    /* Both terms are at most 2^28 in magnitude (real_a, real_b <= 1/2): the sum is an int32. */
    const int32_t s = (int32_t)(tm2_requant_raw(sa, p->a_multiplier, p->a_shift) +
                                tm2_requant_raw(sb, p->b_multiplier, p->b_shift));
    out[i] = tm2_requant(s, p->out_multiplier, p->out_shift, p->out_zp, p->act_min, p->act_max);
  }
}
