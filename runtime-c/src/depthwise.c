/*
 * depthwise.c - optimized depthwise convolution, channels-last.
 *
 * Channel multiplier 1 (the common case): 4 channels at a time, one 32-bit load of 4 activations
 * and one of 4 weights per kernel tap; SXTAB16 sign-extends the activations and subtracts in_zp
 * in the same instruction, and SMLAxy do one MAC each (channels are independent, so the dual MAC
 * does not apply). The valid tap range of each output pixel is computed once, so padding costs
 * nothing inside the loop. Without horizontal dilation (dw_vec), two pixels at a time: their
 * accumulators go to a stack array (dw_acc_s8; 3x3 kernels: every window of 2 or 3 rows and columns
 * unrolled in assembly) and tm2_requant_rows does the output stage of both. INT4 weights of 2-D
 * layers are pre-extended once per call to int16 pairs (dw_w16_unpack, dw_acc_w16: no weight
 * extension per tap); horizontal dilation takes dw_block4 and an inline output stage. Channel multipliers
 * 2..16 (INT8 and INT4 weights, any dilation) pre-extend their weights the same way per group of 4 input
 * channels and phase (dw_w16_unpack_mult, dw_vec_mult): each phase is a multiplier-1 layer on those 4
 * input channels. Other multipliers and the remaining channels take a scalar loop.
 */
#include "s4_unpack.h"
#include "neon.h" /* AArch64: the NEON kernels */
#include "tm2_mm.h" /* tm2_requant_rows */
#include "tm2_simd.h"

/* Valid kernel index range [*k0, *k1) for output position o along one axis. */
static void tap_range(int32_t o, int32_t stride, int32_t pad, int32_t dil, int32_t kernel, int32_t in, int32_t *k0,
                      int32_t *k1) {
  const int32_t base = o * stride - pad;
  int32_t a = 0, b = kernel;
  while (a < b && base + a * dil < 0) a++;
  while (b > a && base + (b - 1) * dil >= in) b--;
  *k0 = a;
  *k1 = b;
}

/*
 * 4 INT4 weights from 2 bytes (byte aligned), spread to 16*(w0,w2) and 16*(w1,w3) pairs:
 * t puts nibbles n1n0 in byte 0 and n3n2 in byte 2, masks move one nibble of each into the top
 * of its byte, SXTB16 sign-extends.
 */
static inline void load_s4x4(const uint8_t *b, uint32_t *even, uint32_t *odd) {
  const uint32_t t = (uint32_t)b[0] | ((uint32_t)b[1] << 16);
  *even = tm2_sxtb16((t << 4) & 0x00F000F0u);
  *odd = tm2_sxtb16(t & 0x00F000F0u);
}

/* One kernel tap for 4 channels: a[i] += (x_i - zp) * w_i (INT4: * 16). */
static inline void dw_tap(const int8_t *xp, const int8_t *wp, int w4, uint32_t nzp, int32_t a[4]) {
  const uint32_t xv = tm2_load_u32(xp);
  const uint32_t xe = tm2_sxtab16(nzp, xv), xo = tm2_sxtab16_ror8(nzp, xv); /* (x0,x2), (x1,x3) - zp */
  uint32_t we, wo;
  if (w4) {
    load_s4x4((const uint8_t *)wp, &we, &wo);
  } else {
    const uint32_t wv = tm2_load_u32(wp);
    we = tm2_sxtb16(wv);
    wo = tm2_sxtb16_ror8(wv);
  }
  a[0] = tm2_smlabb(xe, we, a[0]);
  a[2] = tm2_smlatt(xe, we, a[2]);
  a[1] = tm2_smlabb(xo, wo, a[1]);
  a[3] = tm2_smlatt(xo, wo, a[3]);
}

/*
 * Accumulates 4 channels over a rectangle of valid taps: `rows` x `cols`; x and w point at the
 * first tap; x_step/w_step go to the next tap of a row, x_row/w_row from a row's first tap to
 * the next row's. For INT4 (w4 != 0) w is a byte pointer to packed weights and the sums carry
 * a factor 16.
 */
TM2_NOINLINE static void dw_block4(const int8_t *x, const int8_t *w, int w4, int32_t rows, int32_t cols,
                                   int32_t x_step, int32_t x_row, int32_t w_step, int32_t w_row, uint32_t nzp,
                                   int32_t acc[4]) {
  int32_t a[4] = {0, 0, 0, 0}, r, c;
  for (r = 0; r < rows; r++, x += x_row, w += w_row) {
    const int8_t *xp = x, *wp = w;
    for (c = 0; c < cols; c++, xp += x_step, wp += w_step) dw_tap(xp, wp, w4, nzp, a);
  }
  acc[0] = a[0];
  acc[1] = a[1];
  acc[2] = a[2];
  acc[3] = a[3];
}

/* One INT8 tap of 4 channels at x + i and w + i into a[0..3]. */
static inline void dw_tap_s8(const int8_t *x, const int8_t *w, int32_t i, uint32_t nzp, int32_t a[4]) {
  const uint32_t xv = tm2_load_u32(x + i), wv = tm2_load_u32(w + i);
  const uint32_t xe = tm2_sxtab16(nzp, xv), we = tm2_sxtb16(wv);
  const uint32_t xo = tm2_sxtab16_ror8(nzp, xv), wo = tm2_sxtb16_ror8(wv);
  a[0] = tm2_smlabb(xe, we, a[0]);
  a[2] = tm2_smlatt(xe, we, a[2]);
  a[1] = tm2_smlabb(xo, wo, a[1]);
  a[3] = tm2_smlatt(xo, wo, a[3]);
}

/* One INT4 tap of 4 channels: activations at x, 4 packed weights (2 bytes) at w; sums * 16.
 * The nibbles n0 n1 n2 n3 are spread to bytes n0 n2 n1 n3, moved to the top of each byte and
 * sign-extended as pairs (n0,n1) and (n2,n3); the half-word selecting MACs pair them with the
 * (x0,x2) (x1,x3) activation pairs. */
