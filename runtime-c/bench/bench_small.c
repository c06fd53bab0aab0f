/*
 * bench_small.c - instructions of the kernels whose small-model shapes decide the comparison with
 * CMSIS-NN on the test models and examples (issue 15): residual add, dense layers with few outputs,
 * first-layer convolutions with 1-3 input channels, grouped and 1-D convolutions, depthwise with a
 * channel multiplier, a small pointwise layer. Shapes are those
 * of test/models (bn_nodes, sensor1d, grouped_conv, newops_1d/2d, rnn_*, gemm_variants, ...).
 * Each optimized call is bracketed by tm2_count_begin()/tm2_count_end() and preceded by
 * "region <name> <macs>"; its output is checked against the reference kernel's (run uncounted) and
 * the firmware exits 1 on the first difference.
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

#define MAXN (24 * 24 * 8)
static int8_t in[MAXN], in_b[MAXN], out_ref[MAXN], out_opt[MAXN];
static int8_t w[8192];
static int32_t bias[64], mult[64], shift[64];
static uint32_t scratch[2048];
static int failures;

static void fill(int8_t *a, int32_t n) {
  int32_t i;
  for (i = 0; i < n; i++) a[i] = (int8_t)rnd(-128, 127);
}

static void region(const char *name, long macs) { printf("region %s %ld\n", name, macs); }

static void check(const char *name, int32_t n) {
  int32_t i;
  for (i = 0; i < n; i++)
    if (out_ref[i] != out_opt[i]) {
      printf("mismatch %s element %ld: ref %d opt %d\n", name, (long)i, out_ref[i], out_opt[i]);
      failures++;
      return;
    }
}

static void bench_add(const char *name, int32_t size) {
  tm2_add_params p = {0, 3, -7, -5, 20, 1518500250, -2, 1288490189, -3, 1431655765, -18, -128, 127};
  p.size = size;
  fill(in, size);
  fill(in_b, size);
  tm2_ref_add_s8(&p, in, in_b, out_ref);
  region(name, 0);
  tm2_count_begin();
  tm2_add_s8(&p, in, in_b, out_opt);
  tm2_count_end();
  check(name, size);
}

static void conv_params(tm2_conv_params *p, int32_t ih, int32_t iw, int32_t ic, int32_t oc, int32_t kh, int32_t kw,
                        int32_t sh, int32_t sw, int32_t pt, int32_t pl, int32_t dh, int32_t dw, int32_t groups) {
  int32_t i;
  memset(p, 0, sizeof *p);
  p->in_h = ih, p->in_w = iw, p->in_c = ic, p->out_c = oc;
  p->kernel_h = kh, p->kernel_w = kw, p->stride_h = sh, p->stride_w = sw;
  p->pad_top = pt, p->pad_left = pl, p->dilation_h = dh, p->dilation_w = dw;
  p->groups = groups, p->ch_mult = 1;
  p->out_h = (ih + 2 * pt - dh * (kh - 1) - 1) / sh + 1; /* symmetric padding */
  p->out_w = (iw + 2 * pl - dw * (kw - 1) - 1) / sw + 1;
  p->in_zp = -3, p->out_zp = 5, p->act_min = -128, p->act_max = 127;
  for (i = 0; i < oc; i++) bias[i] = rnd(-2000, 2000), mult[i] = rnd(1 << 30, 0x7fffffff), shift[i] = -rnd(7, 9);
  p->bias = bias, p->multiplier = mult, p->shift = shift;
}

