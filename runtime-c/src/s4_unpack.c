/* s4_unpack.c - packed INT4 values to int8 (s4_unpack.h); first value of a byte in the low nibble. */
#include "s4_unpack.h"

void tm2_s4_unpack(const int8_t *packed, int32_t first, int32_t n, int8_t *dst) {
  const uint8_t *b = (const uint8_t *)packed + (first >> 1);
  if (n <= 0) return;
  if (first & 1) { /* starts mid-byte */
    *dst++ = (int8_t)((int32_t)((uint32_t)*b++ << 24) >> 28);
    n--;
  }
  for (; n >= 2; n -= 2, dst += 2, b++) {
    /* both nibbles sign-extended by moving them to the top of a word (SBFX on Thumb-2) */
    const uint32_t v = *b;
    dst[0] = (int8_t)((int32_t)(v << 28) >> 28);
    dst[1] = (int8_t)((int32_t)(v << 24) >> 28);
  }
  if (n) *dst = (int8_t)((int32_t)((uint32_t)*b << 28) >> 28);
}
