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
});
