/* concat.c - interleaving copy of one concat input into its slice of the output. */
#include <string.h>

#include "tm2.h"

void tm2_concat_copy_s8(const int8_t *in, int32_t outer, int32_t in_inner, int8_t *out, int32_t out_inner,
                        int32_t offset) {
  int32_t o;
  for (o = 0; o < outer; o++) memcpy(out + o * out_inner + offset, in + o * in_inner, (size_t)in_inner);
}
