/*
 * rnn_mm.c - the gate matrix-vector core of the optimized LSTM and GRU: all gates of one unit at once.
 *
 * A recurrent step is a matrix-vector product (one column: the input x_t, then h_{t-1}), so the
 * 2x2 blocking of mm_s8.c has no second column to share weight expansions with. Instead the G gate
 * rows of one unit are interleaved per chunk (tm2.h), so one column load (LDRD: 4 values as two
 * int16 pairs) feeds G rows: per chunk of 4 INT8 weights and 4 gates 1 LDRD + 4 LDR + 8 SXTB16 +
 * 8 SMLAD = 21 instructions for 16 MACs, and each unit's G accumulators end in registers, ready for
 * its gate arithmetic (no int16 gate buffers as in CMSIS-NN's arm_nn_lstm_step_s8).
 */
#include "rnn.h"
#include "tm2_simd.h"

void tm2_rnn_fill_col(uint32_t *col, const int8_t *x, int32_t n, int32_t padded, int32_t s4) {
  int32_t k = 0;
  if (!s4) {
    for (; k + 4 <= n; k += 4, col += 2) {
      const uint32_t v = tm2_load_u32(x + k);
      col[0] = tm2_sxtb16(v);
      col[1] = tm2_sxtb16_ror8(v);
    }
    if (k < n) {
      const uint32_t v = tm2_load_s8_tail(x + k, n - k);
      col[0] = tm2_sxtb16(v);
      col[1] = tm2_sxtb16_ror8(v);
      col += 2;
      k += 4;
    }
    for (; k < padded; k += 4, col += 2) col[0] = col[1] = 0;
    return;
  }
  for (; k < padded; k += 8, col += 4) {
    int32_t v[8], i;
    for (i = 0; i < 8; i++) v[i] = k + i < n ? x[k + i] : 0;
    col[0] = tm2_pack16(v[0], v[4]);
    col[1] = tm2_pack16(v[2], v[6]);
    col[2] = tm2_pack16(v[1], v[5]);
    col[3] = tm2_pack16(v[3], v[7]);
  }
}

