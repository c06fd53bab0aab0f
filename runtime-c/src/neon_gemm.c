/*
 * neon_gemm.c - AArch64 Advanced SIMD conv and pointwise (rpi4, Cortex-A72: no SDOT): a register-blocked
 * int8 GEMM, 4 output pixels x 4 output channels per block, over raw activations.
 *
 * sum_k (x_k - zp) * w_k = sum_k x_k * w_k - zp * sum_k w_k: the second term is folded with the bias
 * into a per-channel constant, so raw int8 activations are multiplied by int8 weights. INT8 weights
 * are in [-127, 127] and INT4 ones in [-8, 7], so two products fit an int16 lane (2 * 128 * 127 < 2^15):
 * per 16 MACs SMULL + SMLAL2 (16 products into 8 lanes) and SADALP (pairs added into 4 int32 lanes),
 * 3 instructions. A block keeps 16 accumulators; per 16 values of K it loads 4 pixels' activations
 * and the 4 channels' weights with one LD1 (the rows are packed once per call, 4 interleaved, zero-
 * padded to a multiple of 16, INT4 unpacked on the way: the same loop runs both). Then ADDP trees give
 * per pixel [c0 c1 c2 c3], the constant is added and neon.h's output stage writes 4 bytes per pixel.
 * Windows (conv) and pointwise rows whose K is not a multiple of 16 are copied into a 4-pixel panel
 * (padding = in_zp, the tail past K zero) once per block of pixels; pointwise with K % 16 == 0 reads
 * the input directly. A missing 4th pixel reuses pixel 0's row and writes to a sink.
 * Sums wrap mod 2^32 like the reference's int32 arithmetic, so the folded constant changes nothing.
 */
#include <stddef.h>
#include <string.h>

#include "neon.h"
#include "s4_unpack.h"

#if TM2_HAVE_NEON

/* Output channels per packed block of rows (the constants' arrays). */
#define SB_MAX 64
/* Largest padded K: four rows must fit the pack buffer. */
#define KP_MAX (TM2_NEON_PACK_BYTES / 4)

typedef struct {
  int8_t w[TM2_NEON_PACK_BYTES]; /* [m4 / 4][kp / 16][4][16] */
  int32_t corr[SB_MAX], mul[SB_MAX], shift[SB_MAX];
  int32_t m;    /* valid channels */
  int32_t kc;   /* 16-value chunks of K */
  int32_t t8;   /* the last chunk holds at most 8 values and is not the only one */
  int32_t fast; /* every valid channel has shift <= -1 */
} packed_rows;

/* blocks_fast reads the multipliers and shifts at fixed offsets from the constants. */
typedef char tm2_neon_rows_layout[offsetof(packed_rows, mul) == offsetof(packed_rows, corr) + 4 * SB_MAX &&
                                          offsetof(packed_rows, shift) == offsetof(packed_rows, corr) + 8 * SB_MAX
                                      ? 1
                                      : -1];

/* Rows o..o+m-1 (weights of `bits`) packed; corr = bias - in_zp * sum(row) (mod 2^32). */
static void pack_rows(const tm2_conv_params *p, const int8_t *w, int32_t bits, int32_t k, int32_t o, int32_t m,
                      packed_rows *pk) {
  const int32_t kc = (k + 15) >> 4, m4 = (m + 3) & ~3;
  int8_t tmp[KP_MAX];
  int32_t i, j;
  pk->m = m;
  pk->kc = kc;
  pk->t8 = kc >= 2 && (k & 15) != 0 && (k & 15) <= 8;
  pk->fast = 1;
  for (i = 0; i < m4; i++) {
    int8_t *dst = pk->w + (i >> 2) * kc * 64 + (i & 3) * 16;
    uint32_t sum = 0;
    if (i < m) {
      const int8_t *row = w + (o + i) * k;
      if (bits == 4) {
        tm2_s4_unpack(w, (o + i) * k, k, tmp);
        row = tmp;
      }
      int16x8_t s16 = vdupq_n_s16(0); /* pairs summed: |sum| <= 2 * 128 * (KP_MAX / 16) < 2^15 */
      for (j = 0; j + 16 <= k; j += 16, dst += 64) {
        const int8x16_t v = vld1q_s8(row + j);
        vst1q_s8(dst, v);
        s16 = vpadalq_s8(s16, v);
      }
      sum = (uint32_t)vaddlvq_s16(s16);
      if (j < k) {
        memset(dst, 0, 16);
        memcpy(dst, row + j, (size_t)(k - j));
        for (; j < k; j++) sum += (uint32_t)row[j];
      }
      pk->corr[i] = (int32_t)((p->bias ? (uint32_t)p->bias[o + i] : 0u) - (uint32_t)p->in_zp * sum);
      pk->mul[i] = p->multiplier[o + i];
      pk->shift[i] = p->shift[o + i];
      if (pk->shift[i] > -1) pk->fast = 0;
    } else {
      for (j = 0; j < kc; j++, dst += 64) memset(dst, 0, 16);
      pk->corr[i] = 0;
      pk->mul[i] = 0;
      pk->shift[i] = -1;
    }
  }
}


