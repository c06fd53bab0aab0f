/*
 * gru.c - optimized GRU over a sequence (ONNX linear_before_reset = 1, PyTorch's GRU; ARITHMETIC.md
 * "Recurrent layers"; reference: rnn_ref.c). Same data flow as lstm.c with 3 interleaved gates per
 * unit; the hidden state is kept as Q0.15 int16 in the scratch (the int8 output h_t is what the next
 * step's matrix product reads, the 16-bit state what z * h_{t-1} uses).
 */
#include "rnn.h"
#include "tm2_simd.h"

size_t tm2_gru_scratch_size(const tm2_rnn_params *p) {
  return (size_t)(tm2_rnn_pad(p->in_size, 8) + tm2_rnn_pad(p->hidden, 8)) * 2 + (size_t)tm2_rnn_pad(p->hidden, 2) * 2;
}

static void run(const tm2_rnn_params *p, const int8_t *in, const int8_t *w, int32_t s4, int8_t *out, void *scratch) {
  const int32_t H = p->hidden, I = p->in_size, chunk = s4 ? TM2_RNN_CHUNK_S4 : TM2_RNN_CHUNK_S8;
  const int32_t ip = tm2_rnn_pad(I, chunk), hp = tm2_rnn_pad(H, chunk);
  uint32_t *col = (uint32_t *)scratch, *hcol = col + ip / 2;
  int16_t *state = (int16_t *)(col + (tm2_rnn_pad(I, 8) + tm2_rnn_pad(H, 8)) / 2);
  int32_t t, j;
  for (j = 0; j < H; j++) state[j] = 0;
  for (t = 0; t < p->steps; t++) {
    const int8_t *wp = w;
    int8_t *y = out + (p->last_only ? 0 : t * H); /* last_only: every step writes the same H bytes */
    tm2_rnn_fill_col(col, in + t * I, I, ip, s4);
    if (t) tm2_rnn_fill_col(hcol, out + (p->last_only ? 0 : (t - 1) * H), H, hp, s4); /* h_{t-1} read once, here */
    else {
      const uint32_t z = tm2_pack16(p->out_zp, p->out_zp); /* h_{-1} = 0: out_zp (see lstm.c) */
      int32_t k;
      for (k = 0; k < hp / 2; k++) hcol[k] = z;
    }
    for (j = 0; j < H; j++) {
      const int64_t *b = p->gate_bias + j * 4;
      const int32_t *m = p->gate_multiplier + j * 6, *s = p->gate_shift + j * 3;
      int32_t sx[4], sh[4], z, r, nx, nh, n, hn;
      if (s4) tm2_rnn_dot_s4(&wp, col, ip / chunk, hp / chunk, 3, sx, sh);
      else tm2_rnn_dot_s8(&wp, col, ip / chunk, hp / chunk, 3, sx, sh);
      z = tm2_rnn_interp(tm2_sigmoid_table, tm2_rnn_gate(b[0] + (int64_t)sx[0] * m[0] + (int64_t)sh[0] * m[1], s[0]));
      r = tm2_rnn_interp(tm2_sigmoid_table, tm2_rnn_gate(b[1] + (int64_t)sx[1] * m[2] + (int64_t)sh[1] * m[3], s[1]));
      nx = tm2_rnn_gate(b[2] + (int64_t)sx[2] * m[4], s[2]);
      nh = tm2_rnn_gate(b[3] + (int64_t)sh[2] * m[5], s[2]);
      n = tm2_rnn_interp(tm2_tanh_table, tm2_sat16(nx + tm2_rshr(r * nh, 15)));
      hn = tm2_sat16(n + tm2_rshr(z * (state[j] - n), 15));
      state[j] = (int16_t)hn;
      y[j] = tm2_requant(hn, p->out_multiplier, p->out_shift, p->out_zp, p->act_min, p->act_max);
    }
  }
}

void tm2_gru_s8(const tm2_rnn_params *p, const int8_t *in, const int8_t *w, int8_t *out, void *scratch) {
  run(p, in, w, 0, out, scratch);
}
void tm2_gru_s4(const tm2_rnn_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out, void *scratch) {
  run(p, in, w_packed, 1, out, scratch);
}
