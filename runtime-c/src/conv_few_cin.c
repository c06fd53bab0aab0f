/*
 * conv_few_cin.c - convolution with few input channels per group and a small kernel (K =
 * kernel_h * kernel_w * in_c / groups <= FEW_MAX_K, in_c / groups <= FEW_MAX_IN_C): the first layer
 * of image / spectrogram / sensor models (1-3 channels), and grouped convolutions (2-D and 1-D)
 * with few channels per group.
 *
 * Why a separate path: with K = 9 .. 36 the general kernel's 2x2 matrix core has too few groups of
 * 4 to amortize its per-channel set-up, and its column buffer is laid out for long K. Here instead:
 *   - the weights of a chunk of output channels (one group's) are converted once per call into int16
 *     pairs in the column order of tm2_mm.h (per 4 values: (w0,w2), (w1,w3); INT4 weights too, so one
 *     inner loop serves both widths), each channel's record next to its bias, multiplier and shift;
 *   - each output pixel's window is gathered as K bytes in weight order (one copy per contiguous run:
 *     a kernel row when there is one group and no horizontal dilation, else a tap's channels; padding
 *     = in_zp) and converted to int16 pairs minus in_zp with one LDR and two SXTAB16 per 4 values;
 *   - two pixels' windows are interleaved group by group (A's 2 words, B's 2 words) so every channel
 *     is ceil(K/4) steps of 3 double-word loads and 4 SMLADs, and each channel's requant constants
 *     are loaded once for both pixels.
 * Same sums as the reference, so the same bits after tm2_requant.
 */
#include <string.h>

#include "conv_few_cin.h"
#include "tm2_simd.h"

#define FEW_MAX_K 36
#define FEW_MAX_GROUPS ((FEW_MAX_K + 3) / 4)
#define FEW_MAX_IN_C 4
/* Stack words holding a chunk of channel records (1 KB): K = 27 (3x3, 3 channels) = 17 words, 15
 * channels; K = 9 = 9 words, 28 channels. */
#define FEW_REC_WORDS 256

/* Per output channel of a chunk, a record of FEW_REC_HEAD + 2 * groups-of-4 words: bias, multiplier,
 * shift, then the weight pairs. One pointer walks all of a channel's constants. */
#define FEW_REC_HEAD 3

/*
 * Two channels (records r0, r1) times two pixels (windows interleaved group by group, see below) over
 * ng groups of 4 values: acc[0] = r0.A, acc[1] = r0.B, acc[2] = r1.A, acc[3] = r1.B (bias not added).
 * On DSP cores (optimized builds) in assembly: 5 LDRD + 8 SMLAD per group (16 MACs) in 12 registers
 * (window A read twice rather than holding a 13th), as mm_s8.c's dot2x2.
 */
#if defined(__GNUC__)
#define FEW_INLINE __attribute__((always_inline)) inline
#else
#define FEW_INLINE inline
#endif
static FEW_INLINE void dot2x2_groups(const uint32_t *r0, const uint32_t *r1, const uint32_t *x, int32_t ng,
                                     int32_t acc[4]) {
  int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
#if TM2_HAVE_DSP && defined(__OPTIMIZE__)
  uint32_t w, t, x0, x1;
  __asm__ volatile(
      "1:\n\t"
      "ldrd %[x0], %[x1], [%[x]]\n\t" /* pixel A */
      "ldrd %[w], %[t], [%[r0]], #8\n\t"
      "smlad %[a00], %[x0], %[w], %[a00]\n\t"
      "smlad %[a00], %[x1], %[t], %[a00]\n\t"
      "ldrd %[x0], %[x1], [%[x], #8]\n\t" /* pixel B */
      "smlad %[a01], %[x0], %[w], %[a01]\n\t"
      "smlad %[a01], %[x1], %[t], %[a01]\n\t"
      "ldrd %[w], %[t], [%[r1]], #8\n\t"
      "smlad %[a11], %[x0], %[w], %[a11]\n\t"
      "smlad %[a11], %[x1], %[t], %[a11]\n\t"
      "ldrd %[x0], %[x1], [%[x]], #16\n\t" /* pixel A again */
      "smlad %[a10], %[x0], %[w], %[a10]\n\t"
      "smlad %[a10], %[x1], %[t], %[a10]\n\t"
      "subs %[n], %[n], #1\n\t"
      "bne 1b\n\t"
      : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [r0] "+r"(r0), [r1] "+r"(r1),
        [x] "+r"(x), [n] "+r"(ng), [w] "=&r"(w), [t] "=&r"(t), [x0] "=&r"(x0), [x1] "=&r"(x1)
      :
      : "cc", "memory");
#else
  for (; ng > 0; ng--, r0 += 2, r1 += 2, x += 4) {
    a00 = tm2_smlad(x[1], r0[1], tm2_smlad(x[0], r0[0], a00));
    a01 = tm2_smlad(x[3], r0[1], tm2_smlad(x[2], r0[0], a01));
    a10 = tm2_smlad(x[1], r1[1], tm2_smlad(x[0], r1[0], a10));
    a11 = tm2_smlad(x[3], r1[1], tm2_smlad(x[2], r1[0], a11));
  }
#endif
  acc[0] = a00;
  acc[1] = a01;
  acc[2] = a10;
  acc[3] = a11;
}

