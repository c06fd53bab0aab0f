// The recurrent kernels (runtime-c lstm.c / gru.c / rnn_ref.c) against the TypeScript emulator
// (compiler/kernels/rnn.ts), bit for bit, on random shapes and parameters: on the host (gcc with
// AddressSanitizer and UBSan: the portable C path) and on Cortex-M4 under QEMU (the DSP assembly).
// Every case also checks the optimized kernel against the C reference (run_rnn.c prints MISMATCH).
// Plus: the C tables equal the formula, and the lowering tracks the float recurrence.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  emulateRnn, lowerRnn, packRnnWeights, RNN_GATES, SIGMOID_TABLE, TANH_TABLE,
  type FloatRnn, type QRnnParams, type RnnKind,
} from '../compiler/kernels/rnn.ts';
import type { Bits } from '../compiler/quant/qgraph.ts';
import { rnnForward } from '../compiler/ops/recurrent.ts';
import { mulberry32 } from '../compiler/random.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RT = join(ROOT, 'runtime-c');
const SOURCES = readdirSync(join(RT, 'src')).filter((f) => f.endsWith('.c')).map((f) => join(RT, 'src', f));
const STRICT = ['-std=c99', '-Wall', '-Wextra', '-Werror', '-pedantic'];
const INCLUDES = [`-I${join(RT, 'include')}`, `-I${join(RT, 'src')}`];
const M4 = ['-mcpu=cortex-m4', '-mthumb', '-mfloat-abi=hard', '-mfpu=fpv4-sp-d16'];

const have = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

function run(cmd: string, args: string[], input?: string) {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 300_000 });
  if (r.error) throw r.error;
  return r;
}

function compile(cc: string, flags: string[], sources: string[], out: string): void {
  const r = run(cc, [...flags, ...INCLUDES, ...sources, '-o', out]);
  expect(r.stderr, `${cc} ${flags.join(' ')}`).toBe('');
  expect(r.status).toBe(0);
}

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tm2-rnn-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A float layer with random weights of a realistic size (|w| ~ 1/sqrt(fan-in)). */
function randomFloat(u: () => number, kind: RnnKind, steps: number, inSize: number, hidden: number): FloatRnn {
  const G = RNN_GATES[kind];
  const s = 1.5 / Math.sqrt(hidden);
  const arr = (n: number, a: number) => Float32Array.from({ length: n }, () => (u() * 2 - 1) * a);
  return { kind, steps, inSize, hidden, w: arr(G * hidden * inSize, s), r: arr(G * hidden * hidden, s), wb: arr(G * hidden, 0.8), rb: arr(G * hidden, 0.8) };
}

interface Case {
  p: QRnnParams;
  x: Int8Array;
  text: string;
  what: string;
}

function list(a: ArrayLike<number | bigint>): string {
  return `${a.length} ${Array.from(a, String).join(' ')}`;
}

function makeCase(seed: number): Case {
  const u = mulberry32(seed);
  const ri = (lo: number, hi: number) => lo + Math.floor(u() * (hi - lo + 1));
  const kind: RnnKind = u() < 0.5 ? 'lstm' : 'gru';
  const bits: Bits = u() < 0.3 ? 4 : 8;
  const steps = ri(1, 6), inSize = ri(1, 21), hidden = ri(1, 19);
  const f = randomFloat(u, kind, steps, inSize, hidden);
  const inScale = [0.004, 0.02, 0.1, 0.6][ri(0, 3)]; // 0.6: large multipliers, the r < 32 path
  const outScale = [1 / 128, 1 / 64, 0.02][ri(0, 2)];
  const p = lowerRnn(f, { inScale, inZp: ri(-128, 127), outScale, outZp: ri(-20, 20), cellMaxAbs: [0.5, 2, 6, 30][ri(0, 3)] }, bits, 'test');
  if (u() < 0.2) { p.actMin = p.outZp; } // a fused clamp
  p.lastOnly = u() < 0.3;
  const x = Int8Array.from({ length: steps * inSize }, () => ri(-128, 127));
  const head = [kind, bits, steps, inSize, hidden, p.inZp, p.outZp, p.actMin, p.actMax, p.outMultiplier, p.outShift, p.cellFrac, p.lastOnly ? 1 : 0];
  const text = `${head.join(' ')} ${list(p.gateBias)} ${list(p.gateMultiplier)} ${list(p.gateShift)} ${list(packRnnWeights(p))} ${list(x)}`;
  return { p, x, text, what: `${kind} s${bits} T=${steps} I=${inSize} H=${hidden} inScale=${inScale} cellFrac=${p.cellFrac} ${p.lastOnly ? ' last only' : ''} (seed ${seed})` };
}

