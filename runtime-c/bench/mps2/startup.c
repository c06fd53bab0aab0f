/*
 * startup.c - minimal reset code for QEMU's mps2-an386 (Cortex-M4F) / mps2-an500 (Cortex-M7):
 * a two-word vector table (initial SP, reset handler), FPU enable, then newlib's _start
 * (rdimon semihosting: printf to the host console, exit(code) ends QEMU with that code).
 * Used by the kernel self test and the kernel benchmark only; not part of the library.
 */
#include <stdint.h>

extern void _start(void);
extern uint32_t __stack_top;
void tm2_reset(void);

/* Words, not pointers: ISO C has no conversion between function and object pointers. */
__attribute__((section(".vectors"), used)) static const uintptr_t vectors[2] = {(uintptr_t)&__stack_top,
                                                                              (uintptr_t)tm2_reset};

void tm2_reset(void) {
  *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20); /* CPACR: full access to CP10/CP11 (FPU) */
  __asm__ volatile("dsb\n\tisb");
  _start();
}
