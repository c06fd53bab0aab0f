/*
 * neon_depthwise.c - AArch64 Advanced SIMD depthwise convolution (rpi4, Cortex-A72), channel multiplier 1,
 * any kernel, stride, dilation and padding, 16 channels per vector (8 to 15 channels: depthwise8, 8 per vector).
 *
 * As neon_gemm.c, raw int8 activations times int8 weights, the in_zp term folded with the bias into a
 * per-channel constant over all taps. A tap outside the input reads a row of in_zp instead (its product
 * cancels against the constant: the padded positions contribute 0, as ARITHMETIC.md says), so every
 * pixel runs the same loop over all taps. Taps go in pairs: SMULL + SMLAL (and their high halves) put
 * two products in each int16 lane (2 * 128 * 127 < 2^15), four SADDW add them to the int32 accumulators:
 * 8 instructions per 32 MACs plus the loads. Each block's weights are repacked once per call as
 * [16-channel vector][tap][16] (3x3: three LD1 per vector and pixel) and its constants computed with
 * vector sums; 3x3 windows inside the input take their tap pointers from the window's base. Channels are taken in blocks of up to 64 (the constants and
 * the in_zp row); a channel count that is not a multiple of 16 ends with a vector overlapping the previous
 * one (the same outputs written twice). INT4 weights are unpacked once per block to int8 on the stack
 * (TM2_S4_UNPACK_BYTES, s4_unpack.h: 3x3 fits 64 channels in 576 bytes).
 * Output stage: neon.h.
 */
#include <string.h>

#include "neon.h"
#include "s4_unpack.h"

#if TM2_HAVE_NEON

#define BLOCK 64    /* channels per block */
#define MAX_TAPS 64 /* kernel_h * kernel_w handled here */

/* Tap pair (a, b) of 16 channels into the four int32 accumulators. */
#define TAP2(xa, wa, xb, wb)                                                                  \
  do {                                                                                        \
    const int8x16_t xa_ = (xa), wa_ = (wa), xb_ = (xb), wb_ = (wb);                           \
    const int16x8_t l_ = vmlal_s8(vmull_s8(vget_low_s8(xa_), vget_low_s8(wa_)), vget_low_s8(xb_), vget_low_s8(wb_)); \
    const int16x8_t h_ = vmlal_high_s8(vmull_high_s8(xa_, wa_), xb_, wb_);                    \
    a0 = vaddw_s16(a0, vget_low_s16(l_));                                                     \
    a1 = vaddw_high_s16(a1, l_);                                                              \
    a2 = vaddw_s16(a2, vget_low_s16(h_));                                                     \
    a3 = vaddw_high_s16(a3, h_);                                                              \
  } while (0)

/* One tap of 16 channels (an odd tap count's last one). */
#define TAP1(xa, wa)                                                             \
  do {                                                                           \
    const int8x16_t x_ = (xa), w_ = (wa);                                        \
    const int16x8_t l_ = vmull_s8(vget_low_s8(x_), vget_low_s8(w_)), h_ = vmull_high_s8(x_, w_); \
    a0 = vaddw_s16(a0, vget_low_s16(l_));                                        \
    a1 = vaddw_high_s16(a1, l_);                                                 \
    a2 = vaddw_s16(a2, vget_low_s16(h_));                                        \
    a3 = vaddw_high_s16(a3, h_);                                                 \
  } while (0)

/* Tap pointers of a window that crosses the border: taps outside the input read the in_zp row. Not
 * vectorized: gcc would turn the bounds checks into vector compares, several times slower here. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-vectorize")))
#endif
static void border_taps(const tm2_conv_params *p, const int8_t *in, const int32_t *off, int32_t cb, int32_t iy0,
                        int32_t ix0, const int8_t *zrow, const int8_t **xp) {
  const int32_t ofs = (iy0 * p->in_w + ix0) * p->out_c + cb; /* of tap 0, which may lie outside */
  int32_t ky, kx, t = 0;
  uint8_t colok[MAX_TAPS];
  for (kx = 0; kx < p->kernel_w; kx++) {
    const int32_t ix = ix0 + kx * p->dilation_w;
    colok[kx] = ix >= 0 && ix < p->in_w;
  }
  for (ky = 0; ky < p->kernel_h; ky++) {
    const int32_t iy = iy0 + ky * p->dilation_h;
    const int row = iy >= 0 && iy < p->in_h;
    for (kx = 0; kx < p->kernel_w; kx++, t++) xp[t] = row && colok[kx] ? in + (ofs + off[t]) : zrow;
  }
}