/* The first chunk of 16 values of the 4x4 block: starts the 16 accumulators (v8-v23) with SADDLP.
 * Weights in v0-v3 via %[w], activations via %[x0]-%[x3]; used by block4x4 and blocks_fast. */
#define TM2_NEON_4X4_FIRST \
      "ld1 {v0.16b-v3.16b}, [%[w]], #64\n" \
      "ldr q4, [%[x0]], #16\n" \
      "ldr q5, [%[x1]], #16\n" \
      "ldr q6, [%[x2]], #16\n" \
      "ldr q7, [%[x3]], #16\n" \
      "smull v24.8h, v4.8b, v0.8b\n" \
      "smlal2 v24.8h, v4.16b, v0.16b\n" \
      "saddlp v8.4s, v24.8h\n" \
      "smull v25.8h, v4.8b, v1.8b\n" \
      "smlal2 v25.8h, v4.16b, v1.16b\n" \
      "saddlp v9.4s, v25.8h\n" \
      "smull v26.8h, v4.8b, v2.8b\n" \
      "smlal2 v26.8h, v4.16b, v2.16b\n" \
      "saddlp v10.4s, v26.8h\n" \
      "smull v27.8h, v4.8b, v3.8b\n" \
      "smlal2 v27.8h, v4.16b, v3.16b\n" \
      "saddlp v11.4s, v27.8h\n" \
      "smull v24.8h, v5.8b, v0.8b\n" \
      "smlal2 v24.8h, v5.16b, v0.16b\n" \
      "saddlp v12.4s, v24.8h\n" \
      "smull v25.8h, v5.8b, v1.8b\n" \
      "smlal2 v25.8h, v5.16b, v1.16b\n" \
      "saddlp v13.4s, v25.8h\n" \
      "smull v26.8h, v5.8b, v2.8b\n" \
      "smlal2 v26.8h, v5.16b, v2.16b\n" \
      "saddlp v14.4s, v26.8h\n" \
      "smull v27.8h, v5.8b, v3.8b\n" \
      "smlal2 v27.8h, v5.16b, v3.16b\n" \
      "saddlp v15.4s, v27.8h\n" \
      "smull v24.8h, v6.8b, v0.8b\n" \
      "smlal2 v24.8h, v6.16b, v0.16b\n" \
      "saddlp v16.4s, v24.8h\n" \
      "smull v25.8h, v6.8b, v1.8b\n" \
      "smlal2 v25.8h, v6.16b, v1.16b\n" \
      "saddlp v17.4s, v25.8h\n" \
      "smull v26.8h, v6.8b, v2.8b\n" \
      "smlal2 v26.8h, v6.16b, v2.16b\n" \
      "saddlp v18.4s, v26.8h\n" \
      "smull v27.8h, v6.8b, v3.8b\n" \
      "smlal2 v27.8h, v6.16b, v3.16b\n" \
      "saddlp v19.4s, v27.8h\n" \
      "smull v24.8h, v7.8b, v0.8b\n" \
      "smlal2 v24.8h, v7.16b, v0.16b\n" \
      "saddlp v20.4s, v24.8h\n" \
      "smull v25.8h, v7.8b, v1.8b\n" \
      "smlal2 v25.8h, v7.16b, v1.16b\n" \
      "saddlp v21.4s, v25.8h\n" \
      "smull v26.8h, v7.8b, v2.8b\n" \
      "smlal2 v26.8h, v7.16b, v2.16b\n" \
      "saddlp v22.4s, v26.8h\n" \
      "smull v27.8h, v7.8b, v3.8b\n" \
      "smlal2 v27.8h, v7.16b, v3.16b\n" \
      "saddlp v23.4s, v27.8h\n"