/*
 * The n channels of a chunk (records `rec`, ng >= 1 groups of 4 weights each) for two output pixels A
 * and B whose windows are interleaved group by group (win[4g..4g+1] = A's group g, win[4g+2..4g+3] =
 * B's). For a single pixel the caller passes dst_b = dst_a (B's window is then anything finite and
 * its output is overwritten by A's).
 */
static TM2_NOINLINE void pixel_pair_outputs(const tm2_conv_params *p, const uint32_t *win, int32_t ng,
                                            const uint32_t *rec, int32_t n, int8_t *dst_a, int8_t *dst_b) {
  const int32_t out_zp = p->out_zp, lo = p->act_min, hi = p->act_max, rw = 2 * ng + FEW_REC_HEAD;
  int32_t acc[4];
  for (; n >= 2; n -= 2, rec += 2 * rw, dst_a += 2, dst_b += 2) {
    const uint32_t *const r1 = rec + rw;
    acc[0] = acc[1] = (int32_t)rec[0];
    acc[2] = acc[3] = (int32_t)r1[0];
    dot2x2_groups(rec + FEW_REC_HEAD, r1 + FEW_REC_HEAD, win, ng, acc);
    dst_b[0] = tm2_requant(acc[1], (int32_t)rec[1], (int32_t)rec[2], out_zp, lo, hi);
    dst_a[0] = tm2_requant(acc[0], (int32_t)rec[1], (int32_t)rec[2], out_zp, lo, hi);
    dst_b[1] = tm2_requant(acc[3], (int32_t)r1[1], (int32_t)r1[2], out_zp, lo, hi);
    dst_a[1] = tm2_requant(acc[2], (int32_t)r1[1], (int32_t)r1[2], out_zp, lo, hi);
  }
  if (n) { /* the chunk's last odd channel */
    const uint32_t *w = rec + FEW_REC_HEAD, *x = win;
    int32_t a = (int32_t)rec[0], b = a, g;
    for (g = ng; g > 0; g--, w += 2, x += 4) {
      a = tm2_smlad(x[1], w[1], tm2_smlad(x[0], w[0], a));
      b = tm2_smlad(x[3], w[1], tm2_smlad(x[2], w[0], b));
    }
    *dst_b = tm2_requant(b, (int32_t)rec[1], (int32_t)rec[2], out_zp, lo, hi);
    *dst_a = tm2_requant(a, (int32_t)rec[1], (int32_t)rec[2], out_zp, lo, hi);
  }
}

/* The window copies below are a few bytes each: gcc would turn their loops into memcpy / memset
 * calls that cost more than the copies. */
#if defined(__GNUC__) && !defined(__clang__)
#define FEW_NO_LIBCALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define FEW_NO_LIBCALLS
#endif

/* n bytes from src to dst: words while at least 4 remain (one LDR/STR each), then bytes. */
static inline void copy_run(int8_t *dst, const int8_t *src, int32_t n) {
  for (; n >= 4; n -= 4, dst += 4, src += 4) tm2_store_u32(dst, tm2_load_u32(src));
  for (; n > 0; n--) *dst++ = *src++;
}

/* The K window bytes (k rounded up to a group of 4) as column words minus zp, every 4th pair of words. */
static inline void window_words(const int8_t *bytes, int32_t ng, uint32_t nzp, uint32_t *win) {
  for (; ng > 0; ng--, bytes += 4, win += 4) {
    const uint32_t v = tm2_load_u32(bytes);
    win[0] = tm2_sxtab16(nzp, v);      /* (x0, x2) - zp */
    win[1] = tm2_sxtab16_ror8(nzp, v); /* (x1, x3) - zp */
  }
}

/* The window of a pixel with every tap inside the input: `runs` contiguous runs of `len` bytes at
 * src + off[r], in weight order. `whole_words`: every run may be copied as whole words (reading up to
 * 3 bytes past it stays inside the input; writing them lands in the next run, rewritten next, or past
 * K, where the weights are 0). */
