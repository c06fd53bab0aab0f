/*
 * tm2_dynafuse.c - DynaFuse run-time modality weighting (see tm2_dynafuse.h).
 * Integer only; every rounding is spelled out because compiler/dynafuse/runtime.ts repeats it bit for bit.
 */
#include "tm2_dynafuse.h"

#include <stddef.h>

int32_t tm2_dynafuse_pwl_eval(const tm2_dynafuse_pwl *f, int32_t x) {
  int32_t j;
  if (f->n == 0) return 0;
  if (x <= f->x[0]) return f->y[0];
  if (x >= f->x[f->n - 1]) return f->y[f->n - 1];
  /* Largest j with x[j] <= x; j < n - 1 here. */
  for (j = 0; j + 1 < (int32_t)f->n && f->x[j + 1] <= x; j++) {
  }
  {
    const int64_t dy = (int64_t)f->y[j + 1] - f->y[j];
    const int64_t dx = (int64_t)x - f->x[j];
    const int64_t span = (int64_t)f->x[j + 1] - f->x[j];
    /* C99 division truncates toward zero. */
    return (int32_t)(f->y[j] + (dy * dx) / span);
  }
}

/* Lower median of `count` histogram entries: the smallest bin b with more than (count - 1) / 2 entries below or at b. */
static int32_t histogram_median(const uint16_t hist[256], int32_t count) {
  const int32_t rank = (count - 1) / 2;
  int32_t b, seen = 0;
  for (b = 0; b < 256; b++) {
    seen += hist[b];
    if (seen > rank) return b;
  }
  return 255;
}

/* Channel estimate (Q12) from the channel's median |first difference|: round(mad * mult / 2^16). */
static uint32_t channel_estimate(uint32_t mad, uint32_t mult_q16) {
  return (uint32_t)(((uint64_t)mad * mult_q16 + 32768u) >> 16);
}

static int32_t estimate_to_sigma(const tm2_dynafuse_modality *m, uint64_t sum, int32_t channels) {
  const int32_t est = (int32_t)(sum / (uint64_t)channels);
  return m->est_to_sigma.n ? tm2_dynafuse_pwl_eval(&m->est_to_sigma, est) : est;
}

int32_t tm2_dynafuse_noise_s8(const tm2_dynafuse_modality *m, const int8_t *window) {
  const int32_t C = m->channels, T = m->samples;
  uint16_t hist[256];
  uint64_t sum = 0;
  int32_t c, t, b;
  if (C == 0 || T < 2) return 0;
  for (c = 0; c < C; c++) {
    for (b = 0; b < 256; b++) hist[b] = 0;
    for (t = 1; t < T; t++) {
      int32_t d = (int32_t)window[t * C + c] - window[(t - 1) * C + c];
      if (d < 0) d = -d;
      hist[d > 255 ? 255 : d]++; /* |d| <= 255 for int8 */
    }
    sum += channel_estimate((uint32_t)histogram_median(hist, T - 1), m->est_mult_q16[c]);
  }
  return estimate_to_sigma(m, sum, C);
}

int32_t tm2_dynafuse_noise_s16(const tm2_dynafuse_modality *m, const int16_t *window) {
  const int32_t C = m->channels, T = m->samples;
  uint16_t hist[256];
  uint64_t sum = 0;
  int32_t c, t, b;
  if (C == 0 || T < 2) return 0;
  for (c = 0; c < C; c++) {
    for (b = 0; b < 256; b++) hist[b] = 0;
    for (t = 1; t < T; t++) {
      int32_t d = (int32_t)window[t * C + c] - window[(t - 1) * C + c];
      if (d < 0) d = -d;
      d >>= m->diff_shift;
      hist[d > 255 ? 255 : d]++;
    }
    sum += channel_estimate((uint32_t)histogram_median(hist, T - 1), m->est_mult_q16[c]);
  }
  return estimate_to_sigma(m, sum, C);
}

/*
 * Q15 shares of `value` over the modalities in `mask`, summing to exactly 32768 (largest remainder):
 * w = floor(v * 32768 / sum); the 32768 - sum(w) units left go one each to the largest remainders
 * (v * 32768 mod sum), ties to the lower index. All-zero values share equally.
 */
static void q15_shares(int32_t n, const int32_t *value, uint32_t mask, int32_t *w) {
  uint64_t sum = 0, rem[TM2_DYNAFUSE_MAX_MODALITIES];
  uint32_t bumped = 0;
  int32_t i, left = TM2_DYNAFUSE_Q15_ONE, any_positive = 0;
  for (i = 0; i < n; i++)
    if ((mask >> i) & 1u && value[i] > 0) any_positive = 1;
  for (i = 0; i < n; i++)
    if ((mask >> i) & 1u) sum += any_positive ? (uint64_t)value[i] : 1u;
  for (i = 0; i < n; i++) {
    w[i] = 0;
    rem[i] = 0;
    if ((mask >> i) & 1u) {
      const uint64_t num = (any_positive ? (uint64_t)value[i] : 1u) * TM2_DYNAFUSE_Q15_ONE;
      w[i] = (int32_t)(num / sum);
      rem[i] = num % sum;
      left -= w[i];
    }
  }
  while (left > 0) {
    int32_t best = -1;
    for (i = 0; i < n; i++)
      if ((mask >> i) & 1u && !((bumped >> i) & 1u) && (best < 0 || rem[i] > rem[best])) best = i;
    w[best]++;
    bumped |= 1u << best;
    left--;
  }
}

