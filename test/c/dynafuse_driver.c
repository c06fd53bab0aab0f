/*
 * dynafuse_driver.c - reads DynaFuse models and states from stdin, prints every field the C routine
 * computes, one line per state; test/dynafuse-runtime.test.ts compares them with the TypeScript twin.
 *
 * Input (whitespace-separated integers), repeated until EOF:
 *   M n classes threshold_q15 default_mode batt_es batt_nom has_fused fused_energy [fused_exp x256]
 *   per modality: channels samples diff_shift bits energy n_est est_x.. est_y.. n_res res_x.. res_y..
 *                 est_mult[channels] exp[256]
 *   S count, then per state: per modality (given sigma | 0 window[channels*samples]),
 *                 battery forced, heads[n][classes], fused[classes] if has_fused
 * Output per state: sigma[n] mode mask use_fused acc[n] w_init[n] weight[n] energy probs[classes] argmax
 */
#include <stdio.h>
#include <stdlib.h>

#include "tm2_dynafuse.h"

#define MAX_M TM2_DYNAFUSE_MAX_MODALITIES
#define MAX_CH 16
#define MAX_T 256
#define MAX_KNOTS 32
#define MAX_CLASSES 64

static long next(void) {
  long v;
  if (scanf("%ld", &v) != 1) {
    fprintf(stderr, "dynafuse_driver: truncated input\n");
    exit(2);
  }
  return v;
}

static int32_t est_x[MAX_M][MAX_KNOTS], est_y[MAX_M][MAX_KNOTS], res_x[MAX_M][MAX_KNOTS], res_y[MAX_M][MAX_KNOTS];
static uint32_t est_mult[MAX_M][MAX_CH], exp_tables[MAX_M][256], fused_exp[256];
static int bits[MAX_M];
static tm2_dynafuse_modality modalities[MAX_M];
static int8_t win8[MAX_CH * MAX_T], heads_buf[MAX_M][MAX_CLASSES], fused_buf[MAX_CLASSES];
static int16_t win16[MAX_CH * MAX_T];

static void read_pwl(tm2_dynafuse_pwl *f, int32_t *x, int32_t *y) {
  int k;
  f->n = (uint8_t)next();
  for (k = 0; k < f->n; k++) x[k] = (int32_t)next();
  for (k = 0; k < f->n; k++) y[k] = (int32_t)next();
  f->x = x;
  f->y = y;
}

int main(void) {
  char tag[2];
  while (scanf("%1s", tag) == 1) {
    tm2_dynafuse_model model;
    const int8_t *heads[MAX_M];
    int i, k, s, states, has_fused;
    if (tag[0] != 'M') return 2;
    model.n_modalities = (uint8_t)next();
    model.n_classes = (uint16_t)next();
    model.threshold_q15 = (int32_t)next();
    model.default_mode = (uint8_t)next();
    model.battery_energy_saving_below = (uint8_t)next();
    model.battery_nominal_below = (uint8_t)next();
    has_fused = (int)next();
    model.fused_energy_nj = (uint32_t)next();
    model.all_selected_rule = (uint8_t)next();
    model.fused_exp_table = NULL;
    if (has_fused) {
      for (k = 0; k < 256; k++) fused_exp[k] = (uint32_t)next();
      model.fused_exp_table = fused_exp;
    }
    for (i = 0; i < model.n_modalities; i++) {
      tm2_dynafuse_modality *m = &modalities[i];
      m->name = "m";
      m->channels = (uint16_t)next();
      m->samples = (uint16_t)next();
      m->diff_shift = (uint8_t)next();
      bits[i] = (int)next();
      m->energy_nj = (uint32_t)next();
      read_pwl(&m->est_to_sigma, est_x[i], est_y[i]);
      read_pwl(&m->resilience, res_x[i], res_y[i]);
      for (k = 0; k < m->channels; k++) est_mult[i][k] = (uint32_t)next();
      m->est_mult_q16 = est_mult[i];
      for (k = 0; k < 256; k++) exp_tables[i][k] = (uint32_t)next();
      m->exp_table = exp_tables[i];
      heads[i] = heads_buf[i];
    }
    model.modalities = modalities;
    if (scanf("%1s", tag) != 1 || tag[0] != 'S') return 2;
    states = (int)next();
    for (s = 0; s < states; s++) {
      tm2_dynafuse_request req;
      tm2_dynafuse_decision d;
      int32_t probs[MAX_CLASSES], argmax;
      for (i = 0; i < model.n_modalities; i++) {
        const tm2_dynafuse_modality *m = &modalities[i];
        if (next()) {
          req.sigma_q12[i] = (int32_t)next();
          continue;
        }
        for (k = 0; k < m->channels * m->samples; k++) {
          if (bits[i] == 8) win8[k] = (int8_t)next();
          else win16[k] = (int16_t)next();
        }
        req.sigma_q12[i] = bits[i] == 8 ? tm2_dynafuse_noise_s8(m, win8) : tm2_dynafuse_noise_s16(m, win16);
      }
      req.battery_pct = (int32_t)next();
      req.forced_mode = (int32_t)next();
      for (i = 0; i < model.n_modalities; i++)
        for (k = 0; k < model.n_classes; k++) heads_buf[i][k] = (int8_t)next();
      if (has_fused)
        for (k = 0; k < model.n_classes; k++) fused_buf[k] = (int8_t)next();
      tm2_dynafuse_decide(&model, &req, &d);
      argmax = tm2_dynafuse_fuse(&model, &d, heads, fused_buf, probs);
      for (i = 0; i < model.n_modalities; i++) printf("%ld ", (long)req.sigma_q12[i]);
      printf("%d %lu %d", d.mode, (unsigned long)d.mask, d.use_fused);
      for (i = 0; i < model.n_modalities; i++) printf(" %ld", (long)d.acc_q15[i]);
      for (i = 0; i < model.n_modalities; i++) printf(" %ld", (long)d.w_init_q15[i]);
      for (i = 0; i < model.n_modalities; i++) printf(" %ld", (long)d.weight_q15[i]);
      printf(" %lu", (unsigned long)d.energy_nj);
      for (k = 0; k < model.n_classes; k++) printf(" %ld", (long)probs[k]);
      printf(" %ld\n", (long)argmax);
    }
  }
  return 0;
}