static inline void interior_bytes(const int8_t *src, const int32_t *off, int32_t runs, int32_t len, int whole_words,
                                  int8_t *dst) {
  int32_t r, i;
  if (whole_words) {
    for (r = 0; r < runs; r++, dst += len)
      for (i = 0; i < len; i += 4) tm2_store_u32(dst + i, tm2_load_u32(src + off[r] + i));
    return;
  }
  for (r = 0; r < runs; r++, dst += len) copy_run(dst, src + off[r], len);
}

/* The window of a border pixel: taps outside the input are padding (in_zp). (iy0, ix0) is the
 * window's corner, c0 the group's first input channel. */
static inline void border_bytes(const tm2_conv_params *p, const int8_t *in, int32_t iy0, int32_t ix0, int32_t c0,
                         int32_t cin_g, int8_t *dst) {
  const int8_t zp = (int8_t)p->in_zp;
  int32_t ky, kx, c;
  for (ky = 0; ky < p->kernel_h; ky++) {
    const int32_t iy = iy0 + ky * p->dilation_h;
    for (kx = 0; kx < p->kernel_w; kx++, dst += cin_g) {
      const int32_t ix = ix0 + kx * p->dilation_w;
      if ((uint32_t)iy < (uint32_t)p->in_h && (uint32_t)ix < (uint32_t)p->in_w) {
        const int8_t *const src = in + (iy * p->in_w + ix) * p->in_c + c0;
        for (c = 0; c < cin_g; c++) dst[c] = src[c];
      } else {
        for (c = 0; c < cin_g; c++) dst[c] = zp;
      }
    }
  }
}


/* ---- One input channel, one group (K = kernel_h * kernel_w): windows as consecutive pairs ---------- */
/*
 * With a single input channel the window's taps are single bytes, so the column order above (groups of
 * 4) gains nothing and wastes SMLAD slots (K = 9: 3 groups = 12 slots for 9 taps); here the weights
 * and the window are consecutive int16 pairs (ceil(K/2) SMLADs per channel and pixel), a 3x3 window is
 * read with immediate offsets, and 3x3 channels are unrolled.
 */
#define FEW_MAX_PAIRS (FEW_MAX_K / 2)

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
static TM2_NOINLINE void pair_outputs_1ch(const tm2_conv_params *p, const uint32_t *win, int32_t np,
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
static void interior_window_1ch(const int8_t *src, const int32_t *off, int32_t k, int32_t zp, uint32_t *win) {
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

static void conv_one_channel(const tm2_conv_params *params, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out) {
  const tm2_conv_params local = *params, *const p = &local; /* int8 stores below cannot alias it */
  const int32_t k = p->kernel_h * p->kernel_w * p->in_c, np = (k + 1) / 2;
  const int32_t span_h = (p->kernel_h - 1) * p->dilation_h, span_w = (p->kernel_w - 1) * p->dilation_w;
  int32_t off[FEW_MAX_K];
  int16_t dy[FEW_MAX_K], dx[FEW_MAX_K];
  const int fixed_3x3 = p->in_c == 1 && p->kernel_h == 3 && p->kernel_w == 3 && p->dilation_w == 1;
  uint32_t rec[FEW_REC_WORDS];
  uint32_t win[2 * FEW_MAX_PAIRS];
  int32_t chunk, o0, oy, ox, ky, kx, c, j = 0;
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
            interior_window_1ch(in + (iy0 * p->in_w + ix0) * p->in_c, off, k, p->in_zp, win + n);
        }
        pair_outputs_1ch(p, win, np, rec, o1 - o0, dst, two ? dst + p->out_c : dst);
      }
    }
  }
}

/* The shapes this path takes: checked first and alone, so that the others lose a few instructions only. */
static inline int few_cin_shape(const tm2_conv_params *p) {
  const int32_t cin_g = p->in_c / p->groups;
  return cin_g <= FEW_MAX_IN_C && p->kernel_h * p->kernel_w * cin_g <= FEW_MAX_K;
}

