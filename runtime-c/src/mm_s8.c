/*
 * mm_s8.c - matrix-multiply core for INT8 weights: 2 output channels x 2 pixels per step,
 * 4 weights per 32-bit load, SXTB16 to pairs, two SMLAD per weight word and pixel: 16 MACs
 * for 2 weight loads, 4 SXTB16, one 4-word column load and 8 SMLAD. See tm2_mm.h for the
 * column layout.
 */
#include "tm2_mm.h"
#include "tm2_simd.h"

/* Weight word j of a row: a full word, or the zero-filled tail of `rem` bytes. */
static inline uint32_t row_word(const int8_t *row, int32_t j, int32_t full, int32_t rem) {
  return j < full ? tm2_load_u32(row + 4 * j) : tm2_load_s8_tail(row + 4 * j, rem);
}

#if !(TM2_HAVE_DSP && defined(__OPTIMIZE__))
/* 4 weights of two rows with 4 activations of two pixels: acc[row*2 + pixel] += 16 products. */
static inline void step2x2(uint32_t a, uint32_t b, const uint32_t *c, int32_t acc[4]) {
  const uint32_t ae = tm2_sxtb16(a), ao = tm2_sxtb16_ror8(a), be = tm2_sxtb16(b), bo = tm2_sxtb16_ror8(b);
  const uint32_t xa0 = c[0], xa1 = c[1], xb0 = c[2], xb1 = c[3];
  acc[0] = tm2_smlad(ao, xa1, tm2_smlad(ae, xa0, acc[0]));
  acc[1] = tm2_smlad(ao, xb1, tm2_smlad(ae, xb0, acc[1]));
  acc[2] = tm2_smlad(bo, xa1, tm2_smlad(be, xa0, acc[2]));
  acc[3] = tm2_smlad(bo, xb1, tm2_smlad(be, xb0, acc[3]));
}
#endif

/* The hot loop: n full groups of 4 weights, two rows x two pixels. A small function of its own
 * so that nothing else competes for the registers; on DSP cores (optimized builds) it is written
 * in assembly because gcc spills in it: 2 LDR + 3 LDRD + 4 SXTB16 + 8 SMLAD = 17 instructions
 * for 16 MACs, unrolled twice, in 12 registers (fits with a frame pointer and a PIC register). */