static inline void dw_tap_s4(const int8_t *x, const uint8_t *w, uint32_t nzp, int32_t a[4]) {
  const uint32_t xv = tm2_load_u32(x);
  const uint32_t h = (uint32_t)w[0] | ((uint32_t)w[1] << 8);
  const uint32_t t = ((h & 0x0F0Fu) | ((h & 0xF0F0u) << 12)) << 4;
  const uint32_t q01 = tm2_sxtb16(t), q23 = tm2_sxtb16_ror8(t); /* 16*(w0,w1), 16*(w2,w3) */
  const uint32_t xe = tm2_sxtab16(nzp, xv), xo = tm2_sxtab16_ror8(nzp, xv);
  a[0] = tm2_smlabb(xe, q01, a[0]);
  a[1] = tm2_smlabt(xo, q01, a[1]);
  a[2] = tm2_smlatb(xe, q23, a[2]);
  a[3] = tm2_smlatt(xo, q23, a[3]);
}

/* What the per-pixel routines (INT8 and INT4) need besides pointers: steps, zero point and
 * the output stage. */
typedef struct {
  uint32_t nzp;                 /* -in_zp in both halves */
  int32_t step, x_row, w_row;   /* tap step of x (and of INT8 weights), row steps */
  int32_t out_zp, act_min, act_max;
  const int32_t *bias, *multiplier, *shift;
} dw_ctx;

/* The 3x3 assembly below needs 12 registers plus two memory operands; clang 14 cannot
 * allocate that (it keeps r7 as frame pointer), so clang builds use the C loop. */
#if TM2_HAVE_DSP && defined(__OPTIMIZE__) && !defined(__clang__)
#define TM2_DW_3X3_ASM 1
#else
#define TM2_DW_3X3_ASM 0
#endif

#if TM2_DW_3X3_ASM
/* One tap of 4 channels at x (+ step when `off` is ", %[step]"): two loads, four extensions, four MACs. */
#define TM2_DW_TAP(off)                                                                                        \
  "ldr %[xv], [%[x]" off "]\n\t"                                                                              \
  "ldr %[wv], [%[w]" off "]\n\t"                                                                              \
  "sxtab16 %[xe], %[nzp], %[xv]\n\t"                                                                          \
  "sxtab16 %[xv], %[nzp], %[xv], ror #8\n\t"                                                                  \
  "sxtb16 %[we], %[wv]\n\t"                                                                                   \
  "sxtb16 %[wv], %[wv], ror #8\n\t"                                                                           \
  "smlabb %[a0], %[xe], %[we], %[a0]\n\t"                                                                     \
  "smlatt %[a2], %[xe], %[we], %[a2]\n\t"                                                                     \
  "smlabb %[a1], %[xv], %[wv], %[a1]\n\t"                                                                     \
  "smlatt %[a3], %[xv], %[wv], %[a3]\n\t"
/* A row of 2 or 3 taps; a 3-tap row leaves x and w at its third tap. */
#define TM2_DW_ROW2 TM2_DW_TAP("") TM2_DW_TAP(", %[step]")
#define TM2_DW_ROW3                                                                                            \
  TM2_DW_TAP("") TM2_DW_TAP(", %[step]") "add %[x], %[x], %[step], lsl #1\n\t"                                 \
                                         "add %[w], %[w], %[step], lsl #1\n\t" TM2_DW_TAP("")
/* To the next row: the steps are read from memory where they are needed (no register left). */
#define TM2_DW_NEXT                                                                                            \
  "ldr %[xe], %[xr]\n\t"                                                                                      \
  "ldr %[we], %[wr]\n\t"                                                                                      \
  "add %[x], %[x], %[xe]\n\t"                                                                                 \
  "add %[w], %[w], %[we]\n\t"
#define TM2_DW_OPERANDS                                                                                        \
  : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w), [xv] "=&r"(xv),        \
    [xe] "=&r"(xe), [wv] "=&r"(wv), [we] "=&r"(we)                                                              \
  : [step] "r"(step), [nzp] "r"(nzp), [xr] "m"(xr), [wr] "m"(wr)                                                \
  : "memory"

/*
 * A window of 2 or 3 rows of 2 or 3 taps for 4 channels (INT8, same step for x and w along a row): the
 * full 3x3 window and the border windows of 3x3 kernels, unrolled in assembly (gcc spills in this loop
 * nest): 10 instructions per tap (the 3x3 window: 104 for 36 MACs) in 12 registers.
 */
static inline void dw_rect_s8(const int8_t *x, const int8_t *w, int32_t rows, int32_t cols, int32_t step,
                              int32_t x_row, int32_t w_row, uint32_t nzp, int32_t a[4]) {
  int32_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
  /* from the row's last tap reached (the third of 3, the first of 2) to the next row */
  const int32_t back = cols == 3 ? 2 * step : 0, xr = x_row - back, wr = w_row - back;
  uint32_t xv, xe, wv, we;
  if (cols == 3) {
    if (rows == 3)
      __asm__ volatile(TM2_DW_ROW3 TM2_DW_NEXT TM2_DW_ROW3 TM2_DW_NEXT TM2_DW_ROW3 TM2_DW_OPERANDS);
    else
      __asm__ volatile(TM2_DW_ROW3 TM2_DW_NEXT TM2_DW_ROW3 TM2_DW_OPERANDS);
  } else {
    if (rows == 3)
      __asm__ volatile(TM2_DW_ROW2 TM2_DW_NEXT TM2_DW_ROW2 TM2_DW_NEXT TM2_DW_ROW2 TM2_DW_OPERANDS);
    else
      __asm__ volatile(TM2_DW_ROW2 TM2_DW_NEXT TM2_DW_ROW2 TM2_DW_OPERANDS);
  }
  a[0] = a0;
  a[1] = a1;
  a[2] = a2;
  a[3] = a3;
}

/* The same with pre-extended INT4 weights (dw_w16_unpack): one LDRD of (w0,w2) (w1,w3) per tap and no
 * weight extension, 8 instructions per tap; the taps of a channel group are consecutive (kernel width 3:
 * a row of 2 taps skips one). */
