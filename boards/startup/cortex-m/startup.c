/*
 * Bare-metal start-up for the Cortex-M boards tinym2 builds for (armv7e-m: M4, M7).
 *
 * Reset: copy .data from flash to RAM, zero .bss, enable the FPU when the code is compiled for one, set up
 * newlib's semihosting I/O, run constructors, call main, and pass its return value to exit(), which ends
 * QEMU (or the debug session) with that code. Faults print their name on stderr and exit with code 125,
 * so a crashing firmware fails fast and visibly instead of hanging until a timeout.
 *
 * The linker script (boards/startup/cortex-m/link.ld.in) provides the __*__ symbols used here.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

extern uint32_t __data_load__[], __data_start__[], __data_end__[];
extern uint32_t __bss_start__[], __bss_end__[];
extern uint32_t __stack_top__[];
extern char __heap_start__[], __heap_end__[];

extern int main(void);
extern void initialise_monitor_handles(void);
extern void __libc_init_array(void);

/* newlib's __libc_init_array calls _init/_fini; nothing to do in them without crt0. */
void _init(void) {}
void _fini(void) {}

/* Heap for newlib (stdio buffers) limited to the .heap reserve of the linker script, so that the RAM
 * figure tinym2 reports (data + bss + heap + stack reserves) is an upper bound and not a guess. */
void *_sbrk(ptrdiff_t increment) {
  static char *brk = __heap_start__;
  if (increment > __heap_end__ - brk || increment < __heap_start__ - brk) {
    errno = ENOMEM;
    return (void *)-1;
  }
  char *previous = brk;
  brk += increment;
  return previous;
}

#define TM2_EXIT_FAULT 125

static void fault(const char *what) {
  static const char prefix[] = "tm2: fault: ";
  write(2, prefix, sizeof prefix - 1);
  write(2, what, strlen(what));
  write(2, "\n", 1);
  _exit(TM2_EXIT_FAULT);
}

static void nmi_handler(void) { fault("NMI"); }
static void hard_fault_handler(void) { fault("HardFault"); }
static void mem_manage_handler(void) { fault("MemManage"); }
static void bus_fault_handler(void) { fault("BusFault"); }
static void usage_fault_handler(void) { fault("UsageFault"); }
static void unexpected_handler(void) { fault("unexpected exception"); }

void tm2_reset_handler(void) {
  /* Copy initialised data and clear zero-initialised data before any C code relies on them. */
  for (uint32_t *src = __data_load__, *dst = __data_start__; dst < __data_end__;) *dst++ = *src++;
  for (uint32_t *dst = __bss_start__; dst < __bss_end__;) *dst++ = 0;
#if defined(__ARM_FP)
  /* CPACR: full access to coprocessors 10 and 11 (the FPU), bits 20-23; then flush the pipeline. */
  volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
  *cpacr |= 0xFu << 20;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
  initialise_monitor_handles();
  __libc_init_array();
  exit(main());
}

typedef void (*vector_t)(void);

/* Initial stack pointer, then the exception handlers (ARMv7-M system exceptions 1..15). No peripheral
 * interrupts are enabled by tinym2 firmware, so the table stops there. */
__attribute__((section(".isr_vector"), used)) const vector_t tm2_vector_table[16] = {
    (vector_t)(uintptr_t)__stack_top__,
    tm2_reset_handler,
    nmi_handler,
    hard_fault_handler,
    mem_manage_handler,
    bus_fault_handler,
    usage_fault_handler,
    unexpected_handler, unexpected_handler, unexpected_handler, unexpected_handler, /* reserved */
    unexpected_handler, /* SVCall */
    unexpected_handler, /* DebugMonitor */
    unexpected_handler, /* reserved */
    unexpected_handler, /* PendSV */
    unexpected_handler, /* SysTick */
};
