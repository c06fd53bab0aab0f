/*
 * requant_rows.c - the output stage of the matrix-multiply kernels (conv, pointwise, dense) and of depthwise for a run
 * of output channels: bias, tm2_requant, store, in a loop of its own.
 *
 * Next to the multiply loops gcc spilled the output stage's pointers and constants (~40 instructions
 * per output); alone it still needed ~25. On Cortex-M with the DSP extension (gcc or clang) the common
 * case is a Thumb-2 routine that keeps all of them in registers: 13 instructions per output plus 7 per
 * channel shared by the two columns (SMMUL is the high word of the 64-bit product, as tm2_requant
 * takes it; ((hi >> (n-1)) + 1) >> 1 + zp is computed as ((hi >> (n-1)) + 2*zp + 1) >> 1, the same
 * integer; when the clamp is the whole int8 range, SSAT with ASR #1 does the halving and the clamp: 9
 * instructions per output). It stops at a channel with r <= 32 (shift >= -1, the rare wide case) and the C loop, the
 * definition, does that channel. Elsewhere the C loop does everything.
 */
#include "tm2_mm.h"
#include "tm2_simd.h"

#if TM2_HAVE_DSP && defined(__GNUC__) && defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M' && defined(__thumb2__)
#define TM2_RQ_ASM 1
#else
#define TM2_RQ_ASM 0
#endif

/* One channel of the C definition: both columns (out1 may be NULL). */
static void requant_channel(const tm2_conv_params *p, int32_t o, const int32_t *acc0, const int32_t *acc1,
                            int8_t *out0, int8_t *out1) {
  const int32_t b = p->bias ? p->bias[o] : 0, m = p->multiplier[o], s = p->shift[o];
  *out0 = tm2_requant(*acc0 + b, m, s, p->out_zp, p->act_min, p->act_max);
  if (out1) *out1 = tm2_requant(*acc1 + b, m, s, p->out_zp, p->act_min, p->act_max);
}

#if TM2_RQ_ASM
/* What the assembly routines read, in this order (one LDM). */
typedef struct {
  const int32_t *acc; /* column A; column B at acc + TM2_MM_CHUNK */
  const int32_t *bias, *mult, *shift;
  int8_t *out;        /* column A */
  int32_t out1_delta; /* out1 - out0 - 1 */
  int32_t n;          /* channels, >= 1 */
  int32_t zp2p1;      /* 2 * out_zp + 1 */
  int32_t lo, hi;
} rq_run;

/* Both return the number of channels NOT done (0, or n - i at a wide channel i, not done). */
int32_t tm2_rq2_dsp(const rq_run *r);
int32_t tm2_rq1_dsp(const rq_run *r);
/* The same for act_min = -128, act_max = 127 (TM2_RQ_OUTPUT_SAT8). */
int32_t tm2_rq2s_dsp(const rq_run *r);
int32_t tm2_rq1s_dsp(const rq_run *r);

#define TM2_STR2(x) #x
#define TM2_STR(x) TM2_STR2(x)

/* One output: r0 = acc + bias (r12), then SMMUL by the multiplier (lr), shift by r11 = n - 1, add
 * 2*zp + 1 (r8), halve, clamp to [r9, r10]. */
#define TM2_RQ_OUTPUT                                                                                         \
  "add r0, r0, r12\n\t"                                                                                      \
  "smmul r0, r0, lr\n\t"                                                                                     \
  "asr r0, r0, r11\n\t"                                                                                      \
  "add r0, r0, r8\n\t"                                                                                       \
  "asr r0, r0, #1\n\t"                                                                                       \
  "cmp r0, r9\n\t"                                                                                           \
  "it lt\n\t"                                                                                                \
  "movlt r0, r9\n\t"                                                                                         \
  "cmp r0, r10\n\t"                                                                                          \
  "it gt\n\t"                                                                                                \
  "movgt r0, r10\n\t"

/* The same when the clamp is the whole int8 range ([-128, 127], the usual case: a ReLU output has its
 * zero point at -128): SSAT with its ASR #1 does the halving and the clamp in one instruction. */
#define TM2_RQ_OUTPUT_SAT8                                                                                    \
  "add r0, r0, r12\n\t"                                                                                      \
  "smmul r0, r0, lr\n\t"                                                                                     \
  "asr r0, r0, r11\n\t"                                                                                      \
  "add r0, r0, r8\n\t"                                                                                       \
  "ssat r0, #8, r0, asr #1\n\t"

/* Per channel: its shift (stop if wide), bias, multiplier, n - 1 = -2 - shift. */
#define TM2_RQ_CHANNEL                                                                                        \
  "ldr r11, [r4], #4\n\t"                                                                                    \
  "cmn r11, #1\n\t"                                                                                          \
  "bge 9f\n\t"                                                                                               \
  "ldr r12, [r2], #4\n\t"                                                                                    \
  "ldr lr, [r3], #4\n\t"                                                                                     \
  "mvn r11, r11\n\t"                                                                                         \
  "sub r11, r11, #1\n\t"

