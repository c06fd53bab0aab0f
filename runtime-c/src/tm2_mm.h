/*
 * tm2_mm.h - private: the matrix-multiply core shared by the optimized conv, pointwise and
 * dense kernels, and the "columns" it reads.
 *
 * A column holds K activations of one output pixel (already minus in_zp, so padding is 0) as
 * int16 pairs, ordered to match how a weight word unpacks (see tm2_simd.h). Per group of values:
 *   INT8 weights, 4 values x0..x3:   words (x0,x2) (x1,x3)
 *   INT4 weights, 8 values x0..x7:   words (x0,x4) (x2,x6) (x1,x5) (x3,x7)
 * Two pixels A and B are interleaved group by group (A's words, then B's, then the next group)
 * so the 2x2 inner loop walks a single pointer; a single column uses the same layout with a
 * group stride of one column's words. A last partial group is padded with anything finite:
 * the matching weights read as 0.
 * Weight row o (output channel o) is the K values starting at element o*K of the weight array.
 */
#ifndef TM2_MM_H
#define TM2_MM_H

#include "tm2.h"

/** Words of one column group: 2 for INT8 weights (4 values), 4 for INT4 weights (8 values). */
static inline int32_t tm2_col_group_words(int32_t bits) { return bits == 8 ? 2 : 4; }
/** Values per column group. */
static inline int32_t tm2_col_group_values(int32_t bits) { return bits == 8 ? 4 : 8; }
/** Bytes of a two-pixel column buffer for K values, valid for both weight widths. */
static inline size_t tm2_col_pair_bytes(int32_t k) { return (size_t)((k + 7) >> 3) * 8 * sizeof(uint32_t); }

/** Column from K contiguous activations; `stride` = words from one group to the next. */
void tm2_col_fill(uint32_t *col, int32_t bits, const int8_t *x, int32_t k, int32_t zp, int32_t stride);

/**
 * Rewrites a column of K values built for INT8 weights (tm2_col_fill with bits 8; two pixels
 * interleaved when `two`) in place into the INT4 layout, so one gathered window feeds both cores.
 * The buffer must hold tm2_col_pair_bytes(k) (or half of it for one pixel).
 */
void tm2_col_s8_to_s4(uint32_t *col, int32_t k, int two);

/** Writes element k of a column with group stride `stride` (im2col gather); v = x - zp or 0. */
static inline void tm2_col_put(uint32_t *col, int32_t bits, int32_t stride, int32_t k, int32_t v) {
  int32_t word, half;
  if (bits == 8) {
    word = (k >> 2) * stride + (k & 1);
    half = (k >> 1) & 1;
  } else {
    const int32_t i = k & 7;
    word = (k >> 3) * stride + (((i & 1) << 1) | ((i >> 1) & 1));
    half = i >> 2;
  }
  col[word] = half ? ((col[word] & 0xFFFFu) | ((uint32_t)v << 16)) : ((col[word] & 0xFFFF0000u) | ((uint32_t)v & 0xFFFFu));
}

/**
 * Output channels whose accumulators the matrix-multiply cores (and depthwise) keep before requantizing
 * them together (two int32 arrays of this many on the stack, 512 bytes): the output stage then runs in a
 * loop of its own (tm2_requant_rows) with its constants in registers, instead of next to the multiply
 * state. 64 rather than 16: a 64-channel layer makes one call per pixel pair instead of four (KWS DS-CNN
 * on Cortex-M4: 27 K to 35 K fewer instructions per layer).
 */
#define TM2_MM_CHUNK 64

/**
 * out0[i] = tm2_requant(acc0[i] + bias[o + i], multiplier[o + i], shift[o + i], out_zp, act_min, act_max)
 * for i in [0, n) (bias NULL reads as 0), and the same from acc1 into out1 when acc1 is not NULL:
 * the output stage of the conv, pointwise and dense kernels (requant_rows.c).
 */
void tm2_requant_rows(const tm2_conv_params *p, int32_t o, int32_t n, const int32_t *acc0, const int32_t *acc1,
                      int8_t *out0, int8_t *out1);

/**
 * For output channels o in [o_begin, o_end): out0[o] = requant(bias[o] + row o . column A) and,
 * when `two`, out1[o] = the same with column B; `col` is laid out as above (interleaved when
 * `two`, single otherwise). Requant, zero points and clamp come from p.
 */
void tm2_mm_s8(const tm2_conv_params *p, const int8_t *w, int32_t k, const uint32_t *col, int two, int32_t o_begin,
               int32_t o_end, int8_t *out0, int8_t *out1);
void tm2_mm_s4(const tm2_conv_params *p, const int8_t *w_packed, int32_t k, const uint32_t *col, int two,
               int32_t o_begin, int32_t o_end, int8_t *out0, int8_t *out1);

/*
 * Pre-extended weights (mm_w16.c): INT4 rows o..o+m-1 unpacked once into int16 pairs, 16 * the values in
 * the INT4 column order (4 words per group of 8 values, the last group zero-filled), then used by
 * every pixel with INT4 columns; p's channels 0..m-1 are the block's (the caller offsets bias,
 * multiplier and shift).
 */
/** Bytes of one unpacked row of K values. */
static inline size_t tm2_w16_row_bytes(int32_t k) { return (size_t)((k + 7) >> 3) * 4 * sizeof(uint32_t); }
void tm2_w16_unpack_s4(const int8_t *packed, int32_t k, int32_t o, int32_t m, uint32_t *dst);
void tm2_mm_w16(const tm2_conv_params *p, const uint32_t *rows, int32_t k, const uint32_t *col, int two, int32_t m,
                int8_t *out0, int8_t *out1);

/*
 * AArch64 NEON path (neon_rows.c): the weight rows times one pixel's K raw activations (no int16
 * column, no in_zp subtraction: in_zp * sum(w) is folded into a per-channel constant instead).
 * INT4 weights need an even K (rows start on a byte).
 */
/** Channels per tm2_neon_corr call (the callers' stack buffer of constants). */
#define TM2_NEON_CHUNK 64
/** corr[i] = bias[o + i] - in_zp * sum_k w[o + i][k] for i in [0, n), n <= TM2_NEON_CHUNK (mod 2^32). */
void tm2_neon_corr(const tm2_conv_params *p, const int8_t *w, int32_t bits, int32_t k, int32_t o, int32_t n,
                   int32_t *corr);
/** out[o + i] = tm2_requant(corr[i] + sum_k x[k] * w[o + i][k], ...) for i in [0, n). */
void tm2_neon_rows(const tm2_conv_params *p, const int8_t *w, int32_t bits, int32_t k, const int8_t *x, int32_t o,
                   int32_t n, const int32_t *corr, int8_t *out);

#endif
