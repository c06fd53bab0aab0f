/*
 * mm_w16.c - matrix-multiply core for weights already sign-extended to int16 pairs: INT4 weight
 * rows unpacked once per block of output channels (tm2_w16_unpack_s4, into a stack buffer, see
 * s4_unpack.h) and then reused by every pixel, so the hot loop does no extension at all.
 *
 * Layout: row i of the block is 4 words per group of 8 values, in the INT4 column order of tm2_mm.h,
 * 16 * ((w0,w4) (w2,w6) (w1,w5) (w3,w7)) (tm2_unpack_s4x8), the last group zero-filled; the columns
 * are INT4 columns (tm2_col_fill with bits 4). Accumulators carry 16 * the dot product; >> 4 is exact.
 * 2 rows x 2 pixels per group of 8 values: 10 LDRD + 16 SMLAD + 3 loop instructions for 32 MACs
 * (the INT8 core needs 34 plus the loop: two SXTB16 per weight word).
 */
#include "tm2_mm.h"
#include "tm2_simd.h"

/* tm2_load_s4_tail (up to 7 nibbles from `nib`, zero-filled, never reading past them) with one load per byte
 * holding them instead of one tm2_s4_get per nibble: about 40 instructions per row tail less. Not used in
 * place of tm2_load_s4_tail in mm_s4.c, whose inner loop it is inlined into (there it costs registers). */
static uint32_t load_s4_tail_bytes(const int8_t *packed, int32_t nib, int32_t n) {
  const uint8_t *b = (const uint8_t *)packed + (nib >> 1);
  const int32_t sh = (nib & 1) * 4, bytes = (sh + 4 * n + 7) >> 3;
  uint32_t v = 0;
  int32_t i;
  for (i = 0; i < bytes; i++) v |= (uint32_t)b[i] << (8 * i);
  return (v >> sh) & ((1u << (4 * n)) - 1u);
}

void tm2_w16_unpack_s4(const int8_t *packed, int32_t k, int32_t o, int32_t m, uint32_t *dst) {
  const int32_t full = k >> 3, rem = k & 7;
  int32_t i, j;
  for (i = 0; i < m; i++) {
    const int32_t start = (o + i) * k;
    for (j = 0; j < full; j++, dst += 4) tm2_unpack_s4x8(tm2_load_s4x8(packed, start + 8 * j), dst);
    if (rem) {
      tm2_unpack_s4x8(load_s4_tail_bytes(packed, start + 8 * full, rem), dst);
      dst += 4;
    }
  }
}

/* `pairs` x (2 rows x 2 pixels) over n groups; rows from w (4n words each), acc0 / acc1 get rows 2i and
 * 2i+1 for pixel A / B. */
