/*
 * tm2.h - the tinym2 C kernel library (runtime-c), the one public header.
 *
 * Portable C99, integer only (no float, no malloc, no global state). Every kernel implements
 * runtime-c/ARITHMETIC.md bit for bit; the TypeScript emulator implements the same page.
 *
 * Tensors are channels-last [H][W][C], batch 1 not stored; 1-D signals are H = 1, vectors
 * [1][1][C]. Activations are int8_t; INT4 activations differ only in the clamp bounds
 * (act_min = -8, act_max = 7), and the generated code stores most of them packed two per byte,
 * run through the s4a entry points at the end of this header. Weights are int8_t (INT8, [-127, 127]) or
 * packed INT4 ([-7, 7], two per byte, FIRST value in the LOW nibble, over the flattened weight
 * array in the op's layout; an odd count leaves the last high nibble 0).
 *
 * Naming: tm2_<kernel>_s8 takes INT8 weights, tm2_<kernel>_s4 packed INT4 weights. The public
 * entry points are the optimized kernels; tm2_ref_<kernel>_* are the plain reference
 * definitions (readable, slow), kept for tests and as documentation.
 *
 * Scratch: kernels that need a work buffer take `void *scratch` and have a
 * tm2_<kernel>_scratch_size() telling its size in bytes (0 means pass NULL). Scratch must be
 * 4-byte aligned (it is read as 32-bit words with LDRD on Cortex-M). Weights and activations
 * need no alignment; on DSP cores they are read with unaligned LDR (allowed unless the
 * firmware sets CCR.UNALIGN_TRP).
 *
 * Mapping from compiler/quant/qgraph.ts (QOp kind -> call):
 *   conv      -> tm2_conv_s8 / tm2_conv_s4            (tm2_conv_params; weights OHWI [Cout][KH][KW][Cin/groups])
 *                scratch: tm2_conv_scratch_size(&p)
 *   depthwise -> tm2_depthwise_s8 / tm2_depthwise_s4  (tm2_conv_params; weights [KH][KW][Cout]; no scratch)
 *   pointwise -> tm2_pointwise_s8 / tm2_pointwise_s4  (tm2_conv_params, kernel 1x1; weights [Cout][Cin])
 *                scratch: tm2_pointwise_scratch_size(&p)
 *   dense     -> tm2_dense_s8 / tm2_dense_s4          (tm2_conv_params: in_h*in_w*in_c inputs, out_c outputs,
 *                out_h = out_w = 1; weights [Cout][Cin]); scratch: tm2_dense_scratch_size(&p)
 *   maxpool   -> tm2_maxpool_s8  (tm2_pool_params)
 *   avgpool   -> tm2_avgpool_s8  (tm2_pool_params; count_include_pad from QPoolOp)
 *   gap       -> tm2_gap_s8
 *   add       -> tm2_add_s8      (tm2_add_params; left_shift = QAddOp.leftShift)
 *   mul       -> tm2_mul_s8      (tm2_mul_params)
 *   lut       -> tm2_lut_s8      (table = QLutOp.table, 256 entries indexed by q + 128)
 *   softmax   -> tm2_softmax_s8  (exp_table = QSoftmaxOp.expTable; rows = H*W, depth = C)
 *   concat    -> nothing when the axis is the outermost non-1 axis (producers write into their
 *                slice); else one tm2_concat_copy_s8 per input
 *   pad       -> tm2_pad_s8
 *   reshape   -> nothing (a view)
 *   permute   -> tm2_permute_s8  (perm = QCopyOp.perm)
 *   lstm / gru -> tm2_lstm_s8 / _s4, tm2_gru_s8 / _s4 (tm2_rnn_params from QRnnOp, compiler/kernels/rnn.ts;
 *                weights in the interleaved layout below); scratch: tm2_lstm_scratch_size / tm2_gru_scratch_size
 *   conv_transpose -> tm2_conv_transpose_s8 / _s4  (tm2_conv_params as conv; pad_top/left only; no scratch)
 *   slice     -> tm2_slice_s8    (ONNX Slice; Split = one slice per output)
 *   reduce_mean, reduce_max -> tm2_reduce_mean_s8 / tm2_reduce_max_s8 (tm2_reduce_params)
 *   resize_nearest, resize_bilinear -> tm2_resize_nearest_s8 / tm2_resize_bilinear_s8 (tm2_resize_params)
 *   prelu     -> tm2_prelu_s8    (tm2_prelu_params)
 *   log_softmax -> tm2_log_softmax_s8 (tm2_log_softmax_params)
 *   (argmax   -> tm2_argmax_s8, for classifier outputs in the generated API)
 *
 * Field mapping for tm2_conv_params from QConvOp and its tensors:
 *   in_h,in_w,in_c = input QTensor.shape; out_h,out_w,out_c = output QTensor.shape;
 *   kernel_h,kernel_w = kernel; stride_h,stride_w = stride; pad_top,pad_left = pad[0],pad[1]
 *   (bottom/right follow from the output shape); dilation_h,dilation_w = dilation;
 *   groups = groups (conv; 1 otherwise); ch_mult = channelMultiplier (depthwise; 1 otherwise);
 *   in_zp = input zeroPoint; out_zp = output zeroPoint; act_min,act_max = actMin,actMax;
 *   bias = bias; multiplier = requant.multiplier; shift = requant.shift (all [out_c]).
 *
 * The library assumes `>>` on negative signed integers is an arithmetic shift (true for gcc,
 * clang, armcc, IAR); it refuses to compile otherwise.
 */
