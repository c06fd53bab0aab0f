/*
 * dense.c - optimized fully connected layer.
 *
 * INT8 weights: the input vector is read directly, once per block of 4 (3, 2, 1) weight rows: per group
 * of 4 inputs one LDR and two SXTAB16 give x - in_zp as int16 pairs, then each row adds one LDR, two
 * SXTB16 and two SMLAD (dot4_s8 ... dot1_s8, Thumb-2 assembly on DSP cores). Dense layers are
 * mostly a few outputs over a short vector (classifier heads: 3..16 outputs, K = 12..600), where
 * building an int16 column first (the conv / pointwise cores, mm_s8.c) costs about what it saves: with
 * 4 rows per pass of x the column would save 3 instructions per group and cost 5 (test/models/
 * rnn_seq_reads, K = 29, 4 outputs: 534 instructions with the column and two rows at a time, 357 this
 * way; grouped_conv, K = 576: 5,430 and 3,633). Each block's bias, requantization and stores follow
 * its sums.
 *
 * INT4 weights: the input becomes an INT4 column once (tm2_col_fill: 8 inputs in the pairs the nibbles
 * unpack to), then the rows run two at a time against it (nibbles unpacked in the loop as in mm_s4.c;
 * with an odd K every other row starts mid-byte, see dense_rows_s4_odd).
 */
#include "neon.h" /* AArch64: the NEON kernels */
#include "tm2_mm.h"
#include "tm2_simd.h"

/* One INT4 column (INT8 weights take none; the size does not depend on the weight width). */
size_t tm2_dense_scratch_size(const tm2_conv_params *p) {
  const int32_t k = p->in_h * p->in_w * p->in_c;
  return (size_t)((k + 7) >> 3) * 4 * sizeof(uint32_t);
}

/*
 * acc[r] = bias[r] (0 when bias is NULL) + sum_i (x[i] - zp) * w[r * k + i] for the R = 4 (dot4_s8),
 * 3, 2 or 1 (dot3_s8, dot2_s8, dot1_s8) rows r from `w`. Per group of 4 inputs one LDR of x and two SXTAB16 (x - zp
 * as pairs (x0,x2) (x1,x3)), then per row one LDR, two SXTB16 and two SMLAD: 23.5 instructions for 16
 * MACs with 4 rows (loop included, two groups per iteration); x is read once for all rows, so no int16
 * column is built. The last k % 4 inputs one by one (LDRSB, MLA).
 */
#if TM2_HAVE_DSP && defined(__GNUC__) && defined(__thumb2__)
/* Assembly, four functions built from the macros below: the 4-row loop holds 14 values (4 sums, 3
 * pointers, k, count, -zp, 4 temporaries), all the registers there are; in C gcc spills the sums, and
 * gcc's inline asm cannot always allocate 14 operands.
 * Registers: r0 x, r1 row 0, r2 k (row 1 = [r1, r2]), r8 row 2 (row 3 = [r8, r2]), r3 count, r4..r7 sums,
 * lr (-zp, -zp), r9 (x0,x2) - zp, r10 (x1,x3) - zp, r11 r12 weights. */
void tm2_dense_dot4_s8(const int8_t *x, const int8_t *w, int32_t k, const int32_t *bias, int32_t zp, int32_t *acc);
void tm2_dense_dot3_s8(const int8_t *x, const int8_t *w, int32_t k, const int32_t *bias, int32_t zp, int32_t *acc);
void tm2_dense_dot2_s8(const int8_t *x, const int8_t *w, int32_t k, const int32_t *bias, int32_t zp, int32_t *acc);
void tm2_dense_dot1_s8(const int8_t *x, const int8_t *w, int32_t k, const int32_t *bias, int32_t zp, int32_t *acc);
/* One row's 4 products: weights word from `addr` into sum `acc`. */
#define DOT_ROW(addr, acc)                                                                          \
  "  ldr     r11, " addr "\n"                                                                       \
  "  sxtb16  r12, r11\n"                                                                            \
  "  sxtb16  r11, r11, ror #8\n"                                                                    \
  "  smlad   " acc ", r12, r9, " acc "\n"                                                           \
  "  smlad   " acc ", r11, r10, " acc "\n"
