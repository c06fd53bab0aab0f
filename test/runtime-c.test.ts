// runtime-c, the C kernel library: strict builds (gcc, clang, sanitizers, Arm Cortex-M4/M7),
// the C self test (requant edge cases, INT4 packing, every optimized kernel against its
// reference on random shapes), the same self test on Cortex-M4 under QEMU (the DSP code path),
// and every kernel against the TypeScript integer emulator on random ops, bit for bit.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as emu from '../compiler/quant/emulator.ts';
import { kernelOf } from '../compiler/kernels/registry.ts';
import type {
  Bits, QAddOp, QConcatOp, QConvOp, QCopyOp, QGlobalAvgPoolOp, QLutOp, QMulOp, QOp, QPadOp, QPoolOp, QSoftmaxOp, QTensor,
} from '../compiler/quant/qgraph.ts';
import { benchDsCnn } from '../runtime-c/bench/bench.ts';
import { benchSmall } from '../runtime-c/bench/bench-small.ts';
import { M4, M7, RT, ROOT, SOURCES, STRICT, compile, have, run } from './helpers/runtime-build.ts';


let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tm2-runtime-c-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('runtime-c builds without warnings', () => {
  for (const [name, flags] of [
    ['Cortex-M4', M4],
    ['Cortex-M7', M7],
  ] as const) {
    it.skipIf(!have('arm-none-eabi-gcc'))(`arm-none-eabi-gcc ${name} -Os`, () => {
      for (const src of SOURCES) compile('arm-none-eabi-gcc', [...flags, '-Os', ...STRICT, '-c'], [src], join(dir, 'k.o'));
    });
  }
});

describe('runtime-c inline assembly fits every register budget', () => {
  // The DSP inner loops use 12 registers so that they also build with a frame pointer, a PIC
  // register, without optimization (C fallback) and with clang. dense.c's 14-register loops are
  // functions of their own in file-scope assembly, outside gcc's register allocation.
  it.skipIf(!have('arm-none-eabi-gcc'))('arm-none-eabi-gcc -O0 and -O2 -fno-omit-frame-pointer -fPIC', () => {
    const withAsm = SOURCES.filter((f) => /\/(mm_s[48]|depthwise|rnn_mm|conv_few_cin|dense)\.c$/.test(f));
    expect(withAsm.length).toBe(6);
    for (const extra of [['-O0'], ['-O2', '-fno-omit-frame-pointer', '-fPIC']]) {
      for (const src of withAsm) compile('arm-none-eabi-gcc', [...M4, ...extra, ...STRICT, '-c'], [src], join(dir, 'k.o'));
    }
  });
  it.skipIf(!have('clang') || !have('arm-none-eabi-gcc'))('clang --target=thumbv7em-none-eabihf', () => {
    for (const src of SOURCES) {
      compile('clang', ['--target=thumbv7em-none-eabihf', '-mcpu=cortex-m4', '-mfloat-abi=hard', '-O2', ...STRICT, '-isystem', '/usr/lib/arm-none-eabi/include', '-c'], [src], join(dir, 'k.o'));
    }
  });
});

describe('runtime-c CMake', () => {
  it.skipIf(!have('cmake'))('builds the static library tm2runtime', () => {
    const build = join(dir, 'cmake');
    const configure = run('cmake', ['-S', RT, '-B', build, '-DCMAKE_BUILD_TYPE=Release']);
    expect(configure.stderr).toBe('');
    expect(configure.status).toBe(0);
    const make = run('cmake', ['--build', build]);
    expect(make.stdout).not.toMatch(/warning/i);
    expect(make.status).toBe(0);
    expect(readdirSync(build)).toContain('libtm2runtime.a');
  });
});

