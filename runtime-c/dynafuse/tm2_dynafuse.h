/*
 * tm2_dynafuse.h - DynaFuse run-time modality weighting: C99, fixed point, no float, no malloc.
 *
 * Per inference window:
 *   1. tm2_dynafuse_noise_s8 / _s16: noise level of each modality's raw input window (sigma, Q12,
 *      4096 = one standard deviation of that channel over the calibration set), or the application
 *      passes its own noise levels.
 *   2. tm2_dynafuse_decide: estimated accuracy of every modality head from its resilience table,
 *      the mode (forced, from the battery, or the default), the candidate modalities, the branches
 *      to run (mask) and the Q15 fusion weights. Call it BEFORE running any branch: skipped
 *      branches need not be computed.
 *   3. tm2_dynafuse_fuse: class probabilities (Q15) of the selected heads' int8 logits, their
 *      weighted sum, argmax.
 * The TypeScript twin compiler/dynafuse/runtime.ts does the same integer arithmetic, bit for bit.
 *
 * Number formats: sigma Q12 (int32), accuracy Q15 (0..32768), weights Q15 summing to exactly
 * 32768 over the selected modalities, energy in nanojoules (uint32).
 */
#ifndef TM2_DYNAFUSE_H
#define TM2_DYNAFUSE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TM2_DYNAFUSE_MAX_MODALITIES 16
#define TM2_DYNAFUSE_Q15_ONE 32768
#define TM2_DYNAFUSE_SIGMA_ONE 4096

typedef enum {
  TM2_DYNAFUSE_HIGH_ACCURACY = 0, /* k = N modalities */
  TM2_DYNAFUSE_NOMINAL = 1,       /* k = N / 2 (at least 1) */
  TM2_DYNAFUSE_ENERGY_SAVING = 2  /* k = 1 */
} tm2_dynafuse_mode;

typedef enum {
  TM2_DYNAFUSE_ALL_DYNAMIC_WEIGHTS = 0,
  TM2_DYNAFUSE_ALL_FUSED_HEAD = 1
} tm2_dynafuse_all_selected_rule;

/** A piecewise-linear function through n knots (x strictly increasing); flat outside [x0, x(n-1)]. */
typedef struct {
  uint8_t n;
  const int32_t *x;
  const int32_t *y;
} tm2_dynafuse_pwl;

/** Everything the compiler measured about one modality (generated const tables). */
typedef struct {
  const char *name;
  /* Raw input window, channels-last: window[t * channels + c], t < samples. */
  uint16_t channels;
  uint16_t samples;
  /* int16 windows only: |first difference| >> diff_shift goes into the 256-bin histogram. */
  uint8_t diff_shift;
  /* Per channel: median |first difference| (histogram bins) -> sigma estimate, Q16 multiplier (Q12 result). */
  const uint32_t *est_mult_q16;
  /* Channel-mean estimate (Q12) -> noise sigma (Q12), fitted on injected noise at compile time. */
  tm2_dynafuse_pwl est_to_sigma;
  /* Noise sigma (Q12) -> head accuracy (Q15): the resilience table; y[0] is the ideal accuracy. */
  tm2_dynafuse_pwl resilience;
  /* Sensing + compute energy of one window of this modality, nanojoules. */
  uint32_t energy_nj;
  /* round(65536 * exp(-k * scale of the head's int8 logits)), k = 0..255 (as the runtime-c softmax). */
  const uint32_t *exp_table;
} tm2_dynafuse_modality;

typedef struct {
  uint8_t n_modalities;
  uint16_t n_classes;
  const tm2_dynafuse_modality *modalities;
  /* Candidates: estimated accuracy >= threshold x best ideal accuracy (Q15, 0.8 -> 26214). */
  int32_t threshold_q15;
  uint8_t default_mode;
  /* Battery percentage below which the mode is energy saving / nominal. */
  uint8_t battery_energy_saving_below;
  uint8_t battery_nominal_below;
  /* Fused head (may be NULL): used when every modality is selected and all_selected_rule says so. */
  const uint32_t *fused_exp_table;
  /* Extra energy of the fused head on top of the branches, nanojoules. */
  uint32_t fused_energy_nj;
  /* When every modality is selected: TM2_DYNAFUSE_ALL_DYNAMIC_WEIGHTS (the paper: k = N heads with run-time
     weights) or TM2_DYNAFUSE_ALL_FUSED_HEAD (the fused head decides, if the model has one). */
  uint8_t all_selected_rule;
} tm2_dynafuse_model;

typedef struct {
  /* Noise sigma of each modality, Q12 (from tm2_dynafuse_noise_* or the application). */
  int32_t sigma_q12[TM2_DYNAFUSE_MAX_MODALITIES];
  /* Battery state in percent (0..100), or -1 if unknown. */
  int32_t battery_pct;
  /* A tm2_dynafuse_mode to force, or -1. */
  int32_t forced_mode;
} tm2_dynafuse_request;

typedef struct {
  uint8_t mode;
  /* Bit i set: run modality i's branch. */
  uint32_t mask;
  /* 1: the fused head's output decides (every modality selected, the model has one, and the rule is ALL_FUSED_HEAD). */
  uint8_t use_fused;
  int32_t acc_q15[TM2_DYNAFUSE_MAX_MODALITIES];
  /* acc / sum acc over every modality (Q15, sums to 32768). */
  int32_t w_init_q15[TM2_DYNAFUSE_MAX_MODALITIES];
  /* Renormalised over the selected modalities (Q15, sums to 32768; 0 if not selected). */
  int32_t weight_q15[TM2_DYNAFUSE_MAX_MODALITIES];
  /* Energy of the selected branches (+ fused head), nanojoules. */
  uint32_t energy_nj;
} tm2_dynafuse_decision;

/** Value of a piecewise-linear table at x (64-bit products, division truncating toward zero). */
int32_t tm2_dynafuse_pwl_eval(const tm2_dynafuse_pwl *f, int32_t x);

/** Noise sigma (Q12) of one modality's raw int8 window. Uses a 512-byte histogram on the stack. */
int32_t tm2_dynafuse_noise_s8(const tm2_dynafuse_modality *m, const int8_t *window);

/** Noise sigma (Q12) of one modality's raw int16 window. */
int32_t tm2_dynafuse_noise_s16(const tm2_dynafuse_modality *m, const int16_t *window);

/** Mode, branch mask and weights for one window (see the header comment). */
void tm2_dynafuse_decide(const tm2_dynafuse_model *model, const tm2_dynafuse_request *req, tm2_dynafuse_decision *out);

/**
 * Fuses the selected heads: heads[i] is modality i's int8 logits (n_classes values; only read if
 * selected and not use_fused), fused the fused head's logits (read only if use_fused).
 * probs_q15[c] receives the fused class probabilities (Q15, rounded). Returns the argmax class
 * (the first maximum of the unrounded weighted sum).
 */
int32_t tm2_dynafuse_fuse(const tm2_dynafuse_model *model, const tm2_dynafuse_decision *d,
                          const int8_t *const *heads, const int8_t *fused, int32_t *probs_q15);

#ifdef __cplusplus
}
#endif

#endif /* TM2_DYNAFUSE_H */
