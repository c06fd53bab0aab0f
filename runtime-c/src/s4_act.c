/*
 * s4_act.c - packed INT4 activations (tm2.h "Packed INT4 activations"): the kernels' byte-stored
 * inner loops run unchanged on a small window of the tensor, unpacked into scratch, and their
 * output is packed as it is produced. The arena then holds every packed tensor at half its bytes
 * and pays only for the window of the one op running.
 *
 * Window ops (conv family, pooling) run in bands of output rows (or, when the output has one row,
 * bands of output columns): the input rows / columns a band reads are unpacked, the kernel runs on
 * them as on a whole tensor whose top / left padding is what the band still needs, and the band's
 * outputs are packed. Elementwise ops run in chunks of TM2_S4A_CHUNK values.
 */
#include <string.h>

#include "s4_unpack.h"
#include "tm2_mm.h"
#include "tm2_simd.h"

/* ---- nibbles <-> bytes, a word at a time ---------------------------------------------------- */

/** Four int8 values (bytes of v, each in [-8, 7]) as two packed bytes (the low halfword). */
static inline uint32_t s4a_pack4(uint32_t v) {
  uint32_t t = v & 0x0F0F0F0Fu;
  t = (t | (t >> 4)) & 0x00FF00FFu; /* bytes 0 and 2: v0 | v1 << 4 and v2 | v3 << 4 */
  return (t | (t >> 8)) & 0xFFFFu;
}

/**
 * Four nibbles (the low halfword of u, each already XORed with 8) as four int8 bytes: spread to one
 * nibble per byte, then (n ^ 8) + 0x78 stays inside its byte and ^ 0x80 makes it n sign-extended.
 */
static inline uint32_t s4a_unpack4(uint32_t u) {
  uint32_t t = (u | (u << 8)) & 0x00FF00FFu;
  t = (t | (t << 4)) & 0x0F0F0F0Fu;
  return (t + 0x78787878u) ^ 0x80808080u;
}

/** Writes n int8 values (each in [-8, 7]) as packed nibbles at element `first` of `packed`. */
static void s4a_pack(const int8_t *src, int32_t n, int8_t *packed, int32_t first) {
  uint8_t *b = (uint8_t *)packed + (first >> 1);
  if (n <= 0) return;
  if (first & 1) { /* starts in a high nibble: keep the low one */
    *b = (uint8_t)((*b & 0x0F) | ((uint32_t)*src++ << 4));
    b++;
    n--;
  }
  for (; n >= 8; n -= 8, src += 8, b += 4) tm2_store_u32(b, s4a_pack4(tm2_load_u32(src)) | (s4a_pack4(tm2_load_u32(src + 4)) << 16));
  for (; n >= 2; n -= 2, src += 2) *b++ = (uint8_t)(((uint32_t)src[0] & 0x0F) | ((uint32_t)src[1] << 4));
  if (n) *b = (uint8_t)((*b & 0xF0) | ((uint32_t)*src & 0x0F)); /* ends in a low nibble: keep the high one */
}

/** dst[i] = tm2_s4_get(packed, first + i) for i in [0, n) (tm2_s4_unpack, 8 values per word load). */
static void s4a_unpack(const int8_t *packed, int32_t first, int32_t n, int8_t *dst) {
  const uint8_t *b = (const uint8_t *)packed + (first >> 1);
  if (first & 1) { /* starts mid-byte */
    if (n <= 0) return;
    *dst++ = (int8_t)((int32_t)((uint32_t)*b++ << 24) >> 28);
    n--;
  }
  for (; n >= 8; n -= 8, dst += 8, b += 4) {
    const uint32_t u = tm2_load_u32(b) ^ 0x88888888u;
    tm2_store_u32(dst, s4a_unpack4(u & 0xFFFFu));
    tm2_store_u32(dst + 4, s4a_unpack4(u >> 16));
  }
  if (n > 0) tm2_s4_unpack((const int8_t *)b, 0, n, dst);
}

/** The padding nibble of an odd-length packed tensor is 0 (written once the tensor is complete). */
static void s4a_clear_pad(int8_t *packed, int32_t n) {
  if (n & 1) packed[n >> 1] = (int8_t)(packed[n >> 1] & 0x0F);
}