/* One further chunk: the same products accumulated with SADALP. */
#define TM2_NEON_4X4_ACC \
      "ld1 {v0.16b-v3.16b}, [%[w]], #64\n" \
      "ldr q4, [%[x0]], #16\n" \
      "ldr q5, [%[x1]], #16\n" \
      "ldr q6, [%[x2]], #16\n" \
      "ldr q7, [%[x3]], #16\n" \
      "smull v24.8h, v4.8b, v0.8b\n" \
      "smlal2 v24.8h, v4.16b, v0.16b\n" \
      "sadalp v8.4s, v24.8h\n" \
      "smull v25.8h, v4.8b, v1.8b\n" \
      "smlal2 v25.8h, v4.16b, v1.16b\n" \
      "sadalp v9.4s, v25.8h\n" \
      "smull v26.8h, v4.8b, v2.8b\n" \
      "smlal2 v26.8h, v4.16b, v2.16b\n" \
      "sadalp v10.4s, v26.8h\n" \
      "smull v27.8h, v4.8b, v3.8b\n" \
      "smlal2 v27.8h, v4.16b, v3.16b\n" \
      "sadalp v11.4s, v27.8h\n" \
      "smull v24.8h, v5.8b, v0.8b\n" \
      "smlal2 v24.8h, v5.16b, v0.16b\n" \
      "sadalp v12.4s, v24.8h\n" \
      "smull v25.8h, v5.8b, v1.8b\n" \
      "smlal2 v25.8h, v5.16b, v1.16b\n" \
      "sadalp v13.4s, v25.8h\n" \
      "smull v26.8h, v5.8b, v2.8b\n" \
      "smlal2 v26.8h, v5.16b, v2.16b\n" \
      "sadalp v14.4s, v26.8h\n" \
      "smull v27.8h, v5.8b, v3.8b\n" \
      "smlal2 v27.8h, v5.16b, v3.16b\n" \
      "sadalp v15.4s, v27.8h\n" \
      "smull v24.8h, v6.8b, v0.8b\n" \
      "smlal2 v24.8h, v6.16b, v0.16b\n" \
      "sadalp v16.4s, v24.8h\n" \
      "smull v25.8h, v6.8b, v1.8b\n" \
      "smlal2 v25.8h, v6.16b, v1.16b\n" \
      "sadalp v17.4s, v25.8h\n" \
      "smull v26.8h, v6.8b, v2.8b\n" \
      "smlal2 v26.8h, v6.16b, v2.16b\n" \
      "sadalp v18.4s, v26.8h\n" \
      "smull v27.8h, v6.8b, v3.8b\n" \
      "smlal2 v27.8h, v6.16b, v3.16b\n" \
      "sadalp v19.4s, v27.8h\n" \
      "smull v24.8h, v7.8b, v0.8b\n" \
      "smlal2 v24.8h, v7.16b, v0.16b\n" \
      "sadalp v20.4s, v24.8h\n" \
      "smull v25.8h, v7.8b, v1.8b\n" \
      "smlal2 v25.8h, v7.16b, v1.16b\n" \
      "sadalp v21.4s, v25.8h\n" \
      "smull v26.8h, v7.8b, v2.8b\n" \
      "smlal2 v26.8h, v7.16b, v2.16b\n" \
      "sadalp v22.4s, v26.8h\n" \
      "smull v27.8h, v7.8b, v3.8b\n" \
      "smlal2 v27.8h, v7.16b, v3.16b\n" \
      "sadalp v23.4s, v27.8h\n"

/*
 * The 4x4 block over kc chunks of 16 values: s[i] = [c0 c1 c2 c3] sums of pixel i (before the constant).
 * Inline assembly: written in C, gcc keeps more int16 temporaries live than registers allow and
 * spills accumulators inside the loop (64 instead of 55 instructions per chunk). The first chunk
 * starts the accumulators with SADDLP; each chunk is one LD1 of the 4 packed weight vectors, 4 LDR of
 * activations and 16 x (SMULL, SMLAL2, SADALP).
 */
