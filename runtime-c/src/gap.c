/* gap.c - global average pool [h][w][c] -> [c]; rounding as avgpool (ARITHMETIC.md). */
#include "neon.h" /* AArch64: neon_pool.c */

void tm2_gap_s8(const int8_t *in, int32_t h, int32_t w, int32_t c, int32_t zp, int32_t act_min, int32_t act_max,
                int8_t *out) {
  const int32_t n = h * w;
  int32_t ch, i;
#if TM2_HAVE_NEON
  if (tm2_neon_gap(in, n, c, zp, act_min, act_max, out)) return;
#endif
  for (ch = 0; ch < c; ch++) {
    int32_t acc = 0, v;
    for (i = 0; i < n; i++) acc += in[i * c + ch];
    acc -= zp * n; /* sum of (q - zp), exact */
    v = zp + (acc >= 0 ? (acc + n / 2) / n : -((-acc + n / 2) / n));
    out[ch] = (int8_t)(v < act_min ? act_min : v > act_max ? act_max : v);
  }
}
