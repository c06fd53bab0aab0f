/*
 * bench_newops.c - instructions per output of the kernels added for issue 11 (slice, reduce,
 * resize, prelu, log_softmax, conv_transpose) on typical shapes. Each call is bracketed by
 * tm2_count_begin()/tm2_count_end() and preceded by "region <name> <outputs>" so the driver
 * (bench-newops.ts) labels the QEMU plugin's counts. Values are random (fixed seed): the counts
 * of these kernels hardly depend on them.
 */
#include <stdio.h>
#include <string.h>

#include "tm2.h"
#include "tm2_count.h"

static uint32_t seed = 12345u;
static int32_t rnd(int32_t lo, int32_t hi) {
  seed = seed * 1664525u + 1013904223u;
  return lo + (int32_t)((seed >> 8) % (uint32_t)(hi - lo + 1));
}

#define MAXN (16 * 16 * 32)
static int8_t in[MAXN], out[4 * MAXN];
static int8_t w[16 * 3 * 3 * 16];
static int32_t bias[64], mult[64], shift[64];
static int32_t t[6][64];
static uint32_t exp_table[256];
static uint16_t log2_table[256];

static void fill(int8_t *a, int32_t n) {
  int32_t i;
  for (i = 0; i < n; i++) a[i] = (int8_t)rnd(-128, 127);
}

static void region(const char *name, int32_t outputs) { printf("region %s %ld\n", name, (long)outputs); }

static void bench_slice(void) {
  const int32_t dims[3] = {16, 16, 32}, start_c[3] = {0, 0, 16}, step1[3] = {1, 1, 1}, out_c[3] = {16, 16, 16};
  const int32_t start_s[3] = {2, 2, 0}, out_s[3] = {12, 12, 32};
  region("slice-channels-16x16x32-to-16", 16 * 16 * 16);
  tm2_count_begin();
  tm2_slice_s8(in, dims, start_c, step1, out_c, out);
  tm2_count_end();
  region("slice-spatial-16x16x32-to-12x12", 12 * 12 * 32);
  tm2_count_begin();
  tm2_slice_s8(in, dims, start_s, step1, out_s, out);
  tm2_count_end();
}

static void bench_reduce(void) {
  tm2_reduce_params p = {8, 8, 64, 3, -3, 5, 1518500250, -6, -128, 127};
  region("reduce_mean-HW-8x8x64", 64);
  tm2_count_begin();
  tm2_reduce_mean_s8(&p, in, out);
  tm2_count_end();
  region("reduce_max-HW-8x8x64", 64);
  tm2_count_begin();
  tm2_reduce_max_s8(&p, in, out);
  tm2_count_end();
  p.in_h = 16; p.in_w = 16; p.c = 16; p.axes = 4;
  region("reduce_mean-C-16x16x16", 256);
  tm2_count_begin();
  tm2_reduce_mean_s8(&p, in, out);
  tm2_count_end();
}

static void bench_resize(void) {
  tm2_resize_params p;
  int32_t i;
  for (i = 0; i < 16; i++) {
    t[0][i] = i / 2; t[1][i] = (i + 1) / 2 < 8 ? (i + 1) / 2 : 7; t[2][i] = (i & 1) ? 256 : 768;
  }
  p.in_h = 8; p.in_w = 8; p.c = 16; p.out_h = 16; p.out_w = 16;
  p.y0 = t[0]; p.y1 = t[1]; p.wy = t[2]; p.x0 = t[0]; p.x1 = t[1]; p.wx = t[2];
  p.zp = 3; p.act_min = -128; p.act_max = 127;
  region("resize_nearest-2x-8x8x16", 16 * 16 * 16);
  tm2_count_begin();
  tm2_resize_nearest_s8(&p, in, out);
  tm2_count_end();
  region("resize_bilinear-2x-8x8x16", 16 * 16 * 16);
  tm2_count_begin();
  tm2_resize_bilinear_s8(&p, in, out);
  tm2_count_end();
}

