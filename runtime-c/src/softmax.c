/* softmax.c - integer softmax over the last axis through an exp table (ARITHMETIC.md); out scale 1/256, zp -128. */
#include "tm2.h"

void tm2_softmax_s8(const int8_t *in, int8_t *out, int32_t rows, int32_t depth, const uint32_t exp_table[256]) {
  int32_t r, i;
  for (r = 0; r < rows; r++, in += depth, out += depth) {
    int32_t max = -128;
    uint32_t sum = 0;
    for (i = 0; i < depth; i++)
      if (in[i] > max) max = in[i];
    for (i = 0; i < depth; i++) sum += exp_table[max - in[i]];
    for (i = 0; i < depth; i++) {
      const uint32_t q = (exp_table[max - in[i]] * 256u + sum / 2u) / sum;
      const int32_t v = (int32_t)q - 128;
      out[i] = (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
    }
  }
}
