/*
 * rnn_ref.c - reference LSTM and GRU (ARITHMETIC.md "Recurrent layers"): one unit, one gate, one
 * weight at a time, straight from the definition. The optimized kernels (lstm.c, gru.c) are tested
 * against these on random shapes, and both against the TypeScript emulator (compiler/kernels/rnn.ts).
 */
#include "rnn.h"

/* Weight of unit j, gate g, part (0 input, 1 recurrent), column k in the interleaved layout of tm2.h. */
static int32_t weight(const int8_t *w, int32_t s4, int32_t gates, int32_t ip, int32_t hp, int32_t j, int32_t g,
                      int32_t part, int32_t k) {
  const int32_t chunk = s4 ? TM2_RNN_CHUNK_S4 : TM2_RNN_CHUNK_S8;
  const int32_t i = j * gates * (ip + hp) + (part ? gates * ip : 0) + (k / chunk) * gates * chunk + g * chunk + k % chunk;
  return s4 ? tm2_s4_get(w, i) : w[i];
}

/* Sx and Sh of gate g of unit j: raw input values x[0..I) and recurrent values h[0..H) (h == NULL: all out_zp). */
static void sums(const tm2_rnn_params *p, const int8_t *w, int32_t s4, int32_t gates, const int8_t *x,
                 const int8_t *h, int32_t j, int32_t g, int32_t *sx, int32_t *sh) {
  const int32_t chunk = s4 ? TM2_RNN_CHUNK_S4 : TM2_RNN_CHUNK_S8;
  const int32_t ip = tm2_rnn_pad(p->in_size, chunk), hp = tm2_rnn_pad(p->hidden, chunk);
  int32_t k, a = 0, b = 0;
  for (k = 0; k < p->in_size; k++) a += x[k] * weight(w, s4, gates, ip, hp, j, g, 0, k);
  for (k = 0; k < p->hidden; k++) b += (h ? h[k] : p->out_zp) * weight(w, s4, gates, ip, hp, j, g, 1, k);
  *sx = a;
  *sh = b;
}

static int64_t mac64(int64_t bias, int32_t sx, int32_t mx, int32_t sh, int32_t mh) {
  return bias + (int64_t)sx * mx + (int64_t)sh * mh;
}

static void lstm(const tm2_rnn_params *p, const int8_t *in, const int8_t *w, int32_t s4, int8_t *out, void *scratch) {
  const int32_t H = p->hidden;
  int16_t *cell = (int16_t *)scratch;
  int8_t *h = (int8_t *)(cell + H); /* h_{t-1}: out may be overwritten in place (last_only) */
  int32_t t, j, g;
  for (j = 0; j < H; j++) cell[j] = 0;
  for (t = 0; t < p->steps; t++) {
    const int8_t *x = in + t * p->in_size;
    int8_t *y = out + (p->last_only ? 0 : t * H);
    for (j = 0; j < H && t; j++) h[j] = out[(p->last_only ? 0 : (t - 1) * H) + j];
    for (j = 0; j < H; j++) {
      int32_t pre[4], i_g, o_g, f_g, c_g, c, hq;
      for (g = 0; g < 4; g++) {
        int32_t sx, sh;
        sums(p, w, s4, 4, x, t ? h : 0, j, g, &sx, &sh);
        pre[g] = tm2_rnn_gate(mac64(p->gate_bias[j * 4 + g], sx, p->gate_multiplier[(j * 4 + g) * 2], sh,
                                    p->gate_multiplier[(j * 4 + g) * 2 + 1]),
                              p->gate_shift[j * 4 + g]);
      }
      i_g = tm2_sigmoid_q15(pre[0]);
      o_g = tm2_sigmoid_q15(pre[1]);
      f_g = tm2_sigmoid_q15(pre[2]);
      c_g = tm2_tanh_q15(pre[3]);
      c = tm2_sat16(tm2_rshr(f_g * cell[j], 15) + tm2_rshr(i_g * c_g, 30 - p->cell_frac));
      cell[j] = (int16_t)c;
      hq = o_g * tm2_tanh_q15(tm2_rnn_cell_q12(c, p->cell_frac)); /* Q0.30 */
      y[j] = tm2_requant(hq, p->out_multiplier, p->out_shift, p->out_zp, p->act_min, p->act_max);
    }
  }
}

static void gru(const tm2_rnn_params *p, const int8_t *in, const int8_t *w, int32_t s4, int8_t *out, void *scratch) {
  const int32_t H = p->hidden;
  int16_t *state = (int16_t *)scratch; /* h as Q0.15 */
  int8_t *hb = (int8_t *)(state + H);  /* h_{t-1} as int8 (see lstm()) */
  int32_t t, j;
  for (j = 0; j < H; j++) state[j] = 0;
  for (t = 0; t < p->steps; t++) {
    const int8_t *x = in + t * p->in_size, *h = t ? hb : 0;
    int8_t *y = out + (p->last_only ? 0 : t * H);
    for (j = 0; j < H && t; j++) hb[j] = out[(p->last_only ? 0 : (t - 1) * H) + j];
    for (j = 0; j < H; j++) {
      const int32_t *m = p->gate_multiplier + j * 6, *s = p->gate_shift + j * 3;
      const int64_t *b = p->gate_bias + j * 4;
      int32_t sx, sh, z, r, nx, nh, n, hn;
      sums(p, w, s4, 3, x, h, j, 0, &sx, &sh);
      z = tm2_sigmoid_q15(tm2_rnn_gate(mac64(b[0], sx, m[0], sh, m[1]), s[0]));
      sums(p, w, s4, 3, x, h, j, 1, &sx, &sh);
      r = tm2_sigmoid_q15(tm2_rnn_gate(mac64(b[1], sx, m[2], sh, m[3]), s[1]));
      sums(p, w, s4, 3, x, h, j, 2, &sx, &sh);
      nx = tm2_rnn_gate(mac64(b[2], sx, m[4], 0, 0), s[2]);
      nh = tm2_rnn_gate(mac64(b[3], 0, 0, sh, m[5]), s[2]);
      n = tm2_tanh_q15(tm2_sat16(nx + tm2_rshr(r * nh, 15)));
      hn = tm2_sat16(n + tm2_rshr(z * (state[j] - n), 15));
      state[j] = (int16_t)hn;
      y[j] = tm2_requant(hn, p->out_multiplier, p->out_shift, p->out_zp, p->act_min, p->act_max);
    }
  }
}

void tm2_ref_lstm_s8(const tm2_rnn_params *p, const int8_t *in, const int8_t *w, int8_t *out, void *scratch) {
  lstm(p, in, w, 0, out, scratch);
}
void tm2_ref_lstm_s4(const tm2_rnn_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out, void *scratch) {
  lstm(p, in, w_packed, 1, out, scratch);
}
void tm2_ref_gru_s8(const tm2_rnn_params *p, const int8_t *in, const int8_t *w, int8_t *out, void *scratch) {
  gru(p, in, w, 0, out, scratch);
}
void tm2_ref_gru_s4(const tm2_rnn_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out, void *scratch) {
  gru(p, in, w_packed, 1, out, scratch);
}
