/*
 * tm2_mm.h - private: the matrix-multiply core shared by the optimized conv, pointwise and
 * dense kernels, and the "columns" it reads.
 *
 * A column holds K activations of one output pixel (already minus in_zp, so padding is 0) as
 * int16 pairs, ordered to match how a weight word unpacks (see tm2_simd.h):
 *   INT8 weights, per 4 values x0..x3:   words (x0,x2) (x1,x3)
 *   INT4 weights, per 8 values x0..x7:   words (x0,x4) (x2,x6) (x1,x5) (x3,x7)
 * A last partial group is padded with anything finite: the matching weights read as 0.
 * Weight row o (output channel o) is the K values starting at element o*K of the weight array.
 */
#ifndef TM2_MM_H
#define TM2_MM_H

#include "tm2.h"

/** Words in one column of K activations for `bits`-bit weights (both layouts fit 4 * ceil(K/8)). */
static inline int32_t tm2_col_words(int32_t k) { return ((k + 7) >> 3) * 4; }

/** Column from K contiguous activations (pointwise pixel, dense vector). */
void tm2_col_fill(uint32_t *col, int32_t bits, const int8_t *x, int32_t k, int32_t zp);
/** Writes element k of a column (im2col gather); v = x - zp or 0 for padding. */
static inline void tm2_col_put(uint32_t *col, int32_t bits, int32_t k, int32_t v) {
  int32_t word, half;
  if (bits == 8) {
    word = (k >> 2) * 2 + (k & 1);
    half = (k >> 1) & 1;
  } else {
    const int32_t i = k & 7;
    word = (k >> 3) * 4 + (((i & 1) << 1) | ((i >> 1) & 1));
    half = i >> 2;
  }
  col[word] = half ? ((col[word] & 0xFFFFu) | ((uint32_t)v << 16)) : ((col[word] & 0xFFFF0000u) | ((uint32_t)v & 0xFFFFu));
}

/**
 * For output channels o in [o_begin, o_end): out0[o] (and out1[o] when col1 != NULL) =
 * requant(bias[o] + row o . col0 (col1)), with requant/zero points/clamp from p.
 */
void tm2_mm_s8(const tm2_conv_params *p, const int8_t *w, int32_t k, const uint32_t *col0, const uint32_t *col1,
               int32_t o_begin, int32_t o_end, int8_t *out0, int8_t *out1);
void tm2_mm_s4(const tm2_conv_params *p, const int8_t *w_packed, int32_t k, const uint32_t *col0,
               const uint32_t *col1, int32_t o_begin, int32_t o_end, int8_t *out0, int8_t *out1);

#endif
