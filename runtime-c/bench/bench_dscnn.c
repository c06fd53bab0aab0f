/*
 * bench_dscnn.c - kernel micro-benchmark: the MLPerf-Tiny KWS DS-CNN layer sequence (49x10 MFCC
 * input, conv 10x4/2 -> 25x5x64, four depthwise 3x3 + pointwise 64->64 blocks, global average
 * pool, dense 64->12; 2,656,768 MACs) run with the reference and the optimized kernels, INT8
 * weights and INT4 weights in the conv, depthwise and pointwise layers (as tinym2's int4w plan and
 * CMSIS-NN's s4 kernels in benchmarks/vs-cmsis-nn.ts; the dense layer stays INT8).
 *
 * Each kernel call is bracketed by tm2_count_begin()/tm2_count_end(); before each region the
 * program prints "region <variant> <layer> <macs>" so the driver (bench.ts) can label the counts
 * the QEMU plugin reports in the same order. Weights and activations are random (fixed seed):
 * instruction counts hardly depend on values. Every optimized output is checked against the
 * reference output of the same layer; a mismatch exits with code 1.
 */
#include <stdio.h>
#include <string.h>

#include "tm2.h"
#include "tm2_count.h"

#define IN_H 49
#define IN_W 10
#define H 25
#define W 5
#define C 64
#define CLASSES 12
#define BLOCKS 4

static uint32_t seed = 12345u;
static int32_t rnd(int32_t lo, int32_t hi) {
  seed = seed * 1664525u + 1013904223u;
  return lo + (int32_t)((seed >> 8) % (uint32_t)(hi - lo + 1));
}

static int8_t input[IN_H * IN_W];
static int8_t conv_w[C * 10 * 4], conv_w4[C * 10 * 4 / 2];
static int8_t dw_w[BLOCKS][9 * C], dw_w4[BLOCKS][9 * C / 2];
static int8_t pw_w[BLOCKS][C * C], pw_w4[BLOCKS][C * C / 2];
static int8_t fc_w[CLASSES * C];
static int32_t bias[C], mult[C], shift[C];
/* Two activation buffers per variant (ping-pong) plus the reference result to compare with. */
static int8_t act_a[H * W * C], act_b[H * W * C], expect[H * W * C];
static uint32_t scratch[64]; /* 256 bytes: the largest *_scratch_size() below */

static void pack4(const int8_t *v, int32_t n, int8_t *out) {
  int32_t i;
  memset(out, 0, (size_t)(n / 2));
  for (i = 0; i < n; i++) out[i >> 1] = (int8_t)((uint8_t)out[i >> 1] | ((uint32_t)(v[i] & 0xF) << (4 * (i & 1))));
}

static tm2_conv_params layer(int32_t ih, int32_t iw, int32_t ic, int32_t oh, int32_t ow, int32_t oc) {
  tm2_conv_params p;
  memset(&p, 0, sizeof p);
  p.in_h = ih; p.in_w = iw; p.in_c = ic;
  p.out_h = oh; p.out_w = ow; p.out_c = oc;
  p.kernel_h = p.kernel_w = 1;
  p.stride_h = p.stride_w = 1;
  p.dilation_h = p.dilation_w = 1;
  p.groups = 1; p.ch_mult = 1;
  p.in_zp = -120; p.out_zp = -128;
  p.act_min = -128; p.act_max = 127; /* ReLU folded: act_min = out_zp */
  p.bias = bias; p.multiplier = mult; p.shift = shift;
  return p;
}

static int failures = 0;
static void check(const char *variant, const char *name, const int8_t *got, int32_t n) {
  if (memcmp(got, expect, (size_t)n) != 0) {
    printf("MISMATCH %s %s\n", variant, name);
    failures++;
  }
}

typedef enum { REF, OPT } impl;

/* Runs the network once; records the reference outputs when impl == REF, checks them otherwise.
 * int4 != 0 uses INT4 weights in the conv, depthwise and pointwise layers. */
