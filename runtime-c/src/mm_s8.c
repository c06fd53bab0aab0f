/*
 * mm_s8.c - matrix-multiply core for INT8 weights: 2 output channels x 2 pixels per step,
 * 4 weights per 32-bit load, two SMLAD per weight word (1 MAC per instruction in the inner
 * loop on Cortex-M4). See tm2_mm.h for the column layout.
 */
#include "tm2_mm.h"
#include "tm2_simd.h"

/* acc + the 4 products of weight pairs (we, wo) with column words x[0], x[1]. */
static inline int32_t dot4(uint32_t we, uint32_t wo, const uint32_t *x, int32_t acc) {
  return tm2_smlad(wo, x[1], tm2_smlad(we, x[0], acc));
}

static inline int8_t finish(const tm2_conv_params *p, int32_t o, int32_t acc) {
  if (p->bias) acc += p->bias[o];
  return tm2_requant(acc, p->multiplier[o], p->shift[o], p->out_zp, p->act_min, p->act_max);
}

void tm2_mm_s8(const tm2_conv_params *p, const int8_t *w, int32_t k, const uint32_t *col0, const uint32_t *col1,
               int32_t o_begin, int32_t o_end, int8_t *out0, int8_t *out1) {
  const int32_t full = k >> 2, rem = k & 3;
  int32_t o = o_begin, j;
  /* Two rows at a time. */
  for (; o + 2 <= o_end; o += 2) {
    const int8_t *w0 = w + o * k, *w1 = w0 + k;
    const uint32_t *c0 = col0, *c1 = col1;
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    if (col1) {
      for (j = 0; j < full; j++, w0 += 4, w1 += 4, c0 += 2, c1 += 2) {
        const uint32_t a = tm2_load_u32(w0), b = tm2_load_u32(w1);
        const uint32_t ae = tm2_sxtb16(a), ao = tm2_sxtb16_ror8(a), be = tm2_sxtb16(b), bo = tm2_sxtb16_ror8(b);
        a00 = dot4(ae, ao, c0, a00);
        a01 = dot4(ae, ao, c1, a01);
        a10 = dot4(be, bo, c0, a10);
        a11 = dot4(be, bo, c1, a11);
      }
      if (rem) {
        const uint32_t a = tm2_load_s8_tail(w0, rem), b = tm2_load_s8_tail(w1, rem);
        const uint32_t ae = tm2_sxtb16(a), ao = tm2_sxtb16_ror8(a), be = tm2_sxtb16(b), bo = tm2_sxtb16_ror8(b);
        a00 = dot4(ae, ao, c0, a00);
        a01 = dot4(ae, ao, c1, a01);
        a10 = dot4(be, bo, c0, a10);
        a11 = dot4(be, bo, c1, a11);
      }
      out1[o] = finish(p, o, a01);
      out1[o + 1] = finish(p, o + 1, a11);
    } else {
      for (j = 0; j < full; j++, w0 += 4, w1 += 4, c0 += 2) {
        const uint32_t a = tm2_load_u32(w0), b = tm2_load_u32(w1);
        a00 = dot4(tm2_sxtb16(a), tm2_sxtb16_ror8(a), c0, a00);
        a10 = dot4(tm2_sxtb16(b), tm2_sxtb16_ror8(b), c0, a10);
      }
      if (rem) {
        const uint32_t a = tm2_load_s8_tail(w0, rem), b = tm2_load_s8_tail(w1, rem);
        a00 = dot4(tm2_sxtb16(a), tm2_sxtb16_ror8(a), c0, a00);
        a10 = dot4(tm2_sxtb16(b), tm2_sxtb16_ror8(b), c0, a10);
      }
    }
    out0[o] = finish(p, o, a00);
    out0[o + 1] = finish(p, o + 1, a10);
  }
  /* Last odd row. */
  if (o < o_end) {
    const int8_t *w0 = w + o * k;
    const uint32_t *c0 = col0, *c1 = col1;
    int32_t a00 = 0, a01 = 0;
    for (j = 0; j <= full; j++, w0 += 4, c0 += 2) {
      uint32_t a, ae, ao;
      if (j == full && !rem) break;
      a = j < full ? tm2_load_u32(w0) : tm2_load_s8_tail(w0, rem);
      ae = tm2_sxtb16(a);
      ao = tm2_sxtb16_ror8(a);
      a00 = dot4(ae, ao, c0, a00);
      if (c1) {
        a01 = dot4(ae, ao, c1, a01);
        c1 += 2;
      }
    }
    out0[o] = finish(p, o, a00);
    if (col1) out1[o] = finish(p, o, a01);
  }
}
