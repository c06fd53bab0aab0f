/*
 * mm_s4.c - matrix-multiply core for packed INT4 weights: 2 output channels x 2 pixels per
 * step, 8 weights per 32-bit load unpacked with 2 masks + 4 SXTB16 (tm2_unpack_s4x8), so INT4
 * costs about what INT8 does. Accumulators carry 16 * the dot product; >> 4 is exact.
 * Rows start at nibble o*K: when K is odd every other row starts mid-byte and is read with the
 * shifting loader; when K is even the hot loop uses plain word loads.
 */
#include "tm2_mm.h"
#include "tm2_simd.h"

/* acc + the 8 products of the unpacked weight pairs q with column words x[0..3]. */
static inline int32_t dot8(const uint32_t q[4], const uint32_t *x, int32_t acc) {
  acc = tm2_smlad(q[0], x[0], acc);
  acc = tm2_smlad(q[1], x[1], acc);
  acc = tm2_smlad(q[2], x[2], acc);
  return tm2_smlad(q[3], x[3], acc);
}

/* The hot loop: n full words of 8 weights of two byte-aligned rows x two pixels (32 MACs a
 * step). On DSP cores (optimized builds) in assembly, as gcc spills here: per row 2 LDR, 3 ALU
 * for the nibble masks, 4 SXTB16, 4 LDRD, 8 SMLAD; 45 instructions for 32 MACs, in 12
 * registers (fits with a frame pointer and a PIC register). */
TM2_NOINLINE static void dot2x2_s4(const uint8_t *w0, const uint8_t *w1, const uint32_t *c, int32_t n, int32_t acc[4]) {
  int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
#if TM2_HAVE_DSP && defined(__OPTIMIZE__)
  if (n > 0) {
    uint32_t w, r, x0, x1;
    __asm__ volatile(
        "1:\n\t"
        /* row 0: odd nibbles (pairs (w1,w5), (w3,w7)), then the word again for the even ones
         * ((w0,w4), (w2,w6)): reloading it keeps the loop in 12 registers */
        "ldr %[w], [%[w0]]\n\t"
        "and %[w], %[w], #0xF0F0F0F0\n\t"
        "sxtb16 %[r], %[w], ror #8\n\t"
        "sxtb16 %[w], %[w]\n\t"
        "ldrd %[x0], %[x1], [%[c], #8]\n\t"
        "smlad %[a00], %[w], %[x0], %[a00]\n\t"
        "smlad %[a00], %[r], %[x1], %[a00]\n\t"
        "ldrd %[x0], %[x1], [%[c], #24]\n\t"
        "smlad %[a01], %[w], %[x0], %[a01]\n\t"
        "smlad %[a01], %[r], %[x1], %[a01]\n\t"
        "ldr %[w], [%[w0]], #4\n\t"
        "and %[w], %[w], #0x0F0F0F0F\n\t"
        "lsl %[w], %[w], #4\n\t"
        "sxtb16 %[r], %[w], ror #8\n\t"
        "sxtb16 %[w], %[w]\n\t"
        "ldrd %[x0], %[x1], [%[c]]\n\t"
        "smlad %[a00], %[w], %[x0], %[a00]\n\t"
        "smlad %[a00], %[r], %[x1], %[a00]\n\t"
        "ldrd %[x0], %[x1], [%[c], #16]\n\t"
        "smlad %[a01], %[w], %[x0], %[a01]\n\t"
        "smlad %[a01], %[r], %[x1], %[a01]\n\t"
        /* row 1 */
        "ldr %[w], [%[w1]]\n\t"
        "and %[w], %[w], #0xF0F0F0F0\n\t"
        "sxtb16 %[r], %[w], ror #8\n\t"
        "sxtb16 %[w], %[w]\n\t"
        "ldrd %[x0], %[x1], [%[c], #8]\n\t"
        "smlad %[a10], %[w], %[x0], %[a10]\n\t"
        "smlad %[a10], %[r], %[x1], %[a10]\n\t"
        "ldrd %[x0], %[x1], [%[c], #24]\n\t"
        "smlad %[a11], %[w], %[x0], %[a11]\n\t"
        "smlad %[a11], %[r], %[x1], %[a11]\n\t"
        "ldr %[w], [%[w1]], #4\n\t"
        "and %[w], %[w], #0x0F0F0F0F\n\t"
        "lsl %[w], %[w], #4\n\t"
        "sxtb16 %[r], %[w], ror #8\n\t"
        "sxtb16 %[w], %[w]\n\t"
        "ldrd %[x0], %[x1], [%[c]]\n\t"
        "smlad %[a10], %[w], %[x0], %[a10]\n\t"
        "smlad %[a10], %[r], %[x1], %[a10]\n\t"
        "ldrd %[x0], %[x1], [%[c], #16]\n\t"
        "smlad %[a11], %[w], %[x0], %[a11]\n\t"
        "smlad %[a11], %[r], %[x1], %[a11]\n\t"
        "add %[c], %[c], #32\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [w0] "+r"(w0), [w1] "+r"(w1),
          [c] "+r"(c), [n] "+r"(n), [w] "=&r"(w), [r] "=&r"(r), [x0] "=&r"(x0), [x1] "=&r"(x1)
        :
        : "cc", "memory");
  }
#else
  uint32_t qa[4], qb[4];
  for (; n > 0; n--, w0 += 4, w1 += 4, c += 8) {
    tm2_unpack_s4x8(tm2_load_u32(w0), qa);
    tm2_unpack_s4x8(tm2_load_u32(w1), qb);
    a00 = dot8(qa, c, a00);
    a01 = dot8(qa, c + 4, a01);
    a10 = dot8(qb, c, a10);
    a11 = dot8(qb, c + 4, a11);
  }
#endif
  acc[0] = a00;
  acc[1] = a01;
  acc[2] = a10;
  acc[3] = a11;
}

