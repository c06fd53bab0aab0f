import { describe, expect, it } from 'vitest';
import { planArena, type BufferRequest } from '../compiler/codegen/memory.ts';

function overlaps(a: [number, number], b: [number, number]): boolean {
  return a[0] < b[1] && b[0] < a[1];
}

describe('arena planner', () => {
  it('reuses the bytes of a buffer that is dead for one that is born later', () => {
    const plan = planArena([
      { name: 'a', bytes: 100, first: 0, last: 1 },
      { name: 'b', bytes: 60, first: 1, last: 2 },
      { name: 'c', bytes: 100, first: 2, last: 3 },
    ]);
    expect(plan.lowerBound).toBe(160);
    expect(plan.arenaBytes).toBe(160);
    expect(plan.offsets.get('c')).toBe(plan.offsets.get('a'));
  });

  it('places aliases inside their storage and keeps the storage alive for them', () => {
    // Two branch outputs written straight into the concat output, then a dense reads it.
    const plan = planArena(
      [
        { name: 'x', bytes: 40, first: 0, last: 1 },
        { name: 'cat', bytes: 24, first: 2, last: 3 },
        { name: 'y', bytes: 8, first: 3, last: 4 },
      ],
      [
        { name: 'left', of: 'cat', offset: 0, first: 0, last: 2 },
        { name: 'right', of: 'cat', offset: 16, first: 1, last: 2 },
      ],
    );
    expect(plan.offsets.get('right')).toBe(plan.offsets.get('cat')! + 16);
    // cat is alive from step 0 (left is written then), so it cannot share bytes with x.
    const x: [number, number] = [plan.offsets.get('x')!, plan.offsets.get('x')! + 40];
    const cat: [number, number] = [plan.offsets.get('cat')!, plan.offsets.get('cat')! + 24];
    expect(overlaps(x, cat)).toBe(false);
  });

  it('never overlaps two buffers that are alive at once, on random instances', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + rand(25);
      const bufs: BufferRequest[] = [];
      for (let i = 0; i < n; i++) {
        const first = rand(20);
        bufs.push({ name: `t${i}`, bytes: 1 + rand(5000), first, last: first + rand(6) });
      }
      const plan = planArena(bufs, [], 4);
      expect(plan.arenaBytes).toBeGreaterThanOrEqual(plan.lowerBound);
      for (const a of bufs) {
        const ra: [number, number] = [plan.offsets.get(a.name)!, plan.offsets.get(a.name)! + a.bytes];
        expect(ra[0] % 4).toBe(0);
        expect(ra[1]).toBeLessThanOrEqual(plan.arenaBytes);
        for (const b of bufs) {
          if (a === b || a.last < b.first || b.last < a.first) continue;
          const rb: [number, number] = [plan.offsets.get(b.name)!, plan.offsets.get(b.name)! + b.bytes];
          expect(overlaps(ra, rb), `${a.name} and ${b.name}`).toBe(false);
        }
      }
    }
  });

  it('tries more than one placement order: reaches the lower bound where largest-first alone does not', () => {
    // Largest first puts t1 (68) and t0 (52) both at 0; t4 (20, alive with both) lands at 68, and
    // t2 (alive with t0 and t4) above it: 108 bytes. Another order fits all in 92, the bound.
    const plan = planArena([
      { name: 't0', bytes: 52, first: 4, last: 6 },
      { name: 't1', bytes: 68, first: 2, last: 3 },
      { name: 't2', bytes: 20, first: 4, last: 6 },
      { name: 't3', bytes: 36, first: 0, last: 1 },
      { name: 't4', bytes: 20, first: 3, last: 5 },
    ]);
    expect(plan.lowerBound).toBe(92);
    expect(plan.arenaBytes).toBe(92);
  });

  it('reaches the lower bound on a chain (the shape of a CNN without branches)', () => {
    const sizes = [8000, 8000, 4000, 4000, 2000, 640, 64, 10];
    const bufs = sizes.map((bytes, i) => ({ name: `t${i}`, bytes, first: i, last: i + 1 }));
    const plan = planArena(bufs);
    expect(plan.lowerBound).toBe(16000);
    expect(plan.arenaBytes).toBe(16000);
  });
});
