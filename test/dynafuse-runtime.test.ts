// DynaFuse run-time routine: the C (runtime-c/dynafuse) against its TypeScript twin
// (compiler/dynafuse/runtime.ts) on many random models and states, every output field compared;
// strict builds (gcc with sanitizers, clang, arm-none-eabi-gcc for Cortex-M4); and the rules on
// hand-made states.
import { spawnSync } from 'node:child_process';
import { mulberry32 as rng } from '../compiler/random.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as df from '../compiler/dynafuse/runtime.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'runtime-c', 'dynafuse', 'tm2_dynafuse.c');
const DRIVER = join(ROOT, 'test', 'c', 'dynafuse_driver.c');
const STRICT = ['-std=c99', '-Wall', '-Wextra', '-Werror', '-pedantic', `-I${join(ROOT, 'runtime-c', 'dynafuse')}`];

function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

function run(cmd: string, args: string[], input?: string) {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 256 << 20, timeout: 120_000 });
  if (r.error) throw r.error;
  return r;
}


interface TestModality { tables: df.ModalityTables; bits: 8 | 16 }
interface TestModel { tables: df.DynaFuseTables; bits: Array<8 | 16> }
interface TestState { sigma: Array<number | undefined>; windows: Array<Int8Array | Int16Array | undefined>; batteryPct: number; forcedMode: number; heads: Int8Array[]; fused?: Int8Array }

function randomModel(r: () => number): TestModel {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const increasing = (n: number, lo: number, hi: number) => {
    const xs = new Set<number>();
    while (xs.size < n) xs.add(int(lo, hi));
    return [...xs].sort((a, b) => a - b);
  };
  const n = int(1, 8);
  const classes = int(2, 40);
  const energies = [1000, 2500, 2500, 70_000, int(1, 4_000_000)];
  const mods: TestModality[] = [];
  for (let i = 0; i < n; i++) {
    const channels = int(1, 12);
    const nEst = int(0, 6);
    const nRes = int(1, 12);
    const estX = increasing(nEst, 0, 30_000);
    const resX = increasing(nRes, 0, 12_000);
    // Mostly decreasing accuracies, sometimes out of [0, 32768] to exercise the clamp.
    let a = int(8000, 34_000);
    const resY = resX.map(() => (a = a - int(-500, 4000)));
    mods.push({
      bits: r() < 0.7 ? 8 : 16,
      tables: {
        name: `m${i}`,
        channels,
        samples: int(1, 140),
        diffShift: int(0, 8),
        estMultQ16: Array.from({ length: channels }, () => int(0, 1 << 24)),
        estToSigma: { x: estX, y: estX.map(() => int(0, 12_000)).sort((p, q) => p - q) },
        resilience: { x: resX, y: resY },
        energyNj: energies[int(0, energies.length - 1)],
        expTable: df.expTableFor(0.005 + r() * 0.6),
      },
    });
  }
  const tables: df.DynaFuseTables = {
    classes,
    modalities: mods.map((m) => m.tables),
    thresholdQ15: r() < 0.5 ? 26214 : int(0, 32768),
    defaultMode: int(0, 2),
    batteryEnergySavingBelow: 20,
    batteryNominalBelow: 50,
    fused: r() < 0.5 ? { expTable: df.expTableFor(0.005 + r() * 0.6), energyNj: int(0, 100_000) } : undefined,
    allSelectedRule: r() < 0.5 ? df.ALL_DYNAMIC_WEIGHTS : df.ALL_FUSED_HEAD,
  };
  return { tables, bits: mods.map((m) => m.bits) };
}

