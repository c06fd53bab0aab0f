/*
 * slice.c - strided slice of an [H][W][C] activation (ONNX Slice; Split is one slice per output).
 * Data movement only: in and out share scale and zero point. Output element (i0, i1, i2) is input
 * element (start[0] + i0*step[0], start[1] + i1*step[1], start[2] + i2*step[2]); steps may be
 * negative (a reversed axis), the compiler resolves ONNX's clamping into start, step and out_dims.
 */
#include <string.h>

#include "tm2.h"

void tm2_slice_s8(const int8_t *in, const int32_t in_dims[3], const int32_t start[3], const int32_t step[3],
                  const int32_t out_dims[3], int8_t *out) {
  const int32_t row = in_dims[1] * in_dims[2];
  int32_t i0, i1, i2;
  for (i0 = 0; i0 < out_dims[0]; i0++) {
    const int8_t *plane = in + (start[0] + i0 * step[0]) * row;
    for (i1 = 0; i1 < out_dims[1]; i1++) {
      const int8_t *src = plane + (start[1] + i1 * step[1]) * in_dims[2] + start[2];
      if (step[2] == 1) { /* a contiguous run of channels: one copy */
        memcpy(out, src, (size_t)out_dims[2]);
        out += out_dims[2];
      } else {
        for (i2 = 0; i2 < out_dims[2]; i2++) *out++ = src[i2 * step[2]];
      }
    }
  }
}
