// Benchmarks share the machine with other work: they run (and the compilers and QEMU they start, which inherit
// it) at nice 10 or lower. Not permitted, or already lower: the priority stays as it is.
import { getPriority, setPriority } from 'node:os';

export function lowerPriority(): void {
  try {
    setPriority(Math.max(getPriority(), 10));
  } catch {
    /* keep the current priority */
  }
}