describe('runtime-c self test: optimized kernels against references', () => {
  const selfTest = [...SOURCES, join(ROOT, 'test/c/test_kernels.c')];

  it('host gcc -O2', () => {
    const exe = join(dir, 'selftest-gcc');
    compile('gcc', [...STRICT, '-O2'], selfTest, exe);
    const r = run(exe, ['600', '1']);
    expect(r.stdout).toMatch(/^OK: \d+ checks, 0 failures/m);
    expect(r.status).toBe(0);
  });

  it('host gcc with AddressSanitizer and UBSan', () => {
    const exe = join(dir, 'selftest-asan');
    compile('gcc', [...STRICT, '-O1', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all'], selfTest, exe);
    const r = run(exe, ['150', '2']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^OK: \d+ checks, 0 failures/m);
    expect(r.status).toBe(0);
  });

  it.skipIf(!have('clang'))('host clang -O2', () => {
    const exe = join(dir, 'selftest-clang');
    compile('clang', [...STRICT, '-O2'], selfTest, exe);
    const r = run(exe, ['600', '3']);
    expect(r.stdout).toMatch(/^OK: \d+ checks, 0 failures/m);
    expect(r.status).toBe(0);
  });

  it.skipIf(!have('arm-none-eabi-gcc') || !have('qemu-system-arm'))('Cortex-M4 (DSP instructions) under QEMU mps2-an386', () => {
    const elf = join(dir, 'selftest-m4.elf');
    compile(
      'arm-none-eabi-gcc',
      [...M4, '-O2', ...STRICT, '--specs=rdimon.specs', '-T', join(RT, 'bench/mps2/mps2.ld')],
      [join(RT, 'bench/mps2/startup.c'), ...selfTest],
      elf,
    );
    const r = run('qemu-system-arm', [
      '-M', 'mps2-an386', '-nographic', '-monitor', 'none', '-serial', 'none',
      '-semihosting-config', 'enable=on,target=native', '-kernel', elf,
    ]);
    expect(r.stdout).toMatch(/^OK: \d+ checks, 0 failures \(dsp=1\)/m);
    expect(r.status).toBe(0);
  });

  // INT4 weights are unpacked into a stack buffer of TM2_S4_UNPACK_BYTES (s4_unpack.h): the random shapes above
  // mostly fit one block, so here a 40-byte buffer forces many blocks of output channels (and depthwise arrays
  // that do not fit), and 0 keeps the per-pixel nibble paths; host and Cortex-M4 (the assembly loops).
  for (const bytes of [40, 0]) {
    it(`host gcc -O2, -DTM2_S4_UNPACK_BYTES=${bytes}`, () => {
      const exe = join(dir, `selftest-unpack${bytes}`);
      compile('gcc', [...STRICT, '-O2', `-DTM2_S4_UNPACK_BYTES=${bytes}`], selfTest, exe);
      const r = run(exe, ['400', '5']);
      expect(r.stdout).toMatch(/^OK: \d+ checks, 0 failures/m);
      expect(r.status).toBe(0);
    });
    it.skipIf(!have('arm-none-eabi-gcc') || !have('qemu-system-arm'))(`Cortex-M4 under QEMU, -DTM2_S4_UNPACK_BYTES=${bytes}`, () => {
      const elf = join(dir, `selftest-m4-unpack${bytes}.elf`);
      compile(
        'arm-none-eabi-gcc',
        [...M4, '-O2', ...STRICT, `-DTM2_S4_UNPACK_BYTES=${bytes}`, '--specs=rdimon.specs', '-T', join(RT, 'bench/mps2/mps2.ld')],
        [join(RT, 'bench/mps2/startup.c'), ...selfTest],
        elf,
      );
      const r = run('qemu-system-arm', [
        '-M', 'mps2-an386', '-nographic', '-monitor', 'none', '-serial', 'none',
        '-semihosting-config', 'enable=on,target=native', '-kernel', elf,
      ]);
      expect(r.stdout).toMatch(/^OK: \d+ checks, 0 failures \(dsp=1\)/m);
      expect(r.status).toBe(0);
    });
    it.skipIf(!have('aarch64-linux-gnu-gcc') || !have('qemu-aarch64'))(`Cortex-A72 (NEON) under qemu-aarch64, -DTM2_S4_UNPACK_BYTES=${bytes}`, () => {
      const exe = join(dir, `selftest-a72-unpack${bytes}`);
      compile('aarch64-linux-gnu-gcc', ['-mcpu=cortex-a72', '-O3', ...STRICT, '-Wundef', '-static', `-DTM2_S4_UNPACK_BYTES=${bytes}`], selfTest, exe);
      const r = run('qemu-aarch64', [exe, '400', '6']);
      expect(r.stdout).toMatch(/^OK: \d+ checks, 0 failures/m);
      expect(r.status).toBe(0);
    });
  }

  // The NEON paths (neon_rows.c, depthwise.c's dw_neon16) of the rpi4 board, under qemu-aarch64 user mode.
  it.skipIf(!have('aarch64-linux-gnu-gcc') || !have('qemu-aarch64'))('Cortex-A72 (NEON) under qemu-aarch64', () => {
    const exe = join(dir, 'selftest-a72');
    compile('aarch64-linux-gnu-gcc', ['-mcpu=cortex-a72', '-O3', ...STRICT, '-Wundef', '-static'], selfTest, exe);
    const r = run('qemu-aarch64', [exe, '600', '4']);
    expect(r.stdout).toMatch(/^OK: \d+ checks, 0 failures/m);
    expect(r.status).toBe(0);
  });
});

// ---- every kernel against the TypeScript integer emulator -----------------------------------

/** Deterministic random integers (mulberry32). */
function rng(seed: number): (lo: number, hi: number) => number {
  let a = seed >>> 0;
  return (lo, hi) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return lo + Math.floor(u * (hi - lo + 1));
  };
}

function tensor(name: string, shape: [number, number, number], bits: Bits, zeroPoint: number): QTensor {
  return { name, shape, bits, scale: 1, zeroPoint };
}

function range(bits: Bits): [number, number] {
  return bits === 8 ? [-128, 127] : [-8, 7];
}

function randomValues(r: ReturnType<typeof rng>, n: number, bits: Bits): Int8Array {
  const [lo, hi] = range(bits);
  return Int8Array.from({ length: n }, () => r(lo, hi));
}

function list(a: ArrayLike<number>): string {
  return `${a.length} ${Array.from(a).join(' ')}`;
}

/** The case line test/c/run_ops.c reads: the kernel registry's serializer of the op. */
function runOpsLine<O extends QOp>(op: O, xs: Int8Array[], inTs: QTensor[], outT: QTensor): string {
  const serialize = kernelOf(op).runOps;
  if (!serialize) throw new Error(`${op.op} has no C kernel to run`);
  return serialize(op, xs, inTs, outT);
}

interface Case {
  text: string;
  expected: ArrayLike<number>;
  what: string;
}

function outDim(n: number, k: number, s: number, p0: number, p1: number, d: number): number {
  return Math.floor((n + p0 + p1 - ((k - 1) * d + 1)) / s) + 1;
}

function weightedCase(r: ReturnType<typeof rng>, kind: QConvOp['op'], weightBits: Bits): Case {
  const actBits: Bits = r(0, 2) === 0 ? 4 : 8;
  const H = kind === 'dense' ? 1 : r(1, 6), W = r(1, 8);
  let cin = r(1, 24), cout = r(1, 20), groups = 1, mult = 1;
  let kernel: [number, number] = [1, 1], stride: [number, number] = [1, 1], dilation: [number, number] = [1, 1];
  let pad: [number, number, number, number] = [0, 0, 0, 0];
  if (kind === 'conv' || kind === 'depthwise') {
    kernel = [H === 1 ? 1 : r(1, 3), r(1, 4)];
    stride = [r(1, 2), r(1, 2)];
    dilation = [r(0, 3) === 0 ? 2 : 1, r(0, 3) === 0 ? 2 : 1];
    pad = [H === 1 ? 0 : r(0, kernel[0] - 1), r(0, kernel[1] - 1), H === 1 ? 0 : r(0, kernel[0] - 1), r(0, kernel[1] - 1)];
    if (kind === 'conv' && r(0, 2) === 0) {
      groups = r(2, 3);
      cin = groups * r(1, 5);
      cout = groups * r(1, 5);
    }
    if (kind === 'depthwise') {
      mult = r(0, 3) === 0 ? 2 : 1;
      cout = cin * mult;
    }
  }
  const OH = kind === 'dense' ? 1 : outDim(H, kernel[0], stride[0], pad[0], pad[2], dilation[0]);
  const OW = kind === 'dense' ? 1 : outDim(W, kernel[1], stride[1], pad[1], pad[3], dilation[1]);
  if (OH < 1 || OW < 1) return weightedCase(r, kind, weightBits);
  const [lo, hi] = range(actBits);
  const inT = tensor('x', [H, W, cin], actBits, r(lo, hi));
  const outT = tensor('y', [OH, OW, cout], actBits, r(lo, hi));
  const k = kind === 'conv' ? kernel[0] * kernel[1] * (cin / groups) : kind === 'depthwise' ? kernel[0] * kernel[1] : kind === 'dense' ? H * W * cin : cin;
  const nW = kind === 'depthwise' ? k * cout : k * cout;
  const qmax = weightBits === 8 ? 127 : 7;
  const weights = Int8Array.from({ length: nW }, () => r(-qmax, qmax));
  const multiplier = Int32Array.from({ length: cout }, () => r(2 ** 30, 2 ** 31 - 1));
  const shift = Int32Array.from({ length: cout }, () => 31 - (r(0, 4) === 0 ? r(1, 62) : r(31, 44)));
  const op: QConvOp = {
    op: kind, name: kind, inputs: ['x'], output: 'y', weights, weightBits, weightScale: new Float32Array(cout).fill(1),
    bias: Int32Array.from({ length: cout }, () => r(-50000, 50000)), requant: { multiplier, shift },
    kernel, stride, pad, dilation, groups, channelMultiplier: mult, macs: 0,
    actMin: r(0, 2) === 0 ? outT.zeroPoint : lo, actMax: hi,
  };
  const x = randomValues(r, H * W * cin, actBits);
  const expected = emu.convFamily(op, x, inT, outT);
  const text = runOpsLine(op, [x], [inT], outT);
  return { text, expected, what: `${kind} s${weightBits} ${JSON.stringify({ H, W, cin, cout, kernel, stride, pad, dilation, groups, mult })}` };
}

// Channels up to 40: the NEON max pool runs vectors of 16 (the last overlapping), of 8 from 8 to 15 channels, and the scalar loop below 8.
function poolCase(r: ReturnType<typeof rng>, kind: 'maxpool' | 'avgpool'): Case {
  const bits: Bits = r(0, 2) === 0 ? 4 : 8;
  const H = r(1, 7), W = r(1, 8), C = r(1, 40);
  const kernel: [number, number] = [r(1, Math.min(3, H)), r(1, Math.min(3, W))];
  const stride: [number, number] = [r(1, 2), r(1, 2)];
  const pad: [number, number, number, number] = [r(0, kernel[0] - 1), r(0, kernel[1] - 1), r(0, kernel[0] - 1), r(0, kernel[1] - 1)];
  const OH = outDim(H, kernel[0], stride[0], pad[0], pad[2], 1), OW = outDim(W, kernel[1], stride[1], pad[1], pad[3], 1);
  const [lo, hi] = range(bits);
  const inT = tensor('x', [H, W, C], bits, r(lo, hi));
  const outT = tensor('y', [OH, OW, C], bits, inT.zeroPoint);
  const op: QPoolOp = { op: kind, name: kind, inputs: ['x'], output: 'y', kernel, stride, pad, countIncludePad: r(0, 1) === 1 };
  const x = randomValues(r, H * W * C, bits);
  const expected = kind === 'maxpool' ? emu.maxPool(op, x, inT, outT) : emu.avgPool(op, x, inT, outT);
  return { text: runOpsLine(op, [x], [inT], outT), expected, what: `${kind} ${JSON.stringify({ H, W, C, kernel, stride, pad })}` };
}

function otherCases(r: ReturnType<typeof rng>): Case[] {
  const cases: Case[] = [];
  {
    const bits: Bits = r(0, 1) ? 8 : 4;
    const [lo, hi] = range(bits);
    const H = r(1, 6), W = r(1, 6), C = r(1, 12);
    const inT = tensor('x', [H, W, C], bits, r(lo, hi));
    const x = randomValues(r, H * W * C, bits);
    const op: QGlobalAvgPoolOp = { op: 'gap', name: 'g', inputs: ['x'], output: 'y' };
    const outT = tensor('y', [1, 1, C], bits, inT.zeroPoint);
    cases.push({ text: runOpsLine(op, [x], [inT], outT), expected: emu.globalAvgPool(op, x, inT, outT), what: 'gap' });
  }
  {
    const n = r(0, 1) ? r(1, 40) : r(256, 600); // add.c tabulates the input terms from 256 elements
    const aT = tensor('a', [1, 1, n], 8, r(-128, 127)), bT = tensor('b', [1, 1, n], 8, r(-128, 127)), oT = tensor('y', [1, 1, n], 8, r(-128, 127));
    const a = randomValues(r, n, 8), b = randomValues(r, n, 8);
    // TFLite-style multipliers: real_a, real_b <= 1/2 (r >= 32), real_out anywhere sensible.
    const rq = (rMin: number, rMax: number) => ({ multiplier: Int32Array.of(r(2 ** 30, 2 ** 31 - 1)), shift: Int32Array.of(31 - r(rMin, rMax)) });
    const ia = rq(32, 40), ib = rq(32, 40), oq = rq(12, 30);
    const actMin = r(0, 1) ? oT.zeroPoint : -128;
    const op: QAddOp = { op: 'add', name: 'add', inputs: ['a', 'b'], output: 'y', leftShift: 20, inputRequant: [ia, ib], outputRequant: oq, actMin, actMax: 127 };
    cases.push({ text: runOpsLine(op, [a, b], [aT, bT], oT), expected: emu.add(op, a, b, aT, bT, oT), what: 'add' });
  }
  {
    const n = r(1, 40);
    const aT = tensor('a', [1, 1, n], 8, r(-128, 127)), bT = tensor('b', [1, 1, n], 8, r(-128, 127)), oT = tensor('y', [1, 1, n], 8, r(-128, 127));
    const a = randomValues(r, n, 8), b = randomValues(r, n, 8);
    const requant = { multiplier: Int32Array.of(r(2 ** 30, 2 ** 31 - 1)), shift: Int32Array.of(31 - r(30, 50)) };
    const op: QMulOp = { op: 'mul', name: 'mul', inputs: ['a', 'b'], output: 'y', requant, actMin: -128, actMax: 127 };
    cases.push({ text: runOpsLine(op, [a, b], [aT, bT], oT), expected: emu.mul(op, a, b, aT, bT, oT), what: 'mul' });
  }
  {
    const table = randomValues(r, 256, 8), x = randomValues(r, r(1, 50), 8);
    const op: QLutOp = { op: 'lut', name: 'lut', inputs: ['x'], output: 'y', table, what: 'random' };
    const xT = tensor('x', [1, 1, x.length], 8, 0);
    cases.push({ text: runOpsLine(op, [x], [xT], xT), expected: emu.lut(op, x), what: 'lut' });
  }
  {
    const rows = r(1, 4), depth = r(1, 30), s = [0.02, 0.1, 0.5, 3][r(0, 3)];
    const expTable = Uint32Array.from({ length: 256 }, (_, k) => Math.round(65536 * Math.exp(-k * s)));
    const x = randomValues(r, rows * depth, 8);
    const inT = tensor('x', [1, rows, depth], 8, 0);
    const op: QSoftmaxOp = { op: 'softmax', name: 'sm', inputs: ['x'], output: 'y', expTable };
    cases.push({ text: runOpsLine(op, [x], [inT], inT), expected: emu.softmax(op, x, inT, inT), what: `softmax s=${s}` });
  }
  {
    const H = r(1, 5), W = r(1, 5), C = r(1, 6), p = [r(0, 2), r(0, 2), r(0, 2), r(0, 2)] as [number, number, number, number];
    const value = r(-128, 127), x = randomValues(r, H * W * C, 8);
    const op: QPadOp = { op: 'pad', name: 'pad', inputs: ['x'], output: 'y', pad: p, value };
    const inT = tensor('x', [H, W, C], 8, 0), outT = tensor('y', [H + p[0] + p[2], W + p[1] + p[3], C], 8, 0);
    cases.push({ text: runOpsLine(op, [x], [inT], outT), expected: emu.pad(op, x, inT, outT), what: 'pad' });
  }
  {
    const dims: [number, number, number] = [r(1, 5), r(1, 5), r(1, 5)];
    const perms: [number, number, number][] = [[0, 2, 1], [1, 0, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1], [0, 1, 2]];
    const perm = perms[r(0, perms.length - 1)];
    const x = randomValues(r, dims[0] * dims[1] * dims[2], 8);
    const outShape = perm.map((i) => dims[i]) as [number, number, number];
    const op: QCopyOp = { op: 'permute', name: 'perm', inputs: ['x'], output: 'y', perm };
    const inT = tensor('x', dims, 8, 0), outT = tensor('y', outShape, 8, 0);
    cases.push({ text: runOpsLine(op, [x], [inT], outT), expected: emu.copy(op, x, inT, outT), what: `permute ${perm}` });
  }
  {
    const axis = r(0, 2) as 0 | 1 | 2;
    const base: [number, number, number] = [r(1, 4), r(1, 4), r(1, 4)];
    const parts = Array.from({ length: r(2, 3) }, () => {
      const shape = [...base] as [number, number, number];
      shape[axis] = r(1, 4);
      return { t: tensor('x', shape, 8, 0), x: randomValues(r, shape[0] * shape[1] * shape[2], 8) };
    });
    const outShape = [...base] as [number, number, number];
    outShape[axis] = parts.reduce((s, p) => s + p.t.shape[axis], 0);
    const op: QConcatOp = { op: 'concat', name: 'cat', inputs: parts.map(() => 'x'), output: 'y', axis };
    const outT = tensor('y', outShape, 8, 0);
    const expected = emu.concat(op, parts.map((p) => p.x), parts.map((p) => p.t), outT);
    cases.push({ text: runOpsLine(op, parts.map((p) => p.x), parts.map((p) => p.t), outT), expected, what: `concat axis ${axis}` });
  }
  {
    const x = randomValues(r, r(1, 30), 8);
    let best = 0;
    for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
    cases.push({ text: `argmax ${list(x)}`, expected: [best], what: 'argmax' });
  }
  return cases;
}

describe('runtime-c kernels equal the TypeScript integer emulator', () => {
  const a72 = have('aarch64-linux-gnu-gcc') && have('qemu-aarch64');
  for (const target of ['host', ...(a72 ? ['cortex-a72'] : [])]) it(`random ops of every kind, bit for bit (${target})`, () => {
    const exe = join(dir, `run-ops-${target}`);
    if (target === 'host') compile('gcc', [...STRICT, '-O2', '-fsanitize=address,undefined', '-fno-sanitize-recover=all'], [...SOURCES, join(ROOT, 'test/c/run_ops.c')], exe);
    else compile('aarch64-linux-gnu-gcc', ['-mcpu=cortex-a72', '-O3', ...STRICT, '-static'], [...SOURCES, join(ROOT, 'test/c/run_ops.c')], exe);
    const r = rng(20261123);
    const cases: Case[] = [];
    for (let i = 0; i < 60; i++) {
      for (const kind of ['conv', 'depthwise', 'pointwise', 'dense'] as const) {
        cases.push(weightedCase(r, kind, 8), weightedCase(r, kind, 4));
      }
      cases.push(poolCase(r, 'maxpool'), poolCase(r, 'avgpool'), ...otherCases(r));
    }
    const res = target === 'host' ? run(exe, [], cases.map((c) => c.text).join('\n') + '\n') : run('qemu-aarch64', [exe], cases.map((c) => c.text).join('\n') + '\n');
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines.length).toBe(cases.length);
    for (let i = 0; i < cases.length; i++) {
      const got = lines[i].split(' ').map(Number);
      expect(got, cases[i].what).toEqual(Array.from(cases[i].expected));
    }
  });
});