static inline void block4x4(const int8_t *x0, const int8_t *x1, const int8_t *x2, const int8_t *x3, const int8_t *w,
                            int32_t kc, int32x4_t s[4]) {
  int32x4_t s0, s1, s2, s3;
  __asm__ volatile(
      TM2_NEON_4X4_FIRST
      "subs %w[kc], %w[kc], #1\n"
      "b.eq 2f\n"
      "1:\n"
      TM2_NEON_4X4_ACC
      "subs %w[kc], %w[kc], #1\n"
      "b.ne 1b\n"
      "2:\n"
      "addp v24.4s, v8.4s, v9.4s\n"
      "addp v25.4s, v10.4s, v11.4s\n"
      "addp %[s0].4s, v24.4s, v25.4s\n"
      "addp v24.4s, v12.4s, v13.4s\n"
      "addp v25.4s, v14.4s, v15.4s\n"
      "addp %[s1].4s, v24.4s, v25.4s\n"
      "addp v24.4s, v16.4s, v17.4s\n"
      "addp v25.4s, v18.4s, v19.4s\n"
      "addp %[s2].4s, v24.4s, v25.4s\n"
      "addp v24.4s, v20.4s, v21.4s\n"
      "addp v25.4s, v22.4s, v23.4s\n"
      "addp %[s3].4s, v24.4s, v25.4s\n"
      : [s0] "=w"(s0), [s1] "=w"(s1), [s2] "=w"(s2), [s3] "=w"(s3), [x0] "+r"(x0), [x1] "+r"(x1), [x2] "+r"(x2),
        [x3] "+r"(x3), [w] "+r"(w), [kc] "+r"(kc)
      :
      : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14",
        "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27");
  s[0] = s0;
  s[1] = s1;
  s[2] = s2;
  s[3] = s3;
}

/*
 * nb whole blocks of 4 channels for 4 pixels, output stage included (every channel with shift <= -1):
 * per block the 4x4 loop of block4x4, the ADDP trees, then the constant, SQDMULH, SRSHL, saturating
 * narrowing with the zero point, the clamp, and one 4-byte store per pixel (out[i] advance by 4).
 * t8 = 1 when the last of the kc chunks holds at most 8 values (K % 16 in 1..8, kc >= 2): it is done
 * as 8 values (SMULL + SADALP per pixel and channel) instead of 16 with zeros.
 * corr points into packed_rows: the multipliers are SB_MAX words after it, the shifts 2 * SB_MAX.
 * In assembly so that the accumulators, the output-stage constants and the pointers all stay in registers.
 */