#define TM2_DW16_TAP(off)                                                                                      \
  "ldr %[xv], [%[x]" off "]\n\t"                                                                              \
  "ldrd %[we], %[wo], [%[w]], #8\n\t"                                                                         \
  "sxtab16 %[xe], %[nzp], %[xv]\n\t"                                                                          \
  "sxtab16 %[xv], %[nzp], %[xv], ror #8\n\t"                                                                  \
  "smlabb %[a0], %[xe], %[we], %[a0]\n\t"                                                                     \
  "smlatt %[a2], %[xe], %[we], %[a2]\n\t"                                                                     \
  "smlabb %[a1], %[xv], %[wo], %[a1]\n\t"                                                                     \
  "smlatt %[a3], %[xv], %[wo], %[a3]\n\t"
#define TM2_DW16_ROW2 TM2_DW16_TAP("") TM2_DW16_TAP(", %[step]") "add %[w], %[w], #8\n\t"
#define TM2_DW16_ROW3                                                                                          \
  TM2_DW16_TAP("") TM2_DW16_TAP(", %[step]") "add %[x], %[x], %[step], lsl #1\n\t" TM2_DW16_TAP("")
#define TM2_DW16_NEXT                                                                                          \
  "ldr %[xe], %[xr]\n\t"                                                                                      \
  "add %[x], %[x], %[xe]\n\t"
#define TM2_DW16_OPERANDS                                                                                      \
  : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w), [xv] "=&r"(xv),        \
    [xe] "=&r"(xe), [we] "=&r"(we), [wo] "=&r"(wo)                                                              \
  : [step] "r"(step), [nzp] "r"(nzp), [xr] "m"(xr)                                                             \
  : "memory"

/* The window of dw_rect_w16 on accumulators a0..a3 (x, w advanced), also run inline by dw_acc_w16m. */
#define TM2_DW16_RECT(rows, cols)                                                                              \
  do {                                                                                                         \
    uint32_t xv, xe, we, wo;                                                                                   \
    if ((cols) == 3) {                                                                                         \
      if ((rows) == 3)                                                                                         \
        __asm__ volatile(TM2_DW16_ROW3 TM2_DW16_NEXT TM2_DW16_ROW3 TM2_DW16_NEXT TM2_DW16_ROW3 TM2_DW16_OPERANDS);   \
      else                                                                                                     \
        __asm__ volatile(TM2_DW16_ROW3 TM2_DW16_NEXT TM2_DW16_ROW3 TM2_DW16_OPERANDS);                           \
    } else {                                                                                                   \
      if ((rows) == 3)                                                                                         \
        __asm__ volatile(TM2_DW16_ROW2 TM2_DW16_NEXT TM2_DW16_ROW2 TM2_DW16_NEXT TM2_DW16_ROW2 TM2_DW16_OPERANDS);   \
      else                                                                                                     \
        __asm__ volatile(TM2_DW16_ROW2 TM2_DW16_NEXT TM2_DW16_ROW2 TM2_DW16_OPERANDS);                           \
    }                                                                                                          \
  } while (0)

static inline void dw_rect_w16(const int8_t *x, const uint32_t *w, int32_t rows, int32_t cols, int32_t step,
                               int32_t x_row, uint32_t nzp, int32_t a[4]) {
  int32_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
  const int32_t xr = x_row - (cols == 3 ? 2 * step : 0);
  TM2_DW16_RECT(rows, cols);
  a[0] = a0;
  a[1] = a1;
  a[2] = a2;
  a[3] = a3;
}
#endif

/*
 * The common INT8 case (multiplier 1, no horizontal dilation): the accumulators (bias not added) of
 * channels [0, n) (n a multiple of 4) of one output pixel into acc[0..n). Activations and weights
 * advance by the same step along a kernel row, so one index addresses both and a tap costs two
 * loads, four extensions and four MACs; rows of 3 taps (3x3 kernels away from the border) run
 * without a loop. The output stage runs apart, on two pixels at once (tm2_requant_rows).
 */
TM2_NOINLINE static void dw_acc_s8(const dw_ctx *k, const int8_t *x, const int8_t *w, int32_t rows, int32_t cols,
                                   int32_t n, int32_t *acc) {
  const dw_ctx ctx = *k;
  int32_t c;
  for (c = 0; c < n; c += 4) {
    int32_t a[4] = {0, 0, 0, 0}, r, i;
    const int8_t *xr = x + c, *wr = w + c;
#if TM2_DW_3X3_ASM
    if ((cols == 3 || cols == 2) && (rows == 3 || rows == 2)) {
      dw_rect_s8(xr, wr, rows, cols, ctx.step, ctx.x_row, ctx.w_row, ctx.nzp, a);
    } else
#endif
    if (cols == 3) {
      const int32_t step2 = 2 * ctx.step;
      for (r = rows; r > 0; r--, xr += ctx.x_row, wr += ctx.w_row) {
        dw_tap_s8(xr, wr, 0, ctx.nzp, a);
        dw_tap_s8(xr, wr, ctx.step, ctx.nzp, a);
        dw_tap_s8(xr, wr, step2, ctx.nzp, a);
      }
    } else {
      const int32_t end = cols * ctx.step;
      for (r = rows; r > 0; r--, xr += ctx.x_row, wr += ctx.w_row)
        for (i = 0; i < end; i += ctx.step) dw_tap_s8(xr, wr, i, ctx.nzp, a);
    }
    acc[c] = a[0];
    acc[c + 1] = a[1];
    acc[c + 2] = a[2];
    acc[c + 3] = a[3];
  }
}

/* The INT4 per-pixel counterpart of dw_acc_s8, output stage included (even channel count: weights of every tap start on a
 * byte; INT4 weight steps are half the activation steps). */
TM2_NOINLINE static void dw_pixel_s4(const dw_ctx *k, const int8_t *x, const uint8_t *w, int32_t rows,
                                     int32_t cols, int32_t vec_c, int8_t *out) {
  const dw_ctx ctx = *k;
  const int32_t w_step = ctx.step / 2;
  int32_t c;
  for (c = 0; c < vec_c; c += 4) {
    int32_t a[4] = {0, 0, 0, 0}, r, i;
    const int8_t *xr = x + c;
    const uint8_t *wr = w + c / 2;
    for (r = rows; r > 0; r--, xr += ctx.x_row, wr += ctx.w_row) {
      const int8_t *xp = xr;
      const uint8_t *wp = wr;
      for (i = cols; i > 0; i--, xp += ctx.step, wp += w_step) dw_tap_s4(xp, wp, ctx.nzp, a);
    }
    for (i = 0; i < 4; i++)
      out[c + i] = tm2_requant((a[i] >> 4) + (ctx.bias ? ctx.bias[c + i] : 0), ctx.multiplier[c + i],
                               ctx.shift[c + i], ctx.out_zp, ctx.act_min, ctx.act_max);
  }
}

