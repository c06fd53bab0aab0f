/*
 * dense.c - optimized fully connected layer: the input vector is converted once to an int16
 * column (minus in_zp, tm2_mm.h's layout), then the weight rows run two at a time against it.
 *
 * INT8 weights take a loop of their own here rather than the conv / pointwise matrix core (mm_s8.c):
 * dense layers are often a few outputs over a short vector (classifier heads: 3..16 outputs, K =
 * 12..600), where the core's chunked accumulators, its call per row pair and the separate output
 * stage cost more than the multiplies. Per group of 4 inputs and 2 rows: 2 LDR, one LDRD, 4 SXTB16,
 * 4 SMLAD; each row's bias, requantization and store follow its sums directly. INT4 weights the same
 * way (nibbles unpacked in the loop as in mm_s4.c; with an odd K one row at a time, see below).
 */
#include "neon.h" /* AArch64: the NEON kernels */
#include "tm2_mm.h"
#include "tm2_simd.h"

size_t tm2_dense_scratch_size(const tm2_conv_params *p) {
  const int32_t k = p->in_h * p->in_w * p->in_c;
  return (size_t)((k + 7) >> 3) * 4 * sizeof(uint32_t); /* one column */
}

/* Rows [o_begin, o_end) of INT8 weights (`w` = row o_begin) against the single column `col` (k values,
 * 2 words per group), into out[o]. */
static void dense_rows_s8(const tm2_conv_params *params, const int8_t *w, int32_t k, const uint32_t *col,
                          int32_t o_begin, int32_t o_end, int8_t *out) {
  const tm2_conv_params local = *params, *const p = &local; /* int8 stores below cannot alias it */
  const int32_t full = k >> 2, rem = k & 3;
  int32_t o, j;
  w -= o_begin * k;
  for (o = o_begin; o + 2 <= o_end; o += 2) {
    const int8_t *w0 = w + o * k, *w1 = w0 + k;
    const uint32_t *c = col;
    int32_t a0 = p->bias ? p->bias[o] : 0, a1 = p->bias ? p->bias[o + 1] : 0;
    for (j = full; j > 0; j--, w0 += 4, w1 += 4, c += 2) {
      const uint32_t a = tm2_load_u32(w0), b = tm2_load_u32(w1), x0 = c[0], x1 = c[1];
      a0 = tm2_smlad(tm2_sxtb16_ror8(a), x1, tm2_smlad(tm2_sxtb16(a), x0, a0));
      a1 = tm2_smlad(tm2_sxtb16_ror8(b), x1, tm2_smlad(tm2_sxtb16(b), x0, a1));
    }
    if (rem) {
      const uint32_t a = tm2_load_s8_tail(w0, rem), b = tm2_load_s8_tail(w1, rem);
      a0 = tm2_smlad(tm2_sxtb16_ror8(a), c[1], tm2_smlad(tm2_sxtb16(a), c[0], a0));
      a1 = tm2_smlad(tm2_sxtb16_ror8(b), c[1], tm2_smlad(tm2_sxtb16(b), c[0], a1));
    }
    out[o] = tm2_requant(a0, p->multiplier[o], p->shift[o], p->out_zp, p->act_min, p->act_max);
    out[o + 1] = tm2_requant(a1, p->multiplier[o + 1], p->shift[o + 1], p->out_zp, p->act_min, p->act_max);
  }
  if (o < o_end) {
    const int8_t *w0 = w + o * k;
    const uint32_t *c = col;
    int32_t a0 = p->bias ? p->bias[o] : 0;
    for (j = full; j > 0; j--, w0 += 4, c += 2) {
      const uint32_t a = tm2_load_u32(w0);
      a0 = tm2_smlad(tm2_sxtb16_ror8(a), c[1], tm2_smlad(tm2_sxtb16(a), c[0], a0));
    }
    if (rem) {
      const uint32_t a = tm2_load_s8_tail(w0, rem);
      a0 = tm2_smlad(tm2_sxtb16_ror8(a), c[1], tm2_smlad(tm2_sxtb16(a), c[0], a0));
    }
    out[o] = tm2_requant(a0, p->multiplier[o], p->shift[o], p->out_zp, p->act_min, p->act_max);
  }
}

/* The 8 products of INT4 weight word v (8 nibbles, first in the low nibble) with an INT4 column group
 * x[0..3] ((x0,x4) (x2,x6) (x1,x5) (x3,x7)), times 16: the nibbles are moved to the top of their
 * bytes (mask, or mask and shift) and sign-extended in pairs with SXTB16, as mm_s4.c does. */
static inline int32_t dot8_s4(uint32_t v, const uint32_t *x, int32_t acc) {
  const uint32_t odd = v & 0xF0F0F0F0u, even = (v & 0x0F0F0F0Fu) << 4;
  acc = tm2_smlad(tm2_sxtb16(even), x[0], acc);
  acc = tm2_smlad(tm2_sxtb16_ror8(even), x[1], acc);
  acc = tm2_smlad(tm2_sxtb16(odd), x[2], acc);
  return tm2_smlad(tm2_sxtb16_ror8(odd), x[3], acc);
}

