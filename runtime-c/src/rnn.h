/*
 * rnn.h - private helpers of the recurrent kernels (lstm.c, gru.c, rnn_ref.c, rnn_mm.c, rnn_act.c):
 * the fixed-point pieces of ARITHMETIC.md "Recurrent layers" that the reference and the optimized
 * kernels state the same way (saturation, rounding shift, gate preactivation, table interpolation).
 */
#ifndef TM2_RNN_H
#define TM2_RNN_H

#include <stdint.h>

#include "tm2.h"

extern const int16_t tm2_sigmoid_table[513];
extern const int16_t tm2_tanh_table[513];

/** n rounded up to a multiple of chunk. */
static inline int32_t tm2_rnn_pad(int32_t n, int32_t chunk) { return (n + chunk - 1) / chunk * chunk; }

static inline int32_t tm2_sat16(int32_t v) { return v < -32768 ? -32768 : v > 32767 ? 32767 : v; }

/** Rounding (half up) arithmetic shift right by n >= 1. */
static inline int32_t tm2_rshr(int32_t v, int32_t n) { return (v + (1 << (n - 1))) >> n; }

/** Table lookup with linear interpolation: Q3.12 in (any int16), Q0.15 out. */
static inline int32_t tm2_rnn_interp(const int16_t *table, int32_t x) {
  const int32_t u = x + 32768, k = u >> 7, f = u & 127;
  const int32_t a = table[k];
  return a + (((table[k + 1] - a) * f + 64) >> 7);
}

/** Gate preactivation: sat16(v >> r), r = 31 - shift in [1, 62] (v holds the rounding constant). */
static inline int32_t tm2_rnn_gate(int64_t v, int32_t shift) {
  const int32_t r = 31 - shift;
  if (r >= 32) return tm2_sat16((int32_t)(v >> 32) >> (r - 32)); /* one ASR of the high word */
  {
    const int64_t q = v >> r;
    return q < -32768 ? -32768 : q > 32767 ? 32767 : (int32_t)q;
  }
}

/** Cell state (real c * 2^-frac) as a Q3.12 tanh input. */
static inline int32_t tm2_rnn_cell_q12(int32_t c, int32_t frac) {
  if (frac > 12) return tm2_rshr(c, frac - 12);
  return tm2_sat16(c * (1 << (12 - frac)));
}

/*
 * Optimized building blocks (rnn_mm.c). The column is a sequence as int16 pairs in the order the
 * weight words unpack to: INT8 chunks of 4 values (x0,x2)(x1,x3); INT4 chunks of 8 values
 * (x0,x4)(x2,x6)(x1,x5)(x3,x7) (tm2_unpack_s4x8). Values past n up to the padded length are 0.
 */
void tm2_rnn_fill_col(uint32_t *col, const int8_t *x, int32_t n, int32_t padded, int32_t s4);
/** acc[g] = sum over `chunks` chunks of `gates` interleaved rows (see tm2.h) with the column; advances *w. */
void tm2_rnn_dot_s8(const int8_t **w, const uint32_t *col, int32_t chunks, int32_t gates, int32_t *acc);
void tm2_rnn_dot_s4(const int8_t **w, const uint32_t *col, int32_t chunks, int32_t gates, int32_t *acc);

#endif /* TM2_RNN_H */