#if TM2_HAVE_NEON
/*
 * AArch64: 16 channels of one output pixel (channel multiplier 1) over its valid taps: per tap one
 * 16-byte load of activations (SSUBL: x - in_zp as int16, exact), the weights (INT8: one load and
 * SXTL; INT4: 8 bytes split into low/high nibbles and zipped back into channel order), four SMLAL
 * into int32; then the bias and tm2_neon_requant4 per 4 channels.
 */
static void dw_neon16(const tm2_conv_params *p, const int8_t *x, const int8_t *w, int32_t bits, int32_t rows,
                      int32_t cols, int32_t x_step, int32_t x_row, int32_t w_step, int32_t w_row, int32_t c,
                      int8_t *out) {
  const int8x8_t zp = vdup_n_s8((int8_t)p->in_zp);
  int32x4_t a0, a1, a2, a3;
  int32_t r, k;
  if (p->bias) {
    a0 = vld1q_s32(p->bias + c);
    a1 = vld1q_s32(p->bias + c + 4);
    a2 = vld1q_s32(p->bias + c + 8);
    a3 = vld1q_s32(p->bias + c + 12);
  } else {
    a0 = a1 = a2 = a3 = vdupq_n_s32(0);
  }
  for (r = 0; r < rows; r++, x += x_row, w += w_row) {
    const int8_t *xp = x, *wp = w;
    for (k = 0; k < cols; k++, xp += x_step, wp += w_step) {
      const int8x16_t xv = vld1q_s8(xp);
      const int16x8_t xl = vsubl_s8(vget_low_s8(xv), zp), xh = vsubl_s8(vget_high_s8(xv), zp);
      int16x8_t wl, wh;
      if (bits == 8) {
        const int8x16_t wv = vld1q_s8(wp);
        wl = vmovl_s8(vget_low_s8(wv));
        wh = vmovl_high_s8(wv);
      } else {
        const int8x8_t b = vld1_s8(wp);
        const int8x8x2_t z = vzip_s8(vshr_n_s8(vshl_n_s8(b, 4), 4), vshr_n_s8(b, 4));
        wl = vmovl_s8(z.val[0]);
        wh = vmovl_s8(z.val[1]);
      }
      a0 = vmlal_s16(a0, vget_low_s16(xl), vget_low_s16(wl));
      a1 = vmlal_high_s16(a1, xl, wl);
      a2 = vmlal_s16(a2, vget_low_s16(xh), vget_low_s16(wh));
      a3 = vmlal_high_s16(a3, xh, wh);
    }
  }
  tm2_neon_requant4(p, c, a0, out);
  tm2_neon_requant4(p, c + 4, a1, out + 4);
  tm2_neon_requant4(p, c + 8, a2, out + 8);
  tm2_neon_requant4(p, c + 12, a3, out + 12);
}
#endif

/*
 * INT4 weights of a 2-D depthwise layer with multiplier 1, unpacked once per call into int16 pairs in the
 * order the kernel reads them: per group of 4 channels, per tap (ky, kx), the words (w0,w2) (w1,w3)
 * (taps * channels * 2 bytes, on the stack). Channels c..c+3 of tap t are nibbles t*C + c .. + 3, two
 * whole bytes (C is a multiple of 4).
 */
#if TM2_S4_UNPACK_BYTES > 0 && !TM2_HAVE_NEON /* its only caller's condition (AArch64 runs dw_neon16) */
static void dw_w16_unpack(const int8_t *packed, int32_t channels, int32_t taps, uint32_t *dst) {
  const uint8_t *b = (const uint8_t *)packed;
  int32_t g, t;
  for (g = 0; g < channels; g += 4)
    for (t = 0; t < taps; t++, dst += 2) {
      const uint32_t v = (uint32_t)b[(t * channels + g) >> 1] | ((uint32_t)b[((t * channels + g) >> 1) + 1] << 8);
      const int32_t w0 = (int32_t)(v << 28) >> 28, w1 = (int32_t)(v << 24) >> 28;
      const int32_t w2 = (int32_t)(v << 20) >> 28, w3 = (int32_t)(v << 16) >> 28;
      dst[0] = tm2_pack16(w0, w2);
      dst[1] = tm2_pack16(w1, w3);
    }
}

/*
 * The same for channel multiplier m > 1 over the first vec_in input channels (a multiple of 4): per group
 * of 4 input channels g..g+3 and per phase j in [0, m), per tap, the words (w0,w2) (w1,w3) of output
 * channels (g+i)*m + j, i = 0..3. Each (group, phase) is then a multiplier-1 layer on input channels
 * g..g+3 (dw_acc_w16m), so the 3x3 assembly applies unchanged.
 */
static int32_t dw_weight(const int8_t *w, int32_t bits, int32_t i) { return bits == 8 ? (int32_t)w[i] : tm2_s4_get(w, i); }

static void dw_w16_unpack_mult(const int8_t *w, int32_t bits, int32_t out_c, int32_t m, int32_t vec_in, int32_t taps,
                               uint32_t *dst) {
  int32_t g, j, t;
  for (g = 0; g < vec_in; g += 4)
    for (j = 0; j < m; j++)
      for (t = 0; t < taps; t++, dst += 2) {
        const int32_t o = t * out_c + g * m + j;
        dst[0] = tm2_pack16(dw_weight(w, bits, o), dw_weight(w, bits, o + 2 * m));
        dst[1] = tm2_pack16(dw_weight(w, bits, o + m), dw_weight(w, bits, o + 3 * m));
      }
}

