/*
 * rnn.h - private helpers of the recurrent kernels (lstm.c, gru.c, rnn_ref.c, rnn_mm.c, rnn_act.c):
 * the fixed-point pieces of ARITHMETIC.md "Recurrent layers" that the reference and the optimized
 * kernels state the same way (saturation, rounding shift, gate preactivation, table interpolation).
 */
#ifndef TM2_RNN_H
#define TM2_RNN_H

#include <stdint.h>

#include "tm2.h"
#include "tm2_simd.h"

extern const int16_t tm2_sigmoid_table[513];
extern const int16_t tm2_tanh_table[513];

/** n rounded up to a multiple of chunk. */
static inline int32_t tm2_rnn_pad(int32_t n, int32_t chunk) { return (n + chunk - 1) / chunk * chunk; }

static inline int32_t tm2_sat16(int32_t v) {
#if TM2_HAVE_DSP
  return __ssat(v, 16);
#else
  return v < -32768 ? -32768 : v > 32767 ? 32767 : v;
#endif
}

/** Rounding (half up) arithmetic shift right by n >= 1. */
static inline int32_t tm2_rshr(int32_t v, int32_t n) { return (v + (1 << (n - 1))) >> n; }

/** Table lookup with linear interpolation: Q3.12 in (any int16), Q0.15 out. */
static inline int32_t tm2_rnn_interp(const int16_t *table, int32_t x) {
  const int32_t u = x + 32768, k = u >> 7, f = u & 127;
  const int32_t a = table[k];
  return a + (((table[k + 1] - a) * f + 64) >> 7);
}

/* sat16(v >> r) for r < 32 (real multipliers of 1/2 or more: rare), out of line. */
TM2_COLD static int32_t tm2_rnn_gate_wide(int64_t v, int32_t r) {
  const int64_t q = v >> r;
  return q < -32768 ? -32768 : q > 32767 ? 32767 : (int32_t)q;
}

/** Gate preactivation: sat16(v >> r), r = 31 - shift in [1, 62] (v holds the rounding constant). */
static inline int32_t tm2_rnn_gate(int64_t v, int32_t shift) {
  if (TM2_LIKELY(shift <= -1)) return tm2_sat16((int32_t)(v >> 32) >> (-1 - shift)); /* r >= 32: one ASR of the high word */
  return tm2_rnn_gate_wide(v, 31 - shift);
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
/**
 * One unit's sums: sx[g] over `xchunks` chunks of the input part (column `col`), then sh[g] over
 * `hchunks` chunks of the recurrent part (the column right after it), `gates` interleaved rows (tm2.h);
 * advances *w past the unit.
 */
void tm2_rnn_dot_s8(const int8_t **w, const uint32_t *col, int32_t xchunks, int32_t hchunks, int32_t gates, int32_t *sx,
                    int32_t *sh);
void tm2_rnn_dot_s4(const int8_t **w, const uint32_t *col, int32_t xchunks, int32_t hchunks, int32_t gates, int32_t *sx,
                    int32_t *sh);

#endif /* TM2_RNN_H */
