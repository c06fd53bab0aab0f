// Scratch sizes have one source of truth: runtime-c's tm2_<kernel>_scratch_size. The code
// generator plans the arena with the kernel registry's scratchBytes (compiler/kernels/); this test
// requires the two to agree on random shapes, by compiling a small host program against runtime-c
// (test/c/scratch_sizes.c), and that every scratch function tm2.h declares is covered here.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { KERNELS } from '../compiler/kernels/registry.ts';
import type { QConvOp, QOp, QRnnOp, QTensor } from '../compiler/quant/qgraph.ts';
import { mulberry32 } from '../compiler/random.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RT = join(ROOT, 'runtime-c');
const SOURCES = readdirSync(join(RT, 'src')).filter((f) => f.endsWith('.c')).map((f) => join(RT, 'src', f));
const haveGcc = spawnSync('sh', ['-c', 'command -v gcc']).status === 0;

const dir = mkdtempSync(join(tmpdir(), 'tm2-scratch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The kernels with scratch: one random conv-family op of that kind, its input tensor and the C case line. */
const GENERATORS: Record<string, (r: (lo: number, hi: number) => number) => { op: QOp; inT: QTensor; line: string }> = {
  conv: (r) => {
    const groups = r(1, 4);
    const inC = groups * r(1, 40), outC = groups * r(1, 8);
    const kh = r(1, 7), kw = r(1, 7);
    return convFamily('conv', r(kh, 20), r(kw, 20), inC, outC, kh, kw, groups);
  },
  pointwise: (r) => convFamily('pointwise', r(1, 12), r(1, 12), r(1, 300), r(1, 64), 1, 1, 1),
  dense: (r) => convFamily('dense', 1, 1, r(1, 2000), r(1, 64), 1, 1, 1),
  lstm: (r) => recurrent('lstm', r(1, 300), r(1, 130)),
  gru: (r) => recurrent('gru', r(1, 300), r(1, 130)),
};

/** A recurrent layer: only in_size and hidden set the scratch (column and 16-bit state). */
function recurrent(kind: QRnnOp['op'], inSize: number, hidden: number) {
  const op = { op: kind, inSize, hidden } as QRnnOp;
  const inT: QTensor = { name: 'x', shape: [1, 1, inSize], bits: 8, scale: 1, zeroPoint: 0 };
  return { op, inT, line: `${kind} ${inSize} ${hidden}` };
}

function convFamily(kind: QConvOp['op'], h: number, w: number, inC: number, outC: number, kh: number, kw: number, groups: number) {
  const outH = kind === 'dense' ? 1 : h - kh + 1, outW = kind === 'dense' ? 1 : w - kw + 1;
  const op: QConvOp = {
    op: kind, name: kind, inputs: ['x'], output: 'y', weights: new Int8Array(0), weightBits: 8, weightScale: new Float32Array(outC),
    bias: new Int32Array(outC), requant: { multiplier: new Int32Array(outC), shift: new Int32Array(outC) },
    kernel: [kh, kw], stride: [1, 1], pad: [0, 0, 0, 0], dilation: [1, 1], groups, channelMultiplier: 1, macs: 0, actMin: -128, actMax: 127,
  };
  const inT: QTensor = { name: 'x', shape: [h, w, inC], bits: 8, scale: 1, zeroPoint: 0 };
  return { op, inT, line: `${kind} ${h} ${w} ${inC} ${outH} ${outW} ${outC} ${kh} ${kw} ${groups}` };
}

describe('scratch sizes: the kernel registry equals runtime-c', () => {
  it('every tm2_<kernel>_scratch_size in tm2.h is a kernel of the registry and has a generator here', () => {
    const header = readFileSync(join(RT, 'include/tm2.h'), 'utf8');
    // The packed-activation wrappers' sizes (tm2_*_s4a_scratch_size) are checked by test/s4-act.test.ts.
    const declared = [...header.matchAll(/size_t tm2_(\w+)_scratch_size\(/g)].map((m) => m[1]).filter((k) => !k.endsWith('_s4a')).sort();
    expect(declared).toEqual(Object.keys(GENERATORS).sort());
    for (const k of declared) expect(Object.keys(KERNELS)).toContain(k);
  });

  it('kernels without a C scratch function take none', () => {
    const r = mulberry32(3);
    const sample = convFamily('depthwise', 5, 5, 4, 4, 3, 3, 4);
    expect(KERNELS.depthwise.scratchBytes(sample.op, [sample.inT])).toBe(0);
    // Every other kind's scratchBytes ignores its op; call them on a tensor of random shape.
    const t: QTensor = { name: 'x', shape: [1 + Math.floor(r() * 9), 1 + Math.floor(r() * 9), 1 + Math.floor(r() * 9)], bits: 8, scale: 1, zeroPoint: 0 };
    for (const [kind, def] of Object.entries(KERNELS)) {
      if (kind in GENERATORS || kind === 'depthwise') continue;
      expect((def.scratchBytes as (op: never, ins: QTensor[]) => number)({} as never, [t, t]), kind).toBe(0);
    }
  });

  it.skipIf(!haveGcc)('TypeScript figures equal the C functions on 600 random shapes', () => {
    const exe = join(dir, 'scratch_sizes');
    const cc = spawnSync('gcc', ['-std=c99', '-O1', '-Wall', '-Wextra', '-Werror', `-I${join(RT, 'include')}`, `-I${join(RT, 'src')}`,
      ...SOURCES, join(ROOT, 'test/c/scratch_sizes.c'), '-o', exe], { encoding: 'utf8' });
    expect(cc.stderr).toBe('');
    expect(cc.status).toBe(0);
    const u = mulberry32(20261202);
    const r = (lo: number, hi: number) => lo + Math.floor(u() * (hi - lo + 1));
    const kinds = Object.keys(GENERATORS);
    const cases = Array.from({ length: 600 }, (_, i) => GENERATORS[kinds[i % kinds.length]](r));
    const run = spawnSync(exe, [], { input: cases.map((c) => c.line).join('\n') + '\n', encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const c = run.stdout.trim().split('\n').map(Number);
    expect(c.length).toBe(cases.length);
    cases.forEach((k, i) => {
      const ts = (KERNELS[k.op.op].scratchBytes as (op: QOp, ins: QTensor[]) => number)(k.op, [k.inT]);
      expect(ts, k.line).toBe(c[i]);
    });
  });
});
