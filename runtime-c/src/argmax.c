/* argmax.c - index of the first maximum. */
#include "tm2.h"

int32_t tm2_argmax_s8(const int8_t *in, int32_t n) {
  int32_t i, best = 0;
  for (i = 1; i < n; i++)
    if (in[i] > in[best]) best = i;
  return best;
}