function randomState(model: TestModel, r: () => number): TestState {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const t = model.tables;
  const sigma: TestState['sigma'] = [];
  const windows: TestState['windows'] = [];
  t.modalities.forEach((m, i) => {
    if (r() < 0.4) {
      sigma.push(int(-500, 12_000));
      windows.push(undefined);
      return;
    }
    sigma.push(undefined);
    const len = m.channels * m.samples;
    const amp = int(0, model.bits[i] === 8 ? 127 : 32767);
    const base = int(-amp, amp);
    if (model.bits[i] === 8) windows.push(Int8Array.from({ length: len }, () => Math.max(-128, Math.min(127, base + int(-amp, amp)))));
    else windows.push(Int16Array.from({ length: len }, () => Math.max(-32768, Math.min(32767, base + int(-amp, amp)))));
    void base;
  });
  const logits = () => {
    const spread = int(0, 255);
    return Int8Array.from({ length: t.classes }, () => Math.max(-128, Math.min(127, int(-128, -128 + spread))));
  };
  return {
    sigma,
    windows,
    batteryPct: r() < 0.3 ? -1 : int(0, 100),
    forcedMode: r() < 0.6 ? -1 : int(0, 2),
    heads: t.modalities.map(logits),
    fused: t.fused ? logits() : undefined,
  };
}

function serialize(model: TestModel, states: TestState[]): string {
  const t = model.tables;
  const out: Array<string | number> = ['M', t.modalities.length, t.classes, t.thresholdQ15, t.defaultMode, t.batteryEnergySavingBelow, t.batteryNominalBelow, t.fused ? 1 : 0, t.fused?.energyNj ?? 0, t.allSelectedRule];
  if (t.fused) out.push(...t.fused.expTable);
  t.modalities.forEach((m, i) => {
    out.push(m.channels, m.samples, m.diffShift, model.bits[i], m.energyNj);
    out.push(m.estToSigma.x.length, ...m.estToSigma.x, ...m.estToSigma.y);
    out.push(m.resilience.x.length, ...m.resilience.x, ...m.resilience.y);
    out.push(...m.estMultQ16, ...m.expTable);
  });
  out.push('S', states.length);
  for (const s of states) {
    t.modalities.forEach((_, i) => {
      if (s.sigma[i] !== undefined) out.push(1, s.sigma[i]!);
      else out.push(0, ...s.windows[i]!);
    });
    out.push(s.batteryPct, s.forcedMode);
    for (const h of s.heads) out.push(...h);
    if (s.fused) out.push(...s.fused);
  }
  return out.join(' ') + '\n';
}

const coverage = { modes: new Set<number>(), fused: 0, partial: 0, estimated: 0 };

/** The twin's answer, in the driver's output order. */
function expected(model: TestModel, s: TestState): number[] {
  const t = model.tables;
  const sigmaQ12 = t.modalities.map((m, i) => {
    if (s.sigma[i] !== undefined) return s.sigma[i]!;
    const w = s.windows[i]!;
    return w instanceof Int8Array ? df.noiseS8(m, w) : df.noiseS16(m, w as Int16Array);
  });
  const d = df.decide(t, { sigmaQ12, batteryPct: s.batteryPct, forcedMode: s.forcedMode });
  const f = df.fuse(t, d, s.heads, s.fused);
  coverage.modes.add(d.mode);
  if (d.useFused) coverage.fused++;
  if (d.mask !== 2 ** t.modalities.length - 1) coverage.partial++;
  coverage.estimated += s.sigma.filter((x) => x === undefined).length;
  return [...sigmaQ12, d.mode, d.mask, d.useFused ? 1 : 0, ...d.accQ15, ...d.wInitQ15, ...d.weightQ15, d.energyNj, ...f.probsQ15, f.argmax];
}