/** n values from element `first` of a tensor, packed or byte-stored, into dst. */
static void s4a_get(const int8_t *src, int32_t packed, int32_t first, int32_t n, int8_t *dst) {
  if (packed) s4a_unpack(src, first, n, dst);
  else memcpy(dst, src + first, (size_t)n);
}

static size_t align4(size_t n) { return (n + 3u) & ~(size_t)3u; }

/* ---- windows of the conv family and pooling -------------------------------------------------- */

/**
 * One axis of a band: outputs [o0, o0 + n) with stride s, begin padding pad and taps (k - 1) * d + 1
 * wide read input [lo, lo + len) of an axis of extent in; the band sees them with begin padding
 * pad_band (the taps before lo are padding in the whole tensor too).
 */
typedef struct {
  int32_t lo, len, pad_band;
} s4a_span;

static s4a_span s4a_axis(int32_t o0, int32_t n, int32_t s, int32_t pad, int32_t taps, int32_t in) {
  s4a_span r;
  const int32_t start = o0 * s - pad, end = (o0 + n - 1) * s - pad + taps; /* exclusive */
  r.lo = start < 0 ? 0 : start > in ? in : start;
  r.len = (end > in ? in : end) - r.lo;
  if (r.len < 0) r.len = 0;
  r.pad_band = r.lo - start;
  return r;
}

/** The largest span length over the bands of an axis (what the unpack buffer must hold). */
static int32_t s4a_max_len(int32_t out, int32_t band, int32_t s, int32_t pad, int32_t taps, int32_t in) {
  int32_t o0, m = 0;
  for (o0 = 0; o0 < out; o0 += band) {
    const s4a_span r = s4a_axis(o0, out - o0 < band ? out - o0 : band, s, pad, taps, in);
    if (r.len > m) m = r.len;
  }
  return m;
}

/**
 * Outputs per band: `rows` output rows (one at the minimum scratch; more when the caller grants more
 * scratch, see s4a_band_rows), or when the output has one row, TM2_S4A_BAND_COLS columns.
 */
#define TM2_S4A_BAND_COLS 8

typedef struct {
  int32_t by_rows;                     /* 1: bands of output rows; 0: of output columns (out_h == 1) */
  int32_t band;                        /* outputs per band along that axis */
  int32_t win_bytes;                   /* largest input window, bytes (0: read the input in place) */
  int32_t out_bytes;                   /* one band's output, bytes (0: written in place) */
} s4a_plan;

static s4a_plan s4a_window_plan(int32_t in_h, int32_t in_w, int32_t c_in, int32_t out_h, int32_t out_w, int32_t c_out,
                                int32_t taps_h, int32_t taps_w, int32_t s_h, int32_t s_w, int32_t pad_t, int32_t pad_l,
                                int32_t io, int32_t rows_per_band) {
  s4a_plan pl;
  pl.by_rows = out_h > 1;
  pl.band = pl.by_rows ? rows_per_band : TM2_S4A_BAND_COLS;
  if (pl.by_rows) {
    const int32_t rows = s4a_max_len(out_h, pl.band, s_h, pad_t, taps_h, in_h);
    pl.win_bytes = (io & TM2_S4A_IN_PACKED) ? rows * in_w * c_in : 0;
    pl.out_bytes = (io & TM2_S4A_OUT_PACKED) ? pl.band * out_w * c_out : 0;
  } else {
    const int32_t rows = s4a_max_len(1, 1, s_h, pad_t, taps_h, in_h);
    const int32_t cols = s4a_max_len(out_w, pl.band, s_w, pad_l, taps_w, in_w);
    /* A byte-stored input is still gathered: a column band of several rows is not contiguous. */
    pl.win_bytes = (io & TM2_S4A_IN_PACKED) || rows > 1 ? rows * cols * c_in : 0;
    pl.out_bytes = (io & TM2_S4A_OUT_PACKED) ? (out_w < pl.band ? out_w : pl.band) * c_out : 0;
  }
  return pl;
}

/** Gathers input rows [r.lo, +r.len) x columns [cspan.lo, +cspan.len) (all channels) into dst. */
static void s4a_gather(const int8_t *in, int32_t packed, int32_t in_w, int32_t c, s4a_span r, s4a_span cs, int8_t *dst) {
  int32_t y;
  for (y = 0; y < r.len; y++, dst += cs.len * c) s4a_get(in, packed, ((r.lo + y) * in_w + cs.lo) * c, cs.len * c, dst);
}

