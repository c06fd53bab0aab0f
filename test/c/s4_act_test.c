/*
 * s4_act_test.c - the packed-INT4-activation entry points (runtime-c/src/s4_act.c) against the
 * reference kernels on the unpacked values, on random shapes: conv / depthwise / pointwise / dense
 * (INT8 and INT4 weights), max / average pooling, global average pool, add / mul / lut (also in
 * place), every combination of packed input and packed output, odd element counts, padding, stride,
 * dilation, 1-D and 2-D. Scratch is allocated at exactly the tm2_*_s4a_scratch_size (run it under
 * AddressSanitizer to catch an overrun), the arena bytes around the tensors are poisoned, and a
 * packed output's padding nibble must be 0.
 *
 * Usage: s4_act_test CASES SEED. Prints "bad <what>" per mismatch and, per conv / pool / elementwise
 * case, one line with its shape and the C scratch size, for test/s4-act.test.ts to compare with the
 * TypeScript figures (compiler/kernels/packed-act.ts). Exit status 1 on any mismatch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm2.h"

static uint32_t rng = 1;
static int32_t r(int32_t lo, int32_t hi) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return lo + (int32_t)(rng % (uint32_t)(hi - lo + 1));
}

static int failures = 0;

static void pack(const int8_t *v, int32_t n, int8_t *out) {
  int32_t i;
  memset(out, 0x5A, (size_t)((n + 1) / 2));
  for (i = 0; i < n; i++) {
    uint8_t *b = (uint8_t *)out + i / 2;
    *b = (uint8_t)((i & 1) ? ((*b & 0x0F) | ((v[i] & 0x0F) << 4)) : ((*b & 0xF0) | (v[i] & 0x0F)));
  }
  if (n & 1) out[n / 2] = (int8_t)(out[n / 2] & 0x0F);
}

/* Compares `got` (packed or bytes) with the reference; checks the padding nibble. */
static void check(const char *what, const int8_t *ref, const int8_t *got, int32_t n, int32_t packed) {
  int32_t i;
  for (i = 0; i < n; i++) {
    const int32_t g = packed ? tm2_s4_get(got, i) : got[i];
    if (g != ref[i]) {
      printf("bad %s: value %d of %d is %d, reference %d\n", what, i, n, g, ref[i]);
      failures++;
      return;
    }
  }
  if (packed && (n & 1) && ((uint8_t)got[n / 2] >> 4) != 0) {
    printf("bad %s: padding nibble %d\n", what, (uint8_t)got[n / 2] >> 4);
    failures++;
  }
}

/* An arena holding a tensor at `off` bytes, the rest poisoned. */
static int8_t *arena(size_t bytes) {
  int8_t *a = (int8_t *)malloc(bytes + 64);
  memset(a, 0x77, bytes + 64);
  return a;
}

static void rand_vals(int8_t *v, int32_t n, int32_t lo, int32_t hi) {
  int32_t i;
  for (i = 0; i < n; i++) v[i] = (int8_t)r(lo, hi);
}