#ifndef TM2_H
#define TM2_H

#include <stddef.h>
#include <stdint.h>

#if (-1 >> 1) != -1
#error "tinym2 runtime needs arithmetic right shift of negative integers"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/* Requantization (ARITHMETIC.md): single rounding, round half up, 64-bit product.            */
/* ------------------------------------------------------------------------------------------ */

/**
 * rq = (int64(acc) * M + 2^(r-1)) >> r with r = 31 - shift, 1 <= r <= 62 (arithmetic shift).
 * Returns the exact 64-bit value (it exceeds 32 bits only for r < 32 and large acc * M).
 */
static inline int64_t tm2_requant_raw(int32_t acc, int32_t multiplier, int32_t shift) {
  const int32_t r = 31 - shift;
  const int64_t p = (int64_t)acc * multiplier;
  if (r > 32) {
    /* The rounding constant only touches the high word and the low word cannot carry into
     * the result: floor((hi*2^32 + lo + 2^(r-1)) / 2^r) = (hi + 2^(r-33)) >> (r-32).
     * |hi| < 2^30 and 2^(r-33) <= 2^29, so the sum stays in int32. One SMULL on Cortex-M. */
    const int32_t hi = (int32_t)(p >> 32);
    return (int64_t)((hi + ((int32_t)1 << (r - 33))) >> (r - 32));
  }
  return (p + ((int64_t)1 << (r - 1))) >> r;
}

#if defined(__GNUC__)
#define TM2_LIKELY(x) __builtin_expect(!!(x), 1)
#define TM2_COLD __attribute__((noinline, cold, unused))
#else
#define TM2_LIKELY(x) (x)
#define TM2_COLD
#endif

/* The rare output stage with r <= 32 (real multiplier >= 1/4): exact 64-bit rq, clamped as such
 * (never truncated first). Out of line so the common path stays short. */
TM2_COLD static int32_t tm2_requant_wide(int32_t acc, int32_t multiplier, int32_t shift, int32_t out_zp,
                                         int32_t act_min, int32_t act_max) {
  const int64_t v = tm2_requant_raw(acc, multiplier, shift) + out_zp;
  return v < act_min ? act_min : v > act_max ? act_max : (int32_t)v;
}

/**
 * out = clamp(rq(acc, M, s) + zp_out, act_min, act_max), the output stage of every weighted op.
 * The common case r > 32 (real multiplier < 1/4) stays in 32-bit registers after one SMULL (the
 * high word, see tm2_requant_raw): about 15 instructions on Cortex-M4.
 */