/** n bytes from src down to dst < src (overlapping: a forward word copy reads each word before it is overwritten). */
static void s4a_move_down(int8_t *dst, const int8_t *src, int32_t n) {
  for (; n >= 4; n -= 4, dst += 4, src += 4) tm2_store_u32(dst, tm2_load_u32(src));
  for (; n > 0; n--) *dst++ = *src++;
}

/**
 * Row bands of a packed input: the window holds input rows [*lo, *lo + *len) of the band before
 * (rows of `row` values, whole rows are contiguous in the tensor); the rows this band reads too move to
 * the front and only the new ones are unpacked (a 3-row kernel with stride 1: one row per band instead
 * of three).
 */
static void s4a_slide(const int8_t *in, int32_t row, s4a_span rs, int32_t *lo, int32_t *len, int8_t *win) {
  const int32_t have_end = *lo + *len, end = rs.lo + rs.len;
  int32_t kept = 0;
  if (*len > 0 && rs.lo >= *lo && have_end > rs.lo) {
    kept = (have_end < end ? have_end : end) - rs.lo;
    if (rs.lo > *lo) s4a_move_down(win, win + (rs.lo - *lo) * row, kept * row);
  }
  s4a_unpack(in, (rs.lo + kept) * row, (rs.len - kept) * row, win + kept * row);
  *lo = rs.lo;
  *len = rs.len;
}

/* ---- conv family ------------------------------------------------------------------------------ */

static size_t s4a_kernel_scratch(int32_t kind, const tm2_conv_params *p) {
  switch (kind) {
    case TM2_S4A_CONV: return tm2_conv_scratch_size(p);
    case TM2_S4A_POINTWISE: return tm2_pointwise_scratch_size(p);
    case TM2_S4A_DENSE: return tm2_dense_scratch_size(p);
    default: return 0;
  }
}

/* w16: INT4 depthwise weights pre-extended once by tm2_depthwise_s4_w16, or NULL. */
static void s4a_run_conv(int32_t kind, int32_t weight_bits, const tm2_conv_params *p, const int8_t *in, const int8_t *w,
                         const uint32_t *w16, int8_t *out, void *scratch) {
  const int32_t s4 = weight_bits == 4;
  if (w16) {
    tm2_depthwise_s4_run_w16(p, in, w, w16, out);
    return;
  }
  switch (kind) {
    case TM2_S4A_CONV: (s4 ? tm2_conv_s4 : tm2_conv_s8)(p, in, w, out, scratch); break;
    case TM2_S4A_DEPTHWISE: (s4 ? tm2_depthwise_s4 : tm2_depthwise_s8)(p, in, w, out); break;
    case TM2_S4A_POINTWISE: (s4 ? tm2_pointwise_s4 : tm2_pointwise_s8)(p, in, w, out, scratch); break;
    default: (s4 ? tm2_dense_s4 : tm2_dense_s8)(p, in, w, out, scratch); break;
  }
}

static s4a_plan s4a_conv_plan(int32_t kind, const tm2_conv_params *p, int32_t io, int32_t rows_per_band) {
  if (kind == TM2_S4A_DENSE) { /* one band: the whole input vector and the output vector */
    s4a_plan pl;
    pl.by_rows = 1;
    pl.band = 1;
    pl.win_bytes = (io & TM2_S4A_IN_PACKED) ? p->in_h * p->in_w * p->in_c : 0;
    pl.out_bytes = (io & TM2_S4A_OUT_PACKED) ? p->out_c : 0;
    return pl;
  }
  if (kind == TM2_S4A_POINTWISE)
    return s4a_window_plan(p->in_h, p->in_w, p->in_c, p->out_h, p->out_w, p->out_c, 1, 1, 1, 1, 0, 0, io, rows_per_band);
  return s4a_window_plan(p->in_h, p->in_w, p->in_c, p->out_h, p->out_w, p->out_c, (p->kernel_h - 1) * p->dilation_h + 1,
                         (p->kernel_w - 1) * p->dilation_w + 1, p->stride_h, p->stride_w, p->pad_top, p->pad_left, io,
                         rows_per_band);
}

static size_t s4a_plan_bytes(int32_t kind, const tm2_conv_params *p, const s4a_plan *pl) {
  return align4(s4a_kernel_scratch(kind, p)) + align4((size_t)pl->win_bytes) + (size_t)pl->out_bytes;
}

