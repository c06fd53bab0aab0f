/*
 * add.c - optimized residual add (TFLite style, the same sums as add_ref.c).
 *
 * Each input's rescaled term requant_raw((x - zp) << left_shift, M, s) depends on the int8 value x
 * alone, and costs two 64-bit multiplies and roundings per element when computed in place (about 80
 * instructions per element on Cortex-M4). For tensors of at least TM2_ADD_TABLE_MIN elements both
 * terms are tabulated once for the 256 values of x (two int32 tables, 2 KB of stack), so that each
 * element is two byte loads, two table loads, an add and the output requantization. Smaller tensors
 * run the direct loop (the tables would cost more than they save): add_ref.c's, repeated here because
 * generated code ships without the reference files; the self test checks both paths against it.
 */
#include "tm2.h"

#ifndef TM2_ADD_TABLE_MIN
#define TM2_ADD_TABLE_MIN 256
#endif

/* t[v + 128] = requant_raw((v - zp) << left_shift, M, s) for every int8 v. */
static void term_table(int32_t zp, int32_t left_shift, int32_t multiplier, int32_t shift, int32_t *t) {
  int32_t v;
  for (v = -128; v < 128; v++) t[v + 128] = (int32_t)tm2_requant_raw((v - zp) * ((int32_t)1 << left_shift), multiplier, shift);
}

void tm2_add_s8(const tm2_add_params *params, const int8_t *a, const int8_t *b, int8_t *out) {
  const tm2_add_params local = *params, *const p = &local; /* int8 stores below cannot alias it */
  int32_t ta[256], tb[256];
  const int32_t *const ca = ta + 128, *const cb = tb + 128;
  const int32_t m = p->out_multiplier, s = p->out_shift, zp = p->out_zp, lo = p->act_min, hi = p->act_max;
  int32_t i;
  if (p->size < TM2_ADD_TABLE_MIN) {
    for (i = 0; i < p->size; i++) {
      const int32_t sa = (a[i] - p->a_zp) * ((int32_t)1 << p->left_shift);
      const int32_t sb = (b[i] - p->b_zp) * ((int32_t)1 << p->left_shift);
      out[i] = tm2_requant((int32_t)(tm2_requant_raw(sa, p->a_multiplier, p->a_shift) +
                                     tm2_requant_raw(sb, p->b_multiplier, p->b_shift)),
                           m, s, zp, lo, hi);
    }
    return;
  }
  term_table(p->a_zp, p->left_shift, p->a_multiplier, p->a_shift, ta);
  term_table(p->b_zp, p->left_shift, p->b_multiplier, p->b_shift, tb);
  for (i = 0; i < p->size; i++) out[i] = tm2_requant(ca[a[i]] + cb[b[i]], m, s, zp, lo, hi);
}
