/*
 * run_rnn.c - runs the recurrent kernels (tm2_lstm_*, tm2_gru_*) and their references on cases and
 * prints the optimized kernel's outputs, so test/rnn-kernels.test.ts can compare them with the
 * TypeScript emulator (compiler/kernels/rnn.ts) bit for bit. A case whose reference and optimized
 * outputs differ prints "MISMATCH" instead.
 *
 * Cases come from stdin, or (built with -DRNN_CASES=\"file.h\", for QEMU where there is no stdin)
 * from the string `rnn_cases` in that header. Tokens, per case:
 *   lstm|gru bits steps in_size hidden in_zp out_zp act_min act_max out_multiplier out_shift cell_frac last_only
 *   then arrays "n v0 .. v(n-1)": gate_bias (int64), gate_multiplier, gate_shift, weights (layout of tm2.h,
 *   packed bytes for INT4), input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm2.h"

#ifdef RNN_CASES
#include RNN_CASES
static const char *cursor = rnn_cases;
static int next_token(long long *v) {
  char *end;
  while (*cursor == ' ' || *cursor == '\n') cursor++;
  if (!*cursor) return 0;
  if (*cursor >= 'a' && *cursor <= 'z') return -1;
  *v = strtoll(cursor, &end, 10);
  cursor = end;
  return 1;
}
static int next_word(char *w, size_t n) {
  size_t i = 0;
  while (*cursor == ' ' || *cursor == '\n') cursor++;
  if (!*cursor) return 0;
  while (*cursor && *cursor != ' ' && *cursor != '\n' && i + 1 < n) w[i++] = *cursor++;
  w[i] = 0;
  return 1;
}
#else
static int next_token(long long *v) { return scanf("%lld", v) == 1; }
static int next_word(char *w, size_t n) {
  (void)n;
  return scanf("%15s", w) == 1;
}
#endif

static long long next_int(void) {
  long long v;
  if (next_token(&v) != 1) {
    printf("run_rnn: malformed input\n");
    exit(2);
  }
  return v;
}

static void *read_array(int32_t size, int32_t *n_out) {
  const int32_t n = (int32_t)next_int();
  char *a = (char *)malloc((size_t)(n > 0 ? n : 1) * (size_t)size);
  int32_t i;
  if (!a) exit(2);
  for (i = 0; i < n; i++) {
    const long long v = next_int();
    if (size == 8) ((int64_t *)a)[i] = (int64_t)v;
    else if (size == 4) ((int32_t *)a)[i] = (int32_t)v;
    else ((int8_t *)a)[i] = (int8_t)v;
  }
  if (n_out) *n_out = n;
  return a;
}

int main(void) {
  char kind[16];
  int checks = 0;
  while (next_word(kind, sizeof kind)) {
    tm2_rnn_params p;
    const int lstm = strcmp(kind, "lstm") == 0;
    const int32_t bits = (int32_t)next_int();
    int32_t n, i, same = 1;
    int8_t *w, *in, *out, *ref;
    void *scratch;
    size_t bytes;
    p.steps = (int32_t)next_int();
    p.in_size = (int32_t)next_int();
    p.hidden = (int32_t)next_int();
    p.in_zp = (int32_t)next_int();
    p.out_zp = (int32_t)next_int();
    p.act_min = (int32_t)next_int();
    p.act_max = (int32_t)next_int();
    p.out_multiplier = (int32_t)next_int();
    p.out_shift = (int32_t)next_int();
    p.cell_frac = (int32_t)next_int();
    p.last_only = (int32_t)next_int();
    p.gate_bias = (const int64_t *)read_array(8, NULL);
    p.gate_multiplier = (const int32_t *)read_array(4, NULL);
    p.gate_shift = (const int32_t *)read_array(4, NULL);
    w = (int8_t *)read_array(1, NULL);
    in = (int8_t *)read_array(1, NULL);
    n = p.last_only ? p.hidden : p.steps * p.hidden;
    out = (int8_t *)malloc((size_t)n + 1);
    ref = (int8_t *)malloc((size_t)n + 1);
    bytes = lstm ? tm2_lstm_scratch_size(&p) : tm2_gru_scratch_size(&p);
    scratch = malloc(bytes);
    if (!out || !ref || !scratch) exit(2);
    if (lstm) {
      (bits == 8 ? tm2_ref_lstm_s8 : tm2_ref_lstm_s4)(&p, in, w, ref, scratch);
      (bits == 8 ? tm2_lstm_s8 : tm2_lstm_s4)(&p, in, w, out, scratch);
    } else {
      (bits == 8 ? tm2_ref_gru_s8 : tm2_ref_gru_s4)(&p, in, w, ref, scratch);
      (bits == 8 ? tm2_gru_s8 : tm2_gru_s4)(&p, in, w, out, scratch);
    }
    for (i = 0; i < n; i++) same &= out[i] == ref[i];
    if (!same) printf("MISMATCH");
    else
      for (i = 0; i < n; i++) printf(i ? " %d" : "%d", out[i]);
    printf("\n");
    checks++;
    free((void *)p.gate_bias);
    free((void *)p.gate_multiplier);
    free((void *)p.gate_shift);
    free(w);
    free(in);
    free(out);
    free(ref);
    free(scratch);
  }
  printf("DONE %d\n", checks);
  return 0;
}