size_t tm2_conv_s4a_scratch_size(int32_t kind, const tm2_conv_params *p, int32_t io) {
  const s4a_plan pl = s4a_conv_plan(kind, p, io, 1);
  return s4a_plan_bytes(kind, p, &pl);
}

/**
 * The band plan with as many output rows per band as `bytes` of scratch hold (at least one): fewer
 * calls of the wrapped kernel (each unpacks its INT4 weights and sets up its loops again) and fewer
 * input rows unpacked twice where bands overlap. The compiler grants an op the arena bytes free
 * during it (compiler/codegen/arena.ts), so a wider band costs no RAM.
 */
static s4a_plan s4a_band_plan(int32_t kind, const tm2_conv_params *p, int32_t io, size_t bytes) {
  s4a_plan pl = s4a_conv_plan(kind, p, io, 1);
  while (pl.by_rows && pl.band < p->out_h && kind != TM2_S4A_DENSE) {
    const s4a_plan wider = s4a_conv_plan(kind, p, io, pl.band + 1);
    if (s4a_plan_bytes(kind, p, &wider) > bytes) break;
    pl = wider;
  }
  return pl;
}

/* ---- pointwise with INT4 weights, columns straight from the packed input ---------------------- */
#if TM2_S4_UNPACK_BYTES > 0 && !TM2_HAVE_NEON /* AArch64 runs the NEON pointwise on unpacked bands */

/**
 * One INT4 column group (tm2_mm.h: (x0,x4) (x2,x6) (x1,x5) (x3,x7), minus zp) from 8 packed values
 * v: XOR 8 makes every nibble n ^ 8 in [0, 15]; the low nibbles of the bytes are x0 x2 x4 x6, the
 * high ones x1 x3 x5 x7, and SXTAB16 adds them to c = -8 - zp (they are positive: no sign to extend).
 */
static inline void s4a_put_group(uint32_t *col, uint32_t c, uint32_t v) {
  const uint32_t u = v ^ 0x88888888u, lo = u & 0x0F0F0F0Fu, hi = (u >> 4) & 0x0F0F0F0Fu;
  col[0] = tm2_sxtab16(c, lo);      /* (x0, x4) */
  col[1] = tm2_sxtab16_ror8(c, lo); /* (x2, x6) */
  col[2] = tm2_sxtab16(c, hi);      /* (x1, x5) */
  col[3] = tm2_sxtab16_ror8(c, hi); /* (x3, x7) */
}

/** tm2_col_fill with bits 4 from the k packed values starting at element `first`. */
static void s4a_col_fill(uint32_t *col, const int8_t *packed, int32_t first, int32_t k, int32_t zp, int32_t stride) {
  const uint32_t c = tm2_pack16(-8 - zp, -8 - zp);
  const int32_t full = k >> 3, rem = k & 7;
  int32_t j;
  for (j = 0; j < full; j++, col += stride) s4a_put_group(col, c, tm2_load_s4x8(packed, first + 8 * j));
  if (rem) s4a_put_group(col, c, tm2_load_s4_tail(packed, first + 8 * full, rem));
}

/**
 * Pointwise with INT4 weights and a packed input: the INT4 block loop of pointwise.c (weight rows
 * unpacked once per block of output channels into a stack buffer, tm2_mm_w16 over pixel pairs) with
 * the columns built from the packed pixels themselves and each pixel pair's outputs packed as they
 * come. No input window, and the weights are unpacked once per layer rather than once per band.
 * Scratch: the kernel's column pair, then two pixels' outputs of a block, which the band plan's
 * scratch holds whenever its output band has two pixels; 0 (nothing done) otherwise.
 */
