/*
 * neon_rows.c - AArch64 Advanced SIMD rows kernel: dense, and pointwise / conv with a large K (Cortex-A72: no
 * SDOT, so widening multiply-accumulate): weight rows times one pixel's raw int8 activations.
 *
 * sum_k (x_k - zp) * w_k = sum_k x_k * w_k - zp * sum_k w_k: the second term goes into a per-channel
 * constant (tm2_neon_corr, with the bias), so the activations are multiplied as they are, int8 x int8.
 * INT8 weights are in [-127, 127], so two products fit an int16 lane (2 * 128 * 127 < 2^15): SMULL +
 * SMLAL2 make 16 products in 8 lanes, SADALP adds the pairs into 4 int32 lanes (3 instructions per 16
 * MACs). INT4 weights (low nibble first) are split into even and odd values with shifts, the
 * activations with LD2; four products per int16 lane (4 * 128 * 8 < 2^15). Four output channels at a
 * time are reduced to one vector and requantized together (SQDMULH + SRSHL, exact: neon.h).
 * Used for dense (one pixel: every weight is read once anyway) and as the conv / pointwise path when
 * a padded K does not fit neon_gemm.c's pack buffer. Sums wrap mod 2^32 like the
 * reference's int32 arithmetic, so the folded constant changes nothing when the true sum fits.
 */
#include "neon.h"
#include "s4_unpack.h"
#include "tm2_mm.h"

#if TM2_HAVE_NEON

void tm2_neon_corr(const tm2_conv_params *p, const int8_t *w, int32_t bits, int32_t k, int32_t o, int32_t n,
                   int32_t *corr) {
  int32_t i, j;
  for (i = 0; i < n; i++) {
    uint32_t sum = 0;
    if (bits == 8) {
      const int8_t *row = w + (o + i) * k;
      int32x4_t s = vdupq_n_s32(0);
      for (j = 0; j + 16 <= k; j += 16) s = vpadalq_s16(s, vpaddlq_s8(vld1q_s8(row + j)));
      sum = (uint32_t)vaddvq_s32(s);
      for (; j < k; j++) sum += (uint32_t)row[j];
    } else {
      for (j = 0; j < k; j++) sum += (uint32_t)tm2_s4_get(w, (o + i) * k + j);
    }
    corr[i] = (int32_t)((p->bias ? (uint32_t)p->bias[o + i] : 0u) - (uint32_t)p->in_zp * sum);
  }
}

/* 16 INT8 products of x and one row into acc (pairs of int16 products added into int32 lanes). */
static inline int32x4_t dot16_s8(int32x4_t acc, int8x16_t x, const int8_t *w) {
  const int8x16_t wv = vld1q_s8(w);
  return vpadalq_s16(acc, vmlal_high_s8(vmull_s8(vget_low_s8(x), vget_low_s8(wv)), x, wv));
}

/* 32 INT4 products: x deinterleaved (even, odd values), 16 packed bytes of one row. */
static inline int32x4_t dot32_s4(int32x4_t acc, int8x16x2_t x, const int8_t *w) {
  const int8x16_t b = vld1q_s8(w);
  const int8x16_t we = vshrq_n_s8(vshlq_n_s8(b, 4), 4), wo = vshrq_n_s8(b, 4);
  int16x8_t q = vmull_s8(vget_low_s8(x.val[0]), vget_low_s8(we));
  q = vmlal_high_s8(q, x.val[0], we);
  q = vmlal_s8(q, vget_low_s8(x.val[1]), vget_low_s8(wo));
  q = vmlal_high_s8(q, x.val[1], wo);
  return vpadalq_s16(acc, q);
}

/* Scalar dot product of x[k0..k) with row o (the tail the vector loop leaves). */
static int32_t dot_tail(const int8_t *w, int32_t bits, int32_t k, const int8_t *x, int32_t o, int32_t k0) {
  uint32_t s = 0;
  int32_t j;
  for (j = k0; j < k; j++) s += (uint32_t)(x[j] * (bits == 8 ? (int32_t)w[o * k + j] : tm2_s4_get(w, o * k + j)));
  return (int32_t)s;
}