/* Whether dw_w16_unpack_mult and dw_acc_w16m apply: multiplier 2..16 (the chunk of dw_vec holds 4 input
 * channels), at least 4 input channels, the pre-extended weights within the stack buffer (3x3 up to 113
 * output channels with 2 KB). Any dilation and kernel height. */
static int dw_mult_fits(const tm2_conv_params *p) {
  return p->ch_mult > 1 && p->ch_mult <= TM2_MM_CHUNK / 4 && p->in_c >= 4 &&
         (size_t)p->kernel_h * p->kernel_w * p->out_c * 2 <= TM2_S4_UNPACK_BYTES;
}
#endif

/*
 * dw_acc_s8 for weights unpacked by dw_w16_unpack: w points at tap (ky0, kx0) of the first channel
 * group, the next group `taps` taps on; kw = kernel width. 8 instructions per tap in the assembly
 * (kernel width 3, windows of 2 or 3 rows and columns), the C loop otherwise.
 */
TM2_NOINLINE static void dw_acc_w16(const dw_ctx *k, const int8_t *x, const uint32_t *w, int32_t taps, int32_t kw,
                                    int32_t rows, int32_t cols, int32_t n, int32_t *acc) {
  const dw_ctx ctx = *k;
  int32_t c;
  for (c = 0; c < n; c += 4, w += 2 * taps) {
    int32_t a[4] = {0, 0, 0, 0}, r, i;
#if TM2_DW_3X3_ASM
    if (kw == 3 && (cols == 3 || cols == 2) && (rows == 3 || rows == 2)) {
      dw_rect_w16(x + c, w, rows, cols, ctx.step, ctx.x_row, ctx.nzp, a);
    } else
#endif
    {
      const int8_t *xr = x + c;
      const uint32_t *wr = w;
      for (r = 0; r < rows; r++, xr += ctx.x_row, wr += 2 * kw)
        for (i = 0; i < cols; i++) {
          const uint32_t xv = tm2_load_u32(xr + i * ctx.step);
          const uint32_t xe = tm2_sxtab16(ctx.nzp, xv), xo = tm2_sxtab16_ror8(ctx.nzp, xv);
          a[0] = tm2_smlabb(xe, wr[2 * i], a[0]);
          a[2] = tm2_smlatt(xe, wr[2 * i], a[2]);
          a[1] = tm2_smlabb(xo, wr[2 * i + 1], a[1]);
          a[3] = tm2_smlatt(xo, wr[2 * i + 1], a[3]);
        }
    }
    acc[c] = a[0];
    acc[c + 1] = a[1];
    acc[c + 2] = a[2];
    acc[c + 3] = a[3];
  }
}

/*
 * dw_acc_w16 for channel multiplier m > 1 (weights from dw_w16_unpack_mult): input channels [0, n_in) (a
 * multiple of 4) at x, output channels [0, n_in * m) into acc; w points at tap (ky0, kx0) of the first
 * (group, phase). Per group of 4 input channels, each phase j accumulates output channels (g+i)*m + j.
 */
TM2_NOINLINE static void dw_acc_w16m(const dw_ctx *k, const int8_t *xg, const uint32_t *wg, int32_t taps, int32_t kw,
                                     int32_t m, int32_t rows, int32_t cols, int32_t n_in, int32_t *acc) {
  const dw_ctx ctx = *k;
  int32_t g, j;
  for (g = 0; g < n_in; g += 4, xg += 4)
    for (j = 0; j < m; j++, wg += 2 * taps) {
      int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, r, i;
      int32_t *const ag = acc + g * m + j;
#if TM2_DW_3X3_ASM
      if (kw == 3 && (cols == 3 || cols == 2) && (rows == 3 || rows == 2)) {
        /* dw_rect_w16 inline: a call per group and phase would cost about as much as the window */
        const int8_t *x = xg;
        const uint32_t *w = wg;
        const int32_t step = ctx.step, xr = ctx.x_row - (cols == 3 ? 2 * step : 0);
        const uint32_t nzp = ctx.nzp;
        TM2_DW16_RECT(rows, cols);
      } else
#endif
      {
        const int8_t *xr = xg;
        const uint32_t *wr = wg;
        for (r = 0; r < rows; r++, xr += ctx.x_row, wr += 2 * kw)
          for (i = 0; i < cols; i++) {
            const uint32_t xv = tm2_load_u32(xr + i * ctx.step);
            const uint32_t xe = tm2_sxtab16(ctx.nzp, xv), xo = tm2_sxtab16_ror8(ctx.nzp, xv);
            a0 = tm2_smlabb(xe, wr[2 * i], a0);
            a2 = tm2_smlatt(xe, wr[2 * i], a2);
            a1 = tm2_smlabb(xo, wr[2 * i + 1], a1);
            a3 = tm2_smlatt(xo, wr[2 * i + 1], a3);
          }
      }
      ag[0] = a0;
      ag[m] = a1;
      ag[2 * m] = a2;
      ag[3 * m] = a3;
    }
}

/* The valid taps of output pixel (oy, ox) given its row range [ky0, ky1): first activation, first tap
 * (ky0 * kernel_w + kx0), rows and columns (0 when the window is wholly in the padding). */
static void dw_window(const tm2_conv_params *p, const int8_t *in, int32_t oy, int32_t ox, int32_t ky0, int32_t ky1,
                      const int8_t **x0, int32_t *t0, int32_t *rows, int32_t *cols) {
  int32_t kx0, kx1;
  tap_range(ox, p->stride_w, p->pad_left, p->dilation_w, p->kernel_w, p->in_w, &kx0, &kx1);
  if (ky1 <= ky0 || kx1 <= kx0) {
    *x0 = in;
    *t0 = 0;
    *rows = *cols = 0;
    return;
  }
  *x0 = in + ((oy * p->stride_h - p->pad_top + ky0 * p->dilation_h) * p->in_w + ox * p->stride_w - p->pad_left +
              kx0 * p->dilation_w) * p->in_c;
  *t0 = ky0 * p->kernel_w + kx0;
  *rows = ky1 - ky0;
  *cols = kx1 - kx0;
}