TM2_NOINLINE static int s4a_pointwise_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out, int32_t io,
                            void *scratch, size_t scratch_bytes) {
  const int32_t pixels = p->in_h * p->in_w, k = p->in_c, n = p->out_c, gw = tm2_col_group_words(4);
  const int32_t out_packed = io & TM2_S4A_OUT_PACKED;
  const size_t col_bytes = align4(tm2_col_pair_bytes(k));
  uint32_t rows[TM2_S4_UNPACK_BYTES / sizeof(uint32_t)];
  uint32_t *const col = (uint32_t *)scratch;
  int8_t *const oa = (int8_t *)scratch + col_bytes;
  tm2_conv_params q = *p; /* the block's channels as channels 0..m-1 */
  int32_t block, o, px;
  if (!(io & TM2_S4A_IN_PACKED) || 2 * tm2_w16_row_bytes(k) > TM2_S4_UNPACK_BYTES) return 0;
  block = tm2_s4_block_rows(n, (int32_t)(TM2_S4_UNPACK_BYTES / tm2_w16_row_bytes(k)) & ~1);
  if (out_packed && col_bytes + 2 * (size_t)block > scratch_bytes) return 0;
  for (o = 0; o < n; o += block) {
    const int32_t m = n - o < block ? n - o : block;
    q.bias = p->bias ? p->bias + o : NULL;
    q.multiplier = p->multiplier + o;
    q.shift = p->shift + o;
    tm2_w16_unpack_s4(w, k, o, m, rows);
    for (px = 0; px < pixels; px += 2) {
      const int two = px + 1 < pixels;
      int8_t *const da = out_packed ? oa : out + px * n + o, *const db = out_packed ? oa + m : out + (px + 1) * n + o;
      s4a_col_fill(col, in, px * k, k, p->in_zp, two ? 2 * gw : gw);
      if (two) s4a_col_fill(col + gw, in, (px + 1) * k, k, p->in_zp, 2 * gw);
      tm2_mm_w16(&q, rows, k, col, two, m, da, db);
      if (out_packed && m == n) {
        s4a_pack(oa, two ? 2 * m : m, out, px * n); /* the pair's outputs are contiguous */
      } else if (out_packed) {
        s4a_pack(oa, m, out, px * n + o);
        if (two) s4a_pack(oa + m, m, out, (px + 1) * n + o);
      }
    }
  }
  return 1;
}
#endif

/** tm2_conv_s4a with the weights as given (w16: see s4a_run_conv). */
static void s4a_conv(int32_t kind, int32_t weight_bits, const tm2_conv_params *p, const int8_t *in, const int8_t *w,
                     const uint32_t *w16, int8_t *out, int32_t io, void *scratch, size_t scratch_bytes) {
  const s4a_plan pl = s4a_band_plan(kind, p, io, scratch_bytes);
  const int32_t in_packed = io & TM2_S4A_IN_PACKED, out_packed = io & TM2_S4A_OUT_PACKED;
  int8_t *ks = (int8_t *)scratch, *win = ks + align4(s4a_kernel_scratch(kind, p)), *ob = win + align4((size_t)pl.win_bytes);
  const int32_t pointwise = kind == TM2_S4A_POINTWISE;
  const int32_t taps_h = pointwise ? 1 : (p->kernel_h - 1) * p->dilation_h + 1;
  const int32_t taps_w = pointwise ? 1 : (p->kernel_w - 1) * p->dilation_w + 1;
  const int32_t s_h = pointwise ? 1 : p->stride_h, s_w = pointwise ? 1 : p->stride_w;
  const int32_t pad_t = pointwise ? 0 : p->pad_top, pad_l = pointwise ? 0 : p->pad_left;
  const int32_t n_out = p->out_h * p->out_w * p->out_c;
  int32_t o0, have_lo = 0, have_len = 0; /* input rows in the window (s4a_slide) */
  if (kind == TM2_S4A_DENSE) {
    const int32_t n_in = p->in_h * p->in_w * p->in_c;
    if (in_packed) s4a_unpack(in, 0, n_in, win);
    s4a_run_conv(kind, weight_bits, p, in_packed ? win : in, w, w16, out_packed ? ob : out, ks);
    if (out_packed) s4a_pack(ob, p->out_c, out, 0);
  } else {
    const int32_t outer = pl.by_rows ? p->out_h : p->out_w;
    for (o0 = 0; o0 < outer; o0 += pl.band) {
      const int32_t n = outer - o0 < pl.band ? outer - o0 : pl.band;
      const s4a_span rs = pl.by_rows ? s4a_axis(o0, n, s_h, pad_t, taps_h, p->in_h) : s4a_axis(0, 1, s_h, pad_t, taps_h, p->in_h);
      const s4a_span cs = pl.by_rows ? s4a_axis(0, p->out_w, s_w, pad_l, taps_w, p->in_w) : s4a_axis(o0, n, s_w, pad_l, taps_w, p->in_w);
      const s4a_span full = {0, p->in_w, 0};
      const s4a_span cols = pl.by_rows ? full : cs; /* row bands read whole rows */
      const int32_t first_out = (pl.by_rows ? o0 * p->out_w : o0) * p->out_c;
      const int32_t band_out = (pl.by_rows ? n * p->out_w : n) * p->out_c;
      tm2_conv_params b = *p;
      const int8_t *src;
      b.in_h = rs.len;
      b.in_w = cols.len;
      b.out_h = pl.by_rows ? n : 1;
      b.out_w = pl.by_rows ? p->out_w : n;
      if (!pointwise) {
        b.pad_top = rs.pad_band;
        b.pad_left = pl.by_rows ? p->pad_left : cs.pad_band;
      }
      if (pl.win_bytes && pl.by_rows && in_packed) {
        s4a_slide(in, p->in_w * p->in_c, rs, &have_lo, &have_len, win);
        src = win;
      } else if (pl.win_bytes) {
        s4a_gather(in, in_packed, p->in_w, p->in_c, rs, cols, win);
        src = win;
      } else {
        src = in + (rs.lo * p->in_w + cols.lo) * p->in_c; /* byte-stored and contiguous: read in place */
      }
      s4a_run_conv(kind, weight_bits, &b, src, w, w16, out_packed ? ob : out + first_out, ks);
      if (out_packed) s4a_pack(ob, band_out, out, first_out);
    }
  }
  if (out_packed) s4a_clear_pad(out, n_out);
}