/* One row's product with the input in r10 (one value). */
#define TAIL_ROW(addr, acc) "  ldrsb   r11, " addr "\n  mla     " acc ", r10, r11, " acc "\n"
/* One group of 4 inputs: x - zp, then the rows. */
#define GROUP(rows)                                                                                 \
  "  ldr     r9, [r0], #4\n"                                                                        \
  "  sxtab16 r10, lr, r9, ror #8\n" /* (x1, x3) - zp */                                             \
  "  sxtab16 r9, lr, r9\n"          /* (x0, x2) - zp */                                             \
  rows
#define DOT_FUNC(name, init_bias, init_zero, rows, tail_rows, store)                                \
  ".pushsection .text." name ",\"ax\",%progbits\n"                                                  \
  ".p2align 2\n"                                                                                    \
  ".global " name "\n"                                                                              \
  ".type " name ", %function\n"                                                                     \
  ".thumb_func\n" name ":\n"                                                                        \
  "  push    {r4-r11, lr}\n"                                                                        \
  "  cbz     r3, 2f\n" init_bias "  b       3f\n"                                                   \
  "2:\n" init_zero "3:\n"                                                                           \
  "  ldr     r9, [sp, #36]\n" /* zp */                                                              \
  "  rsb     r9, r9, #0\n"                                                                          \
  "  pkhbt   lr, r9, r9, lsl #16\n" /* (-zp, -zp) */                                                \
  "  add     r8, r1, r2, lsl #1\n"  /* row 2 */                                                     \
  "  lsrs    r3, r2, #3\n"          /* pairs of groups of 4 */                                      \
  "  tst     r2, #4\n"                                                                              \
  "  beq     7f\n"                                                                                  \
  GROUP(rows) /* an odd group first */                                                              \
  "7:\n"                                                                                            \
  "  cmp     r3, #0\n"                                                                              \
  "  beq     4f\n"                                                                                  \
  "1:\n" GROUP(rows) GROUP(rows) "  subs    r3, r3, #1\n"                                           \
  "  bne     1b\n"                                                                                  \
  "4:\n"                                                                                            \
  "  ands    r3, r2, #3\n" /* the last k % 4 inputs */                                              \
  "  beq     6f\n"                                                                                  \
  "  ldr     r9, [sp, #36]\n" /* zp */                                                              \
  "5:\n"                                                                                            \
  "  ldrsb   r10, [r0], #1\n"                                                                       \
  "  sub     r10, r10, r9\n" tail_rows "  subs    r3, r3, #1\n"                                     \
  "  bne     5b\n"                                                                                  \
  "6:\n"                                                                                            \
  "  ldr     r12, [sp, #40]\n" /* acc */                                                            \
  store "  pop     {r4-r11, pc}\n"                                                                  \
  ".size " name ", .-" name "\n"                                                                    \
  ".popsection\n"
/* Rows with a register offset first: the post-incremented loads of rows 0 and 2 come last. One asm
 * statement per function (ISO C99 string literals: at most 4095 characters). */
__asm__(".syntax unified\n"
        DOT_FUNC("tm2_dense_dot4_s8", "  ldm     r3, {r4-r7}\n",
                 "  movs    r4, #0\n  movs    r5, #0\n  movs    r6, #0\n  movs    r7, #0\n",
                 DOT_ROW("[r1, r2]", "r5") DOT_ROW("[r8, r2]", "r7")
                 DOT_ROW("[r1], #4", "r4") DOT_ROW("[r8], #4", "r6"),
                 TAIL_ROW("[r1, r2]", "r5") TAIL_ROW("[r8, r2]", "r7")
                 TAIL_ROW("[r1], #1", "r4") TAIL_ROW("[r8], #1", "r6"),
                 "  stm     r12, {r4-r7}\n"));
__asm__(".syntax unified\n"
        DOT_FUNC("tm2_dense_dot3_s8", "  ldm     r3, {r4-r6}\n",
                 "  movs    r4, #0\n  movs    r5, #0\n  movs    r6, #0\n",
                 DOT_ROW("[r1, r2]", "r5") DOT_ROW("[r1], #4", "r4") DOT_ROW("[r8], #4", "r6"),
                 TAIL_ROW("[r1, r2]", "r5") TAIL_ROW("[r1], #1", "r4") TAIL_ROW("[r8], #1", "r6"),
                 "  stm     r12, {r4-r6}\n"));
__asm__(".syntax unified\n"
        DOT_FUNC("tm2_dense_dot2_s8", "  ldm     r3, {r4-r5}\n", "  movs    r4, #0\n  movs    r5, #0\n",
                 DOT_ROW("[r1, r2]", "r5") DOT_ROW("[r1], #4", "r4"),
                 TAIL_ROW("[r1, r2]", "r5") TAIL_ROW("[r1], #1", "r4"),
                 "  stm     r12, {r4-r5}\n"));
