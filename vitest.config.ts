import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // C builds and QEMU runs are CPU-bound; two workers match the machine's two cores.
    maxWorkers: 2,
  },
});