/*
 * 8 to 15 channels (the first depthwise layers of small models, which would otherwise run scalar): vectors
 * of 8 channels, at channel 0 and, when C is not 8, at C - 8 (overlapping, the same outputs written twice).
 * Same arithmetic as the 16-channel loop: raw activations, the in_zp term in corr, tap pairs into int16
 * lanes, SADDW into two int32 vectors. w is int8 [tap][C] (INT4 already unpacked by the caller); wpk, xp
 * and off are the caller's buffers.
 */
#if defined(__GNUC__)
__attribute__((noinline)) /* inlined, it costs the 16-channel loop about 100 instructions a call (register allocation) */
#endif
static void depthwise8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, const int32_t *off,
                       const int8_t *zrow, int8_t *wpk, const int8_t **xp, int8_t *out) {
  const int32_t C = p->out_c, T = p->kernel_h * p->kernel_w, nv = C > 8 ? 2 : 1;
  const int16x8_t zp16 = vdupq_n_s16((int16_t)p->out_zp);
  const int8x16_t lo = vdupq_n_s8((int8_t)p->act_min), hi = vdupq_n_s8((int8_t)p->act_max);
  int32_t corr[16], t, v, c, oy, ox, fast = 1;
  for (c = 0; c < C; c++) {
    uint32_t sum = 0;
    for (t = 0; t < T; t++) sum += (uint32_t)w[t * C + c];
    corr[c] = (int32_t)((p->bias ? (uint32_t)p->bias[c] : 0u) - (uint32_t)p->in_zp * sum);
    if (p->shift[c] > -1) fast = 0;
  }
  for (v = 0; v < nv; v++)
    for (t = 0; t < T; t++) memcpy(wpk + (v * T + t) * 8, w + t * C + (v ? C - 8 : 0), 8);
  for (oy = 0; oy < p->out_h; oy++) {
    for (ox = 0; ox < p->out_w; ox++) {
      int8_t *o_px = out + (oy * p->out_w + ox) * C;
      const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
      if (iy0 >= 0 && iy0 + (p->kernel_h - 1) * p->dilation_h < p->in_h && ix0 >= 0 &&
          ix0 + (p->kernel_w - 1) * p->dilation_w < p->in_w) {
        const int8_t *base = in + (iy0 * p->in_w + ix0) * C;
        for (t = 0; t < T; t++) xp[t] = base + off[t];
      } else {
        border_taps(p, in, off, 0, iy0, ix0, zrow, xp);
      }
      for (v = 0; v < nv; v++) {
        const int8_t *wg = wpk + v * T * 8;
        int32x4_t a0, a1;
        c = v ? C - 8 : 0;
        a0 = vld1q_s32(corr + c);
        a1 = vld1q_s32(corr + c + 4);
        for (t = 0; t < T; t += 2) {
          int16x8_t q = vmull_s8(vld1_s8(xp[t] + c), vld1_s8(wg + 8 * t));
          if (t + 1 < T) q = vmlal_s8(q, vld1_s8(xp[t + 1] + c), vld1_s8(wg + 8 * t + 8));
          a0 = vaddw_s16(a0, vget_low_s16(q));
          a1 = vaddw_high_s16(a1, q);
        }
        if (fast) {
          const int32x4_t r0 = tm2_neon_rq(a0, vld1q_s32(p->multiplier + c), vld1q_s32(p->shift + c));
          const int32x4_t r1 = tm2_neon_rq(a1, vld1q_s32(p->multiplier + c + 4), vld1q_s32(p->shift + c + 4));
          vst1_s8(o_px + c, vget_low_s8(tm2_neon_narrow16(r0, r1, r0, r1, zp16, lo, hi)));
        } else {
          int32_t acc[8], i;
          vst1q_s32(acc, a0);
          vst1q_s32(acc + 4, a1);
          for (i = 0; i < 8; i++)
            o_px[c + i] = tm2_requant(acc[i], p->multiplier[c + i], p->shift[c + i], p->out_zp, p->act_min, p->act_max);
        }
      }
    }
  }
}

