/*
 * conv_few_cin.h - private: the convolution fast path for few input channels per group (first
 * layers of image / spectrogram / sensor models: in_c = 1..3, a small kernel; grouped convolutions
 * with few channels per group), selected inside tm2_conv_s8/_s4.
 */
#ifndef TM2_CONV_FEW_CIN_H
#define TM2_CONV_FEW_CIN_H

#include "tm2.h"

/**
 * Runs the convolution when its shape suits the fast path (K = kernel_h * kernel_w *
 * in_c / groups values per output channel, K <= 36, in_c / groups <= 4) and returns 1; returns 0 without touching `out`
 * otherwise. `bits` = 8 (int8 weights) or 4 (packed INT4). Needs no scratch (a small stack frame).
 */
int tm2_conv_few_cin(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int32_t bits, int8_t *out);

#endif