/* Word j (8 nibbles) of the row starting at nibble `start`, zero-filled past its k values. */
static inline uint32_t row_word(const int8_t *w, int32_t start, int32_t j, int32_t full, int32_t rem) {
  return j < full ? tm2_load_s4x8(w, start + 8 * j) : tm2_load_s4_tail(w, start + 8 * j, rem);
}

/* One column (dense): n full words of 8 weights of two byte-aligned rows. */
TM2_NOINLINE static void dot2x1_s4(const uint8_t *w0, const uint8_t *w1, const uint32_t *c, int32_t n,
                                   int32_t acc[2]) {
  int32_t a0 = 0, a1 = 0;
  uint32_t q[4];
  for (; n > 0; n--, w0 += 4, w1 += 4, c += 4) {
    tm2_unpack_s4x8(tm2_load_u32(w0), q);
    a0 = dot8(q, c, a0);
    tm2_unpack_s4x8(tm2_load_u32(w1), q);
    a1 = dot8(q, c, a1);
  }
  acc[0] = a0;
  acc[1] = a1;
}

/* Accumulators (bias not added; the sums of products, not 16 times them) of output channels
 * [o_begin, o_end): acc0[o - o_begin] for column A,
 * acc1[...] for column B when `two`. */
static void accumulate(const int8_t *w, int32_t k, const uint32_t *col, int two, int32_t o_begin, int32_t o_end,
                       int32_t *acc0, int32_t *acc1) {
  const int32_t full = k >> 3, rem = k & 7, groups = full + (rem ? 1 : 0);
  const int32_t stride = two ? 8 : 4; /* column words per group */
  int32_t o = o_begin, j;
  for (; o + 2 <= o_end; o += 2) {
    const uint32_t *c = col;
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    uint32_t qa[4], qb[4];
    j = 0;
    if ((k & 1) == 0 && !two) {
      const uint8_t *w0 = (const uint8_t *)w + ((o * k) >> 1), *w1 = w0 + (k >> 1);
      int32_t acc[2];
      dot2x1_s4(w0, w1, c, full, acc);
      a00 = acc[0];
      a10 = acc[1];
      j = full;
      c += 4 * full;
    }
    if ((k & 1) == 0 && two) {
      /* Both rows byte aligned: plain word loads in the hot loop. */
      const uint8_t *w0 = (const uint8_t *)w + ((o * k) >> 1), *w1 = w0 + (k >> 1);
      int32_t acc[4];
      dot2x2_s4(w0, w1, c, full, acc);
      a00 = acc[0];
      a01 = acc[1];
      a10 = acc[2];
      a11 = acc[3];
      j = full;
      c += 8 * full;
    }
    for (; j < groups; j++, c += stride) {
      tm2_unpack_s4x8(row_word(w, o * k, j, full, rem), qa);
      tm2_unpack_s4x8(row_word(w, (o + 1) * k, j, full, rem), qb);
      a00 = dot8(qa, c, a00);
      a10 = dot8(qb, c, a10);
      if (two) {
        a01 = dot8(qa, c + 4, a01);
        a11 = dot8(qb, c + 4, a11);
      }
    }
    acc0[o - o_begin] = a00 >> 4; /* exact: every product is a multiple of 16 */
    acc0[o + 1 - o_begin] = a10 >> 4; /* exact: every product is a multiple of 16 */
    if (two) {
      acc1[o - o_begin] = a01 >> 4;
      acc1[o + 1 - o_begin] = a11 >> 4;
    }
  }
  if (o < o_end) {
    const uint32_t *c = col;
    int32_t a00 = 0, a01 = 0;
    uint32_t qa[4];
    for (j = 0; j < groups; j++, c += stride) {
      tm2_unpack_s4x8(row_word(w, o * k, j, full, rem), qa);
      a00 = dot8(qa, c, a00);
      if (two) a01 = dot8(qa, c + 4, a01);
    }
    acc0[o - o_begin] = a00 >> 4; /* exact: every product is a multiple of 16 */
    if (two) acc1[o - o_begin] = a01 >> 4;
  }
}

void tm2_mm_s4(const tm2_conv_params *p, const int8_t *w, int32_t k, const uint32_t *col, int two, int32_t o_begin,
               int32_t o_end, int8_t *out0, int8_t *out1) {
  int32_t acc[2 * TM2_MM_CHUNK]; /* column A's, then column B's (the layout tm2_requant_rows reads fastest) */
  int32_t *const acc0 = acc, *const acc1 = acc + TM2_MM_CHUNK;
  int32_t o;
  for (o = o_begin; o < o_end; o += TM2_MM_CHUNK) {
    const int32_t n = o_end - o < TM2_MM_CHUNK ? o_end - o : TM2_MM_CHUNK;
    accumulate(w, k, col, two, o, o + n, acc0, acc1);
    tm2_requant_rows(p, o, n, acc0, two ? acc1 : NULL, out0 + o, two ? out1 + o : NULL);
  }
}