void tm2_neon_rows(const tm2_conv_params *p, const int8_t *w, int32_t bits, int32_t k, const int8_t *x, int32_t o,
                   int32_t n, const int32_t *corr, int8_t *out) {
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const int32_t oc = o + i;
    int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0, s;
    int32_t j = 0, t[4], r;
    if (bits == 8) {
      const int8_t *w0 = w + oc * k;
      for (; j + 16 <= k; j += 16) {
        const int8x16_t xv = vld1q_s8(x + j);
        a0 = dot16_s8(a0, xv, w0 + j);
        a1 = dot16_s8(a1, xv, w0 + k + j);
        a2 = dot16_s8(a2, xv, w0 + 2 * k + j);
        a3 = dot16_s8(a3, xv, w0 + 3 * k + j);
      }
    } else {
      const int8_t *w0 = w + ((oc * k) >> 1);
      const int32_t kb = k >> 1; /* bytes per row (k even) */
      for (; j + 32 <= k; j += 32) {
        const int8x16x2_t xv = vld2q_s8(x + j);
        a0 = dot32_s4(a0, xv, w0 + (j >> 1));
        a1 = dot32_s4(a1, xv, w0 + kb + (j >> 1));
        a2 = dot32_s4(a2, xv, w0 + 2 * kb + (j >> 1));
        a3 = dot32_s4(a3, xv, w0 + 3 * kb + (j >> 1));
      }
    }
    s = vpaddq_s32(vpaddq_s32(a0, a1), vpaddq_s32(a2, a3));
    for (r = 0; r < 4; r++) t[r] = j < k ? dot_tail(w, bits, k, x, oc + r, j) : 0;
    s = vaddq_s32(s, vaddq_s32(vld1q_s32(t), vld1q_s32(corr + i)));
    tm2_neon_requant4(p, oc, s, out + oc);
  }
  for (; i < n; i++) {
    const int32_t acc = (int32_t)((uint32_t)corr[i] + (uint32_t)dot_tail(w, bits, k, x, o + i, 0));
    out[o + i] = tm2_requant(acc, p->multiplier[o + i], p->shift[o + i], p->out_zp, p->act_min, p->act_max);
  }
}

/*
 * Dense: the rows against the one input vector, TM2_NEON_CHUNK channels per constant block. INT4 rows
 * are unpacked to int8 first (as many as fit TM2_S4_UNPACK_BYTES) and take the INT8 loop, any K.
 */
int tm2_neon_dense(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out) {
  const int32_t k = p->in_h * p->in_w * p->in_c;
  int32_t corr[TM2_NEON_CHUNK], o;
#if TM2_S4_UNPACK_BYTES >= 256 /* smaller buffers: the nibble loop (gcc also warns about reads it cannot bound) */
  if (bits == 4 && k <= TM2_S4_UNPACK_BYTES) {
    int8_t rows[TM2_S4_UNPACK_BYTES];
    tm2_conv_params q = *p; /* the block's channels as channels 0..m-1 */
    int32_t fit = TM2_S4_UNPACK_BYTES / k;
    if (fit > TM2_NEON_CHUNK) fit = TM2_NEON_CHUNK;
    if (fit > 4) fit &= ~3; /* whole groups of 4 rows: tm2_neon_rows runs a short group's rows one by one */
    for (o = 0; o < p->out_c; o += fit) {
      const int32_t m = p->out_c - o < fit ? p->out_c - o : fit;
      q.bias = p->bias ? p->bias + o : NULL;
      q.multiplier = p->multiplier + o;
      q.shift = p->shift + o;
      tm2_s4_unpack(w, o * k, m * k, rows);
      tm2_neon_corr(&q, rows, 8, k, 0, m, corr);
      tm2_neon_rows(&q, rows, 8, k, in, 0, m, corr, out + o);
    }
    return 1;
  }
#endif
  if (bits == 4 && (k & 1)) return 0;
  for (o = 0; o < p->out_c; o += TM2_NEON_CHUNK) {
    const int32_t m = p->out_c - o < TM2_NEON_CHUNK ? p->out_c - o : TM2_NEON_CHUNK;
    tm2_neon_corr(p, w, bits, k, o, m, corr);
    tm2_neon_rows(p, w, bits, k, in, o, m, corr, out);
  }
  return 1;
}

#else
/* Not an AArch64 NEON build: the kernels use the column path (mm_s8.c, mm_s4.c). ISO C wants a declaration. */
typedef int tm2_neon_rows_unused;
#endif