#if TM2_S4_UNPACK_BYTES > 0 && !TM2_HAVE_NEON
/* INT4 depthwise: the weights pre-extended once for all bands (tm2_depthwise_s4 would redo it per band). */
TM2_NOINLINE static void s4a_depthwise_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out, int32_t io,
                                          void *scratch, size_t scratch_bytes) {
  uint32_t w16[TM2_S4_UNPACK_BYTES / sizeof(uint32_t)];
  s4a_conv(TM2_S4A_DEPTHWISE, 4, p, in, w, tm2_depthwise_s4_w16(p, w, w16) ? w16 : NULL, out, io, scratch, scratch_bytes);
}
#endif

void tm2_conv_s4a(int32_t kind, int32_t weight_bits, const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out,
                  int32_t io, void *scratch, size_t scratch_bytes) {
#if TM2_S4_UNPACK_BYTES > 0 && !TM2_HAVE_NEON
  if (kind == TM2_S4A_POINTWISE && weight_bits == 4 && s4a_pointwise_s4(p, in, w, out, io, scratch, scratch_bytes)) {
    if (io & TM2_S4A_OUT_PACKED) s4a_clear_pad(out, p->out_h * p->out_w * p->out_c);
    return;
  }
  if (kind == TM2_S4A_DEPTHWISE && weight_bits == 4) {
    s4a_depthwise_s4(p, in, w, out, io, scratch, scratch_bytes);
    return;
  }
#endif
  s4a_conv(kind, weight_bits, p, in, w, NULL, out, io, scratch, scratch_bytes);
}

/* ---- pooling ---------------------------------------------------------------------------------- */
/* Pools often cover much of their input (an average pool over the whole map), so a window would be
 * most of the tensor: they read one pixel's channels at a time instead, with tm2_ref_*pool_s8's
 * arithmetic (the definition tm2_*pool_s8 is tested against). Scratch: c accumulators, one input
 * pixel and one output pixel. */

size_t tm2_pool_s4a_scratch_size(const tm2_pool_params *p, int32_t io) {
  (void)io;
  return 4u * (size_t)p->c + 2u * align4((size_t)p->c);
}

/** Pixels summed into 16-bit lanes before they move to acc: 4096 x 15 < 2^16. */
#ifndef S4A_SUM_RUN
#define S4A_SUM_RUN 4096
#endif

/* Adds the lanes of s ((c0,c4) (c2,c6) (c1,c5) (c3,c7), unsigned) to acc[0..m) and clears them. */
static void s4a_sum_flush(uint32_t s[4], int32_t *acc, int32_t m) {
  static const uint8_t word[8] = {0, 2, 1, 3, 0, 2, 1, 3};
  int32_t i;
  for (i = 0; i < m; i++) acc[i] += (int32_t)((s[word[i]] >> (i < 4 ? 0 : 16)) & 0xFFFFu);
  s[0] = s[1] = s[2] = s[3] = 0;
}

