/*
 * run_ops.c - runs runtime-c kernels on cases read from stdin and prints their outputs, so the
 * TypeScript tests can compare the C kernels with the integer emulator bit for bit.
 *
 * Input: whitespace-separated tokens, one case after another until EOF. Each case is an op
 * name followed by integers (see read_* below; arrays are prefixed by their length).
 * Output: one line per case, the output values separated by spaces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm2.h"

static long next_int(void) {
  long v;
  if (scanf("%ld", &v) != 1) {
    fprintf(stderr, "run_ops: malformed input\n");
    exit(2);
  }
  return v;
}

/* Reads "n v0 .. v(n-1)" into a new int32 array; *n_out gets n. */
static int32_t *read_i32s(int32_t *n_out) {
  const int32_t n = (int32_t)next_int();
  int32_t *a = (int32_t *)malloc((size_t)(n > 0 ? n : 1) * sizeof(int32_t));
  int32_t i;
  if (!a) exit(2);
  for (i = 0; i < n; i++) a[i] = (int32_t)next_int();
  if (n_out) *n_out = n;
  return a;
}

static int8_t *read_i8s(int32_t *n_out) {
  int32_t n, i;
  int32_t *a = read_i32s(&n);
  int8_t *b = (int8_t *)malloc((size_t)(n > 0 ? n : 1));
  if (!b) exit(2);
  for (i = 0; i < n; i++) b[i] = (int8_t)a[i];
  free(a);
  if (n_out) *n_out = n;
  return b;
}

static void print_out(const int8_t *out, int32_t n) {
  int32_t i;
  for (i = 0; i < n; i++) printf(i ? " %d" : "%d", out[i]);
  printf("\n");
}

/* conv|depthwise|pointwise|dense|conv_transpose|conv_transpose_ref wbits in_h in_w in_c out_h out_w out_c kh kw sh sw pt pl dh dw groups mult
 * in_zp out_zp act_min act_max, then arrays: input, weights (packed bytes for wbits 4), bias, multiplier, shift */
static void run_weighted(const char *op) {
  tm2_conv_params p;
  const int32_t wbits = (int32_t)next_int();
  int32_t n_out;
  int8_t *in, *w, *out;
  int32_t *bias, *mult, *shift;
  void *scratch = NULL;
  size_t ss = 0;
  memset(&p, 0, sizeof p);
  p.in_h = (int32_t)next_int(); p.in_w = (int32_t)next_int(); p.in_c = (int32_t)next_int();
  p.out_h = (int32_t)next_int(); p.out_w = (int32_t)next_int(); p.out_c = (int32_t)next_int();
  p.kernel_h = (int32_t)next_int(); p.kernel_w = (int32_t)next_int();
  p.stride_h = (int32_t)next_int(); p.stride_w = (int32_t)next_int();
  p.pad_top = (int32_t)next_int(); p.pad_left = (int32_t)next_int();
  p.dilation_h = (int32_t)next_int(); p.dilation_w = (int32_t)next_int();
  p.groups = (int32_t)next_int(); p.ch_mult = (int32_t)next_int();
  p.in_zp = (int32_t)next_int(); p.out_zp = (int32_t)next_int();
  p.act_min = (int32_t)next_int(); p.act_max = (int32_t)next_int();
  in = read_i8s(NULL);
  w = read_i8s(NULL);
  bias = read_i32s(NULL);
  mult = read_i32s(NULL);
  shift = read_i32s(NULL);
  p.bias = bias; p.multiplier = mult; p.shift = shift;
  n_out = p.out_h * p.out_w * p.out_c;
  out = (int8_t *)malloc((size_t)n_out);
  if (!strcmp(op, "conv")) ss = tm2_conv_scratch_size(&p);
  if (!strcmp(op, "pointwise")) ss = tm2_pointwise_scratch_size(&p);
  if (!strcmp(op, "dense")) ss = tm2_dense_scratch_size(&p);
  if (ss) scratch = malloc(ss);
  if (!strcmp(op, "conv")) (wbits == 4 ? tm2_conv_s4 : tm2_conv_s8)(&p, in, w, out, scratch);
  else if (!strcmp(op, "pointwise")) (wbits == 4 ? tm2_pointwise_s4 : tm2_pointwise_s8)(&p, in, w, out, scratch);
  else if (!strcmp(op, "dense")) (wbits == 4 ? tm2_dense_s4 : tm2_dense_s8)(&p, in, w, out, scratch);
  else if (!strcmp(op, "conv_transpose")) (wbits == 4 ? tm2_conv_transpose_s4 : tm2_conv_transpose_s8)(&p, in, w, out);
  else if (!strcmp(op, "conv_transpose_ref")) (wbits == 4 ? tm2_ref_conv_transpose_s4 : tm2_ref_conv_transpose_s8)(&p, in, w, out);
  else (wbits == 4 ? tm2_depthwise_s4 : tm2_depthwise_s8)(&p, in, w, out);
  print_out(out, n_out);
  free(in); free(w); free(bias); free(mult); free(shift); free(out); free(scratch);
}