/* bits 8 or 4 (packed weights: half the bytes). */
static void bench_dense(const char *name, int32_t k, int32_t n, int32_t bits) {
  tm2_conv_params p;
  conv_params(&p, 1, 1, k, n, 1, 1, 1, 1, 0, 0, 1, 1, 1);
  fill(in, k);
  fill(w, bits == 8 ? k * n : (k * n + 1) / 2);
  if (tm2_dense_scratch_size(&p) > sizeof scratch) { printf("scratch %s\n", name); failures++; return; }
  if (bits == 8) tm2_ref_dense_s8(&p, in, w, out_ref); else tm2_ref_dense_s4(&p, in, w, out_ref);
  region(name, (long)k * n);
  tm2_count_begin();
  if (bits == 8) tm2_dense_s8(&p, in, w, out_opt, scratch); else tm2_dense_s4(&p, in, w, out_opt, scratch);
  tm2_count_end();
  check(name, n);
}

static void bench_conv(const char *name, tm2_conv_params *p, int32_t bits) {
  const int32_t k = p->kernel_h * p->kernel_w * (p->in_c / p->groups), outs = p->out_h * p->out_w * p->out_c;
  fill(in, p->in_h * p->in_w * p->in_c);
  fill(w, bits == 8 ? k * p->out_c : (k * p->out_c + 1) / 2);
  if (tm2_conv_scratch_size(p) > sizeof scratch) { printf("scratch %s\n", name); failures++; return; }
  if (bits == 8) tm2_ref_conv_s8(p, in, w, out_ref); else tm2_ref_conv_s4(p, in, w, out_ref);
  region(name, (long)k * outs);
  tm2_count_begin();
  if (bits == 8) tm2_conv_s8(p, in, w, out_opt, scratch); else tm2_conv_s4(p, in, w, out_opt, scratch);
  tm2_count_end();
  check(name, outs);
}

/* Depthwise, channel multiplier mult (out_c = in_c * mult; p set up by conv_params with out_c). */
static void bench_depthwise(const char *name, tm2_conv_params *p, int32_t mult, int32_t bits) {
  const int32_t taps = p->kernel_h * p->kernel_w, outs = p->out_h * p->out_w * p->out_c;
  p->ch_mult = mult;
  fill(in, p->in_h * p->in_w * p->in_c);
  fill(w, bits == 8 ? taps * p->out_c : (taps * p->out_c + 1) / 2);
  if (bits == 8) tm2_ref_depthwise_s8(p, in, w, out_ref); else tm2_ref_depthwise_s4(p, in, w, out_ref);
  region(name, (long)taps * outs);
  tm2_count_begin();
  if (bits == 8) tm2_depthwise_s8(p, in, w, out_opt); else tm2_depthwise_s4(p, in, w, out_opt);
  tm2_count_end();
  check(name, outs);
}

static void bench_pointwise(const char *name, tm2_conv_params *p, int32_t bits) {
  const int32_t k = p->in_c, outs = p->out_h * p->out_w * p->out_c;
  fill(in, p->in_h * p->in_w * p->in_c);
  fill(w, bits == 8 ? k * p->out_c : (k * p->out_c + 1) / 2);
  if (tm2_pointwise_scratch_size(p) > sizeof scratch) { printf("scratch %s\n", name); failures++; return; }
  if (bits == 8) tm2_ref_pointwise_s8(p, in, w, out_ref); else tm2_ref_pointwise_s4(p, in, w, out_ref);
  region(name, (long)k * outs);
  tm2_count_begin();
  if (bits == 8) tm2_pointwise_s8(p, in, w, out_opt, scratch); else tm2_pointwise_s4(p, in, w, out_opt, scratch);
  tm2_count_end();
  check(name, outs);
}

