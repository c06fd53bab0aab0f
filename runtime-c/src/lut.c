/* lut.c - any unary elementwise map through a 256-entry table indexed by q + 128. */
#include "tm2.h"

void tm2_lut_s8(const int8_t *in, int8_t *out, int32_t size, const int8_t table[256]) {
  int32_t i;
  for (i = 0; i < size; i++) out[i] = table[in[i] + 128];
}