/*
 * Multiplier 1, no horizontal dilation: channels [0, vec_c) of every output pixel, with INT8 weights w
 * (dw_acc_s8) or, when w16 is not NULL, INT4 weights pre-extended by dw_w16_unpack (dw_acc_w16). Two
 * pixels at a time, TM2_MM_CHUNK channels each: their accumulators go to one stack array and the output
 * stage runs on both at once (tm2_requant_rows, the routine of the matrix-multiply kernels: about 11
 * instructions per output instead of 19 inline next to the MACs).
 */
static void dw_vec(const tm2_conv_params *p, const dw_ctx *ctx, const int8_t *in, const int8_t *w,
                   const uint32_t *w16, int32_t vec_c, int8_t *out) {
  int32_t acc[2 * TM2_MM_CHUNK]; /* pixel A's, then pixel B's (the layout tm2_requant_rows reads fastest) */
  const int32_t cout = p->out_c, taps = p->kernel_h * p->kernel_w, pixels = p->out_h * p->out_w;
  int32_t px, c;
  for (px = 0; px < pixels; px += 2) {
    /* consecutive pixels in memory order (the second may start the next row) */
    const int two = px + 1 < pixels;
    const int32_t oya = px / p->out_w, oxa = px % p->out_w;
    const int32_t oyb = two ? (px + 1) / p->out_w : oya, oxb = two ? (px + 1) % p->out_w : oxa;
    int8_t *const oa = out + px * cout, *const ob = oa + cout;
    const int8_t *xa, *xb = in;
    int32_t ky0, ky1, ta, tb = 0, ra, ca, rb = 0, cb = 0;
    tap_range(oya, p->stride_h, p->pad_top, p->dilation_h, p->kernel_h, p->in_h, &ky0, &ky1);
    dw_window(p, in, oya, oxa, ky0, ky1, &xa, &ta, &ra, &ca);
    if (two) {
      if (oyb != oya) tap_range(oyb, p->stride_h, p->pad_top, p->dilation_h, p->kernel_h, p->in_h, &ky0, &ky1);
      dw_window(p, in, oyb, oxb, ky0, ky1, &xb, &tb, &rb, &cb);
    }
    for (c = 0; c < vec_c; c += TM2_MM_CHUNK) {
      const int32_t n = vec_c - c < TM2_MM_CHUNK ? vec_c - c : TM2_MM_CHUNK;
      if (w16) {
        dw_acc_w16(ctx, xa + c, w16 + (c / 4 * taps + ta) * 2, taps, p->kernel_w, ra, ca, n, acc);
        if (two) dw_acc_w16(ctx, xb + c, w16 + (c / 4 * taps + tb) * 2, taps, p->kernel_w, rb, cb, n, acc + TM2_MM_CHUNK);
      } else {
        dw_acc_s8(ctx, xa + c, w + ta * cout + c, ra, ca, n, acc);
        if (two) dw_acc_s8(ctx, xb + c, w + tb * cout + c, rb, cb, n, acc + TM2_MM_CHUNK);
      }
      tm2_requant_rows(p, c, n, acc, two ? acc + TM2_MM_CHUNK : NULL, oa + c, two ? ob + c : NULL);
    }
  }
}

/*
 * dw_vec for channel multiplier m > 1 (2..16) with weights pre-extended by dw_w16_unpack_mult, any
 * dilation: output channels [0, vec_c) (vec_c = 4k input channels * m) of every output pixel, chunks of
 * input channels whose outputs fill at most TM2_MM_CHUNK accumulators per pixel.
 */
static void dw_vec_mult(const tm2_conv_params *p, const dw_ctx *ctx, const int8_t *in, const uint32_t *w16,
                        int32_t vec_c, int8_t *out) {
  int32_t acc[2 * TM2_MM_CHUNK]; /* pixel A's, then pixel B's */
  const int32_t cout = p->out_c, taps = p->kernel_h * p->kernel_w, pixels = p->out_h * p->out_w, m = p->ch_mult;
  const int32_t chunk = (TM2_MM_CHUNK / m) & ~3, vec_in = vec_c / m;
  int32_t px, ci;
  for (px = 0; px < pixels; px += 2) {
    /* the windows as in dw_vec */
    const int two = px + 1 < pixels;
    const int32_t oya = px / p->out_w, oxa = px % p->out_w;
    const int32_t oyb = two ? (px + 1) / p->out_w : oya, oxb = two ? (px + 1) % p->out_w : oxa;
    int8_t *const oa = out + px * cout, *const ob = oa + cout;
    const int8_t *xa, *xb = in;
    int32_t ky0, ky1, ta, tb = 0, ra, ca, rb = 0, cb = 0;
    tap_range(oya, p->stride_h, p->pad_top, p->dilation_h, p->kernel_h, p->in_h, &ky0, &ky1);
    dw_window(p, in, oya, oxa, ky0, ky1, &xa, &ta, &ra, &ca);
    if (two) {
      if (oyb != oya) tap_range(oyb, p->stride_h, p->pad_top, p->dilation_h, p->kernel_h, p->in_h, &ky0, &ky1);
      dw_window(p, in, oyb, oxb, ky0, ky1, &xb, &tb, &rb, &cb);
    }
    for (ci = 0; ci < vec_in; ci += chunk) {
      const int32_t n_in = vec_in - ci < chunk ? vec_in - ci : chunk, c = ci * m;
      const uint32_t *const wg = w16 + ci / 4 * m * taps * 2; /* group ci / 4, phase 0, tap 0 */
      dw_acc_w16m(ctx, xa + ci, wg + ta * 2, taps, p->kernel_w, m, ra, ca, n_in, acc);
      if (two) dw_acc_w16m(ctx, xb + ci, wg + tb * 2, taps, p->kernel_w, m, rb, cb, n_in, acc + TM2_MM_CHUNK);
      tm2_requant_rows(p, c, n_in * m, acc, two ? acc + TM2_MM_CHUNK : NULL, oa + c, two ? ob + c : NULL);
    }
  }
}

/* Cortex-M: inline into tm2_depthwise_s8 (its common path, as when it had fewer callers), one dw_run body
 * for the others; AArch64 (only tm2_depthwise_s8 and tm2_depthwise_s4 call it): left to the compiler. */
#if TM2_HAVE_NEON
#define TM2_DW_BODY static
#else
#define TM2_DW_BODY __attribute__((always_inline)) static inline
#endif

