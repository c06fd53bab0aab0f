/* pad.c - constant padding of an [h][w][c] tensor. */
#include <string.h>

#include "tm2.h"

void tm2_pad_s8(const int8_t *in, int32_t h, int32_t w, int32_t c, int32_t pad_top, int32_t pad_left,
                int32_t pad_bottom, int32_t pad_right, int8_t value, int8_t *out) {
  const int32_t ow = w + pad_left + pad_right, row = ow * c;
  int32_t y;
  memset(out, value, (size_t)(pad_top * row));
  out += pad_top * row;
  for (y = 0; y < h; y++, in += w * c, out += row) {
    memset(out, value, (size_t)(pad_left * c));
    memcpy(out + pad_left * c, in, (size_t)(w * c));
    memset(out + (pad_left + w) * c, value, (size_t)(pad_right * c));
  }
  memset(out, value, (size_t)(pad_bottom * row));
}
