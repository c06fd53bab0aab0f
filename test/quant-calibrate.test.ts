import { describe, expect, it } from 'vitest';
import { RangeObserver } from '../compiler/quant/calibrate.ts';

describe('RangeObserver', () => {
  const samples = () => {
    // 200 samples of 1000 values in [0, 1), plus one huge outlier in one sample.
    const out: Array<Map<string, Float32Array>> = [];
    for (let s = 0; s < 200; s++) {
      const v = new Float32Array(1000).map((_, i) => ((s * 1000 + i) * 0.6180339887) % 1);
      if (s === 7) v[3] = 50;
      out.push(new Map([['t', v]]));
    }
    return out;
  };

  it('min/max sees every value, outliers included', () => {
    const obs = new RangeObserver({ method: 'minmax' });
    for (const s of samples()) obs.observe(s);
    const r = obs.result().get('t')!;
    expect(r.max).toBe(50);
    expect(r.min).toBeGreaterThanOrEqual(0);
    expect(r.min).toBeLessThan(1e-4);
  });

  it('the 99.99th percentile ignores a single outlier among 200k values', () => {
    const obs = new RangeObserver({ method: 'percentile', percentile: 99.99 });
    for (const s of samples()) obs.observe(s);
    const r = obs.result().get('t')!;
    expect(r.max).toBeGreaterThan(0.99);
    expect(r.max).toBeLessThan(1);
    expect(r.min).toBeLessThan(0.01);
  });

  it('is deterministic', () => {
    const run = () => {
      const obs = new RangeObserver({ method: 'percentile', percentile: 99.9, sampleSize: 1000 });
      for (const s of samples()) obs.observe(s);
      return obs.result().get('t');
    };
    expect(run()).toEqual(run());
  });

  it("'mse' clips harder at INT4 than at INT8 and never widens min/max", () => {
    const obs = new RangeObserver({ method: 'mse' });
    // A long-tailed (Laplace-like) distribution: most values near 0, a few large.
    const v = new Float32Array(20000).map((_, i) => { const u = (((i + 0.5) * 0.6180339887) % 1) * 0.999 - 0.4995; return -Math.sign(u) * Math.log(1 - 2 * Math.abs(u)); });
    obs.observe(new Map([['t', v]]));
    const r = obs.result().get('t')!;
    const r4 = r.byBits![4]!, r8 = r.byBits![8]!;
    expect(r4.max).toBeLessThan(r.max);
    expect(r4.max - r4.min).toBeLessThan(r8.max - r8.min);
    expect(r8.max).toBeLessThanOrEqual(r.max);
    expect(r8.min).toBeGreaterThanOrEqual(r.min);
  });
});