/* w16: weights pre-extended by dw_w16_unpack (bits 4, multiplier 1) or dw_w16_unpack_mult (multiplier > 1;
 * w stays the original array for the scalar channels), or NULL. */
TM2_DW_BODY void depthwise(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits,
                             const uint32_t *w16, int8_t *out) {
  const int32_t cin = p->in_c, cout = p->out_c, mult = p->ch_mult;
  /* Channels done 4 at a time: multiplier 1, and for INT4 an even count so every tap's
   * weights start on a byte; multiplier > 1 with pre-extended weights (w16): whole groups of 4 input
   * channels. */
#if TM2_HAVE_NEON
  /* AArch64: 16 channels at a time with NEON (dw_neon16), the rest scalar. */
  const int32_t neon_c = (mult == 1 && (bits == 8 || (cout & 1) == 0)) ? (cout & ~15) : 0, vec_c = 0;
#else
  /* multiplier > 1: only with pre-extended weights (dw_w16_unpack_mult), whole groups of 4 input channels */
  const int32_t neon_c = 0, vec_c = mult == 1 ? ((bits == 8 || (cout & 1) == 0) ? (cout & ~3) : 0)
                                              : w16 ? (cin & ~3) * mult : 0;
#endif
  const uint32_t nzp = tm2_pack16(-p->in_zp, -p->in_zp);
  const int32_t acc_shift = bits == 4 ? 4 : 0;
  /* Steps in elements of the activation and in weight bytes. */
  const int32_t x_step = p->dilation_w * cin, x_row = p->dilation_h * p->in_w * cin;
  const int32_t w_step = bits == 8 ? cout : cout / 2, w_row = p->kernel_w * w_step;
  /* Locals, not p->...: stores to the int8 output could alias *p, forcing reloads per output. */
  const int32_t *const bias = p->bias, *const mult_q = p->multiplier, *const shift = p->shift;
  const int32_t out_zp = p->out_zp, act_min = p->act_min, act_max = p->act_max;
  dw_ctx ctx_all;
  int32_t oy, ox, c, ky, kx, ky0, ky1, kx0, kx1, vec8;
  ctx_all.nzp = nzp;
  /* The INT8 per-pixel routines need no horizontal dilation (weights step by out_c per tap and
   * activations by in_c = out_c); 0 means they do not apply. Pre-extended weights (w16) lie tap after
   * tap, so only the activations step, dilated or not. */
  ctx_all.step = p->dilation_w == 1 || w16 ? x_step : 0;
  ctx_all.x_row = x_row;
  ctx_all.w_row = w_row;
  ctx_all.out_zp = out_zp;
  ctx_all.act_min = act_min;
  ctx_all.act_max = act_max;
  ctx_all.bias = bias;
  ctx_all.multiplier = mult_q;
  ctx_all.shift = shift;
  /* INT8 or pre-extended weights without horizontal dilation: the vectorized channels of every pixel in
   * dw_vec first. */
  vec8 = (bits == 8 || w16) && vec_c && ctx_all.step;
  if (vec8) {
    if (w16 && mult > 1) /* w16 tested first: a constant NULL in tm2_depthwise_s8 drops this test */
      dw_vec_mult(p, &ctx_all, in, w16, vec_c, out);
    else
      dw_vec(p, &ctx_all, in, w, w16, vec_c, out);
    if (vec_c == cout) return;
  }
  for (oy = 0; oy < p->out_h; oy++) {
    tap_range(oy, p->stride_h, p->pad_top, p->dilation_h, p->kernel_h, p->in_h, &ky0, &ky1);
    for (ox = 0; ox < p->out_w; ox++) {
      int8_t *o_px = out + (oy * p->out_w + ox) * cout;
      const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
      tap_range(ox, p->stride_w, p->pad_left, p->dilation_w, p->kernel_w, p->in_w, &kx0, &kx1);
#if TM2_HAVE_NEON
      if (neon_c && ky1 > ky0 && kx1 > kx0) {
        const int8_t *x0 = in + ((iy0 + ky0 * p->dilation_h) * p->in_w + ix0 + kx0 * p->dilation_w) * cin;
        const int32_t w0 = (ky0 * p->kernel_w + kx0) * w_step;
        for (c = 0; c < neon_c; c += 16)
          dw_neon16(p, x0 + c, w + w0 + (bits == 8 ? c : c / 2), bits, ky1 - ky0, kx1 - kx0, x_step, x_row, w_step,
                    w_row, c, o_px + c);
      }
#endif
      if (vec8) {
        /* channels [0, vec_c) done by dw_vec */
      } else if (vec_c && ky1 > ky0 && kx1 > kx0 && ctx_all.step) {
        const int8_t *x0 = in + ((iy0 + ky0 * p->dilation_h) * p->in_w + ix0 + kx0 * p->dilation_w) * cin;
        dw_pixel_s4(&ctx_all, x0, (const uint8_t *)w + (ky0 * p->kernel_w + kx0) * w_step, ky1 - ky0, kx1 - kx0,
                    vec_c, o_px);
      } else if (vec_c && ky1 > ky0 && kx1 > kx0) {
        const int8_t *x0 = in + ((iy0 + ky0 * p->dilation_h) * p->in_w + ix0 + kx0 * p->dilation_w) * cin;
        const int32_t w0 = (ky0 * p->kernel_w + kx0) * w_step;
        for (c = 0; c < vec_c; c += 4) {
          int32_t acc[4], i;
          if (bits == 8)
            dw_block4(x0 + c, w + w0 + c, 0, ky1 - ky0, kx1 - kx0, x_step, x_row, w_step, w_row, nzp, acc);
          else
            dw_block4(x0 + c, w + w0 + c / 2, 1, ky1 - ky0, kx1 - kx0, x_step, x_row, w_step, w_row, nzp, acc);
          for (i = 0; i < 4; i++) {
            const int32_t o = c + i;
            o_px[o] = tm2_requant((acc[i] >> acc_shift) + (bias ? bias[o] : 0), mult_q[o], shift[o], out_zp, act_min,
                                  act_max);
          }
        }
      }
      for (c = vec8 ? vec_c : (ky1 > ky0 && kx1 > kx0) ? (neon_c ? neon_c : vec_c) : 0; c < cout; c++) {
        const int32_t ci = c / mult;
        int32_t acc = p->bias ? p->bias[c] : 0;
        for (ky = ky0; ky < ky1; ky++) {
          const int32_t row = (iy0 + ky * p->dilation_h) * p->in_w;
          for (kx = kx0; kx < kx1; kx++) {
            const int32_t wi = (ky * p->kernel_w + kx) * cout + c;
            const int32_t wv = bits == 8 ? (int32_t)w[wi] : tm2_s4_get(w, wi);
            acc += (in[(row + ix0 + kx * p->dilation_w) * cin + ci] - p->in_zp) * wv;
          }
        }
        o_px[c] = tm2_requant(acc, p->multiplier[c], p->shift[c], p->out_zp, p->act_min, p->act_max);
      }
    }
  }
}

