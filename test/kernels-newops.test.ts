// The kernels behind issue 11's new operators (Slice/Split, ReduceMean/ReduceMax, Resize nearest
// and bilinear, PRelu, LogSoftmax, ConvTranspose) against their TypeScript emulate functions in
// compiler/kernels/ (each kernel's KernelDef: its run_ops serializer gives the case line, its
// emulate the expected output), bit for bit, on random shapes and parameters: host gcc with ASan/UBSan,
// Cortex-A72 under qemu-aarch64 and Cortex-M4 under QEMU (mps2-an386, the DSP build). test/c/run_ops.c reads
// the cases.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QConvOp } from '../compiler/kernels/conv.ts';
import { logSoftmaxParams, type QLogSoftmaxOp } from '../compiler/kernels/log-softmax.ts';
import { preluRequant, type QPreluOp } from '../compiler/kernels/prelu.ts';
import { reducedShape, type QReduceOp } from '../compiler/kernels/reduce.ts';
import { kernelOf } from '../compiler/kernels/registry.ts';
import { resizeTables, type QResizeOp } from '../compiler/kernels/resize.ts';
import type { Dims3, QSliceOp } from '../compiler/kernels/slice.ts';
import { M4, RT, ROOT, SOURCES, STRICT, compile, have, run } from './helpers/runtime-build.ts';
import { RESIZE_COORD_MODES, RESIZE_NEAREST_MODES } from '../compiler/ops/resize-coords.ts';
import type { Bits, QOp, QTensor } from '../compiler/quant/qgraph.ts';