static FEW_NO_LIBCALLS void conv_few_cin(const tm2_conv_params *params, const int8_t *in, const int8_t *w, int32_t bits,
                                         int8_t *out) {
  const tm2_conv_params local = *params, *const p = &local; /* int8 stores below cannot alias it */
  const int32_t cin_g = p->in_c / p->groups, cout_g = p->out_c / p->groups;
  const int32_t k = p->kernel_h * p->kernel_w * cin_g, ng = (k + 3) >> 2, rec_words = 2 * ng + FEW_REC_HEAD;
  const int32_t span_h = (p->kernel_h - 1) * p->dilation_h, span_w = (p->kernel_w - 1) * p->dilation_w;
  /* Contiguous runs of an interior window: whole kernel rows, or one tap's channels. */
  const int rows_contiguous = p->dilation_w == 1 && p->groups == 1;
  const int32_t runs = rows_contiguous ? p->kernel_h : p->kernel_h * p->kernel_w;
  const int32_t run_len = rows_contiguous ? p->kernel_w * cin_g : cin_g;
  const uint32_t nzp = tm2_pack16(-p->in_zp, -p->in_zp);
  int32_t off[FEW_MAX_K];
  uint32_t rec[FEW_REC_WORDS];
  uint32_t win[4 * FEW_MAX_GROUPS];
  int8_t bytes[2][4 * FEW_MAX_GROUPS + 4]; /* + 4: a word copy's tail past the last run */
  const int8_t *const in_end = in + p->in_h * p->in_w * p->in_c;
  const int32_t last_run = (runs - 1), words_len = (run_len + 3) & ~3;
  int32_t chunk, g, o0, oy, ox, r;
  chunk = FEW_REC_WORDS / rec_words;
  for (r = 0; r < runs; r++) {
    const int32_t ky = rows_contiguous ? r : r / p->kernel_w, kx = rows_contiguous ? 0 : r % p->kernel_w;
    off[r] = (ky * p->dilation_h * p->in_w + kx * p->dilation_w) * p->in_c;
  }
  memset(bytes, 0, sizeof bytes); /* the bytes past K stay finite (their weights are 0) */
  memset(win, 0, sizeof win);     /* and B's words when a row ends on a single pixel */
  for (g = 0; g < p->groups; g++) {
    const int32_t c0 = g * cin_g;
    for (o0 = g * cout_g; o0 < (g + 1) * cout_g; o0 += chunk) {
      const int32_t o1 = o0 + chunk < (g + 1) * cout_g ? o0 + chunk : (g + 1) * cout_g;
      int32_t o, j;
      /* Records of this chunk; weights as int16 pairs in column order, zero past K. */
      for (o = o0; o < o1; o++) {
        uint32_t *const rw = rec + (o - o0) * rec_words;
        int32_t v[4];
        rw[0] = (uint32_t)(p->bias ? p->bias[o] : 0);
        rw[1] = (uint32_t)p->multiplier[o];
        rw[2] = (uint32_t)p->shift[o];
        for (j = 0; j < ng; j++) {
          int32_t t;
          for (t = 0; t < 4; t++) {
            const int32_t a = o * k + 4 * j + t;
            v[t] = 4 * j + t >= k ? 0 : bits == 4 ? tm2_s4_get(w, a) : w[a];
          }
          rw[FEW_REC_HEAD + 2 * j] = tm2_pack16(v[0], v[2]);
          rw[FEW_REC_HEAD + 2 * j + 1] = tm2_pack16(v[1], v[3]);
        }
      }
      for (oy = 0; oy < p->out_h; oy++) {
        const int32_t iy0 = oy * p->stride_h - p->pad_top;
        const int rows_inside = iy0 >= 0 && iy0 + span_h < p->in_h;
        int8_t *dst = out + oy * p->out_w * p->out_c + o0;
        for (ox = 0; ox < p->out_w; ox += 2, dst += 2 * p->out_c) {
          const int two = ox + 1 < p->out_w;
          int32_t n;
          for (n = 0; n <= two; n++) { /* windows of pixels ox (A) and ox + 1 (B) */
            const int32_t ix0 = (ox + n) * p->stride_w - p->pad_left;
            if (rows_inside && ix0 >= 0 && ix0 + span_w < p->in_w) {
              const int8_t *const src = in + (iy0 * p->in_w + ix0) * p->in_c + c0;
              interior_bytes(src, off, runs, run_len, src + off[last_run] + words_len <= in_end, bytes[n]);
            } else
              border_bytes(p, in, iy0, ix0, c0, cin_g, bytes[n]);
            window_words(bytes[n], ng, nzp, win + 2 * n);
          }
          pixel_pair_outputs(p, win, ng, rec, o1 - o0, dst, two ? dst + p->out_c : dst);
        }
      }
    }
  }
}

int tm2_conv_few_cin(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out) {
  if (!few_cin_shape(p)) return 0;
  if (p->in_c == 1 && p->groups == 1 && (p->kernel_h - 1) * p->dilation_h <= INT16_MAX &&
      (p->kernel_w - 1) * p->dilation_w <= INT16_MAX) /* tap offsets kept as int16 */
    conv_one_channel(p, in, w, bits, out);
  else
    conv_few_cin(p, in, w, bits, out);
  return 1;
}
