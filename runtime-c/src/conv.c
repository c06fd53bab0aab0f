/*
 * conv.c - optimized standard / grouped convolution (1-D and 2-D, strides, dilation, padding):
 * for two output pixels at a time, each receptive field is gathered as bytes (padding = in_zp)
 * and converted to an int16 column minus in_zp (tm2_col_fill), then the matrix-multiply core
 * runs per group, two output channels at a time. Few input channels with a small kernel take
 * conv_few_cin.c instead. INT4 weights with one group: when every output channel fits the stack
 * buffer (s4_unpack.h) as int16 pairs they are unpacked once so (mm_w16.c); otherwise as many as fit
 * are unpacked once to int8 (the INT8 core) and the others per pixel pair (mm_s4.c).
 */
#include <string.h>

#include "conv_few_cin.h"
#include "neon.h" /* AArch64: the NEON kernels */
#include "s4_unpack.h"
#include "tm2_mm.h"
#include "tm2_simd.h"

/* Scratch: the two-pixel column buffer, then K bytes where a pixel's window is gathered. */
size_t tm2_conv_scratch_size(const tm2_conv_params *p) {
  const int32_t k = p->kernel_h * p->kernel_w * (p->in_c / p->groups);
  return tm2_col_pair_bytes(k) + (size_t)((k + 3) & ~3);
}

/* n bytes from src to dst / n copies of v; windows are often a few bytes per tap, below the
 * cost of a library call. */
static inline void copy_bytes(int8_t *dst, const int8_t *src, int32_t n) {
  if (n >= 32) {
    memcpy(dst, src, (size_t)n);
    return;
  }
  for (; n >= 4; n -= 4, dst += 4, src += 4) memcpy(dst, src, 4); /* one LDR/STR pair */
  for (; n > 0; n--) *dst++ = *src++;
}

static inline void fill_bytes(int8_t *dst, int8_t v, int32_t n) {
  if (n >= 32) {
    memset(dst, v, (size_t)n);
    return;
  }
  for (; n > 0; n--) *dst++ = v;
}

/*
 * The receptive field of output pixel (oy, ox) for group g as K raw bytes in weight order
 * [KH][KW][Cin/groups]; padded positions get in_zp, which the column fill turns into 0.
 * A kernel row's valid taps are one contiguous run of the input when there is one group and
 * no horizontal dilation: one copy per row.
 */
/* n bytes of v (v4: v in every byte) with word stores; written out so that gcc does not turn a byte
 * loop into a memset call, which costs more than the few bytes of a window's padding. */
static inline void fill_words(int8_t *dst, uint32_t v4, int32_t n) {
  for (; n >= 4; n -= 4, dst += 4) tm2_store_u32(dst, v4);
  if (n & 2) {
    memcpy(dst, &v4, 2);
    dst += 2;
  }
  if (n & 1) *dst = (int8_t)v4;
}

/*
 * gather_window with one group and no horizontal dilation: the valid taps of every kernel row are one
 * run of `mid` bytes, the same columns in every row; rows are walked with a running input offset and
 * padding is filled a word at a time (the general version cost about 45 instructions per kernel row,
 * most of it set-up and memset calls; this one about 12 for an unpadded row).
 */
TM2_NOINLINE static void gather_runs(const tm2_conv_params *p, const int8_t *in, int32_t oy, int32_t ox, int8_t *dst) {
  const int32_t cin = p->in_c, kw = p->kernel_w, in_w = p->in_w;
  const uint32_t in_h = (uint32_t)p->in_h;
  const int32_t row_bytes = kw * cin, ix0 = ox * p->stride_w - p->pad_left, dy = p->dilation_h;
  const int32_t dy_bytes = dy * in_w * cin;
  const uint32_t v4 = (uint32_t)(uint8_t)p->in_zp * 0x01010101u;
  const int32_t kx0 = ix0 < 0 ? (-ix0 < kw ? -ix0 : kw) : 0;
  const int32_t kx1 = in_w - ix0 < kw ? (in_w - ix0 > kx0 ? in_w - ix0 : kx0) : kw;
  const int32_t left = kx0 * cin, mid = (kx1 - kx0) * cin, right = row_bytes - left - mid;
  int32_t ky = p->kernel_h, iy = oy * p->stride_h - p->pad_top;
  int32_t off = (iy * in_w + ix0 + kx0) * cin; /* input offset of row iy's first valid tap */
  if (mid == 0) {
    fill_words(dst, v4, ky * row_bytes);
    return;
  }
  for (; ky > 0; ky--, iy += dy, off += dy_bytes, dst += row_bytes) {
    if ((uint32_t)iy >= in_h) {
      fill_words(dst, v4, row_bytes);
    } else {
      const int8_t *src = in + off;
      int8_t *d = dst + left;
      int32_t i;
      if (left) fill_words(dst, v4, left);
      for (i = mid; i >= 4; i -= 4, d += 4, src += 4) tm2_store_u32(d, tm2_load_u32(src));
      for (; i > 0; i--) *d++ = *src++;
      if (right) fill_words(d, v4, right);
    }
  }
}