#if defined(__GNUC__)
#define TM2_MM_INLINE __attribute__((always_inline)) inline
#else
#define TM2_MM_INLINE inline
#endif
static TM2_MM_INLINE void dot2x2(const int8_t *w0, const int8_t *w1, const uint32_t *c, int32_t n, int32_t acc[4]) {
  int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
#if TM2_HAVE_DSP && defined(__OPTIMIZE__)
  if (n > 0) {
    uint32_t w, t, x0, x1;
    __asm__ volatile(
        /* an odd group first, then two groups per loop step */
        "tst %[n], #1\n\t"
        "beq 2f\n\t"
        "ldrd %[x0], %[x1], [%[c]]\n\t" /* pixel A */
        "ldr %[w], [%[w0]], #4\n\t"
        "sxtb16 %[t], %[w], ror #8\n\t"
        "sxtb16 %[w], %[w]\n\t"
        "smlad %[a00], %[w], %[x0], %[a00]\n\t"
        "smlad %[a00], %[t], %[x1], %[a00]\n\t"
        "ldrd %[x0], %[x1], [%[c], #8]\n\t" /* pixel B */
        "smlad %[a01], %[w], %[x0], %[a01]\n\t"
        "smlad %[a01], %[t], %[x1], %[a01]\n\t"
        "ldr %[w], [%[w1]], #4\n\t"
        "sxtb16 %[t], %[w], ror #8\n\t"
        "sxtb16 %[w], %[w]\n\t"
        "smlad %[a11], %[w], %[x0], %[a11]\n\t"
        "smlad %[a11], %[t], %[x1], %[a11]\n\t"
        "ldrd %[x0], %[x1], [%[c]], #16\n\t" /* pixel A again */
        "smlad %[a10], %[w], %[x0], %[a10]\n\t"
        "smlad %[a10], %[t], %[x1], %[a10]\n\t"
        "2:\n\t"
        "lsrs %[n], %[n], #1\n\t"
        "beq 3f\n\t"
        "1:\n\t"
        "ldrd %[x0], %[x1], [%[c]]\n\t" /* pixel A */
        "ldr %[w], [%[w0]], #4\n\t"
        "sxtb16 %[t], %[w], ror #8\n\t"
        "sxtb16 %[w], %[w]\n\t"
        "smlad %[a00], %[w], %[x0], %[a00]\n\t"
        "smlad %[a00], %[t], %[x1], %[a00]\n\t"
        "ldrd %[x0], %[x1], [%[c], #8]\n\t" /* pixel B */
        "smlad %[a01], %[w], %[x0], %[a01]\n\t"
        "smlad %[a01], %[t], %[x1], %[a01]\n\t"
        "ldr %[w], [%[w1]], #4\n\t"
        "sxtb16 %[t], %[w], ror #8\n\t"
        "sxtb16 %[w], %[w]\n\t"
        "smlad %[a11], %[w], %[x0], %[a11]\n\t"
        "smlad %[a11], %[t], %[x1], %[a11]\n\t"
        "ldrd %[x0], %[x1], [%[c]], #16\n\t" /* pixel A again */
        "smlad %[a10], %[w], %[x0], %[a10]\n\t"
        "smlad %[a10], %[t], %[x1], %[a10]\n\t"
        "ldrd %[x0], %[x1], [%[c]]\n\t" /* pixel A */
        "ldr %[w], [%[w0]], #4\n\t"
        "sxtb16 %[t], %[w], ror #8\n\t"
        "sxtb16 %[w], %[w]\n\t"
        "smlad %[a00], %[w], %[x0], %[a00]\n\t"
        "smlad %[a00], %[t], %[x1], %[a00]\n\t"
        "ldrd %[x0], %[x1], [%[c], #8]\n\t" /* pixel B */
        "smlad %[a01], %[w], %[x0], %[a01]\n\t"
        "smlad %[a01], %[t], %[x1], %[a01]\n\t"
        "ldr %[w], [%[w1]], #4\n\t"
        "sxtb16 %[t], %[w], ror #8\n\t"
        "sxtb16 %[w], %[w]\n\t"
        "smlad %[a11], %[w], %[x0], %[a11]\n\t"
        "smlad %[a11], %[t], %[x1], %[a11]\n\t"
        "ldrd %[x0], %[x1], [%[c]], #16\n\t" /* pixel A again */
        "smlad %[a10], %[w], %[x0], %[a10]\n\t"
        "smlad %[a10], %[t], %[x1], %[a10]\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        "3:\n\t"
        : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [w0] "+r"(w0), [w1] "+r"(w1),
          [c] "+r"(c), [n] "+r"(n), [w] "=&r"(w), [t] "=&r"(t), [x0] "=&r"(x0), [x1] "=&r"(x1)
        :
        : "cc", "memory");
  }
#else
  int32_t a[4] = {0, 0, 0, 0};
  for (; n > 0; n--, w0 += 4, w1 += 4, c += 4) step2x2(tm2_load_u32(w0), tm2_load_u32(w1), c, a);
  a00 = a[0];
  a01 = a[1];
  a10 = a[2];
  a11 = a[3];
#endif
  acc[0] = a00;
  acc[1] = a01;
  acc[2] = a10;
  acc[3] = a11;
}

/* Every row pair of a chunk: `pairs` x (2 rows x 2 pixels), rows from w with stride k; acc0 / acc1 get
 * rows 2i and 2i+1 for pixel A / B. One call per chunk rather than per pair: the call, the register saves
 * and the loop set-up cost about 30 instructions per pair when dot2x2 was a function of its own. */
TM2_NOINLINE static void dot2x2_rows(const int8_t *w, int32_t k, const uint32_t *col, int32_t n, int32_t pairs,
                                     int32_t *acc0, int32_t *acc1) {
  int32_t acc[4];
  for (; pairs > 0; pairs--, w += 2 * k, acc0 += 2, acc1 += 2) {
    dot2x2(w, w + k, col, n, acc);
    acc0[0] = acc[0];
    acc1[0] = acc[1];
    acc0[1] = acc[2];
    acc1[1] = acc[3];
  }
}

/* One column (dense): n full groups of two rows, the loop alone in a small function. */
TM2_NOINLINE static void dot2x1(const int8_t *w0, const int8_t *w1, const uint32_t *c, int32_t n, int32_t acc[2]) {
  int32_t a0 = 0, a1 = 0;
  for (; n > 0; n--, w0 += 4, w1 += 4, c += 2) {
    const uint32_t a = tm2_load_u32(w0), b = tm2_load_u32(w1), x0 = c[0], x1 = c[1];
    a0 = tm2_smlad(tm2_sxtb16_ror8(a), x1, tm2_smlad(tm2_sxtb16(a), x0, a0));
    a1 = tm2_smlad(tm2_sxtb16_ror8(b), x1, tm2_smlad(tm2_sxtb16(b), x0, a1));
  }
  acc[0] = a0;
  acc[1] = a1;
}