__asm__(".syntax unified\n"
        DOT_FUNC("tm2_dense_dot1_s8", "  ldr     r4, [r3]\n", "  movs    r4, #0\n", DOT_ROW("[r1], #4", "r4"),
                 TAIL_ROW("[r1], #1", "r4"), "  str     r4, [r12]\n"));
#undef DOT_ROW
#undef TAIL_ROW
#undef DOT_FUNC
#undef GROUP
#define dot4_s8 tm2_dense_dot4_s8
#define dot3_s8 tm2_dense_dot3_s8
#define dot2_s8 tm2_dense_dot2_s8
#define dot1_s8 tm2_dense_dot1_s8
#else
static void dot_rows_s8(const int8_t *x, const int8_t *w, int32_t k, const int32_t *bias, int32_t zp, int32_t *acc,
                        int32_t rows) {
  const uint32_t nzp = tm2_pack16(-zp, -zp);
  int32_t i, r;
  for (r = 0; r < rows; r++) acc[r] = bias ? bias[r] : 0;
  for (i = 0; i + 4 <= k; i += 4) {
    const uint32_t v = tm2_load_u32(x + i), xe = tm2_sxtab16(nzp, v), xo = tm2_sxtab16_ror8(nzp, v);
    for (r = 0; r < rows; r++) {
      const uint32_t b = tm2_load_u32(w + r * k + i);
      acc[r] = tm2_smlad(tm2_sxtb16_ror8(b), xo, tm2_smlad(tm2_sxtb16(b), xe, acc[r]));
    }
  }
  for (; i < k; i++)
    for (r = 0; r < rows; r++) acc[r] += (x[i] - zp) * w[r * k + i];
}
static void dot4_s8(const int8_t *x, const int8_t *w, int32_t k, const int32_t *bias, int32_t zp, int32_t *acc) {
  dot_rows_s8(x, w, k, bias, zp, acc, 4);
}
static void dot3_s8(const int8_t *x, const int8_t *w, int32_t k, const int32_t *bias, int32_t zp, int32_t *acc) {
  dot_rows_s8(x, w, k, bias, zp, acc, 3);
}
static void dot2_s8(const int8_t *x, const int8_t *w, int32_t k, const int32_t *bias, int32_t zp, int32_t *acc) {
  dot_rows_s8(x, w, k, bias, zp, acc, 2);
}
static void dot1_s8(const int8_t *x, const int8_t *w, int32_t k, const int32_t *bias, int32_t zp, int32_t *acc) {
  dot_rows_s8(x, w, k, bias, zp, acc, 1);
}
#endif

/* Outputs [0, n) of INT8 weights: four at a time (dot4_s8), then the n % 4 left as one block of 3, 2 or 1
 * (dot3_s8, dot2_s8, dot1_s8). Each block's requantization follows its sums. */
static TM2_NOINLINE void rows_s8(const tm2_conv_params *p, const int8_t *x, const int8_t *w, int32_t k, int32_t n,
                                 int8_t *out) {
  /* p's fields in locals: the int8 stores to out could alias *p as far as the compiler knows. */
  const int32_t *const bias = p->bias, *const mult = p->multiplier, *const shift = p->shift;
  const int32_t zp = p->in_zp, out_zp = p->out_zp, lo = p->act_min, hi = p->act_max, left = n & 3;
  int32_t o, r, a[4];
  for (o = 0; o + 4 <= n; o += 4) {
    dot4_s8(x, w + o * k, k, bias ? bias + o : NULL, zp, a);
    for (r = 0; r < 4; r++) out[o + r] = tm2_requant(a[r], mult[o + r], shift[o + r], out_zp, lo, hi);
  }
  if (!left) return;
  if (left == 3)
    dot3_s8(x, w + o * k, k, bias ? bias + o : NULL, zp, a);
  else if (left == 2)
    dot2_s8(x, w + o * k, k, bias ? bias + o : NULL, zp, a);
  else
    dot1_s8(x, w + o * k, k, bias ? bias + o : NULL, zp, a);
  for (r = 0; r < left; r++) out[o + r] = tm2_requant(a[r], mult[o + r], shift[o + r], out_zp, lo, hi);
}