static void gather_window(const tm2_conv_params *params, const int8_t *in, int32_t g, int32_t oy, int32_t ox,
                          int8_t *dst) {
  /* A local copy: the int8 stores below could alias *params and force a reload per use. */
  const tm2_conv_params local = *params, *const p = &local;
  if (params->groups == 1 && params->dilation_w == 1) {
    gather_runs(params, in, oy, ox, dst);
    return;
  }
  const int32_t cin_g = p->in_c / p->groups, kw = p->kernel_w, row_bytes = kw * cin_g;
  const int8_t zp = (int8_t)p->in_zp;
  const int32_t ix0 = ox * p->stride_w - p->pad_left;
  int32_t ky, kx, kx0 = 0, kx1 = kw;
  /* Valid taps of every row: kx in [kx0, kx1). */
  while (kx0 < kx1 && ix0 + kx0 * p->dilation_w < 0) kx0++;
  while (kx1 > kx0 && ix0 + (kx1 - 1) * p->dilation_w >= p->in_w) kx1--;
  for (ky = 0; ky < p->kernel_h; ky++, dst += row_bytes) {
    const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
    const int8_t *src;
    if (iy < 0 || iy >= p->in_h || kx0 >= kx1) {
      fill_bytes(dst, zp, row_bytes);
      continue;
    }
    src = in + (iy * p->in_w + ix0 + kx0 * p->dilation_w) * p->in_c + g * cin_g;
    fill_bytes(dst, zp, kx0 * cin_g);
    if (p->groups == 1 && p->dilation_w == 1) {
      copy_bytes(dst + kx0 * cin_g, src, (kx1 - kx0) * cin_g);
    } else {
      for (kx = kx0; kx < kx1; kx++, src += p->dilation_w * p->in_c) copy_bytes(dst + kx * cin_g, src, cin_g);
    }
    fill_bytes(dst + kx1 * cin_g, zp, (kw - kx1) * cin_g);
  }
}

