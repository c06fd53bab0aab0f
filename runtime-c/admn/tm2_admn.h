/*
 * tm2_admn.h - ADMN depth allocation: how many residual blocks each modality's backbone runs, from its
 * noise level and a compute budget in instructions. C99, fixed point, no float, no malloc.
 *
 * Per window, before any branch runs:
 *   tm2_admn_allocate(model, sigma_q12, modality_mask, budget, &alloc)
 * sigma_q12: each modality's noise level (Q12, 4096 = one standard deviation of the channel), e.g. from
 * tm2_dynafuse_noise_s8; modality_mask: the modalities that run (all, or DynaFuse's decision mask);
 * budget: instructions for the selected branches together. alloc.block_mask goes to the generated
 * tm2_<name>_run_layers / _run_heads_layers. The TypeScript twin compiler/admn/controller.ts does the same
 * integer arithmetic, bit for bit.
 *
 * Rule: every selected modality starts at depth 0 (its stem and head only; always run, even over budget).
 * Then, while some step fits the budget, take the step with the largest accuracy gain per instruction,
 * where a step moves one modality from its depth d to any deeper d' (so a profile that gains only after
 * two blocks is still reachable): gain = acc(d') - acc(d) at its sigma (Q15, > 0), cost = instr(d') - instr(d).
 * Ratios are compared by 64-bit cross products; ties keep the lower modality, then the shallower depth.
 * acc(d) is the compile-time profile (head top-1 vs sigma at that depth, piecewise linear in sigma, the
 * same evaluation as DynaFuse's resilience tables).
 */
#ifndef TM2_ADMN_H
#define TM2_ADMN_H

#include <stdint.h>

#include "tm2_dynafuse.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TM2_ADMN_MAX_MODALITIES 16
#define TM2_ADMN_MAX_DEPTH 8

typedef struct {
  const char *name;
  /* Blocks of this modality's backbone: it runs at depth 0..depths. */
  uint8_t depths;
  /* [depths + 1]: the head's top-1 (Q15) vs sigma (Q12) when the first d blocks run. */
  const tm2_dynafuse_pwl *accuracy;
  /* [depths + 1]: instructions of the branch (input to head) at depth d, increasing. */
  const uint32_t *instructions;
  /* [depths]: the block-mask bit of its k-th block. */
  const uint32_t *block_bits;
} tm2_admn_modality;

typedef struct {
  uint8_t n;
  const tm2_admn_modality *modalities;
} tm2_admn_model;

typedef struct {
  uint32_t block_mask;
  /* Instructions of the selected branches at the chosen depths (by the profile). */
  uint32_t instructions;
  uint8_t depth[TM2_ADMN_MAX_MODALITIES];
} tm2_admn_allocation;

void tm2_admn_allocate(const tm2_admn_model *model, const int32_t *sigma_q12, uint32_t modality_mask, uint32_t budget,
                       tm2_admn_allocation *out);

#ifdef __cplusplus
}
#endif

#endif /* TM2_ADMN_H */