static inline int8_t tm2_requant(int32_t acc, int32_t multiplier, int32_t shift, int32_t out_zp,
                                 int32_t act_min, int32_t act_max) {
  int32_t v;
  if (TM2_LIKELY(shift < -1)) { /* r = 31 - shift > 32 */
    /* With n = r - 32 >= 1: floor((hi + 2^(n-1)) / 2^n) == ((hi >> (n-1)) + 1) >> 1, one
     * instruction shorter than adding the rounding constant; n - 1 = -2 - shift. */
    const int32_t hi = (int32_t)(((int64_t)acc * multiplier) >> 32);
    v = (((hi >> (-2 - shift)) + 1) >> 1) + out_zp; /* |rq| < 2^30: no overflow */
    if (v < act_min) v = act_min;
    if (v > act_max) v = act_max;
  } else {
    v = tm2_requant_wide(acc, multiplier, shift, out_zp, act_min, act_max);
  }
  return (int8_t)v;
}

/** Value i (0-based) of a packed INT4 array: low nibble first, two's complement. */
static inline int32_t tm2_s4_get(const int8_t *packed, int32_t i) {
  const uint8_t b = (uint8_t)packed[i >> 1];
  const int32_t nib = (i & 1) ? (b >> 4) : (b & 0x0F);
  return nib - ((nib & 8) << 1); /* 0x8..0xF -> -8..-1 */
}

/* ------------------------------------------------------------------------------------------ */
/* Weighted kernels: conv, depthwise, pointwise, dense                                        */
/* ------------------------------------------------------------------------------------------ */

/**
 * Parameters of every weighted kernel (CMSIS-NN spirit; all fields int32_t).
 *   acc[o] = bias[o] + sum_k (x_k - in_zp) * w[o][k];  out[o] = tm2_requant(acc[o], ...)
 *   Padded positions read as in_zp (contribute 0).
 *   conv:      out[oy][ox][o], o in group g = o / (out_c/groups), reads input channels
 *              g*(in_c/groups) .. at iy = oy*stride_h - pad_top + ky*dilation_h (same for x).
 *   depthwise: out channel o reads input channel o / ch_mult; out_c = in_c * ch_mult.
 *   pointwise: 1x1, stride 1, no padding (kernel/stride/pad/dilation fields ignored);
 *              out_h = in_h, out_w = in_w.
 *   dense:     input is the flat vector of in_h*in_w*in_c values; out_c outputs.
 * Accumulators are int32 as in ARITHMETIC.md; the INT4 kernels carry 16 * the sum internally,
 * so they need K * 255 * 8 * 16 < 2^31, i.e. K < 65,000 values per output channel (INT8 has the
 * same bound on the plain sum: K * 255 * 127 < 2^31).
 */
typedef struct {
  int32_t in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t kernel_h, kernel_w;
  int32_t stride_h, stride_w;
  int32_t pad_top, pad_left;
  int32_t dilation_h, dilation_w;
  int32_t groups;  /* conv only (1 = standard conv) */
  int32_t ch_mult; /* depthwise only (channel multiplier >= 1) */
  int32_t in_zp, out_zp;
  int32_t act_min, act_max;   /* INT8: -128, 127; INT4 activations: -8, 7; fused ReLU narrows them */
  const int32_t *bias;        /* [out_c] (NULL means all zero) */
  const int32_t *multiplier;  /* [out_c] Q31 multipliers */
  const int32_t *shift;       /* [out_c] shifts, r = 31 - shift in [1, 62] */
} tm2_conv_params;

/* Optimized entry points (the code generator calls these). */
size_t tm2_conv_scratch_size(const tm2_conv_params *p);
void tm2_conv_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out, void *scratch);
void tm2_conv_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out, void *scratch);

void tm2_depthwise_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out);
void tm2_depthwise_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out);

size_t tm2_pointwise_scratch_size(const tm2_conv_params *p);
void tm2_pointwise_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out, void *scratch);
void tm2_pointwise_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out, void *scratch);

size_t tm2_dense_scratch_size(const tm2_conv_params *p);
void tm2_dense_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out, void *scratch);
void tm2_dense_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out, void *scratch);

/* Reference definitions (no scratch). */
void tm2_ref_conv_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out);
void tm2_ref_conv_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out);
void tm2_ref_depthwise_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out);
void tm2_ref_depthwise_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out);
void tm2_ref_pointwise_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out);
void tm2_ref_pointwise_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out);
void tm2_ref_dense_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out);
void tm2_ref_dense_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out);