static void conv(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out,
                 void *scratch) {
  const int32_t cin_g = p->in_c / p->groups, cout_g = p->out_c / p->groups;
  const int32_t k = p->kernel_h * p->kernel_w * cin_g;
  const int32_t pixels = p->out_h * p->out_w;
  const int32_t gw = tm2_col_group_words(bits);
  uint32_t *col = (uint32_t *)scratch;
  int8_t *window = (int8_t *)scratch + tm2_col_pair_bytes(k);
  int32_t px, g;
  if (tm2_conv_few_cin(p, in, w, bits, out)) return; /* first layers: 1..4 input channels, small kernel */
#if TM2_HAVE_NEON
  if (bits == 8 || (k & 1) == 0) { /* AArch64: each pixel's raw window times rows (neon_rows.c) */
    int32_t corr[TM2_NEON_CHUNK], o;
    for (g = 0; g < p->groups; g++)
      for (o = g * cout_g; o < (g + 1) * cout_g; o += TM2_NEON_CHUNK) {
        const int32_t m = (g + 1) * cout_g - o < TM2_NEON_CHUNK ? (g + 1) * cout_g - o : TM2_NEON_CHUNK;
        tm2_neon_corr(p, w, bits, k, o, m, corr);
        for (px = 0; px < pixels; px++) {
          gather_window(p, in, g, px / p->out_w, px % p->out_w, window);
          tm2_neon_rows(p, w, bits, k, window, o, m, corr, out + px * p->out_c);
        }
      }
    return;
  }
#endif
#if TM2_S4_UNPACK_BYTES > 0
  if (bits == 4 && p->groups == 1 && k <= TM2_S4_UNPACK_BYTES) {
    uint32_t rows[TM2_S4_UNPACK_BYTES / sizeof(uint32_t)];
    const int32_t n = p->out_c;
    if ((size_t)n * tm2_w16_row_bytes(k) <= TM2_S4_UNPACK_BYTES) {
      /* Every output channel pre-extended once to int16 pairs (mm_w16.c: fewer instructions than INT8). */
      tm2_w16_unpack_s4(w, k, 0, n, rows);
      for (px = 0; px < pixels; px += 2) {
        const int two = px + 1 < pixels;
        gather_window(p, in, 0, px / p->out_w, px % p->out_w, window);
        tm2_col_fill(col, 4, window, k, p->in_zp, two ? 2 * gw : gw);
        if (two) {
          gather_window(p, in, 0, (px + 1) / p->out_w, (px + 1) % p->out_w, window);
          tm2_col_fill(col + gw, 4, window, k, p->in_zp, 2 * gw);
        }
        tm2_mm_w16(p, rows, k, col, two, n, out + px * n, out + (px + 1) * n);
      }
    } else {
      /* The first m output channels unpacked once to int8 (the INT8 core on an INT8 column), the others
       * (when they do not all fit) read as nibbles per pixel pair (mm_s4.c) from the same column
       * rewritten to the INT4 layout: each window is gathered once. */
      const int32_t fit = (int32_t)(TM2_S4_UNPACK_BYTES / k) & ~1, m = n < fit ? n : fit; /* pairs of rows */
      const int8_t *const w8 = (const int8_t *)rows;
      tm2_s4_unpack(w, 0, m * k, (int8_t *)rows);
      for (px = 0; px < pixels; px += 2) {
        const int two = px + 1 < pixels;
        gather_window(p, in, 0, px / p->out_w, px % p->out_w, window);
        tm2_col_fill(col, 8, window, k, p->in_zp, two ? 4 : 2);
        if (two) {
          gather_window(p, in, 0, (px + 1) / p->out_w, (px + 1) % p->out_w, window);
          tm2_col_fill(col + 2, 8, window, k, p->in_zp, 4);
        }
        tm2_mm_s8(p, w8, k, col, two, 0, m, out + px * n, out + (px + 1) * n);
        if (m < n) {
          tm2_col_s8_to_s4(col, k, two);
          tm2_mm_s4(p, w, k, col, two, m, n, out + px * n, out + (px + 1) * n);
        }
      }
    }
    return;
  }
#endif
  for (px = 0; px < pixels; px += 2) {
    const int two = px + 1 < pixels;
    for (g = 0; g < p->groups; g++) {
      gather_window(p, in, g, px / p->out_w, px % p->out_w, window);
      tm2_col_fill(col, bits, window, k, p->in_zp, two ? 2 * gw : gw);
      if (two) {
        gather_window(p, in, g, (px + 1) / p->out_w, (px + 1) % p->out_w, window);
        tm2_col_fill(col + gw, bits, window, k, p->in_zp, 2 * gw);
      }
      if (bits == 8)
        tm2_mm_s8(p, w, k, col, two, g * cout_g, (g + 1) * cout_g, out + px * p->out_c, out + (px + 1) * p->out_c);
      else
        tm2_mm_s4(p, w, k, col, two, g * cout_g, (g + 1) * cout_g, out + px * p->out_c, out + (px + 1) * p->out_c);
    }
  }
}

void tm2_conv_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out, void *scratch) {
#if TM2_HAVE_NEON
  if (tm2_neon_conv(p, in, w, 8, out)) return; /* AArch64: neon_gemm.c */
#endif
  conv(p, in, w, 8, out, scratch);
}

void tm2_conv_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out, void *scratch) {
#if TM2_HAVE_NEON
  if (tm2_neon_conv(p, in, w_packed, 4, out)) return; /* AArch64: neon_gemm.c */
#endif
  conv(p, in, w_packed, 4, out, scratch);
}