static void bench_prelu(void) {
  tm2_prelu_params p;
  int32_t i;
  for (i = 0; i < 16; i++) {
    mult[i] = (i & 1) ? -1288490189 : 1288490189;
    shift[i] = -3;
  }
  p.rows = 256; p.c = 16; p.in_zp = -5; p.out_zp = 2; p.pos_multiplier = 1288490189; p.pos_shift = 0;
  p.neg_multiplier = mult; p.neg_shift = shift; p.act_min = -128; p.act_max = 127;
  region("prelu-16x16x16", 256 * 16);
  tm2_count_begin();
  tm2_prelu_s8(&p, in, out);
  tm2_count_end();
}

static void bench_log_softmax(void) {
  tm2_log_softmax_params p;
  int32_t i;
  /* exp(-k * 0.0625) in Q16, log2(1 + (i + 0.5) / 256) in Q16: fixed-point recurrences, no float. */
  exp_table[0] = 65536u;
  for (i = 1; i < 256; i++) exp_table[i] = (uint32_t)(((uint64_t)exp_table[i - 1] * 61565u + 32768u) >> 16);
  for (i = 0; i < 256; i++) log2_table[i] = (uint16_t)(((uint32_t)i * 94548u + 47274u) >> 8); /* ~ (i + .5) / 256 / ln 2 */
  p.rows = 1; p.depth = 10; p.exp_table = exp_table; p.log2_table = log2_table;
  p.d_scale = 5909; p.multiplier = 1488522236; p.shift = -14; p.out_zp = 127; p.act_min = -128; p.act_max = 127;
  region("log_softmax-1x10", 10);
  tm2_count_begin();
  tm2_log_softmax_s8(&p, in, out);
  tm2_count_end();
  p.rows = 16; p.depth = 32;
  region("log_softmax-16x32", 16 * 32);
  tm2_count_begin();
  tm2_log_softmax_s8(&p, in, out);
  tm2_count_end();
}

static void bench_conv_transpose(void) {
  tm2_conv_params p;
  int32_t i;
  for (i = 0; i < 64; i++) {
    bias[i] = rnd(-1000, 1000);
    mult[i] = rnd(1 << 30, 0x7FFFFFFF);
    shift[i] = -8;
  }
  memset(&p, 0, sizeof p);
  /* 2-D: 8x8x16 -> 16x16x16, kernel 3x3, stride 2, pad 1, output_padding 1 */
  p.in_h = 8; p.in_w = 8; p.in_c = 16; p.out_h = 16; p.out_w = 16; p.out_c = 16;
  p.kernel_h = 3; p.kernel_w = 3; p.stride_h = 2; p.stride_w = 2; p.pad_top = 1; p.pad_left = 1;
  p.dilation_h = 1; p.dilation_w = 1; p.groups = 1; p.ch_mult = 1;
  p.in_zp = -3; p.out_zp = 4; p.act_min = -128; p.act_max = 127;
  p.bias = bias; p.multiplier = mult; p.shift = shift;
  region("conv_transpose_s8-3x3s2-8x8x16-to-16x16x16", 16 * 16 * 16);
  tm2_count_begin();
  tm2_conv_transpose_s8(&p, in, w, out);
  tm2_count_end();
  region("conv_transpose_s4-3x3s2-8x8x16-to-16x16x16", 16 * 16 * 16);
  tm2_count_begin();
  tm2_conv_transpose_s4(&p, in, w, out);
  tm2_count_end();
  /* 1-D: 1x32x16 -> 1x64x16, kernel 4, stride 2, pad 1 */
  p.in_h = 1; p.in_w = 32; p.out_h = 1; p.out_w = 64; p.kernel_h = 1; p.kernel_w = 4; p.stride_h = 1; p.pad_top = 0;
  region("conv_transpose_s8-1d-k4s2-32x16-to-64x16", 64 * 16);
  tm2_count_begin();
  tm2_conv_transpose_s8(&p, in, w, out);
  tm2_count_end();
}

int main(void) {
  fill(in, MAXN);
  fill(w, (int32_t)sizeof w);
  bench_slice();
  bench_reduce();
  bench_resize();
  bench_prelu();
  bench_log_softmax();
  bench_conv_transpose();
  printf("done\n");
  return 0;
}