/* maxpool|avgpool in_h in_w c out_h out_w kh kw sh sw pt pl pb pr count_include_pad zp act_min act_max, input */
static void run_pool(const char *op) {
  tm2_pool_params p;
  int8_t *in, *out;
  p.in_h = (int32_t)next_int(); p.in_w = (int32_t)next_int(); p.c = (int32_t)next_int();
  p.out_h = (int32_t)next_int(); p.out_w = (int32_t)next_int();
  p.kernel_h = (int32_t)next_int(); p.kernel_w = (int32_t)next_int();
  p.stride_h = (int32_t)next_int(); p.stride_w = (int32_t)next_int();
  p.pad_top = (int32_t)next_int(); p.pad_left = (int32_t)next_int();
  p.pad_bottom = (int32_t)next_int(); p.pad_right = (int32_t)next_int();
  p.count_include_pad = (int32_t)next_int(); p.zp = (int32_t)next_int();
  p.act_min = (int32_t)next_int(); p.act_max = (int32_t)next_int();
  in = read_i8s(NULL);
  out = (int8_t *)malloc((size_t)(p.out_h * p.out_w * p.c));
  (!strcmp(op, "maxpool") ? tm2_maxpool_s8 : tm2_avgpool_s8)(&p, in, out);
  print_out(out, p.out_h * p.out_w * p.c);
  free(in); free(out);
}

