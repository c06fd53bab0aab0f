/* permute.c - strided copy implementing ONNX Transpose on [H][W][C]. */
#include "tm2.h"

void tm2_permute_s8(const int8_t *in, const int32_t dims[3], const int32_t perm[3], int8_t *out) {
  const int32_t in_stride[3] = {dims[1] * dims[2], dims[2], 1};
  const int32_t n0 = dims[perm[0]], n1 = dims[perm[1]], n2 = dims[perm[2]];
  const int32_t s0 = in_stride[perm[0]], s1 = in_stride[perm[1]], s2 = in_stride[perm[2]];
  int32_t i0, i1, i2;
  for (i0 = 0; i0 < n0; i0++)
    for (i1 = 0; i1 < n1; i1++) {
      const int8_t *src = in + i0 * s0 + i1 * s1;
      for (i2 = 0; i2 < n2; i2++) *out++ = src[i2 * s2];
    }
}