// The KWS DS-CNN layer sequence on Cortex-M4 (QEMU, instruction counts): the optimized kernels
// must match the reference kernels on the target and beat CMSIS-NN's instruction counts
// (../shared/target-notes.md: 7.84 M INT8, 13.34 M with INT4 weights in the DW/PW layers; here INT4 in the
// first conv too).
describe('runtime-c kernel benchmark', () => {
  it.skipIf(!have('arm-none-eabi-gcc') || !have('qemu-system-arm'))('KWS DS-CNN on mps2-an386 beats CMSIS-NN', async () => {
    const r = await benchDsCnn('mps2-an386');
    expect(r.macs).toBe(2_656_768);
    expect(r.totals['opt-s8']).toBeLessThan(7_840_000);
    expect(r.totals['opt-s4']).toBeLessThan(13_340_000);
    expect(r.totals['opt-s8']).toBeLessThan(r.totals['ref-s8'] / 3);
    // Exact instructions per layer of the optimized kernels (arm-none-eabi-gcc 12, the board's -O3): QEMU counts
    // repeat exactly, so any change to a kernel's code path shows here. A kernel change that moves them updates
    // these figures in the same commit (faster) or has to say why (slower). CMSIS-NN on the same shapes, same
    // run: benchmarks/vs-cmsis-nn.ts (conv1 1,111,178, dw 599,615, pw 1,068,927, gap 50,995, fc 2,267).
    const counts = (variant: string) => Object.fromEntries(r.rows.filter((x) => x.variant === variant).map((x) => [x.layer, x.instructions]));
    const block = (dw: number, pw: number) => ({ dw1: dw, pw1: pw, dw2: dw, pw2: pw, dw3: dw, pw3: pw, dw4: dw, pw4: pw });
    expect(counts('opt-s8')).toEqual({ conv1: 610_495, ...block(371_782, 764_530), gap: 49_439, fc: 1_555 });
    // INT4 weights unpacked once per layer (depthwise: to int16 pairs, no extension per tap) or per block of
    // output channels (pointwise: int16 pairs, mm_w16.c, one column fill per pixel per block; the first conv:
    // 50 of its 64 channels to int8 for the INT8 core, the other 14 read as nibbles from the same column):
    // below INT8 in total. conv1 here is the INT4 first layer (10x4 on one channel, K = 40).
    expect(counts('opt-s4')).toEqual({ conv1: 677_535, ...block(336_544, 747_184), gap: 49_439, fc: 1_555 });
    expect(r.totals['opt-s4']).toBeLessThan(r.totals['opt-s8']);
  });

  // The kernels that decide the small test models and examples against CMSIS-NN (issue 15): residual add
  // (tabulated input terms), dense with few outputs, first-layer / grouped / 1-D convolutions (conv_few_cin.c).
  // Shapes of test/models; each output checked against the reference on the target. Exact counts as above;
  // CMSIS-NN on the same shapes inside whole models: benchmarks/vs-cmsis-nn.ts (e.g. bn_nodes conv 341,060,
  // add 165,982; grouped_conv convs 230,839 and 84,737, its dense 576x4 4,687; newops_2d grouped conv 1,154,069;
  // newops_2d depthwise with multiplier 2, dilation 2: INT8 229,591, INT4 173,667; tiny_patterns pointwise 6 -> 5 on
  // 4 pixels, INT4: 1,724; rnn_seq_reads dense 29x4 608 INT8, 926 INT4 weights).
  it.skipIf(!have('arm-none-eabi-gcc') || !have('qemu-system-arm'))('small-model kernels on mps2-an386: exact counts', async () => {
    const rows = await benchSmall('mps2-an386');
    expect(Object.fromEntries(rows.map((r) => [r.kernel, r.instructions]))).toEqual({
      "add-16x16x8": 41_038,
      "add-12x12x8": 24_910,
      "add-64": 3_026,
      "dense-s8-128x5": 1_295,
      "dense-s8-576x4": 3_633,
      "dense-s8-48x3": 387,
      "dense-s8-29x4": 357,
      "dense-s8-12x4": 247,
      "dense-s8-12x16": 796,
      "dense-s8-16x10": 626,
      "dense-s8-64x12": 1_553,
      "dense-s8-31x7": 654,
      "conv-s8-16x16x3-3x3-8": 192_023,
      "conv-s8-28x28x1-3x3s2-8": 74_071,
      "conv-s8-24x24x4-3x3s2d2g2-8": 94_851,
      "conv-s8-11x12x8-3x1s2g2-8": 54_082,
      "conv-s8-24x24x8-3x3d2g2-8": 701_175,
      "conv1d-s8-64x3-k5-8": 35_213,
      "conv1d-s8-32x8-k3-8": 24_693,
      "conv1d-s8-24x4-k3d3g2-8": 17_131,
      "dw-s8-10x6x8-3x3d2m2": 52_886,
      "pw-s8-1x4x6-5": 1_455,
      "dense-s4-128x5": 1_785,
      "dense-s4-576x4": 5_595,
      "dense-s4-48x3": 603,
      "dense-s4-29x4": 657,
      "dense-s4-12x4": 465,
      "dense-s4-12x16": 1_449,
      "dense-s4-16x10": 853,
      "dense-s4-64x12": 2_139,
      "dense-s4-31x7": 1_022,
      "conv-s4-16x16x3-3x3-8": 194_130,
      "conv-s4-28x28x1-3x3s2-8": 74_902,
      "conv-s4-24x24x4-3x3s2d2g2-8": 96_258,
      "conv-s4-11x12x8-3x1s2g2-8": 55_017,
      "conv-s4-24x24x8-3x3d2g2-8": 703_982,
      "conv1d-s4-64x3-k5-8": 36_384,
      "conv1d-s4-32x8-k3-8": 22_869,
      "conv1d-s4-24x4-k3d3g2-8": 17_602,
      "dw-s4-10x6x8-3x3d2m2": 53_913,
      "pw-s4-1x4x6-5": 1_574,
    });
  });

  // The same on the Cortex-A72 (rpi4, qemu-aarch64, aarch64-linux-gnu-gcc -O3 -mcpu=cortex-a72): the NEON paths.
  it.skipIf(!have('aarch64-linux-gnu-gcc') || !have('qemu-aarch64'))('KWS DS-CNN on rpi4 (NEON): exact counts', async () => {
    const r = await benchDsCnn('rpi4');
    const counts = (variant: string) => Object.fromEntries(r.rows.filter((x) => x.variant === variant).map((x) => [x.layer, x.instructions]));
    const block = (dw: number, pw: number) => ({ dw1: dw, pw1: pw, dw2: dw, pw2: pw, dw3: dw, pw3: pw, dw4: dw, pw4: pw });
    // neon_gemm.c (conv1, pointwise: 4x4 register-blocked SMULL/SMLAL2/SADALP), neon_depthwise.c, neon_pool.c,
    // neon_rows.c (fc). Before them (session 19's first NEON pass): 2,770,636 in total; portable C: 7.87 M.
    // INT4: s4_unpack.c's NEON loop (32 nibbles per step) took conv1 from 134,145 and pw from 152,132.
    expect(counts('opt-s8')).toEqual({ conv1: 126_976, ...block(67_806, 144_708), gap: 4_586, fc: 1_268 });
    expect(counts('opt-s4')).toEqual({ conv1: 131_841, ...block(68_285, 147_844), gap: 4_586, fc: 1_268 });
    expect(r.totals['opt-s8']).toBe(982_886); // issue 15: at most 1.0 M
  });
});
