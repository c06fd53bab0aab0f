/*
 * conv_transpose.c - optimized transposed convolution (same arithmetic as conv_transpose_ref.c,
 * ARITHMETIC.md "ConvTranspose"). Per output pixel, the taps that receive an input (an exact,
 * in-range quotient per axis) are found once, not once per output channel; then each output
 * channel is one dot product over those taps' input channels (four per step with SMLAD for INT8
 * weights; INT4 weights two per byte when the run starts on a byte). Kernels of at most
 * TM2_CONV_TRANSPOSE_MAX_KERNEL taps per axis (the compiler refuses larger ones).
 */
#include "tm2.h"
#include "tm2_simd.h"

/* Valid taps of output position o on one axis: tap index and input index, returns the count. */
static int32_t axis_taps(int32_t o, int32_t kernel, int32_t stride, int32_t pad, int32_t dilation, int32_t size,
                         int32_t *tap, int32_t *src) {
  int32_t k, n = 0;
  for (k = 0; k < kernel; k++) {
    const int32_t t = o + pad - k * dilation;
    int32_t i;
    if (t < 0) break; /* t only decreases with k */
    i = t / stride;
    if (i * stride == t && i < size) {
      tap[n] = k;
      src[n] = i;
      n++;
    }
  }
  return n;
}

static void conv_transpose(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out) {
  const int32_t cin_g = p->in_c / p->groups, cout_g = p->out_c / p->groups, in_zp = p->in_zp;
  const uint32_t nzp = tm2_pack16(-in_zp, -in_zp);
  int32_t ty[TM2_CONV_TRANSPOSE_MAX_KERNEL], sy[TM2_CONV_TRANSPOSE_MAX_KERNEL];
  int32_t tx[TM2_CONV_TRANSPOSE_MAX_KERNEL], sx[TM2_CONV_TRANSPOSE_MAX_KERNEL];
  int32_t oy, ox, o, a, b, c;
  for (oy = 0; oy < p->out_h; oy++) {
    const int32_t ny = axis_taps(oy, p->kernel_h, p->stride_h, p->pad_top, p->dilation_h, p->in_h, ty, sy);
    for (ox = 0; ox < p->out_w; ox++) {
      const int32_t nx = axis_taps(ox, p->kernel_w, p->stride_w, p->pad_left, p->dilation_w, p->in_w, tx, sx);
      for (o = 0; o < p->out_c; o++) {
        const int32_t g = o / cout_g;
        int32_t acc = p->bias ? p->bias[o] : 0;
        for (a = 0; a < ny; a++) {
          for (b = 0; b < nx; b++) {
            const int8_t *x = in + (sy[a] * p->in_w + sx[b]) * p->in_c + g * cin_g;
            const int32_t wi = ((o * p->kernel_h + ty[a]) * p->kernel_w + tx[b]) * cin_g;
            if (bits == 8) {
              const int8_t *wr = w + wi;
              /* Four channels per step: (x - zp) and w as int16 pairs (SXTAB16 / SXTB16), two SMLADs. */
              for (c = 0; c + 4 <= cin_g; c += 4) {
                const uint32_t xw = tm2_load_u32(x + c), ww = tm2_load_u32(wr + c);
                acc = tm2_smlad(tm2_sxtab16(nzp, xw), tm2_sxtb16(ww), acc);
                acc = tm2_smlad(tm2_sxtab16_ror8(nzp, xw), tm2_sxtb16_ror8(ww), acc);
              }
              for (; c < cin_g; c++) acc += (x[c] - in_zp) * wr[c];
            } else {
              c = 0;
              if ((wi & 1) == 0) { /* byte-aligned run: two weights per byte, low nibble first */
                const int8_t *wb = w + (wi >> 1);
                for (; c + 2 <= cin_g; c += 2, wb++) {
                  const int32_t lo = (int32_t)(int8_t)((uint32_t)(uint8_t)*wb << 4) >> 4, hi = (int32_t)*wb >> 4;
                  acc += (x[c] - in_zp) * lo + (x[c + 1] - in_zp) * hi;
                }
              }
              for (; c < cin_g; c++) acc += (x[c] - in_zp) * tm2_s4_get(w, wi + c);
            }
          }
        }
        *out++ = tm2_requant(acc, p->multiplier[o], p->shift[o], p->out_zp, p->act_min, p->act_max);
      }
    }
  }
}

void tm2_conv_transpose_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out) {
  conv_transpose(p, in, w, 8, out);
}

void tm2_conv_transpose_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out) {
  conv_transpose(p, in, w_packed, 4, out);
}