describe('DynaFuse C routine', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tm2-dynafuse-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds strictly with gcc (ASan + UBSan) and matches the TypeScript twin on 4,000 random states', () => {
    const exe = join(dir, 'driver');
    const b = run('gcc', [...STRICT, '-O1', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', SRC, DRIVER, '-o', exe]);
    expect(b.stderr).toBe('');
    expect(b.status).toBe(0);
    const r = rng(20261123);
    let input = '';
    const want: number[][] = [];
    for (let m = 0; m < 80; m++) {
      const model = randomModel(r);
      const states = Array.from({ length: 50 }, () => randomState(model, r));
      input += serialize(model, states);
      for (const s of states) want.push(expected(model, s));
    }
    const res = run(exe, [], input);
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    const got = res.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
    expect(got.length).toBe(want.length);
    let mismatches = 0;
    for (let k = 0; k < want.length; k++) {
      if (got[k].join(' ') !== want[k].join(' ')) {
        if (mismatches++ === 0) expect(got[k], `state ${k}`).toEqual(want[k]);
      }
    }
    expect(mismatches).toBe(0);
    // The states exercised every mode, the fused head, partial masks and the estimator (not a vacuous test).
    expect([...coverage.modes].sort()).toEqual([0, 1, 2]);
    expect(coverage.fused).toBeGreaterThan(100);
    expect(coverage.partial).toBeGreaterThan(500);
    expect(coverage.estimated).toBeGreaterThan(1000);
  });

  it.runIf(have('clang'))('builds with clang, same strict flags', () => {
    const b = run('clang', [...STRICT, '-O2', '-c', SRC, '-o', join(dir, 'df_clang.o')]);
    expect(b.stderr).toBe('');
    expect(b.status).toBe(0);
  });

  it.runIf(have('arm-none-eabi-gcc'))('builds for Cortex-M4 with arm-none-eabi-gcc without warnings', () => {
    const b = run('arm-none-eabi-gcc', [...STRICT, '-mcpu=cortex-m4', '-mthumb', '-mfloat-abi=hard', '-mfpu=fpv4-sp-d16', '-O2', '-c', SRC, '-o', join(dir, 'df_m4.o')]);
    expect(b.stderr).toBe('');
    expect(b.status).toBe(0);
  });
});

