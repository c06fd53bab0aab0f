/*
 * Self-test firmware for the board harness: prints through semihosting/stdio, runs a loop of
 * TM2_LOOP_N iterations inside a counted region TM2_REPEAT times, uses the FPU (so a missing FPU enable
 * faults), and exits with TM2_EXIT_CODE. Used by test/target*.test.ts; handy by hand as well:
 *   region 0 is empty and counts 1; the next TM2_REPEAT regions count a + b*N each, identical from run
 *   to run.
 */
#include <stdio.h>
#include "tm2_count.h"

#ifndef TM2_LOOP_N
#define TM2_LOOP_N 1000
#endif
#ifndef TM2_REPEAT
#define TM2_REPEAT 3
#endif
#ifndef TM2_EXIT_CODE
#define TM2_EXIT_CODE 0
#endif

volatile unsigned tm2_sink;

/* noinline: the loop body must not be merged with the caller or the markers. */
__attribute__((noinline)) static unsigned mix(unsigned n) {
  unsigned acc = 0;
  for (unsigned i = 0; i < n; i++) {
    acc = acc * 31u + (i ^ (acc >> 3));
    tm2_sink = acc; /* volatile store: one per iteration, so the loop cannot be folded away */
  }
  return acc;
}

int main(void) {
  volatile float scale = 1.5f;
  printf("tm2 selftest: N=%d\n", TM2_LOOP_N);
  unsigned result = 0;
  /* An empty region first: it must count exactly 1 (the call of tm2_count_end). */
  tm2_count_begin();
  tm2_count_end();
  for (int r = 0; r < TM2_REPEAT; r++) {
    tm2_count_begin();
    result += mix(TM2_LOOP_N);
    tm2_count_end();
  }
  printf("result %u float %d\n", result, (int)(scale * 4.0f));
  fflush(stdout);
  return TM2_EXIT_CODE;
}