static void blocks_fast(const int8_t *b0, const int8_t *b1, const int8_t *b2, const int8_t *b3, const int8_t *w, int32_t kc,
                        int32_t t8, int32_t nb, const int32_t *corr, int8_t *o0, int8_t *o1,
                        int8_t *o2, int8_t *o3, int16x8_t zp, int8x16_t lo, int8x16_t hi) {
  const int8_t *x0, *x1, *x2, *x3;
  int32_t n;
  __asm__ volatile(
      "0:\n"
      "mov %[x0], %[b0]\n"
      "mov %[x1], %[b1]\n"
      "mov %[x2], %[b2]\n"
      "mov %[x3], %[b3]\n"
      "sub %w[n], %w[kc], %w[t8]\n"
      TM2_NEON_4X4_FIRST
      "subs %w[n], %w[n], #1\n"
      "b.eq 2f\n"
      "1:\n"
      TM2_NEON_4X4_ACC
      "subs %w[n], %w[n], #1\n"
      "b.ne 1b\n"
      "2:\n"
      "cbz %w[t8], 3f\n"
      "ld1 {v0.16b-v3.16b}, [%[w]], #64\n"
      "ldr d4, [%[x0]]\n"
      "ldr d5, [%[x1]]\n"
      "ldr d6, [%[x2]]\n"
      "ldr d7, [%[x3]]\n"
      "smull v24.8h, v4.8b, v0.8b\n"
      "sadalp v8.4s, v24.8h\n"
      "smull v25.8h, v4.8b, v1.8b\n"
      "sadalp v9.4s, v25.8h\n"
      "smull v26.8h, v4.8b, v2.8b\n"
      "sadalp v10.4s, v26.8h\n"
      "smull v27.8h, v4.8b, v3.8b\n"
      "sadalp v11.4s, v27.8h\n"
      "smull v24.8h, v5.8b, v0.8b\n"
      "sadalp v12.4s, v24.8h\n"
      "smull v25.8h, v5.8b, v1.8b\n"
      "sadalp v13.4s, v25.8h\n"
      "smull v26.8h, v5.8b, v2.8b\n"
      "sadalp v14.4s, v26.8h\n"
      "smull v27.8h, v5.8b, v3.8b\n"
      "sadalp v15.4s, v27.8h\n"
      "smull v24.8h, v6.8b, v0.8b\n"
      "sadalp v16.4s, v24.8h\n"
      "smull v25.8h, v6.8b, v1.8b\n"
      "sadalp v17.4s, v25.8h\n"
      "smull v26.8h, v6.8b, v2.8b\n"
      "sadalp v18.4s, v26.8h\n"
      "smull v27.8h, v6.8b, v3.8b\n"
      "sadalp v19.4s, v27.8h\n"
      "smull v24.8h, v7.8b, v0.8b\n"
      "sadalp v20.4s, v24.8h\n"
      "smull v25.8h, v7.8b, v1.8b\n"
      "sadalp v21.4s, v25.8h\n"
      "smull v26.8h, v7.8b, v2.8b\n"
      "sadalp v22.4s, v26.8h\n"
      "smull v27.8h, v7.8b, v3.8b\n"
      "sadalp v23.4s, v27.8h\n"
      "3:\n"
      "addp v24.4s, v8.4s, v9.4s\n"
      "addp v25.4s, v10.4s, v11.4s\n"
      "addp v8.4s, v24.4s, v25.4s\n"
      "addp v24.4s, v12.4s, v13.4s\n"
      "addp v25.4s, v14.4s, v15.4s\n"
      "addp v12.4s, v24.4s, v25.4s\n"
      "addp v24.4s, v16.4s, v17.4s\n"
      "addp v25.4s, v18.4s, v19.4s\n"
      "addp v16.4s, v24.4s, v25.4s\n"
      "addp v24.4s, v20.4s, v21.4s\n"
      "addp v25.4s, v22.4s, v23.4s\n"
      "addp v20.4s, v24.4s, v25.4s\n"
      "ldr q1, [%[corr], #%[mo]]\n"
      "ldr q2, [%[corr], #%[so]]\n"
      "ldr q0, [%[corr]], #16\n"
      "add v8.4s, v8.4s, v0.4s\n"
      "add v12.4s, v12.4s, v0.4s\n"
      "add v16.4s, v16.4s, v0.4s\n"
      "add v20.4s, v20.4s, v0.4s\n"
      "sqdmulh v8.4s, v8.4s, v1.4s\n"
      "sqdmulh v12.4s, v12.4s, v1.4s\n"
      "sqdmulh v16.4s, v16.4s, v1.4s\n"
      "sqdmulh v20.4s, v20.4s, v1.4s\n"
      "srshl v8.4s, v8.4s, v2.4s\n"
      "srshl v12.4s, v12.4s, v2.4s\n"
      "srshl v16.4s, v16.4s, v2.4s\n"
      "srshl v20.4s, v20.4s, v2.4s\n"
      "sqxtn v3.4h, v8.4s\n"
      "sqxtn2 v3.8h, v12.4s\n"
      "sqxtn v4.4h, v16.4s\n"
      "sqxtn2 v4.8h, v20.4s\n"
      "sqadd v3.8h, v3.8h, %[zp].8h\n"
      "sqadd v4.8h, v4.8h, %[zp].8h\n"
      "sqxtn v5.8b, v3.8h\n"
      "sqxtn2 v5.16b, v4.8h\n"
      "smax v5.16b, v5.16b, %[lo].16b\n"
      "smin v5.16b, v5.16b, %[hi].16b\n"
      "st1 {v5.s}[0], [%[o0]], #4\n"
      "st1 {v5.s}[1], [%[o1]], #4\n"
      "st1 {v5.s}[2], [%[o2]], #4\n"
      "st1 {v5.s}[3], [%[o3]], #4\n"
      "subs %w[nb], %w[nb], #1\n"
      "b.ne 0b\n"
      : [x0] "=&r"(x0), [x1] "=&r"(x1), [x2] "=&r"(x2), [x3] "=&r"(x3), [n] "=&r"(n), [w] "+r"(w), [nb] "+r"(nb),
        [corr] "+r"(corr), [o0] "+r"(o0), [o1] "+r"(o1), [o2] "+r"(o2), [o3] "+r"(o3)
      : [b0] "r"(b0), [b1] "r"(b1), [b2] "r"(b2), [b3] "r"(b3), [kc] "r"(kc), [t8] "r"(t8), [zp] "w"(zp), [lo] "w"(lo), [hi] "w"(hi),
        [mo] "i"(4 * SB_MAX), [so] "i"(8 * SB_MAX)
      : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14",
        "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27");
}

