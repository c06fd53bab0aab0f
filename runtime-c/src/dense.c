/*
 * dense.c - optimized fully connected layer: the input vector is converted once to an int16
 * column (minus in_zp), then the matrix-multiply core runs two output channels at a time.
 */
#include "neon.h" /* AArch64: the NEON kernels */
#include "tm2_mm.h"
#include "tm2_simd.h"

size_t tm2_dense_scratch_size(const tm2_conv_params *p) {
  const int32_t k = p->in_h * p->in_w * p->in_c;
  return (size_t)((k + 7) >> 3) * 4 * sizeof(uint32_t); /* one column */
}

static void dense(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out,
                  void *scratch) {
  const int32_t k = p->in_h * p->in_w * p->in_c;
  uint32_t *col = (uint32_t *)scratch;
  tm2_col_fill(col, bits, in, k, p->in_zp, tm2_col_group_words(bits));
  if (bits == 8)
    tm2_mm_s8(p, w, k, col, 0, 0, p->out_c, out, NULL);
  else
    tm2_mm_s4(p, w, k, col, 0, 0, p->out_c, out, NULL);
}

void tm2_dense_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out, void *scratch) {
#if TM2_HAVE_NEON
  if (tm2_neon_dense(p, in, w, 8, out)) return; /* AArch64: neon_rows.c */
#endif
  dense(p, in, w, 8, out, scratch);
}

void tm2_dense_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out, void *scratch) {
#if TM2_HAVE_NEON
  if (tm2_neon_dense(p, in, w_packed, 4, out)) return; /* AArch64: neon_rows.c */
#endif
  dense(p, in, w_packed, 4, out, scratch);
}
