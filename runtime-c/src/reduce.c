/*
 * reduce.c - ReduceMean / ReduceMax over any subset of the axes of an [H][W][C] activation
 * (ARITHMETIC.md "Reduce"). The output keeps a reduced axis as extent 1.
 *   mean: acc = sum of (q - in_zp) over the n reduced values; out = clamp(out_zp + rq(acc, M, s)),
 *         real multiplier in_scale / (n * out_scale).
 *   max:  out = the maximum (in and out share scale and zero point).
 * Every reduction window is `positions` runs of `run` contiguous values (run = C when C is reduced,
 * else 1), `pos_stride` apart: reduced H and W merge into one strided loop because a reduced W
 * always spans the whole row.
 */
#include "tm2.h"

typedef struct {
  int32_t out_h, out_w, out_c; /* output extents */
  int32_t positions, pos_stride, run;
} window;

static window plan(const tm2_reduce_params *p) {
  window w;
  const int rh = p->axes & 1, rw = (p->axes >> 1) & 1, rc = (p->axes >> 2) & 1;
  w.out_h = rh ? 1 : p->in_h;
  w.out_w = rw ? 1 : p->in_w;
  w.out_c = rc ? 1 : p->c;
  w.run = rc ? p->c : 1;
  w.positions = (rh ? p->in_h : 1) * (rw ? p->in_w : 1);
  w.pos_stride = rw ? p->c : p->in_w * p->c; /* W reduced (alone or with H): consecutive pixels; H alone: rows */
  return w;
}

void tm2_reduce_mean_s8(const tm2_reduce_params *p, const int8_t *in, int8_t *out) {
  const window w = plan(p);
  const int32_t n = w.positions * w.run, bias = -p->in_zp * n;
  int32_t oy, ox, oc, i, j;
  for (oy = 0; oy < w.out_h; oy++)
    for (ox = 0; ox < w.out_w; ox++)
      for (oc = 0; oc < w.out_c; oc++) {
        const int8_t *x = in + (oy * p->in_w + ox) * p->c + oc;
        int32_t acc = bias; /* sum of (q - in_zp), exact */
        if (w.run == 1) {
          for (i = 0; i < w.positions; i++, x += w.pos_stride) acc += *x;
        } else {
          for (i = 0; i < w.positions; i++, x += w.pos_stride)
            for (j = 0; j < w.run; j++) acc += x[j];
        }
        *out++ = tm2_requant(acc, p->multiplier, p->shift, p->out_zp, p->act_min, p->act_max);
      }
}

void tm2_reduce_max_s8(const tm2_reduce_params *p, const int8_t *in, int8_t *out) {
  const window w = plan(p);
  int32_t oy, ox, oc, i, j;
  for (oy = 0; oy < w.out_h; oy++)
    for (ox = 0; ox < w.out_w; ox++)
      for (oc = 0; oc < w.out_c; oc++) {
        const int8_t *x = in + (oy * p->in_w + ox) * p->c + oc;
        int32_t m = -128;
        if (w.run == 1) {
          for (i = 0; i < w.positions; i++, x += w.pos_stride)
            if (*x > m) m = *x;
        } else {
          for (i = 0; i < w.positions; i++, x += w.pos_stride)
            for (j = 0; j < w.run; j++)
              if (x[j] > m) m = x[j];
        }
        *out++ = (int8_t)m;
      }
}