static void conv_case(void) {
  static const char *names[] = {"conv", "depthwise", "pointwise", "dense"};
  const int32_t kind = r(0, 3), wbits = r(0, 1) ? 4 : 8, io = r(1, 3);
  const int32_t one_d = r(0, 2) == 0;
  tm2_conv_params p;
  int32_t n_in, n_out, n_w, k, pad_b, pad_r, taps_h, taps_w, i;
  int8_t *x, *w, *wp, *ref, *in, *out;
  int32_t *bias, *mult, *shift;
  void *scratch;
  size_t sbytes, granted;
  memset(&p, 0, sizeof p);
  p.in_h = one_d ? 1 : r(1, 9);
  p.in_w = r(1, 21);
  p.in_c = r(1, 13);
  p.groups = 1;
  p.ch_mult = 1;
  p.kernel_h = p.kernel_w = p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
  if (kind == 0 || kind == 1) {
    p.kernel_h = one_d ? 1 : r(1, 4);
    p.kernel_w = r(1, 5);
    p.stride_h = r(1, 3);
    p.stride_w = r(1, 3);
    p.dilation_h = r(1, 2);
    p.dilation_w = r(1, 2);
    taps_h = (p.kernel_h - 1) * p.dilation_h + 1;
    taps_w = (p.kernel_w - 1) * p.dilation_w + 1;
    p.pad_top = one_d ? 0 : r(0, taps_h - 1);
    pad_b = one_d ? 0 : r(0, taps_h - 1);
    p.pad_left = r(0, taps_w - 1);
    pad_r = r(0, taps_w - 1);
    if (p.in_h + p.pad_top + pad_b < taps_h) p.in_h = taps_h;
    if (p.in_w + p.pad_left + pad_r < taps_w) p.in_w = taps_w;
    p.out_h = (p.in_h + p.pad_top + pad_b - taps_h) / p.stride_h + 1;
    p.out_w = (p.in_w + p.pad_left + pad_r - taps_w) / p.stride_w + 1;
  }
  if (kind == 0) {
    p.groups = r(1, 3);
    p.in_c = p.groups * r(1, 5);
    p.out_c = p.groups * r(1, 6);
  } else if (kind == 1) {
    p.ch_mult = r(1, 2);
    p.out_c = p.in_c * p.ch_mult;
  } else if (kind == 2) {
    p.out_h = p.in_h;
    p.out_w = p.in_w;
    p.out_c = r(1, 17);
  } else {
    p.out_h = p.out_w = 1;
    p.out_c = r(1, 19);
  }
  n_in = p.in_h * p.in_w * p.in_c;
  n_out = p.out_h * p.out_w * p.out_c;
  k = kind == 0 ? p.kernel_h * p.kernel_w * (p.in_c / p.groups) : kind == 1 ? p.kernel_h * p.kernel_w : kind == 2 ? p.in_c : n_in;
  n_w = kind == 1 ? p.kernel_h * p.kernel_w * p.out_c : p.out_c * k;
  p.in_zp = r(-8, 7);
  p.out_zp = r(-8, 7);
  p.act_min = -8;
  p.act_max = 7;
  x = (int8_t *)malloc((size_t)n_in);
  w = (int8_t *)malloc((size_t)n_w);
  wp = (int8_t *)malloc((size_t)n_w);
  ref = (int8_t *)malloc((size_t)n_out);
  bias = (int32_t *)malloc(sizeof(int32_t) * (size_t)p.out_c);
  mult = (int32_t *)malloc(sizeof(int32_t) * (size_t)p.out_c);
  shift = (int32_t *)malloc(sizeof(int32_t) * (size_t)p.out_c);
  rand_vals(x, n_in, -8, 7);
  rand_vals(w, n_w, wbits == 4 ? -7 : -127, wbits == 4 ? 7 : 127);
  pack(w, n_w, wp);
  for (i = 0; i < p.out_c; i++) {
    bias[i] = r(-200, 200);
    mult[i] = (int32_t)(0x40000000 + (uint32_t)r(0, 0x3FFFFFFF));
    shift[i] = wbits == 4 ? r(-8, -4) : r(-12, -7);
  }
  p.bias = bias;
  p.multiplier = mult;
  p.shift = shift;
  if (wbits == 4) {
    if (kind == 0) tm2_ref_conv_s4(&p, x, wp, ref);
    else if (kind == 1) tm2_ref_depthwise_s4(&p, x, wp, ref);
    else if (kind == 2) tm2_ref_pointwise_s4(&p, x, wp, ref);
    else tm2_ref_dense_s4(&p, x, wp, ref);
  } else {
    if (kind == 0) tm2_ref_conv_s8(&p, x, w, ref);
    else if (kind == 1) tm2_ref_depthwise_s8(&p, x, w, ref);
    else if (kind == 2) tm2_ref_pointwise_s8(&p, x, w, ref);
    else tm2_ref_dense_s8(&p, x, w, ref);
  }
  in = arena((size_t)n_in);
  out = arena((size_t)n_out);
  if (io & TM2_S4A_IN_PACKED) pack(x, n_in, in);
  else memcpy(in, x, (size_t)n_in);
  sbytes = tm2_conv_s4a_scratch_size(kind, &p, io);
  /* Half the cases grant more than the minimum (as the arena does where bytes are free): wider bands. */
  granted = sbytes + (r(0, 1) ? 0 : (size_t)r(0, n_in + n_out));
  scratch = malloc(granted ? granted : 1);
  tm2_conv_s4a(kind, wbits, &p, in, wbits == 4 ? wp : w, out, io, scratch, granted);
  {
    char what[160];
    sprintf(what, "%s w%d io %d in %dx%dx%d out %dx%dx%d k %dx%d s %dx%d pad %d,%d d %dx%d", names[kind], wbits, io, p.in_h, p.in_w,
            p.in_c, p.out_h, p.out_w, p.out_c, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_top, p.pad_left, p.dilation_h,
            p.dilation_w);
    check(what, ref, out, n_out, io & TM2_S4A_OUT_PACKED);
  }
  printf("conv %s %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %lu\n", names[kind], p.in_h, p.in_w, p.in_c, p.out_h, p.out_w, p.out_c,
         p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_top, p.pad_left, p.dilation_h, p.dilation_w, p.groups, io,
         (unsigned long)sbytes);
  free(x), free(w), free(wp), free(ref), free(bias), free(mult), free(shift), free(in), free(out), free(scratch);
}