int main(void) {
  tm2_conv_params p;
  int32_t bits;
  bench_add("add-16x16x8", 16 * 16 * 8);
  bench_add("add-12x12x8", 12 * 12 * 8);
  bench_add("add-64", 64);
  for (bits = 8; bits >= 4; bits -= 4) {
    const int s4 = bits == 4;
    bench_dense(s4 ? "dense-s4-128x5" : "dense-s8-128x5", 128, 5, bits);
    bench_dense(s4 ? "dense-s4-576x4" : "dense-s8-576x4", 576, 4, bits);
    bench_dense(s4 ? "dense-s4-48x3" : "dense-s8-48x3", 48, 3, bits);
    bench_dense(s4 ? "dense-s4-29x4" : "dense-s8-29x4", 29, 4, bits);
    bench_dense(s4 ? "dense-s4-12x4" : "dense-s8-12x4", 12, 4, bits);
    bench_dense(s4 ? "dense-s4-12x16" : "dense-s8-12x16", 12, 16, bits);
    bench_dense(s4 ? "dense-s4-16x10" : "dense-s8-16x10", 16, 10, bits);
    bench_dense(s4 ? "dense-s4-64x12" : "dense-s8-64x12", 64, 12, bits);
    /* Odd K and outputs: a block of 4 then of the last 3 (INT8); the odd last row alone (INT4). */
    bench_dense(s4 ? "dense-s4-31x7" : "dense-s8-31x7", 31, 7, bits);
    conv_params(&p, 16, 16, 3, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1);
    bench_conv(s4 ? "conv-s4-16x16x3-3x3-8" : "conv-s8-16x16x3-3x3-8", &p, bits);
    conv_params(&p, 28, 28, 1, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1);
    bench_conv(s4 ? "conv-s4-28x28x1-3x3s2-8" : "conv-s8-28x28x1-3x3s2-8", &p, bits);
    conv_params(&p, 24, 24, 4, 8, 3, 3, 2, 2, 0, 0, 2, 2, 2);
    bench_conv(s4 ? "conv-s4-24x24x4-3x3s2d2g2-8" : "conv-s8-24x24x4-3x3s2d2g2-8", &p, bits);
    conv_params(&p, 11, 12, 8, 8, 3, 1, 2, 1, 1, 0, 1, 1, 2);
    bench_conv(s4 ? "conv-s4-11x12x8-3x1s2g2-8" : "conv-s8-11x12x8-3x1s2g2-8", &p, bits);
    conv_params(&p, 24, 24, 8, 8, 3, 3, 1, 1, 2, 2, 2, 2, 2);
    bench_conv(s4 ? "conv-s4-24x24x8-3x3d2g2-8" : "conv-s8-24x24x8-3x3d2g2-8", &p, bits);
    conv_params(&p, 1, 64, 3, 8, 1, 5, 1, 1, 0, 2, 1, 1, 1);
    bench_conv(s4 ? "conv1d-s4-64x3-k5-8" : "conv1d-s8-64x3-k5-8", &p, bits);
    conv_params(&p, 1, 32, 8, 8, 1, 3, 1, 1, 0, 1, 1, 1, 1);
    bench_conv(s4 ? "conv1d-s4-32x8-k3-8" : "conv1d-s8-32x8-k3-8", &p, bits);
    conv_params(&p, 1, 24, 4, 8, 1, 3, 1, 1, 0, 3, 1, 3, 2);
    bench_conv(s4 ? "conv1d-s4-24x4-k3d3g2-8" : "conv1d-s8-24x4-k3d3g2-8", &p, bits);
    /* newops_2d: 3x3 depthwise, dilation 2, channel multiplier 2 (8 -> 16 channels) */
    conv_params(&p, 10, 6, 8, 16, 3, 3, 1, 1, 2, 2, 2, 2, 1);
    bench_depthwise(s4 ? "dw-s4-10x6x8-3x3d2m2" : "dw-s8-10x6x8-3x3d2m2", &p, 2, bits);
    /* tiny_patterns: 1x1 on 4 pixels of 6 channels, 5 outputs */
    conv_params(&p, 1, 4, 6, 5, 1, 1, 1, 1, 0, 0, 1, 1, 1);
    bench_pointwise(s4 ? "pw-s4-1x4x6-5" : "pw-s8-1x4x6-5", &p, bits);
  }
  printf("bench_small failures=%d\n", failures);
  return failures ? 1 : 0;
}