/*
 * 4 pixels (rows x[0..3], each kc * 16 readable bytes) times every packed block: out[i] receives
 * the pixel's channels 0..m-1 (a pixel past the last points to a sink).
 */
static void gemm4(const packed_rows *pk, const int8_t *const x[4], int8_t *const out[4], const tm2_conv_params *p) {
  const int32_t kc = pk->kc, m = pk->m;
  const int8_t *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
  const int16x8_t zp = vdupq_n_s16((int16_t)p->out_zp);
  const int8x16_t lo = vdupq_n_s8((int8_t)p->act_min), hi = vdupq_n_s8((int8_t)p->act_max);
  int32_t c = 0;
  if (pk->fast && m >= 4) {
    blocks_fast(x0, x1, x2, x3, pk->w, kc, pk->t8, m >> 2, pk->corr, out[0], out[1], out[2], out[3], zp, lo, hi);
    c = m & ~3;
  }
  for (; c < m; c += 4) {
    const int8_t *wb = pk->w + (c >> 2) * kc * 64;
    int32x4_t sv[4], s0, s1, s2, s3;
    const int32x4_t corr = vld1q_s32(pk->corr + c);
    block4x4(x0, x1, x2, x3, wb, kc, sv);
    s0 = vaddq_s32(sv[0], corr);
    s1 = vaddq_s32(sv[1], corr);
    s2 = vaddq_s32(sv[2], corr);
    s3 = vaddq_s32(sv[3], corr);
    if (pk->fast) {
      const int32x4_t mul = vld1q_s32(pk->mul + c), sh = vld1q_s32(pk->shift + c);
      const uint32x4_t b = vreinterpretq_u32_s8(tm2_neon_narrow16(tm2_neon_rq(s0, mul, sh), tm2_neon_rq(s1, mul, sh),
                                                                  tm2_neon_rq(s2, mul, sh), tm2_neon_rq(s3, mul, sh), zp, lo, hi));
      if (c + 4 <= m) {
        vst1q_lane_u32((uint32_t *)(void *)(out[0] + c), b, 0);
        vst1q_lane_u32((uint32_t *)(void *)(out[1] + c), b, 1);
        vst1q_lane_u32((uint32_t *)(void *)(out[2] + c), b, 2);
        vst1q_lane_u32((uint32_t *)(void *)(out[3] + c), b, 3);
      } else {
        int8_t t[16];
        int32_t i, r;
        vst1q_s8(t, vreinterpretq_s8_u32(b));
        for (r = 0; r < 4; r++)
          for (i = 0; i < m - c; i++) out[r][c + i] = t[4 * r + i];
      }
    } else {
      int32_t t[16], i, r;
      vst1q_s32(t, s0);
      vst1q_s32(t + 4, s1);
      vst1q_s32(t + 8, s2);
      vst1q_s32(t + 12, s3);
      for (r = 0; r < 4; r++)
        for (i = 0; i < 4 && c + i < m; i++)
          out[r][c + i] = tm2_requant(t[4 * r + i], pk->mul[c + i], pk->shift[c + i], p->out_zp, p->act_min, p->act_max);
    }
  }
}

/* Rows per packed block for padded K kp: as many as fit, a multiple of 4, at most SB_MAX. */
static int32_t block_rows(int32_t kp) {
  int32_t r = (TM2_NEON_PACK_BYTES / kp) & ~3;
  return r > SB_MAX ? SB_MAX : r;
}

