/* col_fill.c - builds a column (tm2_mm.h) from contiguous activations, subtracting in_zp. */
#include "tm2_mm.h"
#include "tm2_simd.h"

/* (lo half of a, lo half of b) and (hi half of a, hi half of b): PKHBT / PKHTB on DSP cores. */
static inline uint32_t pack_lo(uint32_t a, uint32_t b) {
#if TM2_HAVE_DSP && defined(__GNUC__)
  uint32_t r;
  __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
  return r;
#else
  return (a & 0xFFFFu) | (b << 16);
#endif
}
static inline uint32_t pack_hi(uint32_t a, uint32_t b) {
#if TM2_HAVE_DSP && defined(__GNUC__)
  uint32_t r;
  __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(b), "r"(a));
  return r;
#else
  return (a >> 16) | (b & 0xFFFF0000u);
#endif
}

/* One INT4 column group from activations x0..x3 (a) and x4..x7 (b), minus zp. */
static inline void put_group_s4(uint32_t *col, uint32_t nzp, uint32_t a, uint32_t b) {
  const uint32_t ae = tm2_sxtab16(nzp, a);      /* (x0, x2) */
  const uint32_t ao = tm2_sxtab16_ror8(nzp, a); /* (x1, x3) */
  const uint32_t be = tm2_sxtab16(nzp, b);      /* (x4, x6) */
  const uint32_t bo = tm2_sxtab16_ror8(nzp, b); /* (x5, x7) */
  col[0] = pack_lo(ae, be); /* (x0, x4) */
  col[1] = pack_hi(ae, be); /* (x2, x6) */
  col[2] = pack_lo(ao, bo); /* (x1, x5) */
  col[3] = pack_hi(ao, bo); /* (x3, x7) */
}

void tm2_col_fill(uint32_t *col, int32_t bits, const int8_t *x, int32_t k, int32_t zp, int32_t stride) {
  const uint32_t nzp = tm2_pack16(-zp, -zp);
  int32_t j;
  if (bits == 8) {
    const int32_t full = k >> 2, rem = k & 3;
    for (j = 0; j < full; j++, x += 4, col += stride) {
      const uint32_t v = tm2_load_u32(x);
      col[0] = tm2_sxtab16(nzp, v);      /* (x0, x2) - zp */
      col[1] = tm2_sxtab16_ror8(nzp, v); /* (x1, x3) - zp */
    }
    if (rem) {
      const uint32_t v = tm2_load_s8_tail(x, rem);
      col[0] = tm2_sxtab16(nzp, v);
      col[1] = tm2_sxtab16_ror8(nzp, v);
    }
  } else {
    const int32_t full = k >> 3, rem = k & 7;
    for (j = 0; j < full; j++, x += 8, col += stride) put_group_s4(col, nzp, tm2_load_u32(x), tm2_load_u32(x + 4));
    if (rem)
      put_group_s4(col, nzp, tm2_load_s8_tail(x, rem < 4 ? rem : 4), rem > 4 ? tm2_load_s8_tail(x + 4, rem - 4) : 0);
  }
}

/* One pixel's INT4 group from its INT8 pairs (x0,x2) (x1,x3) (x4,x6) (x5,x7). */
static inline void put_s4_from_s8(uint32_t *d, uint32_t e0, uint32_t o0, uint32_t e1, uint32_t o1) {
  d[0] = pack_lo(e0, e1); /* (x0, x4) */
  d[1] = pack_hi(e0, e1); /* (x2, x6) */
  d[2] = pack_lo(o0, o1); /* (x1, x5) */
  d[3] = pack_hi(o0, o1); /* (x3, x7) */
}

void tm2_col_s8_to_s4(uint32_t *col, int32_t k, int two) {
  /* INT8 groups 2j and 2j+1 and INT4 group j hold the same values (8j..8j+7) in the same words (8 for
   * two pixels, 4 for one), so each block is read whole and rewritten. A missing INT8 group 2j+1
   * (k % 8 in 1..4: the tail of the buffer, not written by tm2_col_fill) reads as 0. */
  const int32_t g8 = (k + 3) >> 2, g4 = (k + 7) >> 3;
  int32_t j;
  for (j = 0; j < g4; j++) {
    const int full = 2 * j + 1 < g8;
    if (two) {
      uint32_t *const g = col + 8 * j;
      const uint32_t ae0 = g[0], ao0 = g[1], be0 = g[2], bo0 = g[3];
      const uint32_t ae1 = full ? g[4] : 0, ao1 = full ? g[5] : 0, be1 = full ? g[6] : 0, bo1 = full ? g[7] : 0;
      put_s4_from_s8(g, ae0, ao0, ae1, ao1);
      put_s4_from_s8(g + 4, be0, bo0, be1, bo1);
    } else {
      uint32_t *const g = col + 4 * j;
      const uint32_t e0 = g[0], o0 = g[1], e1 = full ? g[2] : 0, o1 = full ? g[3] : 0;
      put_s4_from_s8(g, e0, o0, e1, o1);
    }
  }
}