__asm__(
    ".pushsection .text.tm2_rq2_dsp,\"ax\",%progbits\n\t"
    ".syntax unified\n\t"
    ".thumb\n\t"
    ".p2align 2\n\t"
    ".global tm2_rq2_dsp\n\t"
    ".hidden tm2_rq2_dsp\n\t"
    ".type tm2_rq2_dsp, %function\n\t"
    ".thumb_func\n"
    "tm2_rq2_dsp:\n\t"
    "push {r4-r11, lr}\n\t"
    "ldm r0, {r1-r10}\n"
    "1:\n\t" TM2_RQ_CHANNEL
    "ldr r0, [r1], #4\n\t" TM2_RQ_OUTPUT
    "strb r0, [r5], #1\n\t"
    "ldr r0, [r1, #" TM2_STR(TM2_MM_CHUNK) "*4-4]\n\t" TM2_RQ_OUTPUT
    "strb r0, [r5, r6]\n\t"
    "subs r7, r7, #1\n\t"
    "bne 1b\n"
    "9:\n\t"
    "mov r0, r7\n\t"
    "pop {r4-r11, pc}\n\t"
    ".size tm2_rq2_dsp, .-tm2_rq2_dsp\n\t"
    ".popsection\n\t"
    ".pushsection .text.tm2_rq1_dsp,\"ax\",%progbits\n\t"
    ".p2align 2\n\t"
    ".global tm2_rq1_dsp\n\t"
    ".hidden tm2_rq1_dsp\n\t"
    ".type tm2_rq1_dsp, %function\n\t"
    ".thumb_func\n"
    "tm2_rq1_dsp:\n\t"
    "push {r4-r11, lr}\n\t"
    "ldm r0, {r1-r10}\n"
    "1:\n\t" TM2_RQ_CHANNEL
    "ldr r0, [r1], #4\n\t" TM2_RQ_OUTPUT
    "strb r0, [r5], #1\n\t"
    "subs r7, r7, #1\n\t"
    "bne 1b\n"
    "9:\n\t"
    "mov r0, r7\n\t"
    "pop {r4-r11, pc}\n\t"
    ".size tm2_rq1_dsp, .-tm2_rq1_dsp\n\t"
    ".popsection\n\t");
__asm__(
    ".pushsection .text.tm2_rq2s_dsp,\"ax\",%progbits\n\t"
    ".syntax unified\n\t"
    ".thumb\n\t"
    ".p2align 2\n\t"
    ".global tm2_rq2s_dsp\n\t"
    ".hidden tm2_rq2s_dsp\n\t"
    ".type tm2_rq2s_dsp, %function\n\t"
    ".thumb_func\n"
    "tm2_rq2s_dsp:\n\t"
    "push {r4-r11, lr}\n\t"
    "ldm r0, {r1-r10}\n"
    "1:\n\t" TM2_RQ_CHANNEL
    "ldr r0, [r1], #4\n\t" TM2_RQ_OUTPUT_SAT8
    "strb r0, [r5], #1\n\t"
    "ldr r0, [r1, #" TM2_STR(TM2_MM_CHUNK) "*4-4]\n\t" TM2_RQ_OUTPUT_SAT8
    "strb r0, [r5, r6]\n\t"
    "subs r7, r7, #1\n\t"
    "bne 1b\n"
    "9:\n\t"
    "mov r0, r7\n\t"
    "pop {r4-r11, pc}\n\t"
    ".size tm2_rq2s_dsp, .-tm2_rq2s_dsp\n\t"
    ".popsection\n\t"
    ".pushsection .text.tm2_rq1s_dsp,\"ax\",%progbits\n\t"
    ".p2align 2\n\t"
    ".global tm2_rq1s_dsp\n\t"
    ".hidden tm2_rq1s_dsp\n\t"
    ".type tm2_rq1s_dsp, %function\n\t"
    ".thumb_func\n"
    "tm2_rq1s_dsp:\n\t"
    "push {r4-r11, lr}\n\t"
    "ldm r0, {r1-r10}\n"
    "1:\n\t" TM2_RQ_CHANNEL
    "ldr r0, [r1], #4\n\t" TM2_RQ_OUTPUT_SAT8
    "strb r0, [r5], #1\n\t"
    "subs r7, r7, #1\n\t"
    "bne 1b\n"
    "9:\n\t"
    "mov r0, r7\n\t"
    "pop {r4-r11, pc}\n\t"
    ".size tm2_rq1s_dsp, .-tm2_rq1s_dsp\n\t"
    ".popsection\n\t");
#endif

void tm2_requant_rows(const tm2_conv_params *p, int32_t o, int32_t n, const int32_t *acc0, const int32_t *acc1,
                      int8_t *out0, int8_t *out1) {
  int32_t i = 0;
#if TM2_RQ_ASM
  if (p->bias && (acc1 == NULL || acc1 == acc0 + TM2_MM_CHUNK)) {
    const int sat8 = p->act_min == -128 && p->act_max == 127;
    while (i < n) {
      rq_run r;
      r.acc = acc0 + i;
      r.bias = p->bias + o + i;
      r.mult = p->multiplier + o + i;
      r.shift = p->shift + o + i;
      r.out = out0 + i;
      r.out1_delta = acc1 ? (int32_t)(out1 - out0) - 1 : 0;
      r.n = n - i;
      r.zp2p1 = 2 * p->out_zp + 1;
      r.lo = p->act_min;
      r.hi = p->act_max;
      i = n - (sat8 ? (acc1 ? tm2_rq2s_dsp(&r) : tm2_rq1s_dsp(&r)) : (acc1 ? tm2_rq2_dsp(&r) : tm2_rq1_dsp(&r)));
      if (i < n) { /* a wide channel: the definition does it */
        requant_channel(p, o + i, acc0 + i, acc1 ? acc1 + i : NULL, out0 + i, acc1 ? out1 + i : NULL);
        i++;
      }
    }
    return;
  }
#endif
  for (; i < n; i++) requant_channel(p, o + i, acc0 + i, acc1 ? acc1 + i : NULL, out0 + i, acc1 ? out1 + i : NULL);
}
