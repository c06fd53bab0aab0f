/*
 * conv_few_cin.c - convolution with few input channels and a small kernel (K = kernel_h *
 * kernel_w * in_c <= 32, in_c <= 4): the first layer of image / spectrogram models.
 *
 * Why a separate path: with K = 9 (3x3, one channel) the general kernel spends most of its time
 * gathering an im2col window byte by byte into a column laid out for long K, and the 2x2 matrix
 * core's per-channel overhead is amortized over only 3 groups. Here instead:
 *   - the weights of a chunk of output channels are converted once per call into int16 pairs
 *     (w0,w1)(w2,w3)... in a small stack buffer, next to each channel's bias, multiplier and
 *     shift (INT4 weights too, so one inner loop serves both widths and no factor 16 is carried);
 *   - each output pixel's window is read once as int16 pairs (x0-zp, x1-zp)... through a table of
 *     tap offsets (interior pixels: no padding checks) or with per-tap checks (border pixels);
 *   - every output channel of the chunk is then ceil(K/2) SMLADs against that window, two
 *     pixels at a time so each weight pair and requant constant is loaded once for both.
 * Same sums as the reference, so the same bits after tm2_requant.
 */
#include "conv_few_cin.h"
#include "tm2_simd.h"

#define FEW_MAX_K 32
#define FEW_MAX_PAIRS (FEW_MAX_K / 2)
#define FEW_MAX_IN_C 4
/* Stack words holding a chunk of channel records (512 bytes): 3x3 x 1 channel = 8 words, 16
 * channels. */
#define FEW_REC_WORDS 128

/* Per output channel of a chunk, a record of FEW_REC_HEAD + np words: bias, multiplier, shift,
 * then the weight pairs. One pointer walks all of a channel's constants (fewer live registers
 * in the loop below than separate bias / multiplier / shift / weight pointers). */
#define FEW_REC_HEAD 3

/* The output stage of one channel (record r) for pixels A and B. */
#define FEW_STORE_PAIR(acc_a, acc_b, r)                                                  \
  do {                                                                                   \
    const int32_t m_ = (int32_t)(r)[1], s_ = (int32_t)(r)[2];                            \
    *dst_a++ = tm2_requant(acc_a, m_, s_, out_zp, lo, hi);                               \
    *dst_b++ = tm2_requant(acc_b, m_, s_, out_zp, lo, hi);                               \
  } while (0)

/*
 * The n channels of a chunk (records `rec`) for two output pixels A and B whose windows are
 * interleaved pair by pair (win[2i] = A's pair i, win[2i+1] = B's): each weight pair is loaded
 * once for two SMLADs and each channel's multiplier and shift once for two outputs. For a
 * single pixel the caller passes B's window = A's and dst_b = dst_a (same bytes written twice).
 */
static TM2_NOINLINE void pixel_pair_outputs(const tm2_conv_params *p, const uint32_t *win, int32_t np,
                                            const uint32_t *rec, int32_t n, int8_t *dst_a, int8_t *dst_b) {
  const int32_t out_zp = p->out_zp, lo = p->act_min, hi = p->act_max;
  const uint32_t *const end = rec + n * (np + FEW_REC_HEAD);
  int32_t i;
  if (np == 5) { /* 3x3, one input channel: unrolled */
    for (; rec < end; rec += 5 + FEW_REC_HEAD) {
      const uint32_t *const w = rec + FEW_REC_HEAD;
      int32_t a = (int32_t)rec[0], b = a;
      a = tm2_smlad(win[0], w[0], a), b = tm2_smlad(win[1], w[0], b);
      a = tm2_smlad(win[2], w[1], a), b = tm2_smlad(win[3], w[1], b);
      a = tm2_smlad(win[4], w[2], a), b = tm2_smlad(win[5], w[2], b);
      a = tm2_smlad(win[6], w[3], a), b = tm2_smlad(win[7], w[3], b);
      a = tm2_smlad(win[8], w[4], a), b = tm2_smlad(win[9], w[4], b);
      FEW_STORE_PAIR(a, b, rec);
    }
    return;
  }
  for (; rec < end; rec += np + FEW_REC_HEAD) {
    const uint32_t *const w = rec + FEW_REC_HEAD;
    int32_t a = (int32_t)rec[0], b = a;
    for (i = 0; i < np; i++) {
      a = tm2_smlad(win[2 * i], w[i], a);
      b = tm2_smlad(win[2 * i + 1], w[i], b);
    }
    FEW_STORE_PAIR(a, b, rec);
  }
}

/* Window of an interior pixel (every tap inside the input, at src + off[j]) as pairs
 * (x_j - zp, x_j+1 - zp), written every second word (the interleaved layout above). */
static void interior_window(const int8_t *src, const int32_t *off, int32_t k, int32_t zp, uint32_t *win) {
  int32_t j;
  for (j = 0; j + 1 < k; j += 2, win += 2) *win = tm2_pack16(src[off[j]] - zp, src[off[j + 1]] - zp);
  if (j < k) *win = tm2_pack16(src[off[j]] - zp, 0);
}

/* The same for 3x3, one input channel, dilation_w 1 (the commonest first layer): three rows of
 * three bytes at r0, r0 + row_step, r0 + 2 * row_step, read with immediate offsets. */