/* The window of output pixel px for group g as K raw bytes in weight order [KH][KW][Cin/groups]
 * (padding = in_zp), as conv.c gathers it. */
static void gather(const tm2_conv_params *p, const int8_t *in, int32_t g, int32_t px, int8_t *dst) {
  const int32_t cin_g = p->in_c / p->groups, kw = p->kernel_w, row_bytes = kw * cin_g;
  const int32_t oy = px / p->out_w, ox = px % p->out_w;
  const int32_t ix0 = ox * p->stride_w - p->pad_left;
  const int8_t zp = (int8_t)p->in_zp;
  int32_t ky, kx, kx0 = 0, kx1 = kw;
  while (kx0 < kx1 && ix0 + kx0 * p->dilation_w < 0) kx0++;
  while (kx1 > kx0 && ix0 + (kx1 - 1) * p->dilation_w >= p->in_w) kx1--;
  for (ky = 0; ky < p->kernel_h; ky++, dst += row_bytes) {
    const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
    const int8_t *src;
    if (iy < 0 || iy >= p->in_h || kx0 >= kx1) {
      memset(dst, zp, (size_t)row_bytes);
      continue;
    }
    src = in + (iy * p->in_w + ix0 + kx0 * p->dilation_w) * p->in_c + g * cin_g;
    if (kx0 > 0) memset(dst, zp, (size_t)(kx0 * cin_g));
    if (p->groups == 1 && p->dilation_w == 1) {
      const int32_t n = (kx1 - kx0) * cin_g;
      if (n == 4) memcpy(dst + kx0 * cin_g, src, 4); /* first layers: one LDR/STR */
      else memcpy(dst + kx0 * cin_g, src, (size_t)n);
    } else {
      for (kx = kx0; kx < kx1; kx++, src += p->dilation_w * p->in_c) memcpy(dst + kx * cin_g, src, (size_t)cin_g);
    }
    if (kx1 < kw) memset(dst + kx1 * cin_g, zp, (size_t)((kw - kx1) * cin_g));
  }
}

/* n <= 16 bytes or more: small copies inline (a first layer's kernel row is a few bytes). */
static inline void copy_row(int8_t *dst, const int8_t *src, int32_t n) {
  if (n > 16) {
    memcpy(dst, src, (size_t)n);
    return;
  }
  for (; n >= 8; n -= 8, dst += 8, src += 8) memcpy(dst, src, 8);
  if (n >= 4) {
    memcpy(dst, src, 4);
    n -= 4, dst += 4, src += 4;
  }
  for (; n > 0; n--) *dst++ = *src++;
}

/* The window of pixel px in a padded image (p describes it: no padding, one group, no horizontal
 * dilation): kernel_h contiguous runs of kernel_w * in_c bytes. */
static void gather_rows(const tm2_conv_params *p, const int8_t *img, int32_t px, int8_t *dst) {
  const int32_t row_bytes = p->kernel_w * p->in_c, step = p->dilation_h * p->in_w * p->in_c;
  const int8_t *src = img + ((px / p->out_w) * p->stride_h * p->in_w + (px % p->out_w) * p->stride_w) * p->in_c;
  int32_t ky;
  if (row_bytes == 4) { /* 4 taps of one channel (KWS's 10x4 first layer): one LDR/STR per row */
    for (ky = 0; ky < p->kernel_h; ky++, src += step, dst += 4) memcpy(dst, src, 4);
    return;
  }
  for (ky = 0; ky < p->kernel_h; ky++, src += step, dst += row_bytes) copy_row(dst, src, row_bytes);
}

/*
 * Output channels [o0, o0 + n) of `pixels` pixels: pixel px's K values are `direct + px * k` when direct
 * is not NULL (pointwise, K % 16 == 0), else gathered (conv window of group g, or pointwise row).
 */