/* Accumulators (bias not added) of output channels [o_begin, o_end): acc0[o - o_begin] for column A,
 * acc1[...] for column B when `two`. */
static void accumulate(const int8_t *w, int32_t k, const uint32_t *col, int two, int32_t o_begin, int32_t o_end,
                       int32_t *acc0, int32_t *acc1) {
  const int32_t full = k >> 2, rem = k & 3, groups = full + (rem ? 1 : 0);
  int32_t o = o_begin, j;
  if (two) {
    const int32_t pairs = (o_end - o_begin) >> 1;
    dot2x2_rows(w + o * k, k, col, full, pairs, acc0, acc1);
    for (; rem && o + 2 <= o_end; o += 2) { /* the last partial group of 4 */
      const int8_t *w0 = w + o * k, *w1 = w0 + k;
      const uint32_t *c = col + 4 * full;
      int32_t a00, a01, a10, a11;
      {
        const uint32_t a = tm2_load_s8_tail(w0 + 4 * full, rem), b = tm2_load_s8_tail(w1 + 4 * full, rem);
        const uint32_t ae = tm2_sxtb16(a), ao = tm2_sxtb16_ror8(a), be = tm2_sxtb16(b), bo = tm2_sxtb16_ror8(b);
        a00 = acc0[o - o_begin];
        a01 = acc1[o - o_begin];
        a10 = acc0[o + 1 - o_begin];
        a11 = acc1[o + 1 - o_begin];
        a00 = tm2_smlad(ao, c[1], tm2_smlad(ae, c[0], a00));
        a01 = tm2_smlad(ao, c[3], tm2_smlad(ae, c[2], a01));
        a10 = tm2_smlad(bo, c[1], tm2_smlad(be, c[0], a10));
        a11 = tm2_smlad(bo, c[3], tm2_smlad(be, c[2], a11));
        acc0[o - o_begin] = a00;
        acc1[o - o_begin] = a01;
        acc0[o + 1 - o_begin] = a10;
        acc1[o + 1 - o_begin] = a11;
      }
    }
    o = o_begin + 2 * pairs;
    if (o < o_end) { /* last odd row */
      const int8_t *w0 = w + o * k;
      const uint32_t *c = col;
      int32_t a00 = 0, a01 = 0;
      for (j = 0; j < groups; j++, c += 4) {
        const uint32_t a = row_word(w0, j, full, rem);
        const uint32_t ae = tm2_sxtb16(a), ao = tm2_sxtb16_ror8(a);
        a00 = tm2_smlad(ao, c[1], tm2_smlad(ae, c[0], a00));
        a01 = tm2_smlad(ao, c[3], tm2_smlad(ae, c[2], a01));
      }
      acc0[o - o_begin] = a00;
      acc1[o - o_begin] = a01;
    }
    return;
  }
  /* One column (dense, or the last pixel of an odd count): two rows at a time. */
  for (; o + 2 <= o_end; o += 2) {
    const int8_t *w0 = w + o * k, *w1 = w0 + k;
    const uint32_t *c = col + 2 * full;
    int32_t acc[2], a00, a10;
    dot2x1(w0, w1, col, full, acc);
    a00 = acc[0];
    a10 = acc[1];
    if (rem) {
      const uint32_t a = tm2_load_s8_tail(w0 + 4 * full, rem), b = tm2_load_s8_tail(w1 + 4 * full, rem);
      a00 = tm2_smlad(tm2_sxtb16_ror8(a), c[1], tm2_smlad(tm2_sxtb16(a), c[0], a00));
      a10 = tm2_smlad(tm2_sxtb16_ror8(b), c[1], tm2_smlad(tm2_sxtb16(b), c[0], a10));
    }
    acc0[o - o_begin] = a00;
    acc0[o + 1 - o_begin] = a10;
  }
  if (o < o_end) {
    const int8_t *w0 = w + o * k;
    const uint32_t *c = col;
    int32_t a00 = 0;
    for (j = 0; j < groups; j++, c += 2) {
      const uint32_t a = row_word(w0, j, full, rem);
      a00 = tm2_smlad(tm2_sxtb16_ror8(a), c[1], tm2_smlad(tm2_sxtb16(a), c[0], a00));
    }
    acc0[o - o_begin] = a00;
  }
}

void tm2_mm_s8(const tm2_conv_params *p, const int8_t *w, int32_t k, const uint32_t *col, int two, int32_t o_begin,
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