/**
 * Transposed convolution (ONNX ConvTranspose), same parameters and weight layout as conv (OHWI
 * [Cout][KH][KW][Cin/groups]): input (iy, ix) feeds output (iy*stride_h - pad_top + ky*dilation_h,
 * ix*stride_w - pad_left + kx*dilation_w). No scratch; kernel_h, kernel_w <= TM2_CONV_TRANSPOSE_MAX_KERNEL.
 */
#define TM2_CONV_TRANSPOSE_MAX_KERNEL 32 /* taps per axis */
void tm2_conv_transpose_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out);
void tm2_conv_transpose_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out);
void tm2_ref_conv_transpose_s8(const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out);
void tm2_ref_conv_transpose_s4(const tm2_conv_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out);

/* ------------------------------------------------------------------------------------------ */
/* Pooling                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/** Max / average pooling over [in_h][in_w][c] -> [out_h][out_w][c]; in and out share scale/zp. */
typedef struct {
  int32_t in_h, in_w, c;
  int32_t out_h, out_w;
  int32_t kernel_h, kernel_w;
  int32_t stride_h, stride_w;
  int32_t pad_top, pad_left, pad_bottom, pad_right;
  int32_t count_include_pad; /* avgpool divisor rule (ARITHMETIC.md); ignored by maxpool */
  int32_t zp;                /* shared zero point (avgpool; maxpool outputs it for an all-padding window) */
  int32_t act_min, act_max;  /* the output tensor's range: -128,127 or -8,7 */
} tm2_pool_params;

void tm2_maxpool_s8(const tm2_pool_params *p, const int8_t *in, int8_t *out);
void tm2_ref_maxpool_s8(const tm2_pool_params *p, const int8_t *in, int8_t *out); /* reference definition */
void tm2_avgpool_s8(const tm2_pool_params *p, const int8_t *in, int8_t *out);
void tm2_ref_avgpool_s8(const tm2_pool_params *p, const int8_t *in, int8_t *out); /* reference definition */

/** Global average pool [h][w][c] -> [1][1][c]: out = clamp(zp + div_round(sum(q - zp), h*w)). */
void tm2_gap_s8(const int8_t *in, int32_t h, int32_t w, int32_t c, int32_t zp, int32_t act_min,
                int32_t act_max, int8_t *out);

/**
 * ReduceMean / ReduceMax over the axes in `axes` (bit 0 = H, 1 = W, 2 = C) of [in_h][in_w][c];
 * a reduced axis has extent 1 in the output. Mean: out = clamp(out_zp + rq(sum(q - in_zp), M, s))
 * with real multiplier in_scale / (n * out_scale). Max ignores the zero points, multiplier and
 * clamp (in and out share scale and zero point).
 */
typedef struct {
  int32_t in_h, in_w, c;
  int32_t axes;
  int32_t in_zp, out_zp;
  int32_t multiplier, shift;
  int32_t act_min, act_max;
} tm2_reduce_params;
void tm2_reduce_mean_s8(const tm2_reduce_params *p, const int8_t *in, int8_t *out);
void tm2_reduce_max_s8(const tm2_reduce_params *p, const int8_t *in, int8_t *out);

/* ------------------------------------------------------------------------------------------ */
/* Elementwise                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/** Residual add, TFLite style (ARITHMETIC.md "Add"): a, b, out have `size` elements (out may be a or b: in place). */
typedef struct {
  int32_t size;
  int32_t a_zp, b_zp, out_zp;
  int32_t left_shift; /* 20 */
  int32_t a_multiplier, a_shift;     /* QAddOp.inputRequant[0] */
  int32_t b_multiplier, b_shift;     /* QAddOp.inputRequant[1] */
  int32_t out_multiplier, out_shift; /* QAddOp.outputRequant */
  int32_t act_min, act_max;
} tm2_add_params;
void tm2_add_s8(const tm2_add_params *p, const int8_t *a, const int8_t *b, int8_t *out);
void tm2_ref_add_s8(const tm2_add_params *p, const int8_t *a, const int8_t *b, int8_t *out); /* reference definition */

