// Seeded pseudo-random numbers (mulberry32), so calibration sampling, noise injection, benchmarks
// and randomized tests repeat exactly from run to run.

/** The raw generator: uniformly distributed unsigned 32-bit integers. */
export function mulberry32Uint(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Uniform floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  const next = mulberry32Uint(seed);
  return () => next() / 4294967296;
}

/** Standard normal draws (Box-Muller over uniforms in (0, 1), never 0 so the log is finite). */
export function gaussian(seed: number): () => number {
  const next = mulberry32Uint(seed);
  const uniform = () => (next() + 0.5) / 4294967296;
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}