static inline void interior_window_3x3(const int8_t *r0, int32_t row_step, int32_t zp, uint32_t *win) {
  const int8_t *const r1 = r0 + row_step, *const r2 = r1 + row_step;
  win[0] = tm2_pack16(r0[0] - zp, r0[1] - zp);
  win[2] = tm2_pack16(r0[2] - zp, r1[0] - zp);
  win[4] = tm2_pack16(r1[1] - zp, r1[2] - zp);
  win[6] = tm2_pack16(r2[0] - zp, r2[1] - zp);
  win[8] = tm2_pack16(r2[2] - zp, 0);
}

/* Window of a border pixel, same layout: taps outside the input are padding (in_zp), i.e. 0.
 * Tap j sits dy[j] rows and dx[j] columns from the window's corner (iy0, ix0). */
static void border_window(const tm2_conv_params *p, const int8_t *in, int32_t iy0, int32_t ix0, const int32_t *off,
                          const int16_t *dy, const int16_t *dx, int32_t k, uint32_t *win) {
  const int32_t base = (iy0 * p->in_w + ix0) * p->in_c; /* + off[j]: only read when inside */
  const uint32_t h = (uint32_t)p->in_h, w = (uint32_t)p->in_w;
  const int32_t zp = p->in_zp;
  int32_t j, v[2];
  for (j = 0; j < k; j++) {
    const int inside = (uint32_t)(iy0 + dy[j]) < h && (uint32_t)(ix0 + dx[j]) < w;
    v[j & 1] = inside ? in[base + off[j]] - zp : 0;
    if (j & 1) {
      *win = tm2_pack16(v[0], v[1]);
      win += 2;
    }
  }
  if (k & 1) *win = tm2_pack16(v[0], 0); /* odd K: the last pair's high half meets a zero weight */
}

int tm2_conv_few_cin(const tm2_conv_params *params, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out) {
  const tm2_conv_params local = *params, *const p = &local; /* int8 stores below cannot alias it */
  const int32_t k = p->kernel_h * p->kernel_w * p->in_c, np = (k + 1) / 2;
  const int32_t span_h = (p->kernel_h - 1) * p->dilation_h, span_w = (p->kernel_w - 1) * p->dilation_w;
  int32_t off[FEW_MAX_K];
  int16_t dy[FEW_MAX_K], dx[FEW_MAX_K];
  const int fixed_3x3 = p->in_c == 1 && p->kernel_h == 3 && p->kernel_w == 3 && p->dilation_w == 1;
  uint32_t rec[FEW_REC_WORDS];
  uint32_t win[2 * FEW_MAX_PAIRS];
  int32_t chunk, o0, oy, ox, ky, kx, c, j = 0;
  if (p->groups != 1 || p->in_c > FEW_MAX_IN_C || k > FEW_MAX_K || span_h > INT16_MAX || span_w > INT16_MAX) return 0;
  chunk = FEW_REC_WORDS / (np + FEW_REC_HEAD);
  for (ky = 0; ky < p->kernel_h; ky++)
    for (kx = 0; kx < p->kernel_w; kx++)
      for (c = 0; c < p->in_c; c++, j++) {
        off[j] = (ky * p->dilation_h * p->in_w + kx * p->dilation_w) * p->in_c + c;
        dy[j] = (int16_t)(ky * p->dilation_h);
        dx[j] = (int16_t)(kx * p->dilation_w);
      }
  for (o0 = 0; o0 < p->out_c; o0 += chunk) {
    const int32_t o1 = o0 + chunk < p->out_c ? o0 + chunk : p->out_c;
    int32_t o, i;
    /* Records of this chunk; weights as int16 pairs, an odd K's last pair has weight 0 on top. */
    for (o = o0; o < o1; o++) {
      uint32_t *const r = rec + (o - o0) * (np + FEW_REC_HEAD);
      r[0] = (uint32_t)(p->bias ? p->bias[o] : 0);
      r[1] = (uint32_t)p->multiplier[o];
      r[2] = (uint32_t)p->shift[o];
      for (i = 0; i < np; i++) {
        const int32_t a = o * k + 2 * i;
        const int32_t w0 = bits == 4 ? tm2_s4_get(w, a) : w[a];
        const int32_t w1 = 2 * i + 1 >= k ? 0 : bits == 4 ? tm2_s4_get(w, a + 1) : w[a + 1];
        r[FEW_REC_HEAD + i] = tm2_pack16(w0, w1);
      }
    }
    for (oy = 0; oy < p->out_h; oy++) {
      const int32_t iy0 = oy * p->stride_h - p->pad_top;
      const int rows_inside = iy0 >= 0 && iy0 + span_h < p->in_h;
      int8_t *dst = out + oy * p->out_w * p->out_c + o0;
      for (ox = 0; ox < p->out_w; ox += 2, dst += 2 * p->out_c) {
        const int two = ox + 1 < p->out_w;
        int32_t n;
        for (n = 0; n < 2; n++) { /* windows of pixels ox (A) and ox + 1 (B, or A again) */
          const int32_t ix0 = (two ? ox + n : ox) * p->stride_w - p->pad_left;
          if (!(rows_inside && ix0 >= 0 && ix0 + span_w < p->in_w))
            border_window(p, in, iy0, ix0, off, dy, dx, k, win + n);
          else if (fixed_3x3)
            interior_window_3x3(in + iy0 * p->in_w + ix0, p->dilation_h * p->in_w, p->in_zp, win + n);
          else
            interior_window(in + (iy0 * p->in_w + ix0) * p->in_c, off, k, p->in_zp, win + n);
        }
        pixel_pair_outputs(p, win, np, rec, o1 - o0, dst, two ? dst + p->out_c : dst);
      }
    }
  }
  return 1;
}