/** Deterministic random integers in [lo, hi] (mulberry32). */
type Rng = (lo: number, hi: number) => number;
function rng(seed: number): Rng {
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

const range = (bits: Bits): [number, number] => (bits === 8 ? [-128, 127] : [-8, 7]);
const randomValues = (r: Rng, n: number, bits: Bits) => Int8Array.from({ length: n }, () => r(...range(bits)));
const randomMultiplier = (r: Rng) => r(2 ** 30, 2 ** 31 - 1);
const tensor = (name: string, shape: Dims3, bits: Bits, zeroPoint: number): QTensor => ({ name, shape, bits, scale: 1, zeroPoint });

interface Case { text: string; expected: ArrayLike<number>; what: string }

/** The case line (the kernel registry's run_ops serializer) and the expected output (its emulate). */
function kernelCase(op: QOp, x: Int8Array, inT: QTensor, outT: QTensor, what: string): Case {
  const k = kernelOf(op);
  if (!k.runOps) throw new Error(`${op.op} has no C kernel`);
  return { text: k.runOps(op, [x], [inT], outT), expected: k.emulate(op, [x], [inT], outT), what };
}

function sliceCase(r: Rng): Case {
  const inDims: Dims3 = [r(1, 5), r(1, 6), r(1, 9)];
  const start = [0, 0, 0] as Dims3, step = [1, 1, 1] as Dims3, outDims = [0, 0, 0] as Dims3;
  for (let a = 0; a < 3; a++) {
    const s = [1, 1, 1, 2, 3, -1, -2][r(0, 6)];
    step[a] = s;
    start[a] = r(0, inDims[a] - 1);
    // Elements reachable from start with this step.
    const room = s > 0 ? Math.floor((inDims[a] - 1 - start[a]) / s) + 1 : Math.floor(start[a] / -s) + 1;
    outDims[a] = r(1, room);
  }
  const zp = r(-128, 127);
  const op: QSliceOp = { op: 'slice', name: 'slice', inputs: ['x'], output: 'y', start, step };
  return kernelCase(op, randomValues(r, inDims[0] * inDims[1] * inDims[2], 8), tensor('x', inDims, 8, zp), tensor('y', outDims, 8, zp),
    `slice ${JSON.stringify({ inDims, start, step, outDims })}`);
}

function reduceCase(r: Rng, kind: 'mean' | 'max'): Case {
  const bits: Bits = r(0, 2) === 0 ? 4 : 8;
  const [lo, hi] = range(bits);
  const shape: Dims3 = [r(1, 5), r(1, 7), r(1, 12)];
  const axes = r(1, 7);
  const inT = tensor('x', shape, bits, r(lo, hi));
  const outT = tensor('y', reducedShape(shape, axes), bits, kind === 'max' ? inT.zeroPoint : r(lo, hi));
  const op: QReduceOp = { op: kind === 'mean' ? 'reduce_mean' : 'reduce_max', name: 'reduce', inputs: ['x'], output: 'y', axes,
    multiplier: randomMultiplier(r), shift: 31 - r(29, 40), actMin: lo, actMax: hi };
  return kernelCase(op, randomValues(r, shape[0] * shape[1] * shape[2], bits), inT, outT, `reduce ${kind} ${JSON.stringify({ shape, axes })}`);
}

function resizeCase(r: Rng, mode: 'nearest' | 'bilinear'): Case {
  const bits: Bits = r(0, 2) === 0 ? 4 : 8;
  const [lo, hi] = range(bits);
  const H = r(1, 5), W = r(1, 6), C = r(1, 7);
  const sy = [0.5, 1, 1.5, 2, 3][r(0, 4)], sx = [0.5, 1, 2, 2.5, 3][r(0, 4)];
  const OH = Math.max(1, Math.floor(H * sy)), OW = Math.max(1, Math.floor(W * sx));
  const coord = RESIZE_COORD_MODES[r(0, RESIZE_COORD_MODES.length - 1)];
  const rounding = RESIZE_NEAREST_MODES[r(0, RESIZE_NEAREST_MODES.length - 1)];
  const tables = resizeTables({ inSize: H, outSize: OH, scale: sy }, { inSize: W, outSize: OW, scale: sx }, mode, coord, rounding);
  const zp = r(lo, hi);
  const op: QResizeOp = { op: mode === 'nearest' ? 'resize_nearest' : 'resize_bilinear', name: 'resize', inputs: ['x'], output: 'y', ...tables, actMin: lo, actMax: hi };
  return kernelCase(op, randomValues(r, H * W * C, bits), tensor('x', [H, W, C], bits, zp), tensor('y', [OH, OW, C], bits, zp),
    `resize ${mode} ${JSON.stringify({ H, W, C, OH, OW, coord, rounding })}`);
}

function preluCase(r: Rng): Case {
  const bits: Bits = r(0, 2) === 0 ? 4 : 8;
  const [lo, hi] = range(bits);
  const H = r(1, 3), W = r(1, 4), C = r(1, 9);
  const alpha = Array.from({ length: C }, () => [0, 0.01, 0.25, -0.5, 1.5, -3][r(0, 5)] * (1 + r(0, 100) / 1000));
  const inScale = 0.01 * r(1, 100), outScale = 0.01 * r(1, 100);
  const op: QPreluOp = { op: 'prelu', name: 'prelu', inputs: ['x'], output: 'y', ...preluRequant(alpha, inScale, outScale), actMin: lo, actMax: hi };
  return kernelCase(op, randomValues(r, H * W * C, bits), tensor('x', [H, W, C], bits, r(lo, hi)), tensor('y', [H, W, C], bits, r(lo, hi)),
    `prelu ${JSON.stringify({ H, W, C, alpha })}`);
}

function logSoftmaxCase(r: Rng): Case {
  const bits: Bits = r(0, 3) === 0 ? 4 : 8;
  const [lo, hi] = range(bits);
  const rows = r(1, 4), depth = r(1, 40);
  const inScale = [0.01, 0.05, 0.2, 1, 4][r(0, 4)], outScale = [0.02, 0.05, 0.1, 0.3][r(0, 3)];
  const outZp = r(0, 3) === 0 ? hi : r(lo, hi);
  const { outZp: _, ...p } = logSoftmaxParams(inScale, outScale, outZp, depth, lo, hi, 'test');
  const op: QLogSoftmaxOp = { op: 'log_softmax', name: 'logsoftmax', inputs: ['x'], output: 'y', ...p };
  return kernelCase(op, randomValues(r, rows * depth, bits), tensor('x', [1, rows, depth], bits, 0), tensor('y', [1, rows, depth], bits, outZp),
    `log_softmax ${JSON.stringify({ rows, depth, inScale, outScale })}`);
}

function convTransposeCase(r: Rng, weightBits: Bits): Case {
  const actBits: Bits = r(0, 2) === 0 ? 4 : 8;
  const [lo, hi] = range(actBits);
  const oneD = r(0, 2) === 0;
  const H = oneD ? 1 : r(1, 4), W = r(1, 5);
  const groups = r(0, 2) === 0 ? r(2, 3) : 1;
  const cin = groups * r(1, 5), cout = groups * r(1, 5);
  const kernel: [number, number] = [oneD ? 1 : r(1, 3), r(1, 4)];
  const stride: [number, number] = [oneD ? 1 : r(1, 3), r(1, 3)];
  const dilation: [number, number] = [oneD ? 1 : r(1, 2), r(1, 2)];
  // End pads minus output_padding may be negative (QConvOp's conv_transpose convention).
  const pad: [number, number, number, number] = [oneD ? 0 : r(0, kernel[0] - 1), r(0, kernel[1] - 1), oneD ? 0 : r(0, kernel[0] - 1) - r(0, stride[0] - 1), r(0, kernel[1] - 1) - r(0, stride[1] - 1)];
  const OH = (H - 1) * stride[0] + (kernel[0] - 1) * dilation[0] + 1 - pad[0] - pad[2];
  const OW = (W - 1) * stride[1] + (kernel[1] - 1) * dilation[1] + 1 - pad[1] - pad[3];
  if (OH < 1 || OW < 1) return convTransposeCase(r, weightBits);
  const qmax = weightBits === 8 ? 127 : 7;
  const outT = tensor('y', [OH, OW, cout], actBits, r(lo, hi));
  const op: QConvOp = {
    op: 'conv_transpose', name: 'ct', inputs: ['x'], output: 'y',
    weights: Int8Array.from({ length: cout * kernel[0] * kernel[1] * (cin / groups) }, () => r(-qmax, qmax)), weightBits, weightScale: new Float32Array(cout).fill(1),
    bias: Int32Array.from({ length: cout }, () => r(-50000, 50000)),
    requant: { multiplier: Int32Array.from({ length: cout }, () => randomMultiplier(r)), shift: Int32Array.from({ length: cout }, () => 31 - (r(0, 4) === 0 ? r(1, 62) : r(31, 44))) },
    kernel, stride, pad, dilation, groups, channelMultiplier: 1, macs: 0, actMin: r(0, 2) === 0 ? Math.max(0, lo) : lo, actMax: hi,
  };
  return kernelCase(op, randomValues(r, H * W * cin, actBits), tensor('x', [H, W, cin], actBits, r(lo, hi)), outT,
    `conv_transpose s${weightBits} ${JSON.stringify({ H, W, cin, cout, kernel, stride, pad, dilation, groups, OH, OW })}`);
}

function cases(seed: number, n: number): Case[] {
  const r = rng(seed);
  const out: Case[] = [];
  for (let i = 0; i < n; i++) {
    out.push(sliceCase(r), reduceCase(r, 'mean'), reduceCase(r, 'max'), resizeCase(r, 'nearest'), resizeCase(r, 'bilinear'),
      preluCase(r), logSoftmaxCase(r));
    // The optimized transposed convolution and its reference definition on the same cases.
    for (const bits of [8, 4] as const) {
      const c = convTransposeCase(r, bits);
      out.push(c, { ...c, text: c.text.replace(/^conv_transpose /, 'conv_transpose_ref '), what: `${c.what} (reference)` });
    }
  }
  return out;
}

function check(stdout: string, cs: Case[]): void {
  const lines = stdout.trimEnd().split('\n');
  expect(lines.length).toBe(cs.length);
  for (let i = 0; i < cs.length; i++) expect(lines[i].split(' ').map(Number), cs[i].what).toEqual(Array.from(cs[i].expected));
}

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tm2-newops-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('new-operator kernels equal their TypeScript emulate functions', () => {
  it('host gcc with ASan and UBSan', () => {
    const exe = join(dir, 'run-ops');
    compile('gcc', [...STRICT, '-O2', '-fsanitize=address,undefined', '-fno-sanitize-recover=all'], [...SOURCES, join(ROOT, 'test/c/run_ops.c')], exe);
    const cs = cases(20261202, 80);
    const res = run(exe, [], cs.map((c) => c.text).join('\n') + '\n');
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    check(res.stdout, cs);
  });

  it.skipIf(!have('aarch64-linux-gnu-gcc') || !have('qemu-aarch64'))('Cortex-A72 (rpi4) under qemu-aarch64', () => {
    const exe = join(dir, 'run-ops-a72');
    compile('aarch64-linux-gnu-gcc', ['-mcpu=cortex-a72', '-O3', ...STRICT, '-static'], [...SOURCES, join(ROOT, 'test/c/run_ops.c')], exe);
    const cs = cases(99, 30);
    const res = run('qemu-aarch64', [exe], cs.map((c) => c.text).join('\n') + '\n');
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    check(res.stdout, cs);
  });

  it.skipIf(!have('arm-none-eabi-gcc') || !have('qemu-system-arm'))('Cortex-M4 under QEMU mps2-an386', () => {
    const elf = join(dir, 'run-ops-m4.elf');
    compile('arm-none-eabi-gcc', [...M4, '-O2', ...STRICT, '--specs=rdimon.specs', '-T', join(RT, 'bench/mps2/mps2.ld')],
      [join(RT, 'bench/mps2/startup.c'), ...SOURCES, join(ROOT, 'test/c/run_ops.c')], elf);
    const cs = cases(7, 15);
    const res = run('qemu-system-arm', ['-M', 'mps2-an386', '-nographic', '-monitor', 'none', '-serial', 'none',
      '-semihosting-config', 'enable=on,target=native', '-kernel', elf], cs.map((c) => c.text).join('\n') + '\n');
    expect(res.status).toBe(0);
    check(res.stdout, cs);
  });
});
