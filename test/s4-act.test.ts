// Packed INT4 activations at the kernel level: runtime-c/src/s4_act.c's entry points against the
// reference kernels on unpacked values (test/c/s4_act_test.c: random conv-family, pooling, global
// average pool and elementwise cases, every packed-in / packed-out combination, odd counts,
// padding, strides, dilation, 1-D and 2-D; scratch allocated at exactly its size, under
// AddressSanitizer on the host and once more for the Pi 4 under qemu-aarch64), and the scratch sizes
// the arena plans with (compiler/kernels/packed-act.ts) equal to the C tm2_*_s4a_scratch_size.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convS4aScratch, elementwiseS4aScratch, poolS4aScratch } from '../compiler/kernels/packed-act.ts';
import { KERNELS } from '../compiler/kernels/registry.ts';
import type { QConvOp, QPoolOp, QTensor } from '../compiler/quant/qgraph.ts';
import { compile, have, ROOT, run, SOURCES, STRICT } from './helpers/runtime-build.ts';

const dir = mkdtempSync(join(tmpdir(), 'tm2-s4act-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TEST = join(ROOT, 'test/c/s4_act_test.c');
const CASES = 3000;

/** The TypeScript scratch figure of one case line printed by s4_act_test. */
function tsScratch(line: string): number {
  const f = line.split(' ');
  const t = (shape: number[]): QTensor => ({ name: 't', shape: shape as [number, number, number], bits: 4, scale: 1, zeroPoint: 0 });
  if (f[0] === 'pool') return poolS4aScratch({} as QPoolOp, t([1, 1, Number(f[1])]));
  if (f[0] === 'ew') return elementwiseS4aScratch(Number(f[1]));
  const [ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, pt, pl, dh, dw, groups, io] = f.slice(2, 18).map(Number);
  const op = { op: f[1], kernel: [kh, kw], stride: [sh, sw], pad: [pt, pl, 0, 0], dilation: [dh, dw], groups, channelMultiplier: oc / ic } as QConvOp;
  const inT = t([ih, iw, ic]), outT = t([oh, ow, oc]);
  const own = (KERNELS[op.op].scratchBytes as (o: QConvOp, i: QTensor[]) => number)(op, [inT]);
  return convS4aScratch(op, inT, outT, own, io);
}

function checkRun(out: { status: number | null; stdout: string; stderr: string }): string[] {
  const bad = out.stdout.split('\n').filter((l) => l.startsWith('bad'));
  expect(bad.slice(0, 5)).toEqual([]);
  expect(out.stderr).toBe('');
  expect(out.status).toBe(0);
  expect(out.stdout).toContain('failures 0');
  return out.stdout.split('\n').filter((l) => /^(conv|pool|ew) /.test(l));
}

describe.skipIf(!have('gcc'))('packed INT4 activations: s4a entry points vs reference kernels', () => {
  it(`host gcc with AddressSanitizer + UBSan, ${CASES} random cases; scratch sizes equal the TypeScript figures`, () => {
    const exe = join(dir, 's4_act_test');
    compile('gcc', [...STRICT, '-O1', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all'], [...SOURCES, TEST], exe);
    const lines = checkRun(run(exe, [String(CASES), '20261202']));
    expect(lines.length).toBe(CASES - Math.floor((CASES + 1) / 6)); // every case but the gap ones prints its scratch
    for (const l of lines) expect(tsScratch(l), l).toBe(Number(l.split(' ').at(-1)));
  });

  it('packed average pooling with 3-pixel runs in its 16-bit lanes (S4A_SUM_RUN, 4096 in the build): every lane flush', () => {
    const exe = join(dir, 's4_act_test_runs');
    compile('gcc', [...STRICT, '-O1', '-DS4A_SUM_RUN=3'], [...SOURCES, TEST], exe);
    checkRun(run(exe, ['600', '7']));
  });

  it.skipIf(!have('aarch64-linux-gnu-gcc') || !have('qemu-aarch64'))('Cortex-A72 build (aarch64, -O2) under qemu-aarch64', () => {
    const exe = join(dir, 's4_act_test_a64');
    compile('aarch64-linux-gnu-gcc', [...STRICT, '-O2', '-mcpu=cortex-a72', '-static'], [...SOURCES, TEST], exe);
    checkRun(run('qemu-aarch64', [exe, '1200', '99']));
  });
});