/* depthwise() for every caller but tm2_depthwise_s8's common path (which has it inline): one body. */
#if TM2_HAVE_NEON
#define dw_run depthwise
#else
TM2_NOINLINE static void dw_run(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits,
                                const uint32_t *w16, int8_t *out) {
  depthwise(p, in, w, bits, w16, out);
}
#endif

#if TM2_S4_UNPACK_BYTES > 0 && !TM2_HAVE_NEON
/* INT8 weights, multiplier > 1 (dw_mult_fits): pre-extended on the stack like INT4 ones (the stack buffer
 * of s4_unpack.h). Apart so that its frame is taken only on this path (not when tm2_depthwise_s4 runs
 * tm2_depthwise_s8 on weights in its own buffer). */
TM2_NOINLINE static void dw_s8_mult(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out) {
  uint32_t buf[TM2_S4_UNPACK_BYTES / sizeof(uint32_t)];
  dw_w16_unpack_mult(w, 8, p->out_c, p->ch_mult, p->in_c & ~3, p->kernel_h * p->kernel_w, buf);
  dw_run(p, in, w, 8, buf, out);
}
#endif

/* Not inlined into tm2_depthwise_s4 (which calls it on unpacked weights). */
TM2_NOINLINE void tm2_depthwise_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out) {
#if TM2_HAVE_NEON
  if (tm2_neon_depthwise(p, in, w, 8, out)) return; /* AArch64: neon_depthwise.c */
#endif
#if TM2_S4_UNPACK_BYTES > 0 && !TM2_HAVE_NEON
  if (p->ch_mult != 1 && dw_mult_fits(p)) {
    dw_s8_mult(p, in, w, out);
    return;
  }
#endif
  depthwise(p, in, w, 8, NULL, out);
}

/* INT4 weights: a 2-D layer with multiplier 1, channels a multiple of 4 and no horizontal dilation
 * whose weights fit the stack buffer as int16 (3x3 up to 112 channels with 2 KB) has them pre-extended
 * once (dw_w16_unpack): fewer instructions per tap than INT8; so has a layer with multiplier 2..16
 * (dw_mult_fits, dw_w16_unpack_mult, as INT8 weights). Otherwise, when the whole weight array fits
 * as int8 (3x3 up to 227 channels), it is unpacked once and every pixel runs the INT8 path; larger arrays
 * unpack per tap. */
void tm2_depthwise_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out) {
#if TM2_HAVE_NEON
  if (tm2_neon_depthwise(p, in, w_packed, 4, out)) return; /* AArch64: neon_depthwise.c */
#endif
#if TM2_S4_UNPACK_BYTES > 0
  const int32_t n = p->kernel_h * p->kernel_w * p->out_c;
  uint32_t buf[TM2_S4_UNPACK_BYTES / sizeof(uint32_t)];
#if !TM2_HAVE_NEON
  if (p->ch_mult == 1 && (p->out_c & 3) == 0 && p->kernel_h > 1 && p->dilation_w == 1 &&
      (size_t)n * 2 <= TM2_S4_UNPACK_BYTES) {
    dw_w16_unpack(w_packed, p->out_c, p->kernel_h * p->kernel_w, buf);
    dw_run(p, in, w_packed, 4, buf, out);
    return;
  }
  if (dw_mult_fits(p)) {
    dw_w16_unpack_mult(w_packed, 4, p->out_c, p->ch_mult, p->in_c & ~3, p->kernel_h * p->kernel_w, buf);
    dw_run(p, in, w_packed, 4, buf, out);
    return;
  }
#endif
  if (n <= TM2_S4_UNPACK_BYTES) {
    tm2_s4_unpack(w_packed, 0, n, (int8_t *)buf);
    tm2_depthwise_s8(p, in, (const int8_t *)buf, out);
    return;
  }
#endif
  dw_run(p, in, w_packed, 4, NULL, out);
}

/* tm2_depthwise_s4 in two steps for s4_act.c (s4_unpack.h). */
#if TM2_S4_UNPACK_BYTES > 0 && !TM2_HAVE_NEON
/* Whether an INT4 layer has its weights pre-extended to int16 pairs (dw_w16_unpack): tm2_depthwise_s4's
 * first condition (written out there too, so that its object code stays as it was). */
static inline int dw_w16_applies(const tm2_conv_params *p) {
  const int32_t n = p->kernel_h * p->kernel_w * p->out_c;
  return p->ch_mult == 1 && (p->out_c & 3) == 0 && p->kernel_h > 1 && p->dilation_w == 1 &&
         (size_t)n * 2 <= TM2_S4_UNPACK_BYTES;
}
#endif

int tm2_depthwise_s4_w16(const tm2_conv_params *p, const int8_t *w_packed, uint32_t *buf) {
#if TM2_S4_UNPACK_BYTES > 0 && !TM2_HAVE_NEON
  if (dw_w16_applies(p)) {
    dw_w16_unpack(w_packed, p->out_c, p->kernel_h * p->kernel_w, buf);
    return 1;
  }
#else
  (void)p, (void)w_packed, (void)buf;
#endif
  return 0;
}

void tm2_depthwise_s4_run_w16(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, const uint32_t *w16,
                              int8_t *out) {
  depthwise(p, in, w_packed, 4, w16, out);
}
