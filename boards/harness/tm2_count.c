/*
 * The marker functions whose addresses the instruction-count plugin watches (see tm2_count.h).
 * They must stay real, separate functions: noinline keeps the call, noipa (GCC) stops the optimiser from
 * proving them empty and deleting the calls, and the volatile asm with a memory clobber keeps memory
 * accesses of the measured code from moving across the markers.
 *
 * With -DTM2_REGION_TIMING (Linux builds run on a real board, where there is no plugin) the markers also
 * measure wall time per region and print `tm2_region_ns <index> <ns>` on stderr. Never define it for
 * QEMU runs: that work would then be counted inside the region.
 */
#include "tm2_count.h"

#if defined(__clang__)
#define TM2_MARKER __attribute__((noinline, used, optnone))
#else
#define TM2_MARKER __attribute__((noinline, noipa, used))
#endif

#if defined(TM2_REGION_TIMING)
#include <stdio.h>
#include <time.h>
static struct timespec tm2_region_start;
static unsigned tm2_region_index;
#endif

TM2_MARKER void tm2_count_begin(void) {
  __asm__ volatile("" ::: "memory");
#if defined(TM2_REGION_TIMING)
  clock_gettime(CLOCK_MONOTONIC, &tm2_region_start);
#endif
}

TM2_MARKER void tm2_count_end(void) {
  __asm__ volatile("" ::: "memory");
#if defined(TM2_REGION_TIMING)
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long long ns = (long long)(now.tv_sec - tm2_region_start.tv_sec) * 1000000000LL + (now.tv_nsec - tm2_region_start.tv_nsec);
  fprintf(stderr, "tm2_region_ns %u %lld\n", tm2_region_index++, ns);
#endif
}