#if TM2_HAVE_DSP && defined(__OPTIMIZE__)
/* The hot loop for 4 gates (LSTM): two chunks per loop step, 11 registers. */
static void dot4_s8(const int8_t *w, const uint32_t *c, int32_t n, int32_t *acc) {
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  uint32_t x0, x1, v, t;
#define TM2_RNN_GATE4(a)                 \
  "ldr %[v], [%[w]], #4\n\t"             \
  "sxtb16 %[t], %[v], ror #8\n\t"        \
  "sxtb16 %[v], %[v]\n\t"                \
  "smlad %[" a "], %[v], %[x0], %[" a "]\n\t" \
  "smlad %[" a "], %[t], %[x1], %[" a "]\n\t"
#define TM2_RNN_CHUNK4                   \
  "ldrd %[x0], %[x1], [%[c]], #8\n\t"    \
  TM2_RNN_GATE4("a0") TM2_RNN_GATE4("a1") TM2_RNN_GATE4("a2") TM2_RNN_GATE4("a3")
  if (n > 0) {
    __asm__ volatile(
        "tst %[n], #1\n\t"
        "beq 2f\n\t"
        TM2_RNN_CHUNK4
        "2:\n\t"
        "lsrs %[n], %[n], #1\n\t"
        "beq 3f\n\t"
        "1:\n\t"
        TM2_RNN_CHUNK4
        TM2_RNN_CHUNK4
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        "3:\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [w] "+r"(w), [c] "+r"(c), [n] "+r"(n),
          [x0] "=&r"(x0), [x1] "=&r"(x1), [v] "=&r"(v), [t] "=&r"(t)
        :
        : "cc", "memory");
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}
/* The same for 3 gates (GRU). */
static void dot3_s8(const int8_t *w, const uint32_t *c, int32_t n, int32_t *acc) {
  int32_t a0 = 0, a1 = 0, a2 = 0;
  uint32_t x0, x1, v, t;
#define TM2_RNN_CHUNK3                   \
  "ldrd %[x0], %[x1], [%[c]], #8\n\t"    \
  TM2_RNN_GATE4("a0") TM2_RNN_GATE4("a1") TM2_RNN_GATE4("a2")
  if (n > 0) {
    __asm__ volatile(
        "tst %[n], #1\n\t"
        "beq 2f\n\t"
        TM2_RNN_CHUNK3
        "2:\n\t"
        "lsrs %[n], %[n], #1\n\t"
        "beq 3f\n\t"
        "1:\n\t"
        TM2_RNN_CHUNK3
        TM2_RNN_CHUNK3
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        "3:\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [w] "+r"(w), [c] "+r"(c), [n] "+r"(n),
          [x0] "=&r"(x0), [x1] "=&r"(x1), [v] "=&r"(v), [t] "=&r"(t)
        :
        : "cc", "memory");
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
}
#undef TM2_RNN_GATE4
#undef TM2_RNN_CHUNK4
#undef TM2_RNN_CHUNK3
#endif

void tm2_rnn_dot_s8(const int8_t **w, const uint32_t *col, int32_t xchunks, int32_t hchunks, int32_t gates, int32_t *sx,
                    int32_t *sh) {
#if TM2_HAVE_DSP && defined(__OPTIMIZE__)
  const int8_t *p = *w;
  if (gates == 4) {
    dot4_s8(p, col, xchunks, sx);
    dot4_s8(p + xchunks * 16, col + 2 * xchunks, hchunks, sh);
  } else {
    dot3_s8(p, col, xchunks, sx);
    dot3_s8(p + xchunks * 12, col + 2 * xchunks, hchunks, sh);
  }
#else
  int32_t part;
  const int8_t *p = *w;
  for (part = 0; part < 2; part++) {
    int32_t *acc = part ? sh : sx, g, c;
    const int32_t chunks = part ? hchunks : xchunks;
    for (g = 0; g < gates; g++) acc[g] = 0;
    for (c = 0; c < chunks; c++, col += 2) {
      for (g = 0; g < gates; g++, p += 4) {
        const uint32_t v = tm2_load_u32(p);
        acc[g] = tm2_smlad(tm2_sxtb16_ror8(v), col[1], tm2_smlad(tm2_sxtb16(v), col[0], acc[g]));
      }
    }
  }
#endif
  *w += (xchunks + hchunks) * gates * 4;
}

/* INT4: one word of 8 nibbles per gate and chunk; the pairs carry 16 x weight (tm2_unpack_s4x8), so
 * the sums are exact multiples of 16 and >> 4 removes the factor exactly. */
static void dot_s4(const int8_t **w, const uint32_t *col, int32_t chunks, int32_t gates, int32_t *acc) {
  int32_t a[4] = {0, 0, 0, 0}, g, c;
  const int8_t *p = *w;
  for (c = 0; c < chunks; c++, col += 4) {
    const uint32_t x0 = col[0], x1 = col[1], x2 = col[2], x3 = col[3];
    for (g = 0; g < gates; g++, p += 4) {
      uint32_t q[4];
      tm2_unpack_s4x8(tm2_load_u32(p), q);
      a[g] = tm2_smlad(q[3], x3, tm2_smlad(q[2], x2, tm2_smlad(q[1], x1, tm2_smlad(q[0], x0, a[g]))));
    }
  }
  for (g = 0; g < gates; g++) acc[g] = a[g] >> 4;
  *w = p;
}

void tm2_rnn_dot_s4(const int8_t **w, const uint32_t *col, int32_t xchunks, int32_t hchunks, int32_t gates, int32_t *sx,
                    int32_t *sh) {
  dot_s4(w, col, xchunks, gates, sx);
  dot_s4(w, col + 4 * xchunks, hchunks, gates, sh);
}
