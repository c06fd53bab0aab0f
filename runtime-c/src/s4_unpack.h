/*
 * s4_unpack.h - private: packed INT4 weights expanded to one int8 per value, so that a kernel
 * can unpack a block of weights once and run the INT8 inner loops over many pixels with it.
 * INT4 then costs what INT8 does plus one pass over the block (and, where the block holds only
 * some output channels, the per-block set-up), instead of a nibble unpack per weight and pixel.
 */
#ifndef TM2_S4_UNPACK_H
#define TM2_S4_UNPACK_H

#include "tm2.h"

/**
 * Bytes of the stack buffer the INT4 kernels unpack weights into (depthwise: the whole weight
 * array when it fits; conv with one group and pointwise: as many output channels as fit, the
 * columns rebuilt per block). The extra stack of an INT4 layer; a bigger buffer means fewer
 * blocks (KWS DS-CNN pointwise, 64x64: 4 blocks at 1 KB, 2 at 2 KB). Build with
 * -DTM2_S4_UNPACK_BYTES=0 to keep the per-pixel nibble unpacking and no buffer.
 */
#ifndef TM2_S4_UNPACK_BYTES
#define TM2_S4_UNPACK_BYTES 2048
#endif

/**
 * Rows per block for n output channels when at most max_rows (even, >= 2) fit: the fewest blocks,
 * of equal even size (a short last block would cost a requant chunk of its own per pixel).
 */
static inline int32_t tm2_s4_block_rows(int32_t n, int32_t max_rows) {
  const int32_t blocks = (n + max_rows - 1) / max_rows, rows = (n + blocks - 1) / blocks;
  return (rows + 1) & ~1;
}

/** dst[i] = tm2_s4_get(packed, first + i) for i in [0, n): any start nibble, any n. */
void tm2_s4_unpack(const int8_t *packed, int32_t first, int32_t n, int8_t *dst);

/*
 * tm2_depthwise_s4 in two steps, for a caller that runs one layer in several calls (s4_act.c's bands
 * of packed activations) and pre-extends the weights once instead of per call: _w16 fills buf
 * (TM2_S4_UNPACK_BYTES) and returns 1 when the layer takes the int16-pair path (else 0, buf
 * untouched); _run_w16 is then tm2_depthwise_s4 on those weights, bit for bit.
 */
int tm2_depthwise_s4_w16(const tm2_conv_params *p, const int8_t *w_packed, uint32_t *buf);
void tm2_depthwise_s4_run_w16(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, const uint32_t *w16,
                              int8_t *out);

#endif
