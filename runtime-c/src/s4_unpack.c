/* s4_unpack.c - packed INT4 values to int8 (s4_unpack.h); first value of a byte in the low nibble. */
#include "s4_unpack.h"
#include "tm2_simd.h" /* TM2_HAVE_NEON */

void tm2_s4_unpack(const int8_t *packed, int32_t first, int32_t n, int8_t *dst) {
  const uint8_t *b = (const uint8_t *)packed + (first >> 1);
  if (n <= 0) return;
  if (first & 1) { /* starts mid-byte */
    *dst++ = (int8_t)((int32_t)((uint32_t)*b++ << 24) >> 28);
    n--;
  }
#if TM2_HAVE_NEON
  for (; n >= 32; n -= 32, dst += 32, b += 16) { /* AArch64: 16 bytes split into low and high nibbles, stored interleaved */
    const int8x16_t v = vld1q_s8((const int8_t *)b);
    int8x16x2_t r;
    r.val[0] = vshrq_n_s8(vshlq_n_s8(v, 4), 4);
    r.val[1] = vshrq_n_s8(v, 4);
    vst2q_s8(dst, r);
  }
#endif
  for (; n >= 2; n -= 2, dst += 2, b++) {
    /* both nibbles sign-extended by moving them to the top of a word (SBFX on Thumb-2) */
    const uint32_t v = *b;
    dst[0] = (int8_t)((int32_t)(v << 28) >> 28);
    dst[1] = (int8_t)((int32_t)(v << 24) >> 28);
  }
  if (n) *dst = (int8_t)((int32_t)((uint32_t)*b << 28) >> 28);
}
