// The ADMN depth controller: C (runtime-c/admn/tm2_admn.c) = TypeScript twin (compiler/admn/controller.ts)
// on random tables, sigmas, modality masks and budgets (host gcc; Cortex-M4 under QEMU with its cost
// counted), and the rule's intended behaviour on a hand-made profile.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allocate, type AdmnTables } from '../compiler/admn/controller.ts';
import { runControllerOnDevice, runControllerOnHost, twinAllocations, type ControllerCase } from '../compiler/admn/measure.ts';
import { haveTool } from '../compiler/codegen/hostcheck.ts';
import { mulberry32 } from '../compiler/random.ts';
import { loadBoard } from '../compiler/target/boards.ts';

const work = mkdtempSync(join(tmpdir(), 'tm2-admn-ctl-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const SIGMAS = [0, 1024, 2048, 4096, 6144, 8192];

function randomTables(seed: number, n: number): AdmnTables {
  const r = mulberry32(seed);
  let bit = 0;
  return {
    modalities: Array.from({ length: n }, (_, i) => {
      const depths = 1 + Math.floor(r() * 4);
      let cost = 20000 + Math.floor(r() * 50000);
      const instructions = [cost];
      for (let d = 0; d < depths; d++) instructions.push((cost += 10000 + Math.floor(r() * 90000)));
      return {
        name: `m${i}`,
        // Not necessarily monotonic in depth: the rule must cope with profiles that dip.
        accuracy: instructions.map(() => ({ x: SIGMAS, y: SIGMAS.map((_, k) => Math.max(0, Math.round(32768 * (0.3 + 0.7 * r()) * (1 - k * 0.12)))) })),
        instructions,
        blockBits: Array.from({ length: depths }, () => 2 ** bit++),
      };
    }),
  };
}

function randomCases(t: AdmnTables, seed: number, count: number): ControllerCase[] {
  const r = mulberry32(seed);
  const n = t.modalities.length;
  const full = t.modalities.reduce((s, m) => s + m.instructions[m.instructions.length - 1], 0);
  return Array.from({ length: count }, () => ({
    sigmaQ12: Array.from({ length: n }, () => Math.floor(r() * 10000) - 500),
    modalityMask: r() < 0.3 ? 2 ** n - 1 : Math.floor(r() * 2 ** n),
    budget: Math.floor(r() * full * 1.1),
  }));
}

describe('ADMN controller', () => {
  it('gives the noisy modality fewer blocks and fits the budget (hand-made profile)', () => {
    const t: AdmnTables = {
      modalities: ['a', 'b'].map((name, i) => ({
        name,
        // Clean: each block adds accuracy; at sigma 2 the depth no longer helps.
        accuracy: [0, 1, 2, 3].map((d) => ({ x: [0, 8192], y: [16384 + d * 5000, 16384 + d * 200] })),
        instructions: [100000, 200000, 300000, 400000],
        blockBits: [1, 2, 4].map((b) => b << (3 * i)),
      })),
    };
    const a = allocate(t, [0, 8192], 3, 600000);
    expect(a.depth).toEqual([3, 1]);
    expect(a.instructions).toBeLessThanOrEqual(600000);
    expect(a.blockMask).toBe(0b001111);
    // Over budget at depth 0: the stems still run, nothing more.
    expect(allocate(t, [0, 0], 3, 1000)).toEqual({ blockMask: 0, instructions: 200000, depth: [0, 0] });
    // Only the selected modality gets blocks.
    expect(allocate(t, [0, 0], 2, 10 ** 9).depth).toEqual([0, 3]);
  });

  it('C = TypeScript twin on 400 random cases over 4 random tables (host gcc)', () => {
    for (let s = 1; s <= 4; s++) {
      const t = randomTables(s, 1 + s);
      const cases = randomCases(t, 100 + s, 100);
      expect(runControllerOnHost(t, cases, join(work, `host${s}`))).toEqual(twinAllocations(t, cases));
    }
  });

  it.skipIf(!haveTool('arm-none-eabi-gcc') || !haveTool('qemu-system-arm'))('C = twin on Cortex-M4 (QEMU mps2-an386), its cost counted', async () => {
    const t = randomTables(9, 5);
    const cases = randomCases(t, 77, 60);
    const run = await runControllerOnDevice(t, cases, loadBoard('mps2-an386'), join(work, 'qemu'));
    expect(run.allocations).toEqual(twinAllocations(t, cases));
    expect(Math.max(...run.instructions)).toBeLessThan(20000);
    expect(Math.min(...run.instructions)).toBeGreaterThan(20);
  }, 300_000);
});
