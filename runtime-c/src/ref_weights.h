/* ref_weights.h - weight access shared by the reference kernels: w[i] for INT8 or packed INT4. */
#ifndef TM2_REF_WEIGHTS_H
#define TM2_REF_WEIGHTS_H

#include "tm2.h"

/** Value i of the flattened weight array, `bits` = 8 (int8_t array) or 4 (packed nibbles). */
static inline int32_t tm2_ref_weight(const int8_t *w, int32_t bits, int32_t i) {
  return bits == 4 ? tm2_s4_get(w, i) : (int32_t)w[i];
}

#endif
