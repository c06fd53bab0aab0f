/*
 * prelu.c - PRelu with a slope per channel (ARITHMETIC.md "PRelu"): d = q - in_zp;
 *   d >= 0: out = clamp(out_zp + rq(d, pos_multiplier, pos_shift))
 *   d <  0: out = clamp(out_zp + rq(d, neg_multiplier[c], neg_shift[c])), where a negative
 *           neg_multiplier[c] stands for a negative slope: rq(-d, -neg_multiplier[c], neg_shift[c]).
 */
#include "tm2.h"

void tm2_prelu_s8(const tm2_prelu_params *p, const int8_t *in, int8_t *out) {
  const int32_t c = p->c;
  int32_t i, ch;
  for (i = 0; i < p->rows; i++, in += c, out += c) {
    for (ch = 0; ch < c; ch++) {
      int32_t d = in[ch] - p->in_zp, m, s;
      if (d >= 0) {
        m = p->pos_multiplier;
        s = p->pos_shift;
      } else {
        m = p->neg_multiplier[ch];
        s = p->neg_shift[ch];
        if (m < 0) {
          m = -m;
          d = -d;
        }
      }
      out[ch] = tm2_requant(d, m, s, p->out_zp, p->act_min, p->act_max);
    }
  }
}
