/*
 * reduce.c - ReduceMean / ReduceMax over any subset of the axes of an [H][W][C] activation
 * (ARITHMETIC.md "Reduce"). The output keeps a reduced axis as extent 1.
 *   mean: acc = sum of (q - in_zp) over the n reduced values; out = clamp(out_zp + rq(acc, M, s)),
 *         real multiplier in_scale / (n * out_scale).
 *   max:  out = the maximum (in and out share scale and zero point).
 */
#include "tm2.h"

/* Extents of the output and of the reduction window per axis. */
static void extents(const tm2_reduce_params *p, int32_t out_ext[3], int32_t win[3]) {
  const int32_t dims[3] = {p->in_h, p->in_w, p->c};
  int32_t a;
  for (a = 0; a < 3; a++) {
    const int reduced = (p->axes >> a) & 1;
    out_ext[a] = reduced ? 1 : dims[a];
    win[a] = reduced ? dims[a] : 1;
  }
}

void tm2_reduce_mean_s8(const tm2_reduce_params *p, const int8_t *in, int8_t *out) {
  int32_t oe[3], wn[3], o0, o1, o2, w0, w1, w2;
  const int32_t sh = p->in_w * p->c, sw = p->c;
  extents(p, oe, wn);
  {
    const int32_t n = wn[0] * wn[1] * wn[2];
    for (o0 = 0; o0 < oe[0]; o0++)
      for (o1 = 0; o1 < oe[1]; o1++)
        for (o2 = 0; o2 < oe[2]; o2++) {
          const int8_t *base = in + o0 * sh + o1 * sw + o2;
          int32_t acc = 0;
          for (w0 = 0; w0 < wn[0]; w0++)
            for (w1 = 0; w1 < wn[1]; w1++) {
              const int8_t *x = base + w0 * sh + w1 * sw;
              for (w2 = 0; w2 < wn[2]; w2++) acc += x[w2];
            }
          acc -= p->in_zp * n; /* sum of (q - in_zp), exact */
          *out++ = tm2_requant(acc, p->multiplier, p->shift, p->out_zp, p->act_min, p->act_max);
        }
  }
}

void tm2_reduce_max_s8(const tm2_reduce_params *p, const int8_t *in, int8_t *out) {
  int32_t oe[3], wn[3], o0, o1, o2, w0, w1, w2;
  const int32_t sh = p->in_w * p->c, sw = p->c;
  extents(p, oe, wn);
  for (o0 = 0; o0 < oe[0]; o0++)
    for (o1 = 0; o1 < oe[1]; o1++)
      for (o2 = 0; o2 < oe[2]; o2++) {
        const int8_t *base = in + o0 * sh + o1 * sw + o2;
        int32_t m = -128;
        for (w0 = 0; w0 < wn[0]; w0++)
          for (w1 = 0; w1 < wn[1]; w1++) {
            const int8_t *x = base + w0 * sh + w1 * sw;
            for (w2 = 0; w2 < wn[2]; w2++)
              if (x[w2] > m) m = x[w2];
          }
        *out++ = (int8_t)m;
      }
}
