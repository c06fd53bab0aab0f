/*
 * pointwise.c - optimized 1x1 convolution. Two pixels at a time: their input channels are
 * converted once to an interleaved int16 column pair (minus in_zp), then every pair of output
 * channels is a 2x2 block of the matrix-multiply core (mm_s8.c / mm_s4.c).
 * INT4 weights: a block of output channels is unpacked once to int16 pairs (on the stack,
 * s4_unpack.h) and every pixel runs the pre-extended core (mm_w16.c) on it, which needs fewer
 * instructions per MAC than INT8 weights; the columns are rebuilt per block.
 */
#include "s4_unpack.h" /* TM2_S4_UNPACK_BYTES */
#include "neon.h" /* AArch64: the NEON kernels */
#include "tm2_mm.h"
#include "tm2_simd.h"

size_t tm2_pointwise_scratch_size(const tm2_conv_params *p) { return tm2_col_pair_bytes(p->in_c); }

static void pointwise(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out,
                      void *scratch) {
  const int32_t pixels = p->in_h * p->in_w, k = p->in_c, n = p->out_c, gw = tm2_col_group_words(bits);
  uint32_t *col = (uint32_t *)scratch;
  int32_t px;
#if TM2_HAVE_NEON
#if TM2_S4_UNPACK_BYTES > 0
  if (bits == 4 && k <= TM2_S4_UNPACK_BYTES) { /* AArch64, INT4: blocks of rows unpacked to int8 once, any K */
    int8_t rows[TM2_S4_UNPACK_BYTES];
    int32_t corr[TM2_NEON_CHUNK], o, fit = TM2_S4_UNPACK_BYTES / k;
    tm2_conv_params q = *p; /* the block's channels as channels 0..m-1 */
    if (fit > TM2_NEON_CHUNK) fit = TM2_NEON_CHUNK;
    for (o = 0; o < n; o += fit) {
      const int32_t m = n - o < fit ? n - o : fit;
      q.bias = p->bias ? p->bias + o : NULL;
      q.multiplier = p->multiplier + o;
      q.shift = p->shift + o;
      tm2_s4_unpack(w, o * k, m * k, rows);
      tm2_neon_corr(&q, rows, 8, k, 0, m, corr);
      for (px = 0; px < pixels; px++) tm2_neon_rows(&q, rows, 8, k, in + px * k, 0, m, corr, out + px * n + o);
    }
    return;
  }
#endif
  if (bits == 8 || (k & 1) == 0) { /* AArch64: raw activations times rows (neon_rows.c), no column */
    int32_t corr[TM2_NEON_CHUNK], o;
    for (o = 0; o < n; o += TM2_NEON_CHUNK) {
      const int32_t m = n - o < TM2_NEON_CHUNK ? n - o : TM2_NEON_CHUNK;
      tm2_neon_corr(p, w, bits, k, o, m, corr);
      for (px = 0; px < pixels; px++) tm2_neon_rows(p, w, bits, k, in + px * k, o, m, corr, out + px * n);
    }
    return;
  }
#endif
#if TM2_S4_UNPACK_BYTES > 0
  if (bits == 4 && 2 * tm2_w16_row_bytes(k) <= TM2_S4_UNPACK_BYTES) { /* blocks of at least two rows */
    uint32_t rows[TM2_S4_UNPACK_BYTES / sizeof(uint32_t)];
    const int32_t block = tm2_s4_block_rows(n, (int32_t)(TM2_S4_UNPACK_BYTES / tm2_w16_row_bytes(k)) & ~1);
    tm2_conv_params q; /* the block's channels as channels 0..m-1 (p itself when one block holds them all) */
    const tm2_conv_params *const qp = block >= n ? p : &q;
    int32_t o;
    if (block < n) q = *p;
    for (o = 0; o < n; o += block) {
      const int32_t m = n - o < block ? n - o : block;
      if (block < n) {
        q.bias = p->bias ? p->bias + o : NULL;
        q.multiplier = p->multiplier + o;
        q.shift = p->shift + o;
      }
      tm2_w16_unpack_s4(w, k, o, m, rows);
      for (px = 0; px < pixels; px += 2) {
        const int two = px + 1 < pixels;
        tm2_col_fill(col, 4, in + px * k, k, p->in_zp, two ? 2 * gw : gw);
        if (two) tm2_col_fill(col + gw, 4, in + (px + 1) * k, k, p->in_zp, 2 * gw);
        tm2_mm_w16(qp, rows, k, col, two, m, out + px * n + o, out + (px + 1) * n + o);
      }
    }
    return;
  }
#endif
  for (px = 0; px < pixels; px += 2) {
    const int two = px + 1 < pixels;
    tm2_col_fill(col, bits, in + px * k, k, p->in_zp, two ? 2 * gw : gw);
    if (two) tm2_col_fill(col + gw, bits, in + (px + 1) * k, k, p->in_zp, 2 * gw);
    if (bits == 8)
      tm2_mm_s8(p, w, k, col, two, 0, n, out + px * n, out + (px + 1) * n);
    else
      tm2_mm_s4(p, w, k, col, two, 0, n, out + px * n, out + (px + 1) * n);
  }
}

void tm2_pointwise_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out, void *scratch) {
#if TM2_HAVE_NEON
  if (tm2_neon_pointwise(p, in, w, 8, out)) return; /* AArch64: neon_gemm.c */
#endif
  pointwise(p, in, w, 8, out, scratch);
}

void tm2_pointwise_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out, void *scratch) {
#if TM2_HAVE_NEON
  if (tm2_neon_pointwise(p, in, w_packed, 4, out)) return; /* AArch64: neon_gemm.c */
#endif
  pointwise(p, in, w_packed, 4, out, scratch);
}
