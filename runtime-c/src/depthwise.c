/*
 * depthwise.c - optimized depthwise convolution, channels-last.
 *
 * Channel multiplier 1 (the common case): for each output pixel, 4 channels at a time, one
 * 32-bit load of 4 activations and one of 4 weights per kernel tap; SXTAB16 sign-extends the
 * activations and subtracts in_zp in the same instruction, and SMLABB/SMLATT do one MAC each
 * (channels are independent, so the dual MAC does not apply). The valid tap range of each
 * output pixel is computed once, so padding costs nothing inside the loop.
 * Other channel multipliers and the last in_c % 4 channels take a scalar loop.
 */
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

/* 4 INT4 weights starting at nibble n, spread to 16*(w0,w2) and 16*(w1,w3) pairs. */
static inline void load_s4x4(const int8_t *w, int32_t n, uint32_t *even, uint32_t *odd) {
  const uint8_t *b = (const uint8_t *)w + (n >> 1);
  const uint32_t v = (n & 1) ? (((uint32_t)b[0] >> 4) | ((uint32_t)b[1] << 4) | ((uint32_t)b[2] << 12)) & 0xFFFFu
                             : (uint32_t)b[0] | ((uint32_t)b[1] << 8);
  *even = tm2_sxtb16(((v << 4) & 0xF0u) | ((v << 12) & 0x00F00000u));
  *odd = tm2_sxtb16((v & 0xF0u) | ((v << 8) & 0x00F00000u));
}

static void depthwise(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out) {
  const int32_t cin = p->in_c, cout = p->out_c, mult = p->ch_mult;
  const int32_t vec_c = mult == 1 ? (cout & ~3) : 0; /* channels done 4 at a time */
  const uint32_t nzp = tm2_pack16(-p->in_zp, -p->in_zp);
  const int32_t wscale_shift = bits == 4 ? 4 : 0; /* INT4 pairs carry 16 * w */
  int32_t oy, ox, c, ky, kx, ky0, ky1, kx0, kx1;
  for (oy = 0; oy < p->out_h; oy++) {
    tap_range(oy, p->stride_h, p->pad_top, p->dilation_h, p->kernel_h, p->in_h, &ky0, &ky1);
    for (ox = 0; ox < p->out_w; ox++) {
      int8_t *o_px = out + (oy * p->out_w + ox) * cout;
      const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
      tap_range(ox, p->stride_w, p->pad_left, p->dilation_w, p->kernel_w, p->in_w, &kx0, &kx1);
      for (c = 0; c < vec_c; c += 4) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, i;
        for (ky = ky0; ky < ky1; ky++) {
          const int8_t *x = in + ((iy0 + ky * p->dilation_h) * p->in_w + ix0 + kx0 * p->dilation_w) * cin + c;
          const int32_t xstep = p->dilation_w * cin;
          if (bits == 8) {
            const int8_t *wp = w + (ky * p->kernel_w + kx0) * cout + c;
            for (kx = kx0; kx < kx1; kx++, x += xstep, wp += cout) {
              const uint32_t xv = tm2_load_u32(x), wv = tm2_load_u32(wp);
              const uint32_t xe = tm2_sxtab16(nzp, xv), xo = tm2_sxtab16_ror8(nzp, xv);
              const uint32_t we = tm2_sxtb16(wv), wo = tm2_sxtb16_ror8(wv);
              a0 = tm2_smlabb(xe, we, a0);
              a2 = tm2_smlatt(xe, we, a2);
              a1 = tm2_smlabb(xo, wo, a1);
              a3 = tm2_smlatt(xo, wo, a3);
            }
          } else {
            int32_t n = (ky * p->kernel_w + kx0) * cout + c;
            for (kx = kx0; kx < kx1; kx++, x += xstep, n += cout) {
              uint32_t we, wo;
              const uint32_t xv = tm2_load_u32(x);
              const uint32_t xe = tm2_sxtab16(nzp, xv), xo = tm2_sxtab16_ror8(nzp, xv);
              load_s4x4(w, n, &we, &wo);
              a0 = tm2_smlabb(xe, we, a0);
              a2 = tm2_smlatt(xe, we, a2);
              a1 = tm2_smlabb(xo, wo, a1);
              a3 = tm2_smlatt(xo, wo, a3);
            }
          }
        }
        {
          const int32_t acc[4] = {a0 >> wscale_shift, a1 >> wscale_shift, a2 >> wscale_shift, a3 >> wscale_shift};
          for (i = 0; i < 4; i++) {
            const int32_t o = c + i;
            o_px[o] = tm2_requant(acc[i] + (p->bias ? p->bias[o] : 0), p->multiplier[o], p->shift[o], p->out_zp,
                                  p->act_min, p->act_max);
          }
        }
      }
      for (c = vec_c; c < cout; c++) {
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

void tm2_depthwise_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out) {
  depthwise(p, in, w, 8, out);
}

void tm2_depthwise_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out) {
  depthwise(p, in, w_packed, 4, out);
}
