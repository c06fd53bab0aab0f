/*
 * lstm.c - optimized LSTM over a sequence (ARITHMETIC.md "Recurrent layers"; reference: rnn_ref.c).
 *
 * Per step: the column (x_t, then h_{t-1}, as int16 pairs) is built once; per unit, rnn_mm.c's core
 * gives the 4 gates' input and recurrent sums in one pass over the unit's interleaved weights, then the
 * gate arithmetic runs on those registers: two SMLAL into the 64-bit constant, one shift of the high
 * word, the table sigmoid/tanh, the 16-bit cell update and the output stage. Scratch: the column and
 * the cell state (tm2_lstm_scratch_size).
 */
#include "rnn.h"
#include "tm2_simd.h"

static int32_t chunk_of(int32_t s4) { return s4 ? TM2_RNN_CHUNK_S4 : TM2_RNN_CHUNK_S8; }

size_t tm2_lstm_scratch_size(const tm2_rnn_params *p) {
  /* the larger (INT4) padding serves both variants */
  return (size_t)(tm2_rnn_pad(p->in_size, 8) + tm2_rnn_pad(p->hidden, 8)) * 2 + (size_t)tm2_rnn_pad(p->hidden, 2) * 2;
}

static void run(const tm2_rnn_params *p, const int8_t *in, const int8_t *w, int32_t s4, int8_t *out, void *scratch) {
  const int32_t H = p->hidden, I = p->in_size, chunk = chunk_of(s4);
  const int32_t ip = tm2_rnn_pad(I, chunk), hp = tm2_rnn_pad(H, chunk), cf = p->cell_frac;
  uint32_t *col = (uint32_t *)scratch, *hcol = col + ip / 2;
  int16_t *cell = (int16_t *)(col + (tm2_rnn_pad(I, 8) + tm2_rnn_pad(H, 8)) / 2);
  int32_t t, j;
  for (j = 0; j < H; j++) cell[j] = 0;
  for (t = 0; t < p->steps; t++) {
    const int8_t *wp = w;
    int8_t *y = out + (p->last_only ? 0 : t * H); /* last_only: every step writes the same H bytes */
    tm2_rnn_fill_col(col, in + t * I, I, ip, s4);
    if (t) tm2_rnn_fill_col(hcol, out + (p->last_only ? 0 : (t - 1) * H), H, hp, s4); /* h_{t-1} read once, here */
    else {
      /* h_{-1} = 0 (real): out_zp everywhere (the gate constants fold -out_zp * sum(w)); padded
       * positions meet zero weights, so the whole column may hold it. */
      const uint32_t z = tm2_pack16(p->out_zp, p->out_zp);
      int32_t k;
      for (k = 0; k < hp / 2; k++) hcol[k] = z;
    }
    for (j = 0; j < H; j++) {
      const int64_t *b = p->gate_bias + j * 4;
      const int32_t *m = p->gate_multiplier + j * 8, *s = p->gate_shift + j * 4;
      int32_t sx[4], sh[4], i_g, o_g, f_g, c_g, c;
      if (s4) tm2_rnn_dot_s4(&wp, col, ip / chunk, hp / chunk, 4, sx, sh);
      else tm2_rnn_dot_s8(&wp, col, ip / chunk, hp / chunk, 4, sx, sh);
      i_g = tm2_rnn_interp(tm2_sigmoid_table, tm2_rnn_gate(b[0] + (int64_t)sx[0] * m[0] + (int64_t)sh[0] * m[1], s[0]));
      o_g = tm2_rnn_interp(tm2_sigmoid_table, tm2_rnn_gate(b[1] + (int64_t)sx[1] * m[2] + (int64_t)sh[1] * m[3], s[1]));
      f_g = tm2_rnn_interp(tm2_sigmoid_table, tm2_rnn_gate(b[2] + (int64_t)sx[2] * m[4] + (int64_t)sh[2] * m[5], s[2]));
      c_g = tm2_rnn_interp(tm2_tanh_table, tm2_rnn_gate(b[3] + (int64_t)sx[3] * m[6] + (int64_t)sh[3] * m[7], s[3]));
      c = tm2_sat16(tm2_rshr(f_g * cell[j], 15) + tm2_rshr(i_g * c_g, 30 - cf));
      cell[j] = (int16_t)c;
      y[j] = tm2_requant(o_g * tm2_rnn_interp(tm2_tanh_table, tm2_rnn_cell_q12(c, cf)), p->out_multiplier,
                         p->out_shift, p->out_zp, p->act_min, p->act_max);
    }
  }
}

void tm2_lstm_s8(const tm2_rnn_params *p, const int8_t *in, const int8_t *w, int8_t *out, void *scratch) {
  run(p, in, w, 0, out, scratch);
}
void tm2_lstm_s4(const tm2_rnn_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out, void *scratch) {
  run(p, in, w_packed, 1, out, scratch);
}
