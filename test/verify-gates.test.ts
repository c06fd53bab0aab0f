// The CI gates of `tinym2 verify` (compiler/target/gates.ts) on hand-made figures: the accuracy floor and
// the drop vs float say by how much they miss; --expect compares dequantized device outputs with reference
// outputs within atol + rtol x |reference| and names the worst value.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeNpz } from '../compiler/data/npz.ts';
import { TinyM2Error } from '../compiler/errors.ts';
import { accuracyGates, expectGate } from '../compiler/target/gates.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tm2-gates-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('accuracy gates', () => {
  const outputs = [{ field: 'logits', accuracy: 0.9, floatAccuracy: 0.95 }];

  it('pass at or above the floor and within the drop', () => {
    const checks = accuracyGates(outputs, { minAccuracy: 90, maxDrop: 5 });
    expect(checks.map((c) => c.ok)).toEqual([true, true]);
    expect(checks[1].message).toBe('logits: top-1 90.00% vs 95.00% for the float model (drop 5.00 points)');
  });

  it('fail and say by how much', () => {
    const [floor, drop] = accuracyGates(outputs, { minAccuracy: 92.5, maxDrop: 2 });
    expect(floor).toMatchObject({ ok: false, message: 'logits: top-1 90.00% is 2.50 points below --min-accuracy 92.5' });
    expect(drop).toMatchObject({ ok: false, message: 'logits: top-1 90.00% vs 95.00% for the float model (drop 5.00 points), 3.00 points more than --max-drop 2' });
  });

  it('outputs without labels are not scored; no labels at all is bad input', () => {
    expect(accuracyGates([...outputs, { field: 'aux', accuracy: null, floatAccuracy: null }], { minAccuracy: 50 })).toHaveLength(1);
    expect(() => accuracyGates([{ field: 'aux', accuracy: null, floatAccuracy: null }], { minAccuracy: 50 })).toThrow(TinyM2Error);
    expect(accuracyGates([{ field: 'aux', accuracy: null, floatAccuracy: null }], {})).toEqual([]);
  });
});

describe('--expect', () => {
  // Two rows of three values; scale 0.5, zero point -2: q = -2 is 0.0, q = 0 is 1.0, q = 4 is 3.0.
  const device = [{ y: Int8Array.from([-2, 0, 4]) }, { y: Int8Array.from([0, 0, 0]) }];
  const outputs = [{ name: 'probs', field: 'y', scale: 0.5, zeroPoint: -2 }];
  const ref = path.join(tmp, 'ref.npz');
  writeNpz(ref, { probs: { shape: [2, 3], data: Float32Array.from([0, 1, 3, 1, 1, 1.25]) } });

  it('passes within the tolerance and reports the errors', () => {
    const { checks, reports } = expectGate(ref, device, outputs, { atol: 0.25, rtol: 0 });
    expect(checks[0].ok).toBe(true);
    expect(reports[0]).toMatchObject({ output: 'probs', rows: 2, values: 6, maxAbsError: 0.25, outside: 0, worst: { row: 1, index: 2, device: 1, reference: 1.25 } });
    expect(reports[0].meanAbsError).toBeCloseTo(0.25 / 6, 12);
  });

  it('fails outside it, naming the worst value; rtol widens it; the default atol is 5% of the range', () => {
    const tight = expectGate(ref, device, outputs, { atol: 0.1, rtol: 0 });
    expect(tight.checks[0].ok).toBe(false);
    expect(tight.checks[0].message).toMatch(/1 of 6 values outside, worst row 1 \[2\]: 1\.000 vs 1\.250/);
    expect(expectGate(ref, device, outputs, { atol: 0.1, rtol: 0.2 }).checks[0].ok).toBe(true);
    expect(expectGate(ref, device, outputs, { rtol: 0 }).reports[0].atol).toBeCloseTo(0.05 * 3, 6);
  });

  it('a reference that does not match the verified rows is bad input', () => {
    const other = path.join(tmp, 'other.npz');
    writeNpz(other, { logits: { shape: [2, 3], data: new Float32Array(6) } });
    expect(() => expectGate(other, device, outputs, { rtol: 0 })).toThrow(/has no array 'probs'/);
    writeNpz(other, { probs: { shape: [1, 3], data: new Float32Array(3) } });
    expect(() => expectGate(other, device, outputs, { rtol: 0 })).toThrow(/has shape \[1, 3\], but 2 rows of 3 values were verified/);
  });
});