int main(void) {
  char op[32];
  while (scanf("%31s", op) == 1) {
    if (!strcmp(op, "conv") || !strcmp(op, "depthwise") || !strcmp(op, "pointwise") || !strcmp(op, "dense") ||
        !strcmp(op, "conv_transpose") || !strcmp(op, "conv_transpose_ref")) {
      run_weighted(op);
    } else if (!strcmp(op, "maxpool") || !strcmp(op, "avgpool")) {
      run_pool(op);
    } else if (!strcmp(op, "gap")) { /* h w c zp act_min act_max, input */
      const int32_t h = (int32_t)next_int(), w = (int32_t)next_int(), c = (int32_t)next_int();
      const int32_t zp = (int32_t)next_int(), lo = (int32_t)next_int(), hi = (int32_t)next_int();
      int8_t *in = read_i8s(NULL), *out = (int8_t *)malloc((size_t)c);
      tm2_gap_s8(in, h, w, c, zp, lo, hi, out);
      print_out(out, c);
      free(in); free(out);
    } else if (!strcmp(op, "add")) { /* a_zp b_zp out_zp left_shift am as bm bs om os act_min act_max, a, b */
      tm2_add_params p;
      int8_t *a, *b, *out;
      p.a_zp = (int32_t)next_int(); p.b_zp = (int32_t)next_int(); p.out_zp = (int32_t)next_int();
      p.left_shift = (int32_t)next_int();
      p.a_multiplier = (int32_t)next_int(); p.a_shift = (int32_t)next_int();
      p.b_multiplier = (int32_t)next_int(); p.b_shift = (int32_t)next_int();
      p.out_multiplier = (int32_t)next_int(); p.out_shift = (int32_t)next_int();
      p.act_min = (int32_t)next_int(); p.act_max = (int32_t)next_int();
      a = read_i8s(&p.size);
      b = read_i8s(NULL);
      out = (int8_t *)malloc((size_t)p.size);
      tm2_add_s8(&p, a, b, out);
      print_out(out, p.size);
      free(a); free(b); free(out);
    } else if (!strcmp(op, "mul")) { /* a_zp b_zp out_zp m s act_min act_max, a, b */
      tm2_mul_params p;
      int8_t *a, *b, *out;
      p.a_zp = (int32_t)next_int(); p.b_zp = (int32_t)next_int(); p.out_zp = (int32_t)next_int();
      p.multiplier = (int32_t)next_int(); p.shift = (int32_t)next_int();
      p.act_min = (int32_t)next_int(); p.act_max = (int32_t)next_int();
      a = read_i8s(&p.size);
      b = read_i8s(NULL);
      out = (int8_t *)malloc((size_t)p.size);
      tm2_mul_s8(&p, a, b, out);
      print_out(out, p.size);
      free(a); free(b); free(out);
    } else if (!strcmp(op, "lut")) { /* table(256), input */
      int32_t n;
      int8_t *table = read_i8s(NULL), *in = read_i8s(&n), *out = (int8_t *)malloc((size_t)n);
      tm2_lut_s8(in, out, n, table);
      print_out(out, n);
      free(table); free(in); free(out);
    } else if (!strcmp(op, "softmax")) { /* rows depth, exp_table(256), input */
      const int32_t rows = (int32_t)next_int(), depth = (int32_t)next_int();
      int32_t *t = read_i32s(NULL), i;
      uint32_t table[256];
      int8_t *in = read_i8s(NULL), *out = (int8_t *)malloc((size_t)(rows * depth));
      for (i = 0; i < 256; i++) table[i] = (uint32_t)t[i];
      tm2_softmax_s8(in, out, rows, depth, table);
      print_out(out, rows * depth);
      free(t); free(in); free(out);
    } else if (!strcmp(op, "argmax")) { /* input */
      int32_t n;
      int8_t *in = read_i8s(&n);
      printf("%ld\n", (long)tm2_argmax_s8(in, n));
      free(in);
    } else if (!strcmp(op, "pad")) { /* h w c top left bottom right value, input */
      int32_t a[8], i, n;
      int8_t *in, *out;
      for (i = 0; i < 8; i++) a[i] = (int32_t)next_int();
      in = read_i8s(NULL);
      n = (a[0] + a[3] + a[5]) * (a[1] + a[4] + a[6]) * a[2];
      out = (int8_t *)malloc((size_t)n);
      tm2_pad_s8(in, a[0], a[1], a[2], a[3], a[4], a[5], a[6], (int8_t)a[7], out);
      print_out(out, n);
      free(in); free(out);
    } else if (!strcmp(op, "permute")) { /* d0 d1 d2 p0 p1 p2, input */
      int32_t dims[3], perm[3], i, n;
      int8_t *in, *out;
      for (i = 0; i < 3; i++) dims[i] = (int32_t)next_int();
      for (i = 0; i < 3; i++) perm[i] = (int32_t)next_int();
      in = read_i8s(&n);
      out = (int8_t *)malloc((size_t)n);
      tm2_permute_s8(in, dims, perm, out);
      print_out(out, n);
      free(in); free(out);
    } else if (!strcmp(op, "concat")) { /* outer out_inner k, then k x (in_inner, input) */
      const int32_t outer = (int32_t)next_int(), out_inner = (int32_t)next_int(), k = (int32_t)next_int();
      int32_t j, offset = 0;
      int8_t *out = (int8_t *)malloc((size_t)(outer * out_inner));
      for (j = 0; j < k; j++) {
        const int32_t in_inner = (int32_t)next_int();
        int8_t *in = read_i8s(NULL);
        tm2_concat_copy_s8(in, outer, in_inner, out, out_inner, offset);
        offset += in_inner;
        free(in);
      }
      print_out(out, outer * out_inner);
      free(out);
    } else if (!strcmp(op, "slice")) { /* in_dims(3) start(3) step(3) out_dims(3), input */
      int32_t a[12], i, n;
      int8_t *in, *out;
      for (i = 0; i < 12; i++) a[i] = (int32_t)next_int();
      in = read_i8s(NULL);
      n = a[9] * a[10] * a[11];
      out = (int8_t *)malloc((size_t)(n > 0 ? n : 1));
      tm2_slice_s8(in, a, a + 3, a + 6, a + 9, out);
      print_out(out, n);
      free(in); free(out);
    } else if (!strcmp(op, "reduce_mean") || !strcmp(op, "reduce_max")) { /* h w c axes in_zp out_zp m s act_min act_max, input */
      tm2_reduce_params p;
      int32_t n;
      int8_t *in, *out;
      p.in_h = (int32_t)next_int(); p.in_w = (int32_t)next_int(); p.c = (int32_t)next_int();
      p.axes = (int32_t)next_int(); p.in_zp = (int32_t)next_int(); p.out_zp = (int32_t)next_int();
      p.multiplier = (int32_t)next_int(); p.shift = (int32_t)next_int();
      p.act_min = (int32_t)next_int(); p.act_max = (int32_t)next_int();
      in = read_i8s(NULL);
      n = (p.axes & 1 ? 1 : p.in_h) * (p.axes & 2 ? 1 : p.in_w) * (p.axes & 4 ? 1 : p.c);
      out = (int8_t *)malloc((size_t)n);
      (!strcmp(op, "reduce_mean") ? tm2_reduce_mean_s8 : tm2_reduce_max_s8)(&p, in, out);
      print_out(out, n);
      free(in); free(out);
    } else if (!strcmp(op, "resize_nearest") || !strcmp(op, "resize_bilinear")) {
      /* h w c out_h out_w zp act_min act_max, y0 y1 wy x0 x1 wx, input */
      tm2_resize_params p;
      int32_t *t[6], i, n;
      int8_t *in, *out;
      p.in_h = (int32_t)next_int(); p.in_w = (int32_t)next_int(); p.c = (int32_t)next_int();
      p.out_h = (int32_t)next_int(); p.out_w = (int32_t)next_int();
      p.zp = (int32_t)next_int(); p.act_min = (int32_t)next_int(); p.act_max = (int32_t)next_int();
      for (i = 0; i < 6; i++) t[i] = read_i32s(NULL);
      p.y0 = t[0]; p.y1 = t[1]; p.wy = t[2]; p.x0 = t[3]; p.x1 = t[4]; p.wx = t[5];
      in = read_i8s(NULL);
      n = p.out_h * p.out_w * p.c;
      out = (int8_t *)malloc((size_t)n);
      (!strcmp(op, "resize_nearest") ? tm2_resize_nearest_s8 : tm2_resize_bilinear_s8)(&p, in, out);
      print_out(out, n);
      for (i = 0; i < 6; i++) free(t[i]);
      free(in); free(out);
    } else if (!strcmp(op, "prelu")) { /* rows c in_zp out_zp pos_m pos_s act_min act_max, neg_m, neg_s, input */
      tm2_prelu_params p;
      int32_t *nm, *ns, n;
      int8_t *in, *out;
      p.rows = (int32_t)next_int(); p.c = (int32_t)next_int();
      p.in_zp = (int32_t)next_int(); p.out_zp = (int32_t)next_int();
      p.pos_multiplier = (int32_t)next_int(); p.pos_shift = (int32_t)next_int();
      p.act_min = (int32_t)next_int(); p.act_max = (int32_t)next_int();
      nm = read_i32s(NULL); ns = read_i32s(NULL);
      p.neg_multiplier = nm; p.neg_shift = ns;
      in = read_i8s(&n);
      out = (int8_t *)malloc((size_t)n);
      tm2_prelu_s8(&p, in, out);
      print_out(out, n);
      free(nm); free(ns); free(in); free(out);
    } else if (!strcmp(op, "log_softmax")) { /* rows depth d_scale m s out_zp act_min act_max, exp_table, log2_table, input */
      tm2_log_softmax_params p;
      int32_t *et, *lt, i, n;
      uint32_t exp_table[256];
      uint16_t log2_table[256];
      int8_t *in, *out;
      p.rows = (int32_t)next_int(); p.depth = (int32_t)next_int(); p.d_scale = (int32_t)next_int();
      p.multiplier = (int32_t)next_int(); p.shift = (int32_t)next_int();
      p.out_zp = (int32_t)next_int(); p.act_min = (int32_t)next_int(); p.act_max = (int32_t)next_int();
      et = read_i32s(NULL); lt = read_i32s(NULL);
      for (i = 0; i < 256; i++) { exp_table[i] = (uint32_t)et[i]; log2_table[i] = (uint16_t)lt[i]; }
      p.exp_table = exp_table; p.log2_table = log2_table;
      in = read_i8s(&n);
      out = (int8_t *)malloc((size_t)n);
      tm2_log_softmax_s8(&p, in, out);
      print_out(out, n);
      free(et); free(lt); free(in); free(out);
    } else {
      fprintf(stderr, "run_ops: unknown op %s\n", op);
      return 2;
    }
  }
  return 0;
}