/** out = clamp(requant((a - a_zp) * (b - b_zp), M, s) + out_zp) (out may be a or b: in place). */
typedef struct {
  int32_t size;
  int32_t a_zp, b_zp, out_zp;
  int32_t multiplier, shift;
  int32_t act_min, act_max;
} tm2_mul_params;
void tm2_mul_s8(const tm2_mul_params *p, const int8_t *a, const int8_t *b, int8_t *out);

/** out[i] = table[in[i] + 128] (in-place allowed). */
void tm2_lut_s8(const int8_t *in, int8_t *out, int32_t size, const int8_t table[256]);

/** Integer softmax over the last axis of `rows` rows of `depth` values (ARITHMETIC.md). */
void tm2_softmax_s8(const int8_t *in, int8_t *out, int32_t rows, int32_t depth, const uint32_t exp_table[256]);

/**
 * PRelu with one slope per channel over `rows` rows of `c` channels: d = q - in_zp; d >= 0 uses
 * (pos_multiplier, pos_shift), d < 0 uses (neg_multiplier[ch], neg_shift[ch]); a negative
 * neg_multiplier encodes a negative slope (rq(-d, -M, s)). In place allowed.
 */
typedef struct {
  int32_t rows, c;
  int32_t in_zp, out_zp;
  int32_t pos_multiplier, pos_shift;
  const int32_t *neg_multiplier; /* [c] */
  const int32_t *neg_shift;      /* [c] */
  int32_t act_min, act_max;
} tm2_prelu_params;
void tm2_prelu_s8(const tm2_prelu_params *p, const int8_t *in, int8_t *out);

/** Integer LogSoftmax over the last axis of `rows` rows of `depth` values (ARITHMETIC.md). */
typedef struct {
  int32_t rows, depth;
  const uint32_t *exp_table;  /* [256], the softmax table: round(65536 * exp(-k * in_scale)) */
  const uint16_t *log2_table; /* [256], round(65536 * log2(1 + (i + 0.5) / 256)) */
  int32_t d_scale;            /* round(65536 * in_scale / ln 2) */
  int32_t multiplier, shift;  /* ln 2 / (65536 * out_scale) */
  int32_t out_zp, act_min, act_max;
} tm2_log_softmax_params;
void tm2_log_softmax_s8(const tm2_log_softmax_params *p, const int8_t *in, int8_t *out);

/** Index of the first maximum of in[0..n). */
int32_t tm2_argmax_s8(const int8_t *in, int32_t n);

/* ------------------------------------------------------------------------------------------ */
/* Data movement                                                                                */
/* ------------------------------------------------------------------------------------------ */

/** Constant pad [h][w][c] -> [h+top+bottom][w+left+right][c], new positions = value. */
void tm2_pad_s8(const int8_t *in, int32_t h, int32_t w, int32_t c, int32_t pad_top, int32_t pad_left,
                int32_t pad_bottom, int32_t pad_right, int8_t value, int8_t *out);

/**
 * Permutation copy (ONNX Transpose on [H][W][C]): out has dims[perm[0]], dims[perm[1]],
 * dims[perm[2]] and out[i0][i1][i2] = in[...] with in index j_perm[k] = i_k.
 */
void tm2_permute_s8(const int8_t *in, const int32_t dims[3], const int32_t perm[3], int8_t *out);

/**
 * Concat copy for the non-contiguous case: view input as [outer][in_inner] and output as
 * [outer][out_inner]; copies in[o][0..in_inner) to out[o][offset..offset+in_inner).
 * For concat on axis a of [H][W][C]: outer = product of dims before a, inner = product of
 * dims from a on, offset = sum of the preceding inputs' inner sizes.
 */
void tm2_concat_copy_s8(const int8_t *in, int32_t outer, int32_t in_inner, int8_t *out, int32_t out_inner,
                        int32_t offset);

/* ------------------------------------------------------------------------------------------ */
/* Recurrent: LSTM and GRU over a whole sequence (ARITHMETIC.md "Recurrent layers")              */
/* ------------------------------------------------------------------------------------------ */

