// Device vs emulator comparison: bit-exactness, mismatch details, top-1 scores.
import { expect, it } from 'vitest';
import { argmax, compareOutputs } from '../compiler/target/compare.ts';

const row = (...v: number[]) => ({ logits: Int8Array.from(v) });

it('counts bit-exact rows, top-1 accuracy and agreement with the float model', () => {
  const expected = [row(1, 5, 2), row(9, 0, 0), row(-3, -1, -2)];
  const device = [row(1, 5, 2), row(9, 0, 0), row(-3, -1, -2)];
  const c = compareOutputs(device, expected, {
    labels: { logits: [1, 1, 1] },
    floatTop1: [{ logits: 1 }, { logits: 0 }, { logits: 2 }],
  });
  expect(c.bitExact).toBe(true);
  expect(c.mismatches).toEqual([]);
  expect(c.outputs).toEqual([{ output: 'logits', bitExactRows: 3, accuracy: 2 / 3, agreementWithFloat: 2 / 3 }]);
});

it('reports where the device differs', () => {
  const c = compareOutputs([row(1, 7, 2), row(0, 0, 0)], [row(1, 5, 3), row(0, 0, 0)]);
  expect(c.bitExact).toBe(false);
  expect(c.outputs[0]!.bitExactRows).toBe(1);
  expect(c.mismatches).toEqual([{ row: 0, output: 'logits', indices: [1, 2], differing: 2, device: [7, 2], expected: [5, 3] }]);
  expect(c.outputs[0]!.accuracy).toBeNull();
});

it('takes the first maximum on ties', () => {
  expect(argmax([3, 7, 7, 1])).toBe(1);
});
