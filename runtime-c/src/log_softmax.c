/*
 * log_softmax.c - integer LogSoftmax over the last axis (ARITHMETIC.md "LogSoftmax"):
 *   d = max - q, sum = sum of exp_table[d] (Q16, exp_table[0] = 65536 so sum >= 2^16),
 *   k = floor(log2(sum)), lg = (k - 16) * 65536 + log2_table[(sum >> (k - 8)) - 256]  (Q16 log2(sum / 2^16)),
 *   acc = d * d_scale + lg, out = clamp(out_zp - rq(acc, M, s), act_min, act_max)
 * with d_scale = round(65536 * in_scale / ln 2) and real multiplier ln 2 / (65536 * out_scale).
 */
#include "tm2.h"

/* floor(log2(v)) for v > 0. */
static int32_t ilog2(uint32_t v) {
  int32_t k = 0;
  while (v >= 2u) {
    v >>= 1;
    k++;
  }
  return k;
}

void tm2_log_softmax_s8(const tm2_log_softmax_params *p, const int8_t *in, int8_t *out) {
  int32_t r, i;
  for (r = 0; r < p->rows; r++, in += p->depth, out += p->depth) {
    int32_t max = -128, k, lg;
    uint32_t sum = 0;
    for (i = 0; i < p->depth; i++)
      if (in[i] > max) max = in[i];
    for (i = 0; i < p->depth; i++) sum += p->exp_table[max - in[i]];
    k = ilog2(sum);
    lg = (k - 16) * 65536 + p->log2_table[(sum >> (k - 8)) - 256u];
    for (i = 0; i < p->depth; i++) {
      const int32_t acc = (max - in[i]) * p->d_scale + lg;
      const int64_t v = (int64_t)p->out_zp - tm2_requant_raw(acc, p->multiplier, p->shift);
      out[i] = (int8_t)(v < p->act_min ? p->act_min : v > p->act_max ? p->act_max : v);
    }
  }
}