/**
 * One forward LSTM or GRU layer over `steps` time steps: in [steps][in_size] int8 (scale s_x,
 * zero point in_zp) -> out [steps][hidden] int8 (the hidden state h_t of every step, scale s_h,
 * zero point out_zp; out[t-1] is also the recurrent input of step t). Initial state zero.
 * Gates (G = 4 for LSTM in ONNX order i, o, f, c; G = 3 for GRU: z, r, n), per unit j and gate g:
 *   Sx = sum_k x[k] * Wx[j][g][k]   Sh = sum_k h[k] * Wh[j][g][k]        (raw int8 x, h; int32)
 *   v  = gate_bias[j][slot] + Sx * gate_multiplier[j][g][0] + Sh * gate_multiplier[j][g][1] (int64)
 *   gate preactivation = sat16(v >> r), Q3.12, r = 31 - gate_shift[j][g]
 * (zero points, float biases and the rounding constant 2^(r-1) are folded into gate_bias by the
 * compiler). gate_bias has 4 slots per unit: LSTM i, o, f, c; GRU z, r, n (input part), n (recurrent
 * part, which the reset gate multiplies). Weight layout: per unit j, the input part then the
 * recurrent part, each in chunks of TM2_RNN_CHUNK_S8 (INT8) or TM2_RNN_CHUNK_S4 (INT4, packed) values:
 * for chunk c, for gate g, values k = c*chunk .. c*chunk+chunk-1 of row (g, j); in_size and hidden
 * are padded with zero weights to a multiple of the chunk (tm2_rnn_weight_count).
 */
#define TM2_RNN_CHUNK_S8 4
#define TM2_RNN_CHUNK_S4 8
typedef struct {
  int32_t steps, in_size, hidden;
  int32_t in_zp;
  int32_t out_zp, act_min, act_max;
  int32_t out_multiplier, out_shift; /* LSTM: o * tanh(c) (Q0.30) -> h; GRU: h (Q0.15) -> h */
  int32_t cell_frac;                 /* LSTM: cell state real = c * 2^-cell_frac, 0..15 (GRU: unused) */
  int32_t last_only;                 /* 1: out is [hidden], the last step's h only (ONNX Y_h); 0: [steps][hidden] */
  const int64_t *gate_bias;          /* [hidden][4] */
  const int32_t *gate_multiplier;    /* [hidden][G][2]: input part, recurrent part */
  const int32_t *gate_shift;         /* [hidden][G], r = 31 - shift in [1, 62] */
} tm2_rnn_params;

/** Weights (values, not bytes) of the padded layout: hidden * G * (pad(in_size) + pad(hidden)). */
int32_t tm2_rnn_weight_count(const tm2_rnn_params *p, int32_t gates, int32_t chunk);

size_t tm2_lstm_scratch_size(const tm2_rnn_params *p);
void tm2_lstm_s8(const tm2_rnn_params *p, const int8_t *in, const int8_t *w, int8_t *out, void *scratch);
void tm2_lstm_s4(const tm2_rnn_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out, void *scratch);
size_t tm2_gru_scratch_size(const tm2_rnn_params *p);
void tm2_gru_s8(const tm2_rnn_params *p, const int8_t *in, const int8_t *w, int8_t *out, void *scratch);
void tm2_gru_s4(const tm2_rnn_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out, void *scratch);

/* Reference definitions; scratch as the optimized kernels (tm2_lstm_scratch_size / tm2_gru_scratch_size). */
void tm2_ref_lstm_s8(const tm2_rnn_params *p, const int8_t *in, const int8_t *w, int8_t *out, void *scratch);
void tm2_ref_lstm_s4(const tm2_rnn_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out, void *scratch);
void tm2_ref_gru_s8(const tm2_rnn_params *p, const int8_t *in, const int8_t *w, int8_t *out, void *scratch);
void tm2_ref_gru_s4(const tm2_rnn_params *p, const int8_t *in, const int8_t *w_packed, int8_t *out, void *scratch);