TM2_NOINLINE static void dot2x2_rows_w16(const uint32_t *w, int32_t n, const uint32_t *col, int32_t pairs,
                                         int32_t *acc0, int32_t *acc1) {
  for (; pairs > 0; pairs--, acc0 += 2, acc1 += 2) {
    const uint32_t *w0 = w, *w1 = w + 4 * n, *c = col;
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0, g = n;
#if TM2_HAVE_DSP && defined(__OPTIMIZE__)
    if (g > 0) {
      uint32_t wa, wb, x0, x1;
      __asm__ volatile(
          "1:\n\t"
          /* words 0,1 of the group: row 0 with A and B, row 1 with B and A */
          "ldrd %[wa], %[wb], [%[w0]], #8\n\t"
          "ldrd %[x0], %[x1], [%[c]]\n\t"
          "smlad %[a00], %[wa], %[x0], %[a00]\n\t"
          "smlad %[a00], %[wb], %[x1], %[a00]\n\t"
          "ldrd %[x0], %[x1], [%[c], #16]\n\t"
          "smlad %[a01], %[wa], %[x0], %[a01]\n\t"
          "smlad %[a01], %[wb], %[x1], %[a01]\n\t"
          "ldrd %[wa], %[wb], [%[w1]], #8\n\t"
          "smlad %[a11], %[wa], %[x0], %[a11]\n\t"
          "smlad %[a11], %[wb], %[x1], %[a11]\n\t"
          "ldrd %[x0], %[x1], [%[c]]\n\t"
          "smlad %[a10], %[wa], %[x0], %[a10]\n\t"
          "smlad %[a10], %[wb], %[x1], %[a10]\n\t"
          /* words 2,3 */
          "ldrd %[wa], %[wb], [%[w0]], #8\n\t"
          "ldrd %[x0], %[x1], [%[c], #8]\n\t"
          "smlad %[a00], %[wa], %[x0], %[a00]\n\t"
          "smlad %[a00], %[wb], %[x1], %[a00]\n\t"
          "ldrd %[x0], %[x1], [%[c], #24]\n\t"
          "smlad %[a01], %[wa], %[x0], %[a01]\n\t"
          "smlad %[a01], %[wb], %[x1], %[a01]\n\t"
          "ldrd %[wa], %[wb], [%[w1]], #8\n\t"
          "smlad %[a11], %[wa], %[x0], %[a11]\n\t"
          "smlad %[a11], %[wb], %[x1], %[a11]\n\t"
          "ldrd %[x0], %[x1], [%[c], #8]\n\t"
          "smlad %[a10], %[wa], %[x0], %[a10]\n\t"
          "smlad %[a10], %[wb], %[x1], %[a10]\n\t"
          "add %[c], %[c], #32\n\t"
          "subs %[g], %[g], #1\n\t"
          "bne 1b\n\t"
          : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [w0] "+r"(w0), [w1] "+r"(w1),
            [c] "+r"(c), [g] "+r"(g), [wa] "=&r"(wa), [wb] "=&r"(wb), [x0] "=&r"(x0), [x1] "=&r"(x1)
          :
          : "cc", "memory");
    }
#else
    for (; g > 0; g--, w0 += 4, w1 += 4, c += 8) {
      int32_t i;
      for (i = 0; i < 4; i++) {
        a00 = tm2_smlad(w0[i], c[i], a00);
        a01 = tm2_smlad(w0[i], c[4 + i], a01);
        a10 = tm2_smlad(w1[i], c[i], a10);
        a11 = tm2_smlad(w1[i], c[4 + i], a11);
      }
    }
#endif
    acc0[0] = a00 >> 4; /* exact: every product is a multiple of 16 */
    acc1[0] = a01 >> 4;
    acc0[1] = a10 >> 4;
    acc1[1] = a11 >> 4;
    w += 8 * n;
  }
}

/* One row (n groups) with one column of group stride `stride` words. */
static int32_t dot1_w16(const uint32_t *w, int32_t n, const uint32_t *c, int32_t stride) {
  int32_t a = 0;
  for (; n > 0; n--, w += 4, c += stride) {
    a = tm2_smlad(w[0], c[0], a);
    a = tm2_smlad(w[1], c[1], a);
    a = tm2_smlad(w[2], c[2], a);
    a = tm2_smlad(w[3], c[3], a);
  }
  return a >> 4; /* exact: every product is a multiple of 16 */
}

void tm2_mm_w16(const tm2_conv_params *p, const uint32_t *rows, int32_t k, const uint32_t *col, int two, int32_t m,
                int8_t *out0, int8_t *out1) {
  const int32_t n = (k + 7) >> 3, row_words = 4 * n;
  int32_t acc[2 * TM2_MM_CHUNK]; /* column A's, then column B's (the layout tm2_requant_rows reads fastest) */
  int32_t *const acc0 = acc, *const acc1 = acc + TM2_MM_CHUNK;
  int32_t o, i;
  for (o = 0; o < m; o += TM2_MM_CHUNK) {
    const int32_t c = m - o < TM2_MM_CHUNK ? m - o : TM2_MM_CHUNK;
    const uint32_t *w = rows + o * row_words;
    i = 0;
    if (two) {
      dot2x2_rows_w16(w, n, col, c >> 1, acc0, acc1);
      i = c & ~1;
    }
    for (; i < c; i++) {
      acc0[i] = dot1_w16(w + i * row_words, n, col, two ? 8 : 4);
      if (two) acc1[i] = dot1_w16(w + i * row_words, n, col + 4, 8);
    }
    tm2_requant_rows(p, o, c, acc0, two ? acc1 : NULL, out0 + o, two ? out1 + o : NULL);
  }
}