static void gemm(const tm2_conv_params *p, const int8_t *in, const int8_t *direct, int conv, int32_t g, const int8_t *w,
                 int32_t bits, int32_t k, int32_t o0, int32_t n, int32_t pixels, int8_t *out, int32_t out_stride) {
  const int32_t kp = (k + 15) & ~15, rows = block_rows(kp);
  const int16x8_t zp = vdupq_n_s16((int16_t)p->out_zp);
  const int8x16_t lo = vdupq_n_s8((int8_t)p->act_min), hi = vdupq_n_s8((int8_t)p->act_max);
  packed_rows pk;
  int8_t panel[4 * KP_MAX], sink[SB_MAX];
  int32_t o, px, i;
  if (!direct) memset(panel, 0, (size_t)(4 * kp));
  for (o = 0; o < n; o += rows) {
    const int32_t m = n - o < rows ? n - o : rows;
    pack_rows(p, w, bits, k, o0 + o, m, &pk);
    for (px = 0; px < pixels; px += 4) {
      const int8_t *x[4];
      int8_t *dst[4];
      for (i = 0; i < 4; i++) {
        if (px + i < pixels) {
          if (direct) {
            x[i] = direct + (px + i) * k;
          } else {
            if (conv == 2) gather_rows(p, in, px + i, panel + i * kp);
            else if (conv) gather(p, in, g, px + i, panel + i * kp);
            else memcpy(panel + i * kp, in + (px + i) * k, (size_t)k);
            x[i] = panel + i * kp;
          }
          dst[i] = out + (px + i) * out_stride + o0 + o;
        } else {
          x[i] = x[0];
          dst[i] = sink;
        }
      }
      if (pk.fast && (pk.m & 3) == 0) /* the usual case: every block in assembly, output stage included */
        blocks_fast(x[0], x[1], x[2], x[3], pk.w, pk.kc, pk.t8, pk.m >> 2, pk.corr, dst[0], dst[1], dst[2], dst[3], zp, lo, hi);
      else
        gemm4(&pk, x, dst, p);
    }
  }
}

int tm2_neon_conv(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out) {
  const int32_t cin_g = p->in_c / p->groups, cout_g = p->out_c / p->groups;
  const int32_t k = p->kernel_h * p->kernel_w * cin_g;
  int32_t g;
  if (((k + 15) & ~15) > KP_MAX || (bits == 4 && TM2_S4_UNPACK_BYTES == 0)) return 0;
  if (p->groups == 1 && p->dilation_w == 1) {
    /* Small inputs (first layers): copied once into an image padded with in_zp, so that every window
     * is kernel_h plain row copies, without bounds checks. */
    const int32_t ph = (p->out_h - 1) * p->stride_h + (p->kernel_h - 1) * p->dilation_h + 1;
    const int32_t pw = (p->out_w - 1) * p->stride_w + p->kernel_w;
    if (ph * pw * p->in_c <= TM2_NEON_PAD_BYTES) {
      int8_t img[TM2_NEON_PAD_BYTES];
      tm2_conv_params q = *p;
      int32_t y, x0 = p->pad_left < 0 ? 0 : p->pad_left, y0;
      const int32_t xn = p->in_w + x0 > pw ? pw - x0 : p->in_w; /* input columns inside the image */
      memset(img, p->in_zp, (size_t)(ph * pw * p->in_c));
      for (y0 = 0; y0 < ph; y0++) {
        y = y0 - p->pad_top;
        if (y < 0 || y >= p->in_h || xn <= 0) continue;
        memcpy(img + (y0 * pw + x0) * p->in_c, in + y * p->in_w * p->in_c, (size_t)(xn * p->in_c));
      }
      q.in_h = ph;
      q.in_w = pw;
      q.pad_top = q.pad_left = 0;
      gemm(&q, img, NULL, 2, 0, w, bits, k, 0, p->out_c, p->out_h * p->out_w, out, p->out_c);
      return 1;
    }
  }
  for (g = 0; g < p->groups; g++)
    gemm(p, in, NULL, 1, g, w, bits, k, g * cout_g, cout_g, p->out_h * p->out_w, out, p->out_c);
  return 1;
}

int tm2_neon_pointwise(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out) {
  const int32_t k = p->in_c;
  if (((k + 15) & ~15) > KP_MAX || (bits == 4 && TM2_S4_UNPACK_BYTES == 0)) return 0;
  gemm(p, in, (k & 15) == 0 ? in : NULL, 0, 0, w, bits, k, 0, p->out_c, p->in_h * p->in_w, out, p->out_c);
  return 1;
}

#else
/* Not an AArch64 NEON build: the kernels use their portable paths. ISO C wants a declaration. */
typedef int tm2_neon_gemm_unused;
#endif
