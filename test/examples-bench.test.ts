// The examples benchmark (benchmarks/examples-bench.ts): finds the example models and their sets,
// refuses bad options with one message, and measures one model end to end on QEMU (few rows).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { exampleModels } from '../benchmarks/example-models.ts';
import { main, type BenchRow } from '../benchmarks/examples-bench.ts';

const ROOT = resolve(import.meta.dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'tm2-examples-bench-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('examples benchmark', () => {
  it('lists main models and variants with their own sets, or the folder sets', () => {
    const main = exampleModels(join(ROOT, 'examples'), false);
    expect(main.map((m) => m.label)).toEqual(expect.arrayContaining(['av-digits', 'dsa-har', 'stress']));
    expect(main.every((m) => m.variant === null && m.onnx.endsWith('model.onnx'))).toBe(true);
    const all = exampleModels(join(ROOT, 'examples'), true);
    const imageOnly = all.find((m) => m.label === 'av-digits/image_only')!;
    expect(imageOnly.calib.endsWith('image_only.calib.npz')).toBe(true);
    const late = all.find((m) => m.label === 'av-digits/late_fusion')!;
    expect(late.test.endsWith(join('av-digits', 'test.npz'))).toBe(true);
  });

  it('refuses bad options with one message and exit 2', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['--board', 'nope'])).toBe(2);
      expect(await main(['--precision', 'int2'])).toBe(2);
      expect(await main(['--only', 'no-such-example', '--out', out])).toBe(2);
      expect(String(err.mock.calls.at(-1)![0])).toMatch(/no such example model/);
    } finally {
      err.mockRestore();
    }
  });

  it('measures stress at INT8 on mps2-an386: sizes, instructions, accuracy, bit-exact', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(await main(['--only', 'stress', '--precision', 'int8', '--rows', '2', '--out', out, '--json'])).toBe(0);
    } finally {
      log.mockRestore();
    }
    const result = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { rows: BenchRow[] };
    expect(result.rows).toHaveLength(1);
    const r = result.rows[0]!;
    expect(r.error).toBeNull();
    expect(r.bitExact).toBe(true);
    expect(r.deviceRows).toBe(2);
    expect(r.head).toBe('fused_logits');
    expect(r.accuracyFrom).toBe('emulator');
    expect(r.accuracy).toBeGreaterThan(0.3);
    // Flash holds the weights plus the model's code; the arena is at least its lower bound.
    expect(r.flashBytes!).toBeGreaterThan(r.weightBytes!);
    expect(r.arenaBytes!).toBeGreaterThanOrEqual(r.arenaLowerBound!);
    expect(r.instructions!.mean).toBeGreaterThan(r.macs! / 4);
    expect(r.macsPerInstruction).toBeCloseTo(r.macs! / r.instructions!.mean, 9);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toMatch(/\| stress \(fused_logits\) \| INT8 \|/);
  }, 180_000);
});