/* INT8 weights: x read directly (no column), rows in blocks of 4 (3, 2, 1 for the last). */
static void dense_s8(const tm2_conv_params *p, const int8_t *x, const int8_t *w, int8_t *out) {
  rows_s8(p, x, w, p->in_h * p->in_w * p->in_c, p->out_c, out);
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

/* Up to 4 bytes from b (fewer when the array ends sooner: the bytes past `end` read as 0). */
static inline uint32_t load_upto(const uint8_t *b, const uint8_t *end) {
  return end - b >= 4 ? tm2_load_u32(b) : tm2_load_s8_tail((const int8_t *)b, (int32_t)(end - b));
}

/* Odd K: row o starts at nibble o*K, on a byte for even o and mid-byte for odd o. Rows 2m and 2m+1 run
 * together against the column: a word of row 2m+1's 8 nibbles is (the word at its byte >> 4) | (the next
 * byte << 28). The last partial group of each row is read whole and masked to its k % 8 nibbles (the
 * column's padding is not zero). An odd last row is row 2m alone. */
static void dense_rows_s4_odd(const tm2_conv_params *params, const int8_t *w, int32_t k, const uint32_t *col,
                              int8_t *out) {
  const tm2_conv_params local = *params, *const p = &local; /* int8 stores below cannot alias it */
  const int32_t full = k >> 3, rem = k & 7;
  const uint32_t mask = (1u << (4 * rem)) - 1u; /* rem <= 7 */
  const uint8_t *const end = (const uint8_t *)w + ((p->out_c * k + 1) >> 1);
  int32_t o, j;
  for (o = 0; o + 2 <= p->out_c; o += 2) {
    const uint8_t *b0 = (const uint8_t *)w + ((o * k) >> 1), *b1 = (const uint8_t *)w + ((o * k + k) >> 1);
    const uint32_t *c = col;
    int32_t a0 = 0, a1 = 0;
    for (j = full; j > 0; j--, b0 += 4, b1 += 4, c += 4) {
      a0 = dot8_s4(tm2_load_u32(b0), c, a0);
      a1 = dot8_s4((tm2_load_u32(b1) >> 4) | ((uint32_t)b1[4] << 28), c, a1);
    }
    if (rem) {
      a0 = dot8_s4(load_upto(b0, end) & mask, c, a0);
      a1 = dot8_s4((load_upto(b1, end) >> 4) & mask, c, a1);
    }
    a0 = (a0 >> 4) + (p->bias ? p->bias[o] : 0);
    a1 = (a1 >> 4) + (p->bias ? p->bias[o + 1] : 0);
    out[o] = tm2_requant(a0, p->multiplier[o], p->shift[o], p->out_zp, p->act_min, p->act_max);
    out[o + 1] = tm2_requant(a1, p->multiplier[o + 1], p->shift[o + 1], p->out_zp, p->act_min, p->act_max);
  }
  if (o < p->out_c) {
    const uint8_t *b0 = (const uint8_t *)w + ((o * k) >> 1);
    const uint32_t *c = col;
    int32_t a0 = 0;
    for (j = full; j > 0; j--, b0 += 4, c += 4) a0 = dot8_s4(tm2_load_u32(b0), c, a0);
    if (rem) a0 = dot8_s4(load_upto(b0, end) & mask, c, a0);
    a0 = (a0 >> 4) + (p->bias ? p->bias[o] : 0);
    out[o] = tm2_requant(a0, p->multiplier[o], p->shift[o], p->out_zp, p->act_min, p->act_max);
  }
}

static void dense_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out, void *scratch) {
  const int32_t k = p->in_h * p->in_w * p->in_c;
  uint32_t *col = (uint32_t *)scratch;
  tm2_col_fill(col, 4, in, k, p->in_zp, tm2_col_group_words(4));
  if ((k & 1) == 0)
    dense_rows_s4(p, w, k, col, out);
  else
    dense_rows_s4_odd(p, w, k, col, out);
}

void tm2_dense_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out, void *scratch) {
#if TM2_HAVE_NEON
  if (tm2_neon_dense(p, in, w, 8, out)) return; /* AArch64: neon_rows.c */
#endif
  (void)scratch;
  dense_s8(p, in, w, out);
}

void tm2_dense_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out, void *scratch) {
#if TM2_HAVE_NEON
  if (tm2_neon_dense(p, in, w_packed, 4, out)) return; /* AArch64: neon_rows.c */
#endif
  dense_s4(p, in, w_packed, out, scratch);
}