static uint8_t choose_mode(const tm2_dynafuse_model *model, const tm2_dynafuse_request *req) {
  if (req->forced_mode >= 0 && req->forced_mode <= 2) return (uint8_t)req->forced_mode;
  if (req->battery_pct >= 0) {
    if (req->battery_pct < model->battery_energy_saving_below) return TM2_DYNAFUSE_ENERGY_SAVING;
    if (req->battery_pct < model->battery_nominal_below) return TM2_DYNAFUSE_NOMINAL;
    return TM2_DYNAFUSE_HIGH_ACCURACY;
  }
  return model->default_mode;
}

void tm2_dynafuse_decide(const tm2_dynafuse_model *model, const tm2_dynafuse_request *req, tm2_dynafuse_decision *out) {
  const int32_t n = model->n_modalities;
  int32_t i, best_ideal = 0, threshold, k, n_candidates = 0;
  uint32_t candidates = 0, all = 0;

  out->mode = choose_mode(model, req);
  for (i = 0; i < n; i++) {
    const tm2_dynafuse_modality *m = &model->modalities[i];
    int32_t acc = tm2_dynafuse_pwl_eval(&m->resilience, req->sigma_q12[i] < 0 ? 0 : req->sigma_q12[i]);
    out->acc_q15[i] = acc < 0 ? 0 : acc > TM2_DYNAFUSE_Q15_ONE ? TM2_DYNAFUSE_Q15_ONE : acc;
    if (m->resilience.n && m->resilience.y[0] > best_ideal) best_ideal = m->resilience.y[0];
    all |= 1u << i;
  }
  q15_shares(n, out->acc_q15, all, out->w_init_q15);

  /* Candidates: estimated accuracy >= threshold x the best noise-free accuracy (rounded Q15 product). */
  threshold = (int32_t)(((int64_t)model->threshold_q15 * best_ideal + 16384) >> 15);
  for (i = 0; i < n; i++)
    if (out->acc_q15[i] >= threshold) {
      candidates |= 1u << i;
      n_candidates++;
    }
  if (n_candidates == 0 && n > 0) {
    int32_t best = 0;
    for (i = 1; i < n; i++)
      if (out->acc_q15[i] > out->acc_q15[best]) best = i;
    candidates = 1u << best;
    n_candidates = 1;
  }

  k = out->mode == TM2_DYNAFUSE_HIGH_ACCURACY ? n : out->mode == TM2_DYNAFUSE_NOMINAL ? n / 2 : 1;
  if (k < 1) k = 1;
  if (k > n_candidates) k = n_candidates;

  /* The k cheapest candidates: lowest energy, then higher accuracy, then lower index. */
  out->mask = 0;
  for (; k > 0; k--) {
    int32_t best = -1;
    for (i = 0; i < n; i++) {
      const tm2_dynafuse_modality *m = &model->modalities[i];
      if (!((candidates >> i) & 1u) || ((out->mask >> i) & 1u)) continue;
      if (best < 0 || m->energy_nj < model->modalities[best].energy_nj ||
          (m->energy_nj == model->modalities[best].energy_nj && out->acc_q15[i] > out->acc_q15[best]))
        best = i;
    }
    out->mask |= 1u << best;
  }

  out->use_fused = (uint8_t)(model->all_selected_rule == TM2_DYNAFUSE_ALL_FUSED_HEAD && model->fused_exp_table != NULL && n > 0 &&
                             out->mask == all);
  q15_shares(n, out->acc_q15, out->mask, out->weight_q15);
  out->energy_nj = out->use_fused ? model->fused_energy_nj : 0u;
  for (i = 0; i < n; i++)
    if ((out->mask >> i) & 1u) out->energy_nj += model->modalities[i].energy_nj;
}

/* acc[c] += weight x the head's Q15 softmax: p = (e * 32768 + sum / 2) / sum, e = exp_table[max - q]. */
static void add_head(int32_t classes, const int8_t *logits, const uint32_t *exp_table, int32_t weight, int32_t *acc) {
  int32_t c, max = -128;
  uint64_t sum = 0;
  for (c = 0; c < classes; c++)
    if (logits[c] > max) max = logits[c];
  for (c = 0; c < classes; c++) sum += exp_table[max - logits[c]];
  for (c = 0; c < classes; c++) {
    const uint64_t p = ((uint64_t)exp_table[max - logits[c]] * TM2_DYNAFUSE_Q15_ONE + sum / 2u) / sum;
    acc[c] += weight * (int32_t)p;
  }
}

int32_t tm2_dynafuse_fuse(const tm2_dynafuse_model *model, const tm2_dynafuse_decision *d,
                          const int8_t *const *heads, const int8_t *fused, int32_t *probs_q15) {
  const int32_t classes = model->n_classes;
  int32_t c, i, best = 0;
  for (c = 0; c < classes; c++) probs_q15[c] = 0;
  if (d->use_fused) {
    add_head(classes, fused, model->fused_exp_table, TM2_DYNAFUSE_Q15_ONE, probs_q15);
  } else {
    for (i = 0; i < model->n_modalities; i++)
      if (((d->mask >> i) & 1u) && d->weight_q15[i] > 0)
        add_head(classes, heads[i], model->modalities[i].exp_table, d->weight_q15[i], probs_q15);
  }
  /* The weighted sum is at most 2^30 (weights sum to 2^15, each p <= 2^15). */
  for (c = 1; c < classes; c++)
    if (probs_q15[c] > probs_q15[best]) best = c;
  for (c = 0; c < classes; c++) probs_q15[c] = (probs_q15[c] + 16384) >> 15;
  return best;
}