/**
 * Average pooling of a packed input: acc[ch] = the sum of x - zp over input pixels [ya, yb) x [xa, xb),
 * 8 channels per word load. XOR 8 turns each nibble into x + 8 in [0, 15]; the low nibbles of the
 * bytes (channels 0 2 4 6) and the high ones (1 3 5 7) are added as positive bytes into 16-bit lanes
 * (SXTAB16), S4A_SUM_RUN pixels at a time, and 8 + zp per pixel comes off at the start.
 */
static void s4a_sum_window(const int8_t *in, int32_t in_w, int32_t c, int32_t ya, int32_t yb, int32_t xa, int32_t xb, int32_t zp,
                           int32_t *acc) {
  const int32_t count = (yb > ya ? yb - ya : 0) * (xb > xa ? xb - xa : 0);
  int32_t g, y, x, ch;
  for (ch = 0; ch < c; ch++) acc[ch] = -(8 + zp) * count;
  for (g = 0; g < c; g += 8) {
    const int32_t m = c - g < 8 ? c - g : 8;
    uint32_t s[4] = {0, 0, 0, 0};
    int32_t run = 0;
    for (y = ya; y < yb; y++)
      for (x = xa; x < xb; x++) {
        const int32_t first = (y * in_w + x) * c + g;
        const uint32_t v = (m == 8 ? tm2_load_s4x8(in, first) : tm2_load_s4_tail(in, first, m)) ^ 0x88888888u;
        const uint32_t lo = v & 0x0F0F0F0Fu, hi = (v >> 4) & 0x0F0F0F0Fu;
        s[0] = tm2_sxtab16(s[0], lo);      /* channels 0, 4 */
        s[1] = tm2_sxtab16_ror8(s[1], lo); /* 2, 6 */
        s[2] = tm2_sxtab16(s[2], hi);      /* 1, 5 */
        s[3] = tm2_sxtab16_ror8(s[3], hi); /* 3, 7 */
        if (++run == S4A_SUM_RUN) {
          s4a_sum_flush(s, acc + g, m);
          run = 0;
        }
      }
    s4a_sum_flush(s, acc + g, m);
  }
}

void tm2_pool_s4a(int32_t max, const tm2_pool_params *p, const int8_t *in, int8_t *out, int32_t io, void *scratch) {
  const int32_t c = p->c, in_packed = io & TM2_S4A_IN_PACKED, out_packed = io & TM2_S4A_OUT_PACKED;
  int32_t *acc = (int32_t *)scratch;
  int8_t *px = (int8_t *)(acc + c), *o = px + align4((size_t)c);
  int32_t oy, ox, ch, y, x;
  for (oy = 0; oy < p->out_h; oy++) {
    const int32_t y0 = oy * p->stride_h - p->pad_top, y1 = y0 + p->kernel_h;
    const int32_t ya = y0 < 0 ? 0 : y0, yb = y1 > p->in_h ? p->in_h : y1;
    const int32_t ty = y0 > -p->pad_top ? y0 : -p->pad_top, by = y1 < p->in_h + p->pad_bottom ? y1 : p->in_h + p->pad_bottom;
    const int32_t ny = p->count_include_pad ? by - ty : yb - ya;
    for (ox = 0; ox < p->out_w; ox++) {
      const int32_t x0 = ox * p->stride_w - p->pad_left, x1 = x0 + p->kernel_w;
      const int32_t xa = x0 < 0 ? 0 : x0, xb = x1 > p->in_w ? p->in_w : x1;
      const int32_t lx = x0 > -p->pad_left ? x0 : -p->pad_left, rx = x1 < p->in_w + p->pad_right ? x1 : p->in_w + p->pad_right;
      const int32_t n = ny * (p->count_include_pad ? rx - lx : xb - xa);
      const int32_t empty = ya >= yb || xa >= xb;
      if (!max && in_packed) s4a_sum_window(in, p->in_w, c, ya, yb, xa, xb, p->zp, acc);
      else for (ch = 0; ch < c; ch++) acc[ch] = max ? (empty ? p->zp : -128) : 0;
      for (y = ya; y < yb && (max || !in_packed); y++)
        for (x = xa; x < xb; x++) {
          const int32_t first = (y * p->in_w + x) * c;
          const int8_t *v = in_packed ? px : in + first;
          if (in_packed) s4a_unpack(in, first, c, px);
          if (max) {
            for (ch = 0; ch < c; ch++)
              if (v[ch] > acc[ch]) acc[ch] = v[ch];
          } else {
            for (ch = 0; ch < c; ch++) acc[ch] += v[ch] - p->zp;
          }
        }
      for (ch = 0; ch < c; ch++) {
        int32_t r = acc[ch];
        if (!max) {
          r = n > 0 ? p->zp + (r >= 0 ? (r + n / 2) / n : -((-r + n / 2) / n)) : p->zp;
          r = r < p->act_min ? p->act_min : r > p->act_max ? p->act_max : r;
        }
        o[ch] = (int8_t)r;
      }
      if (out_packed) s4a_pack(o, c, out, (oy * p->out_w + ox) * c);
      else memcpy(out + (oy * p->out_w + ox) * c, o, (size_t)c);
    }
  }
  if (out_packed) s4a_clear_pad(out, p->out_h * p->out_w * c);
}