/* Rows [0, out_c) of packed INT4 weights with an even K (every row starts on a byte) against the single
 * INT4 column `col` (4 words per group of 8), two rows at a time; sums carry 16 * the dot product (>> 4
 * is exact). */
static void dense_rows_s4(const tm2_conv_params *params, const int8_t *w, int32_t k, const uint32_t *col,
                          int8_t *out) {
  const tm2_conv_params local = *params, *const p = &local; /* int8 stores below cannot alias it */
  const int32_t full = k >> 3, rem_bytes = (k & 7) >> 1, row_bytes = k >> 1;
  const uint8_t *const wb = (const uint8_t *)w;
  int32_t o, j;
  for (o = 0; o + 2 <= p->out_c; o += 2) {
    const uint8_t *w0 = wb + o * row_bytes, *w1 = w0 + row_bytes;
    const uint32_t *c = col;
    int32_t a0 = 0, a1 = 0;
    for (j = full; j > 0; j--, w0 += 4, w1 += 4, c += 4) {
      a0 = dot8_s4(tm2_load_u32(w0), c, a0);
      a1 = dot8_s4(tm2_load_u32(w1), c, a1);
    }
    if (rem_bytes) {
      a0 = dot8_s4(tm2_load_s8_tail((const int8_t *)w0, rem_bytes), c, a0);
      a1 = dot8_s4(tm2_load_s8_tail((const int8_t *)w1, rem_bytes), c, a1);
    }
    a0 = (a0 >> 4) + (p->bias ? p->bias[o] : 0);
    a1 = (a1 >> 4) + (p->bias ? p->bias[o + 1] : 0);
    out[o] = tm2_requant(a0, p->multiplier[o], p->shift[o], p->out_zp, p->act_min, p->act_max);
    out[o + 1] = tm2_requant(a1, p->multiplier[o + 1], p->shift[o + 1], p->out_zp, p->act_min, p->act_max);
  }
  if (o < p->out_c) {
    const uint8_t *w0 = wb + o * row_bytes;
    const uint32_t *c = col;
    int32_t a0 = 0;
    for (j = full; j > 0; j--, w0 += 4, c += 4) a0 = dot8_s4(tm2_load_u32(w0), c, a0);
    if (rem_bytes) a0 = dot8_s4(tm2_load_s8_tail((const int8_t *)w0, rem_bytes), c, a0);
    a0 = (a0 >> 4) + (p->bias ? p->bias[o] : 0);
    out[o] = tm2_requant(a0, p->multiplier[o], p->shift[o], p->out_zp, p->act_min, p->act_max);
  }
}

/* Odd K: row o starts at nibble o*K, mid-byte for every other row. One row at a time, each word of 8
 * nibbles read from its byte and shifted when the row starts mid-byte; the last partial group nibble by
 * nibble. */
static void dense_rows_s4_odd(const tm2_conv_params *params, const int8_t *w, int32_t k, const uint32_t *col,
                              int8_t *out) {
  const tm2_conv_params local = *params, *const p = &local; /* int8 stores below cannot alias it */
  const int32_t full = k >> 3, rem = k & 7;
  int32_t o, j, t;
  for (o = 0; o < p->out_c; o++) {
    const int32_t n0 = o * k;
    const uint8_t *b = (const uint8_t *)w + (n0 >> 1);
    const uint32_t *c = col;
    int32_t a0 = 0;
    if (n0 & 1) {
      for (j = full; j > 0; j--, b += 4, c += 4) a0 = dot8_s4((tm2_load_u32(b) >> 4) | ((uint32_t)b[4] << 28), c, a0);
    } else {
      for (j = full; j > 0; j--, b += 4, c += 4) a0 = dot8_s4(tm2_load_u32(b), c, a0);
    }
    if (rem) {
      uint32_t v = 0;
      for (t = 0; t < rem; t++) v |= ((uint32_t)tm2_s4_get(w, n0 + 8 * full + t) & 0xFu) << (4 * t);
      a0 = dot8_s4(v, c, a0);
    }
    a0 = (a0 >> 4) + (p->bias ? p->bias[o] : 0);
    out[o] = tm2_requant(a0, p->multiplier[o], p->shift[o], p->out_zp, p->act_min, p->act_max);
  }
}

static void dense(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out,
                  void *scratch) {
  const int32_t k = p->in_h * p->in_w * p->in_c;
  uint32_t *col = (uint32_t *)scratch;
  tm2_col_fill(col, bits, in, k, p->in_zp, tm2_col_group_words(bits));
  if (bits == 8)
    dense_rows_s8(p, w, k, col, 0, p->out_c, out);
  else if ((k & 1) == 0)
    dense_rows_s4(p, w, k, col, out);
  else
    dense_rows_s4_odd(p, w, k, col, out);
}

void tm2_dense_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out, void *scratch) {
#if TM2_HAVE_NEON
  if (tm2_neon_dense(p, in, w, 8, out)) return; /* AArch64: neon_rows.c */
#endif
  dense(p, in, w, 8, out, scratch);
}

void tm2_dense_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out, void *scratch) {
#if TM2_HAVE_NEON
  if (tm2_neon_dense(p, in, w_packed, 4, out)) return; /* AArch64: neon_rows.c */
#endif
  dense(p, in, w_packed, 4, out, scratch);
}
