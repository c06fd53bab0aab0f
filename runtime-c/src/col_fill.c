/* col_fill.c - builds a column (tm2_mm.h) from contiguous activations, subtracting in_zp. */
#include "tm2_mm.h"
#include "tm2_simd.h"

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
    for (j = 0; j <= full; j++, x += 8, col += stride) {
      uint32_t a, b, ae, ao, be, bo;
      if (j < full) {
        a = tm2_load_u32(x);
        b = tm2_load_u32(x + 4);
      } else {
        if (!rem) break;
        a = tm2_load_s8_tail(x, rem < 4 ? rem : 4);
        b = rem > 4 ? tm2_load_s8_tail(x + 4, rem - 4) : 0;
      }
      ae = tm2_sxtab16(nzp, a);      /* (x0, x2) */
      ao = tm2_sxtab16_ror8(nzp, a); /* (x1, x3) */
      be = tm2_sxtab16(nzp, b);      /* (x4, x6) */
      bo = tm2_sxtab16_ror8(nzp, b); /* (x5, x7) */
      col[0] = (ae & 0xFFFFu) | (be << 16);     /* (x0, x4) */
      col[1] = (ae >> 16) | (be & 0xFFFF0000u); /* (x2, x6) */
      col[2] = (ao & 0xFFFFu) | (bo << 16);     /* (x1, x5) */
      col[3] = (ao >> 16) | (bo & 0xFFFF0000u); /* (x3, x7) */
    }
  }
}