describe('DynaFuse rules (TypeScript twin, hand-made states)', () => {
  // Three modalities with flat-then-falling resilience; energies 30 < 10 < 20 uJ order: m1, m2, m0.
  const flat = (ideal: number): df.Pwl => ({ x: [0, 4096, 8192], y: [ideal, Math.round(ideal * 0.5), 0] });
  const modality = (name: string, ideal: number, energyNj: number): df.ModalityTables => ({
    name, channels: 1, samples: 4, diffShift: 0, estMultQ16: [65536], estToSigma: { x: [], y: [] },
    resilience: flat(ideal), energyNj, expTable: df.expTableFor(0.1),
  });
  const tables: df.DynaFuseTables = {
    classes: 3,
    modalities: [modality('a', 30000, 30_000), modality('b', 28000, 10_000), modality('c', 26000, 20_000)],
    thresholdQ15: 26214, defaultMode: df.NOMINAL, batteryEnergySavingBelow: 20, batteryNominalBelow: 50,
    fused: { expTable: df.expTableFor(0.1), energyNj: 500 },
    allSelectedRule: df.ALL_FUSED_HEAD,
  };
  const paper: df.DynaFuseTables = { ...tables, allSelectedRule: df.ALL_DYNAMIC_WEIGHTS };
  const req = (sigma: number[], batteryPct = -1, forcedMode = -1): df.Request => ({ sigmaQ12: sigma, batteryPct, forcedMode });

  it('piecewise-linear interpolation truncates toward zero and is flat outside the knots', () => {
    const f = { x: [0, 3], y: [0, -10] };
    expect(df.pwlEval(f, 1)).toBe(-3); // -10/3 truncated, not floored
    expect(df.pwlEval(f, -5)).toBe(0);
    expect(df.pwlEval(f, 99)).toBe(-10);
  });

  it('Q15 shares sum to exactly 32768 and give the remainder to the largest fractions', () => {
    expect(df.q15Shares([1, 1, 1], 0b111)).toEqual([10923, 10923, 10922]);
    expect(df.q15Shares([2, 1, 0], 0b111)).toEqual([21845, 10923, 0]);
    expect(df.q15Shares([0, 0, 0], 0b011)).toEqual([16384, 16384, 0]);
    expect(df.q15Shares([5, 7, 9], 0b100)).toEqual([0, 0, 32768]);
  });

  it('high accuracy on clean inputs runs every modality and the fused head', () => {
    const d = df.decide(tables, req([0, 0, 0], -1, df.HIGH_ACCURACY));
    expect(d.mask).toBe(0b111);
    expect(d.useFused).toBe(true);
    expect(d.weightQ15.reduce((a, b) => a + b)).toBe(32768);
    expect(d.energyNj).toBe(60_500);
  });

  it("the paper's rule: every modality selected -> every head fused with the run-time weights, no fused head", () => {
    const d = df.decide(paper, req([0, 1024, 0], -1, df.HIGH_ACCURACY));
    expect(d.mask).toBe(0b111);
    expect(d.useFused).toBe(false);
    expect(d.energyNj).toBe(60_000); // the fused head's extra ops are not run
    // Weights follow the estimated accuracies: b is noisier (24500 vs 30000 and 26000), so it weighs least.
    expect(d.weightQ15.reduce((a, b) => a + b)).toBe(32768);
    expect(d.weightQ15[1]).toBeLessThan(d.weightQ15[2]);
    expect(d.weightQ15[2]).toBeLessThan(d.weightQ15[0]);
    const heads = [Int8Array.from([0, 100, 0]), Int8Array.from([0, 0, 127]), Int8Array.from([0, 100, 0])];
    expect(df.fuse(paper, d, heads).argmax).toBe(1);
  });

  it('nominal takes N/2 = 1 of 3; energy saving takes the cheapest candidate', () => {
    expect(df.decide(tables, req([0, 0, 0])).mask).toBe(0b010); // default mode nominal, cheapest is b
    const d = df.decide(tables, req([0, 0, 0], 10));
    expect(d.mode).toBe(df.ENERGY_SAVING);
    expect(d.mask).toBe(0b010);
    expect(d.weightQ15).toEqual([0, 32768, 0]);
    expect(d.useFused).toBe(false);
  });

  it('a noisy modality drops out of the candidates (accuracy < 0.8 x best ideal)', () => {
    // b at sigma 1 std: 14000 < 0.8 x 30000 = 24000, so energy saving falls to the next cheapest, c.
    const d = df.decide(tables, req([0, 4096, 0], 10));
    expect(d.mask).toBe(0b100);
    const h = df.decide(tables, req([0, 4096, 0], 90));
    expect(h.mode).toBe(df.HIGH_ACCURACY);
    expect(h.mask).toBe(0b101);
    expect(h.useFused).toBe(false);
    expect(h.weightQ15[0] + h.weightQ15[2]).toBe(32768);
    expect(h.weightQ15[0]).toBeGreaterThan(h.weightQ15[2]);
    // w_init still covers every modality.
    expect(h.wInitQ15.reduce((a, b) => a + b)).toBe(32768);
    expect(h.wInitQ15[1]).toBeGreaterThan(0);
  });

  it('with no candidate left, the most accurate modality alone runs', () => {
    const d = df.decide(tables, req([8192, 6000, 8192], 90));
    expect(d.mask).toBe(0b010);
  });

  it('forced mode wins over the battery; battery wins over the default', () => {
    expect(df.decide(tables, req([0, 0, 0], 5, df.HIGH_ACCURACY)).mode).toBe(df.HIGH_ACCURACY);
    expect(df.decide(tables, req([0, 0, 0], 30)).mode).toBe(df.NOMINAL);
    expect(df.decide(tables, req([0, 0, 0], 80)).mode).toBe(df.HIGH_ACCURACY);
  });

  it('fusion: weighted Q15 probabilities, argmax of the selected heads only', () => {
    const d = df.decide(tables, req([0, 4096, 0], 90)); // a and c selected
    const heads = [Int8Array.from([100, 0, 0]), Int8Array.from([0, 0, 127]), Int8Array.from([0, 90, 0])];
    const f = df.fuse(tables, d, heads);
    expect(f.argmax).toBe(0); // a weighs more than c; b (which votes 2) is not run
    expect(f.probsQ15[2]).toBeLessThan(f.probsQ15[0]);
    expect(Math.abs(f.probsQ15.reduce((a, b) => a + b) - 32768)).toBeLessThanOrEqual(3);
  });

  it('the noise estimator: median |first difference| per channel, scaled, channel mean', () => {
    const m = { ...modality('x', 30000, 1), channels: 2, samples: 5, estMultQ16: [65536 * 10, 65536] };
    // channel 0: 0,1,3,3,7 -> |d| 1,2,0,4 -> lower median 1 -> 10; channel 1 constant -> 0; mean 5.
    const w = Int8Array.from([0, 5, 1, 5, 3, 5, 3, 5, 7, 5]);
    expect(df.noiseS8(m, w)).toBe(5);
  });
});