/** Fixed-point sigmoid and tanh: Q3.12 int16 in, Q0.15 out (513-entry tables, linear interpolation). */
int32_t tm2_sigmoid_q15(int32_t x);
int32_t tm2_tanh_q15(int32_t x);
/**
 * Strided slice (ONNX Slice; Split is one slice per output): out has out_dims and
 * out[i0][i1][i2] = in[start[0] + i0*step[0]][start[1] + i1*step[1]][start[2] + i2*step[2]]
 * (steps may be negative).
 */
void tm2_slice_s8(const int8_t *in, const int32_t in_dims[3], const int32_t start[3], const int32_t step[3],
                  const int32_t out_dims[3], int8_t *out);

/**
 * Resize on H and W (ONNX Resize, nearest or bilinear; ARITHMETIC.md). The compiler resolves the
 * coordinate mode into source tables: nearest reads y0 / x0; bilinear reads y0, y1, wy [out_h]
 * and x0, x1, wx [out_w] (weights of the second source in Q10, 0..1024). In and out share scale
 * and zero point.
 */
typedef struct {
  int32_t in_h, in_w, c;
  int32_t out_h, out_w;
  const int32_t *y0, *y1, *wy; /* [out_h] (y1, wy: bilinear only) */
  const int32_t *x0, *x1, *wx; /* [out_w] (x1, wx: bilinear only) */
  int32_t zp, act_min, act_max;
} tm2_resize_params;
void tm2_resize_nearest_s8(const tm2_resize_params *p, const int8_t *in, int8_t *out);
void tm2_resize_bilinear_s8(const tm2_resize_params *p, const int8_t *in, int8_t *out);

/* ------------------------------------------------------------------------------------------ */
/* Packed INT4 activations (s4_act.c)                                                           */
/* ------------------------------------------------------------------------------------------ */

/*
 * A tensor the compiler stores packed holds its INT4 values ([-8, 7]) two per byte, first value in
 * the LOW nibble (as INT4 weights), over the [H][W][C] order; an odd count leaves the last high
 * nibble 0. These entry points run the byte-stored kernels above on windows unpacked into scratch
 * and pack what they produce; `io` says which side is packed (the other is byte-stored as usual).
 * Arithmetic is the wrapped kernel's, bit for bit. Scratch: the tm2_*_s4a_scratch_size functions.
 */
#define TM2_S4A_IN_PACKED 1  /* every input of the op is packed */
#define TM2_S4A_OUT_PACKED 2 /* the output is packed */
#define TM2_S4A_CONV 0
#define TM2_S4A_DEPTHWISE 1
#define TM2_S4A_POINTWISE 2
#define TM2_S4A_DENSE 3
#define TM2_S4A_ADD 0
#define TM2_S4A_MUL 1
#define TM2_S4A_LUT 2
#define TM2_S4A_CHUNK 64 /* elementwise ops: values per chunk (even, so chunks start on a byte) */

size_t tm2_conv_s4a_scratch_size(int32_t kind, const tm2_conv_params *p, int32_t io);
/** scratch_bytes: what scratch holds, at least tm2_conv_s4a_scratch_size; more buys wider bands (fewer calls). */
void tm2_conv_s4a(int32_t kind, int32_t weight_bits, const tm2_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out,
                  int32_t io, void *scratch, size_t scratch_bytes);
size_t tm2_pool_s4a_scratch_size(const tm2_pool_params *p, int32_t io);
void tm2_pool_s4a(int32_t max, const tm2_pool_params *p, const int8_t *in, int8_t *out, int32_t io, void *scratch);
void tm2_gap_s4a(const int8_t *in, int32_t h, int32_t w, int32_t c, int32_t zp, int32_t act_min, int32_t act_max, int8_t *out,
                 int32_t io);
size_t tm2_elementwise_s4a_scratch_size(int32_t size);
/** kind TM2_S4A_ADD / _MUL (params: tm2_add_params / tm2_mul_params, size ignored) or _LUT (params: the table, b NULL). */
void tm2_elementwise_s4a(int32_t kind, const void *params, int32_t size, const int8_t *a, int32_t a_packed, const int8_t *b,
                         int32_t b_packed, int8_t *out, int32_t out_packed, void *scratch);

#ifdef __cplusplus
}
#endif

#endif /* TM2_H */