static void pool_case(void) {
  const int32_t max = r(0, 1), io = r(1, 3), one_d = r(0, 2) == 0;
  tm2_pool_params p;
  int32_t n_in, n_out;
  int8_t *x, *ref, *in, *out;
  void *scratch;
  size_t sbytes;
  memset(&p, 0, sizeof p);
  p.in_h = one_d ? 1 : r(1, 9);
  p.in_w = r(1, 17);
  p.c = r(1, 11);
  p.kernel_h = one_d ? 1 : r(1, p.in_h < 4 ? p.in_h : 4);
  p.kernel_w = r(1, p.in_w < 5 ? p.in_w : 5);
  p.stride_h = r(1, 3);
  p.stride_w = r(1, 3);
  p.pad_top = one_d ? 0 : r(0, p.kernel_h - 1);
  p.pad_bottom = one_d ? 0 : r(0, p.kernel_h - 1);
  p.pad_left = r(0, p.kernel_w - 1);
  p.pad_right = r(0, p.kernel_w - 1);
  p.out_h = (p.in_h + p.pad_top + p.pad_bottom - p.kernel_h) / p.stride_h + 1;
  p.out_w = (p.in_w + p.pad_left + p.pad_right - p.kernel_w) / p.stride_w + 1;
  p.count_include_pad = r(0, 1);
  p.zp = r(-8, 7);
  p.act_min = -8;
  p.act_max = 7;
  n_in = p.in_h * p.in_w * p.c;
  n_out = p.out_h * p.out_w * p.c;
  x = (int8_t *)malloc((size_t)n_in);
  ref = (int8_t *)malloc((size_t)n_out);
  rand_vals(x, n_in, -8, 7);
  (max ? tm2_ref_maxpool_s8 : tm2_ref_avgpool_s8)(&p, x, ref);
  in = arena((size_t)n_in);
  out = arena((size_t)n_out);
  if (io & TM2_S4A_IN_PACKED) pack(x, n_in, in);
  else memcpy(in, x, (size_t)n_in);
  sbytes = tm2_pool_s4a_scratch_size(&p, io);
  scratch = malloc(sbytes);
  tm2_pool_s4a(max, &p, in, out, io, scratch);
  check(max ? "maxpool" : "avgpool", ref, out, n_out, io & TM2_S4A_OUT_PACKED);
  printf("pool %d %lu\n", p.c, (unsigned long)sbytes);
  free(x), free(ref), free(in), free(out), free(scratch);
}

