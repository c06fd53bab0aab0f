/*
 * tm2_admn.c - ADMN depth allocation (see tm2_admn.h). Integer only; compiler/admn/controller.ts repeats it bit for bit.
 */
#include "tm2_admn.h"

void tm2_admn_allocate(const tm2_admn_model *model, const int32_t *sigma_q12, uint32_t modality_mask, uint32_t budget,
                       tm2_admn_allocation *out) {
  int32_t acc[TM2_ADMN_MAX_MODALITIES][TM2_ADMN_MAX_DEPTH + 1];
  uint32_t spent = 0;
  int32_t i, d;
  out->block_mask = 0;
  for (i = 0; i < (int32_t)model->n; i++) {
    const tm2_admn_modality *m = &model->modalities[i];
    out->depth[i] = 0;
    if (!((modality_mask >> i) & 1u)) continue;
    spent += m->instructions[0];
    for (d = 0; d <= (int32_t)m->depths; d++) acc[i][d] = tm2_dynafuse_pwl_eval(&m->accuracy[d], sigma_q12[i] < 0 ? 0 : sigma_q12[i]);
  }
  for (;;) {
    int32_t best = -1, best_to = 0;
    int64_t best_gain = 0, best_cost = 1;
    for (i = 0; i < (int32_t)model->n; i++) {
      const tm2_admn_modality *m = &model->modalities[i];
      const int32_t from = out->depth[i];
      if (!((modality_mask >> i) & 1u)) continue;
      for (d = from + 1; d <= (int32_t)m->depths; d++) {
        const int64_t cost = (int64_t)m->instructions[d] - m->instructions[from];
        const int64_t gain = (int64_t)acc[i][d] - acc[i][from];
        if ((int64_t)spent + cost > (int64_t)budget) break; /* deeper costs more */
        if (gain <= 0 || cost <= 0) continue;
        if (best < 0 || gain * best_cost > best_gain * cost) {
          best = i;
          best_to = d;
          best_gain = gain;
          best_cost = cost;
        }
      }
    }
    if (best < 0) break;
    spent += (uint32_t)best_cost;
    out->depth[best] = (uint8_t)best_to;
  }
  for (i = 0; i < (int32_t)model->n; i++) {
    const tm2_admn_modality *m = &model->modalities[i];
    for (d = 0; d < (int32_t)out->depth[i]; d++) out->block_mask |= m->block_bits[d];
  }
  out->instructions = spent;
}