function check(stdout: string, cases: Case[]): void {
  const lines = stdout.trimEnd().split('\n');
  expect(lines.at(-1)).toBe(`DONE ${cases.length}`);
  for (let i = 0; i < cases.length; i++) {
    expect(lines[i], cases[i].what).not.toBe('MISMATCH');
    expect(lines[i].split(' ').map(Number), cases[i].what).toEqual(Array.from(emulateRnn(cases[i].p, cases[i].x)));
  }
}

describe('recurrent kernels', () => {
  it('the C sigmoid / tanh tables are the formula of compiler/kernels/rnn.ts', () => {
    const src = readFileSync(join(RT, 'src/rnn_act.c'), 'utf8');
    const parse = (name: string) => {
      const m = new RegExp(`${name}\\[513\\] = \\{([^}]*)\\}`).exec(src);
      expect(m, name).not.toBeNull();
      return m![1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
    };
    expect(parse('tm2_sigmoid_table')).toEqual(Array.from(SIGMOID_TABLE));
    expect(parse('tm2_tanh_table')).toEqual(Array.from(TANH_TABLE));
  });

  it('C (host, ASan + UBSan) equals the emulator and the C reference on random layers', () => {
    const exe = join(dir, 'run-rnn');
    compile('gcc', [...STRICT, '-O2', '-fsanitize=address,undefined', '-fno-sanitize-recover=all'], [...SOURCES, join(ROOT, 'test/c/run_rnn.c')], exe);
    const cases = Array.from({ length: 160 }, (_, i) => makeCase(1000 + i));
    const r = run(exe, [], cases.map((c) => c.text).join('\n') + '\n');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    check(r.stdout, cases);
  });

  it.skipIf(!have('arm-none-eabi-gcc') || !have('qemu-system-arm'))('Cortex-M4 (DSP assembly) under QEMU mps2-an386 equals the emulator', () => {
    const cases = Array.from({ length: 40 }, (_, i) => makeCase(5000 + i));
    const header = join(dir, 'rnn_cases.h');
    writeFileSync(header, `static const char rnn_cases[] = ${JSON.stringify(cases.map((c) => c.text).join('\n'))};\n`);
    const elf = join(dir, 'run-rnn-m4.elf');
    compile('arm-none-eabi-gcc', [...M4, '-O2', ...STRICT, '-Wno-overlength-strings', `-DRNN_CASES="${header}"`, '--specs=rdimon.specs', '-T', join(RT, 'bench/mps2/mps2.ld')],
      [join(RT, 'bench/mps2/startup.c'), ...SOURCES, join(ROOT, 'test/c/run_rnn.c')], elf);
    const r = run('qemu-system-arm', ['-M', 'mps2-an386', '-nographic', '-monitor', 'none', '-serial', 'none',
      '-semihosting-config', 'enable=on,target=native', '-kernel', elf]);
    expect(r.status).toBe(0);
    check(r.stdout, cases);
  });

  it('the quantized recurrence tracks the float one (INT8 weights, calibrated ranges)', () => {
    for (const kind of ['lstm', 'gru'] as const) {
      const u = mulberry32(kind === 'lstm' ? 11 : 12);
      const T = 30, I = 12, H = 16;
      const f = randomFloat(u, kind, T, I, H);
      const xf = Float32Array.from({ length: T * I }, () => (u() * 2 - 1) * 2);
      const cells = { value: 0 };
      const yf = rnnForward(f, xf, T, undefined, undefined, cells).y;
      const inScale = 4 / 255, inZp = 0, outScale = 2 / 255, outZp = 0;
      const p = lowerRnn(f, { inScale, inZp, outScale, outZp, cellMaxAbs: cells.value }, 8, kind);
      const xq = Int8Array.from(xf, (v) => Math.max(-128, Math.min(127, Math.round(v / inScale) + inZp)));
      const yq = emulateRnn(p, xq);
      let worst = 0;
      for (let i = 0; i < yf.length; i++) worst = Math.max(worst, Math.abs((yq[i] - outZp) * outScale - yf[i]));
      // a few output steps (2/255 each) after 30 steps of feedback through int8 h
      expect(worst, kind).toBeLessThan(0.05);
    }
  });
});