int tm2_neon_depthwise(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out) {
  const int32_t C = p->out_c, T = p->kernel_h * p->kernel_w;
  const int16x8_t zp16 = vdupq_n_s16((int16_t)p->out_zp);
  const int8x16_t lo = vdupq_n_s8((int8_t)p->act_min), hi = vdupq_n_s8((int8_t)p->act_max);
  int8_t zrow[BLOCK];
#if TM2_S4_UNPACK_BYTES > 0
  int8_t wbuf[TM2_S4_UNPACK_BYTES];
#endif
  int32_t corr[BLOCK], mul[BLOCK], shf[BLOCK]; /* the block's constants, multipliers and shifts */
  const int8_t *xp[MAX_TAPS];
  int8_t wpk[BLOCK * MAX_TAPS];
  int32_t off[MAX_TAPS]; /* tap offsets from the window's first position */
  int32_t c0;
  if (p->ch_mult != 1 || C < 8 || T > MAX_TAPS) return 0;
#if TM2_S4_UNPACK_BYTES > 0
  if (bits == 4 && T * BLOCK > (int32_t)sizeof wbuf) return 0;
#else
  if (bits == 4) return 0;
#endif
  memset(zrow, p->in_zp, sizeof zrow);
  for (c0 = 0; c0 < 9; c0++) xp[c0] = zrow; /* the 3x3 path reads xp[0..8] */
  {
    int32_t ky, kx, t = 0;
    for (ky = 0; ky < p->kernel_h; ky++)
      for (kx = 0; kx < p->kernel_w; kx++) off[t++] = (ky * p->dilation_h * p->in_w + kx * p->dilation_w) * C;
  }
  if (C < 16) {
#if TM2_S4_UNPACK_BYTES > 0
    if (bits == 4) {
      tm2_s4_unpack(w, 0, T * C, wbuf); /* T * C < T * BLOCK, checked above */
      w = wbuf;
    }
#endif
    depthwise8(p, in, w, off, zrow, wpk, xp, out);
    return 1;
  }
  for (c0 = 0; c0 < C; c0 += BLOCK) {
    const int32_t cb = C - c0 < BLOCK ? (C >= BLOCK ? C - BLOCK : 0) : c0; /* a short last block overlaps */
    const int32_t m = C < BLOCK ? C : BLOCK;
    const int8_t *wb = w + cb;
    int32_t ws = C, t, c, oy, ox, fast = 1;
#if TM2_S4_UNPACK_BYTES > 0
    if (bits == 4) {
      for (t = 0; t < T; t++) tm2_s4_unpack(w, t * C + cb, m, wbuf + t * m);
      wb = wbuf;
      ws = m;
    }
#endif
    for (c = 0; c < m; c++) {
      mul[c] = p->multiplier[cb + c];
      shf[c] = p->shift[cb + c];
      if (shf[c] > -1) fast = 0;
    }
    for (c = 0; c < m; c += 16) { /* the block's weights by vector of 16 channels: [group][tap][16] */
      const int32_t cs = c > m - 16 ? m - 16 : c;
      const int32x4_t zp = vdupq_n_s32(p->in_zp);
      int16x8_t sl = vdupq_n_s16(0), sh = sl; /* sum of the taps' weights: |sum| <= 64 * 128 < 2^15 */
      int32x4_t b[4];
      int32_t i;
      for (t = 0; t < T; t++) {
        const int8x16_t v = vld1q_s8(wb + t * ws + cs);
        vst1q_s8(wpk + (c >> 4) * T * 16 + t * 16, v);
        sl = vaddw_s8(sl, vget_low_s8(v));
        sh = vaddw_high_s8(sh, v);
      }
      for (i = 0; i < 4; i++) b[i] = p->bias ? vld1q_s32(p->bias + cb + cs + 4 * i) : vdupq_n_s32(0);
      /* corr = bias - in_zp * sum (mod 2^32, as the reference's int32 arithmetic) */
      vst1q_s32(corr + cs, vmlsq_s32(b[0], zp, vmovl_s16(vget_low_s16(sl))));
      vst1q_s32(corr + cs + 4, vmlsq_s32(b[1], zp, vmovl_high_s16(sl)));
      vst1q_s32(corr + cs + 8, vmlsq_s32(b[2], zp, vmovl_s16(vget_low_s16(sh))));
      vst1q_s32(corr + cs + 12, vmlsq_s32(b[3], zp, vmovl_high_s16(sh)));
    }
    for (oy = 0; oy < p->out_h; oy++) {
      for (ox = 0; ox < p->out_w; ox++) {
        int8_t *o_px = out + (oy * p->out_w + ox) * C + cb;
        const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
        const int interior = iy0 >= 0 && iy0 + (p->kernel_h - 1) * p->dilation_h < p->in_h && ix0 >= 0 &&
                             ix0 + (p->kernel_w - 1) * p->dilation_w < p->in_w;
        if (interior) {
          const int8_t *base = in + (iy0 * p->in_w + ix0) * C + cb; /* every tap inside */
          if (T == 9) { /* the 3x3 loop reads only xp[0..8], set below from base */
            xp[0] = base;
          } else {
            for (t = 0; t < T; t++) xp[t] = base + off[t];
          }
        } else {
          border_taps(p, in, off, cb, iy0, ix0, zrow, xp);
        }
        const int inside = interior && T == 9;
        const int8_t *const x0 = xp[0], *const x1 = inside ? x0 + off[1] : xp[1], *const x2 = inside ? x0 + off[2] : xp[2];
        const int8_t *const x3 = inside ? x0 + off[3] : xp[3], *const x4 = inside ? x0 + off[4] : xp[4];
        const int8_t *const x5 = inside ? x0 + off[5] : xp[5], *const x6 = inside ? x0 + off[6] : xp[6];
        const int8_t *const x7 = inside ? x0 + off[7] : xp[7], *const x8 = inside ? x0 + off[8] : xp[8];
        for (c = 0; c < m; c += 16) {
          int32x4_t a0, a1, a2, a3;
          const int8_t *const wg = wpk + (c >> 4) * T * 16;
          if (c > m - 16) c = m - 16; /* the last vector overlaps the previous one */
          {
            const int32x4x4_t k4 = vld1q_s32_x4(corr + c);
            a0 = k4.val[0];
            a1 = k4.val[1];
            a2 = k4.val[2];
            a3 = k4.val[3];
          }
          if (T == 9) { /* 3x3: the 9 weight vectors in three LD1, the tap pointers in registers */
            const int8x16x4_t wa = vld1q_s8_x4(wg), wv = vld1q_s8_x4(wg + 64);
            const int8x16_t w8 = vld1q_s8(wg + 128);
            TAP2(vld1q_s8(x0 + c), wa.val[0], vld1q_s8(x1 + c), wa.val[1]);
            TAP2(vld1q_s8(x2 + c), wa.val[2], vld1q_s8(x3 + c), wa.val[3]);
            TAP2(vld1q_s8(x4 + c), wv.val[0], vld1q_s8(x5 + c), wv.val[1]);
            TAP2(vld1q_s8(x6 + c), wv.val[2], vld1q_s8(x7 + c), wv.val[3]);
            TAP1(vld1q_s8(x8 + c), w8);
          } else {
            for (t = 0; t + 2 <= T; t += 2)
              TAP2(vld1q_s8(xp[t] + c), vld1q_s8(wg + 16 * t), vld1q_s8(xp[t + 1] + c), vld1q_s8(wg + 16 * t + 16));
            if (t < T) TAP1(vld1q_s8(xp[t] + c), vld1q_s8(wg + 16 * t));
          }
          if (fast) {
            const int32x4x4_t mq = vld1q_s32_x4(mul + c), sq = vld1q_s32_x4(shf + c);
            vst1q_s8(o_px + c, tm2_neon_narrow16(tm2_neon_rq(a0, mq.val[0], sq.val[0]), tm2_neon_rq(a1, mq.val[1], sq.val[1]),
                                                 tm2_neon_rq(a2, mq.val[2], sq.val[2]), tm2_neon_rq(a3, mq.val[3], sq.val[3]),
                                                 zp16, lo, hi));
          } else {
            int32_t acc[16], i;
            vst1q_s32(acc, a0);
            vst1q_s32(acc + 4, a1);
            vst1q_s32(acc + 8, a2);
            vst1q_s32(acc + 12, a3);
            for (i = 0; i < 16; i++)
              o_px[c + i] = tm2_requant(acc[i], p->multiplier[cb + c + i], p->shift[cb + c + i], p->out_zp, p->act_min,
                                        p->act_max);
          }
        }
      }
    }
  }
  return 1;
}

#else
/* Not an AArch64 NEON build: depthwise.c's portable path. ISO C wants a declaration. */
typedef int tm2_neon_depthwise_unused;
#endif
