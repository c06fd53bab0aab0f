/*
 * scratch_sizes.c - prints runtime-c's tm2_<kernel>_scratch_size for cases read from stdin, so
 * test/scratch-sizes.test.ts can require the TypeScript figures (compiler/kernels/) to equal them.
 *
 * Input: one case per line until EOF: kernel name (conv, pointwise, dense), then in_h in_w in_c
 * out_h out_w out_c kernel_h kernel_w groups. Output: one line per case, the size in bytes.
 */
#include <stdio.h>
#include <string.h>

#include "tm2.h"

int main(void) {
  char kind[16];
  tm2_conv_params p;
  for (;;) {
    memset(&p, 0, sizeof p);
    if (scanf("%15s %d %d %d %d %d %d %d %d %d", kind, &p.in_h, &p.in_w, &p.in_c, &p.out_h, &p.out_w, &p.out_c, &p.kernel_h,
              &p.kernel_w, &p.groups) != 10) break;
    p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = p.ch_mult = 1;
    if (!strcmp(kind, "conv")) printf("%lu\n", (unsigned long)tm2_conv_scratch_size(&p));
    else if (!strcmp(kind, "pointwise")) printf("%lu\n", (unsigned long)tm2_pointwise_scratch_size(&p));
    else if (!strcmp(kind, "dense")) printf("%lu\n", (unsigned long)tm2_dense_scratch_size(&p));
    else {
      fprintf(stderr, "scratch_sizes: unknown kernel %s\n", kind);
      return 2;
    }
  }
  return 0;
}