static void network(impl which, int int4) {
  static int8_t ref_out[2 + 2 * BLOCKS + 2][H * W * C];
  const char *variant = which == REF ? (int4 ? "ref-s4" : "ref-s8") : (int4 ? "opt-s4" : "opt-s8");
  tm2_conv_params p;
  int8_t *x = act_a, *y = act_b, *t;
  int32_t b, li = 0;
  char name[32];

  /* conv 10x4 stride 2, SAME padding (top 4, left 1), INT8 weights */
  p = layer(IN_H, IN_W, 1, H, W, C);
  p.kernel_h = 10; p.kernel_w = 4; p.stride_h = 2; p.stride_w = 2; p.pad_top = 4; p.pad_left = 1;
  printf("region %s conv1 %ld\n", variant, (long)(H * W * C * 40));
  tm2_count_begin();
  if (which == REF) (int4 ? tm2_ref_conv_s4 : tm2_ref_conv_s8)(&p, input, int4 ? conv_w4 : conv_w, y);
  else (int4 ? tm2_conv_s4 : tm2_conv_s8)(&p, input, int4 ? conv_w4 : conv_w, y, scratch);
  tm2_count_end();
  if (which == REF) memcpy(ref_out[li], y, H * W * C);
  else { memcpy(expect, ref_out[li], H * W * C); check(variant, "conv1", y, H * W * C); }
  li++;
  t = x; x = y; y = t;

  for (b = 0; b < BLOCKS; b++) {
    p = layer(H, W, C, H, W, C);
    p.kernel_h = p.kernel_w = 3; p.pad_top = p.pad_left = 1;
    sprintf(name, "dw%ld", (long)b + 1);
    printf("region %s %s %ld\n", variant, name, (long)(H * W * C * 9));
    tm2_count_begin();
    if (which == REF) (int4 ? tm2_ref_depthwise_s4 : tm2_ref_depthwise_s8)(&p, x, int4 ? dw_w4[b] : dw_w[b], y);
    else (int4 ? tm2_depthwise_s4 : tm2_depthwise_s8)(&p, x, int4 ? dw_w4[b] : dw_w[b], y);
    tm2_count_end();
    if (which == REF) memcpy(ref_out[li], y, H * W * C);
    else { memcpy(expect, ref_out[li], H * W * C); check(variant, name, y, H * W * C); }
    li++;
    t = x; x = y; y = t;

    p = layer(H, W, C, H, W, C);
    sprintf(name, "pw%ld", (long)b + 1);
    printf("region %s %s %ld\n", variant, name, (long)(H * W * C * C));
    tm2_count_begin();
    if (which == REF) (int4 ? tm2_ref_pointwise_s4 : tm2_ref_pointwise_s8)(&p, x, int4 ? pw_w4[b] : pw_w[b], y);
    else (int4 ? tm2_pointwise_s4 : tm2_pointwise_s8)(&p, x, int4 ? pw_w4[b] : pw_w[b], y, scratch);
    tm2_count_end();
    if (which == REF) memcpy(ref_out[li], y, H * W * C);
    else { memcpy(expect, ref_out[li], H * W * C); check(variant, name, y, H * W * C); }
    li++;
    t = x; x = y; y = t;
  }

  printf("region %s gap 0\n", variant);
  tm2_count_begin();
  tm2_gap_s8(x, H, W, C, -128, -128, 127, y);
  tm2_count_end();
  t = x; x = y; y = t;

  p = layer(1, 1, C, 1, 1, CLASSES);
  printf("region %s fc %ld\n", variant, (long)(C * CLASSES));
  tm2_count_begin();
  if (which == REF) tm2_ref_dense_s8(&p, x, fc_w, y);
  else tm2_dense_s8(&p, x, fc_w, y, scratch);
  tm2_count_end();
  if (which == REF) memcpy(ref_out[li], y, CLASSES);
  else { memcpy(expect, ref_out[li], CLASSES); check(variant, "fc", y, CLASSES); }
}

int main(void) {
  int32_t i, b;
  for (i = 0; i < IN_H * IN_W; i++) input[i] = (int8_t)rnd(-128, 127);
  for (i = 0; i < C * 40; i++) conv_w[i] = (int8_t)rnd(-127, 127);
  for (b = 0; b < BLOCKS; b++) {
    int8_t tmp[C * C];
    for (i = 0; i < 9 * C; i++) dw_w[b][i] = (int8_t)rnd(-127, 127);
    for (i = 0; i < 9 * C; i++) tmp[i] = (int8_t)rnd(-7, 7);
    pack4(tmp, 9 * C, dw_w4[b]);
    for (i = 0; i < C * C; i++) pw_w[b][i] = (int8_t)rnd(-127, 127);
    for (i = 0; i < C * C; i++) tmp[i] = (int8_t)rnd(-7, 7);
    pack4(tmp, C * C, pw_w4[b]);
  }
  for (i = 0; i < CLASSES * C; i++) fc_w[i] = (int8_t)rnd(-127, 127);
  for (i = 0; i < C; i++) {
    bias[i] = rnd(-2000, 2000);
    mult[i] = rnd(0x40000000, 0x7FFFFFFF);
    shift[i] = -rnd(7, 9); /* r = 38..40: outputs spread over the int8 range, not all clamped */
  }
  { /* drawn last: the other weights keep their values */
    int8_t tmp[C * 40];
    for (i = 0; i < C * 40; i++) tmp[i] = (int8_t)rnd(-7, 7);
    pack4(tmp, C * 40, conv_w4);
  }
  if (tm2_pointwise_scratch_size(&(tm2_conv_params){.in_c = C}) > sizeof scratch) return 2;
  network(REF, 0);
  network(OPT, 0);
  network(REF, 1);
  network(OPT, 1);
  printf("%s\n", failures ? "FAILED" : "OK");
  return failures ? 1 : 0;
}