/* ---- global average pool ----------------------------------------------------------------------- */

void tm2_gap_s4a(const int8_t *in, int32_t h, int32_t w, int32_t c, int32_t zp, int32_t act_min, int32_t act_max, int8_t *out,
                 int32_t io) {
  const int32_t n = h * w, in_packed = io & TM2_S4A_IN_PACKED;
  int32_t ch, i;
  for (ch = 0; ch < c; ch++) {
    int32_t acc = 0, v;
    if (in_packed)
      for (i = 0; i < n; i++) acc += tm2_s4_get(in, i * c + ch);
    else
      for (i = 0; i < n; i++) acc += in[i * c + ch];
    acc -= zp * n; /* as tm2_gap_s8 */
    v = zp + (acc >= 0 ? (acc + n / 2) / n : -((-acc + n / 2) / n));
    v = v < act_min ? act_min : v > act_max ? act_max : v;
    if (io & TM2_S4A_OUT_PACKED) {
      const int8_t q = (int8_t)v;
      s4a_pack(&q, 1, out, ch);
    } else {
      out[ch] = (int8_t)v;
    }
  }
  if (io & TM2_S4A_OUT_PACKED) s4a_clear_pad(out, c);
}

/* ---- elementwise ------------------------------------------------------------------------------- */

size_t tm2_elementwise_s4a_scratch_size(int32_t size) {
  const int32_t n = size < TM2_S4A_CHUNK ? size : TM2_S4A_CHUNK;
  return 3 * align4((size_t)n);
}

void tm2_elementwise_s4a(int32_t kind, const void *params, int32_t size, const int8_t *a, int32_t a_packed, const int8_t *b,
                         int32_t b_packed, int8_t *out, int32_t out_packed, void *scratch) {
  const size_t slot = align4((size_t)(size < TM2_S4A_CHUNK ? size : TM2_S4A_CHUNK));
  int8_t *ua = (int8_t *)scratch, *ub = ua + slot, *uo = ub + slot;
  int32_t i0;
  /* Chunks start at even elements, so a chunk of one packed tensor never shares a byte with the
   * next: in place (out == a or b) stays correct. */
  for (i0 = 0; i0 < size; i0 += TM2_S4A_CHUNK) {
    const int32_t n = size - i0 < TM2_S4A_CHUNK ? size - i0 : TM2_S4A_CHUNK;
    const int8_t *pa = a_packed ? ua : a + i0, *pb = b_packed ? ub : b + i0;
    int8_t *po = out_packed ? uo : out + i0;
    if (a_packed) s4a_unpack(a, i0, n, ua);
    if (b && b_packed) s4a_unpack(b, i0, n, ub);
    if (kind == TM2_S4A_ADD) {
      tm2_add_params p = *(const tm2_add_params *)params;
      p.size = n;
      tm2_add_s8(&p, pa, pb, po);
    } else if (kind == TM2_S4A_MUL) {
      tm2_mul_params p = *(const tm2_mul_params *)params;
      p.size = n;
      tm2_mul_s8(&p, pa, pb, po);
    } else {
      tm2_lut_s8(pa, po, n, (const int8_t *)params);
    }
    if (out_packed) s4a_pack(uo, n, out, i0);
  }
  if (out_packed) s4a_clear_pad(out, size);
}