static void gap_case(void) {
  const int32_t io = r(1, 3), h = r(1, 6), w = r(1, 9), c = r(1, 13), zp = r(-8, 7), n = h * w * c;
  int8_t *x = (int8_t *)malloc((size_t)n), ref[16], *in = arena((size_t)n), *out = arena(16);
  rand_vals(x, n, -8, 7);
  tm2_gap_s8(x, h, w, c, zp, -8, 7, ref);
  if (io & TM2_S4A_IN_PACKED) pack(x, n, in);
  else memcpy(in, x, (size_t)n);
  tm2_gap_s4a(in, h, w, c, zp, -8, 7, out, io);
  check("gap", ref, out, c, io & TM2_S4A_OUT_PACKED);
  free(x), free(in), free(out);
}

static void elementwise_case(void) {
  const int32_t kind = r(0, 2), n = r(1, 300), a_packed = r(0, 1), b_packed = r(0, 1);
  const int32_t out_packed = (a_packed || b_packed) ? r(0, 1) : 1;
  const int32_t in_place = out_packed == a_packed && r(0, 1);
  int8_t *a = (int8_t *)malloc((size_t)n), *b = (int8_t *)malloc((size_t)n), *ref = (int8_t *)malloc((size_t)n);
  int8_t *pa = arena((size_t)n), *pb = arena((size_t)n), *out = in_place ? pa : arena((size_t)n), table[256];
  tm2_add_params ap;
  tm2_mul_params mp;
  const void *params;
  size_t sbytes;
  void *scratch;
  rand_vals(a, n, -8, 7);
  rand_vals(b, n, -8, 7);
  rand_vals(table, 256, -8, 7);
  ap.size = mp.size = n;
  ap.a_zp = r(-8, 7), ap.b_zp = r(-8, 7), ap.out_zp = r(-8, 7), ap.left_shift = 20;
  ap.a_multiplier = ap.b_multiplier = ap.out_multiplier = 0x50000000;
  ap.a_shift = -1, ap.b_shift = -2, ap.out_shift = -18;
  ap.act_min = mp.act_min = -8, ap.act_max = mp.act_max = 7;
  mp.a_zp = ap.a_zp, mp.b_zp = ap.b_zp, mp.out_zp = ap.out_zp, mp.multiplier = 0x60000000, mp.shift = -3;
  if (kind == TM2_S4A_ADD) tm2_add_s8(&ap, a, b, ref), params = &ap;
  else if (kind == TM2_S4A_MUL) tm2_mul_s8(&mp, a, b, ref), params = &mp;
  else tm2_lut_s8(a, ref, n, table), params = table;
  if (a_packed) pack(a, n, pa);
  else memcpy(pa, a, (size_t)n);
  if (b_packed) pack(b, n, pb);
  else memcpy(pb, b, (size_t)n);
  sbytes = tm2_elementwise_s4a_scratch_size(n);
  scratch = malloc(sbytes);
  tm2_elementwise_s4a(kind, params, n, pa, a_packed, kind == TM2_S4A_LUT ? NULL : pb, b_packed, out, out_packed, scratch);
  check(kind == TM2_S4A_ADD ? "add" : kind == TM2_S4A_MUL ? "mul" : "lut", ref, out, n, out_packed);
  printf("ew %d %lu\n", n, (unsigned long)sbytes);
  free(a), free(b), free(ref), free(pa), free(pb), free(scratch);
  if (!in_place) free(out);
}

int main(int argc, char **argv) {
  const int32_t cases = argc > 1 ? atoi(argv[1]) : 1000;
  int32_t i;
  rng = argc > 2 ? (uint32_t)atoi(argv[2]) : 1u;
  if (!rng) rng = 1;
  for (i = 0; i < cases; i++) {
    switch (i % 6) {
      case 0: case 1: case 2: conv_case(); break;
      case 3: pool_case(); break;
      case 4: gap_case(); break;
      default: elementwise_case(); break;
    }
  }
  printf("failures %d\n", failures);
  return failures ? 1 : 0;
}
