// Hand-computed cases for each emulator op: the numbers in these tests are worked out on paper
// from runtime-c/ARITHMETIC.md, so they pin down the arithmetic the C kernels must match.
import { describe, expect, it } from 'vitest';
import { emulate } from '../compiler/quant/emulator.ts';
import type { QConvOp, QGraph, QOp, QTensor, Bits } from '../compiler/quant/qgraph.ts';

function t(name: string, shape: [number, number, number], scale = 1, zeroPoint = 0, bits: Bits = 8): QTensor {
  return { name, shape, bits, scale, zeroPoint };
}

function graph(tensors: QTensor[], ops: QOp[], inputs: string[], outputs: string[]): QGraph {
  return { name: 'g', inputs, outputs, io: {}, tensors: new Map(tensors.map((x) => [x.name, x])), ops };
}

/** A conv-family op with a single multiplier (M, s) for every channel. */
function convOp(over: Partial<QConvOp> & Pick<QConvOp, 'op' | 'weights'>, cout: number, m: number, s: number): QConvOp {
  return {
    name: 'c', inputs: ['x'], output: 'y', weightBits: 8, weightScale: new Float32Array(cout).fill(1),
    bias: new Int32Array(cout), requant: { multiplier: new Int32Array(cout).fill(m), shift: new Int32Array(cout).fill(s) },
    kernel: [1, 1], stride: [1, 1], pad: [0, 0, 0, 0], dilation: [1, 1], groups: 1, channelMultiplier: 1, macs: 0,
    actMin: -128, actMax: 127, ...over,
  };
}

const HALF = 2 ** 30; // M for 0.5 with s = 0; with s = 1 it is 1.0

function run1(g: QGraph, x: number[]): number[] {
  return Array.from(emulate(g, { x: Int8Array.from(x) }).get(g.outputs[0])!);
}

describe('conv family', () => {
  it('dense: zero points, bias, negative accumulator, round half up', () => {
    // x - zp_in = [2, -3, 4]; w row0 = [1, 2, 3] -> 2 - 6 + 12 = 8, + bias 1 = 9, * 0.5 = 4.5 -> 5, + zp_out 10 = 15
    // row1 = [-1, -1, -1] -> -3, + bias 0 = -3, * 0.5 = -1.5 -> -1 (half up), + 10 = 9
    const g = graph([t('x', [1, 1, 3], 1, 1), t('y', [1, 1, 2], 1, 10)],
      [convOp({ op: 'dense', weights: Int8Array.from([1, 2, 3, -1, -1, -1]), bias: Int32Array.from([1, 0]) }, 2, HALF, 0)],
      ['x'], ['y']);
    expect(run1(g, [3, -2, 5])).toEqual([15, 9]);
  });

  it('clamps to actMin/actMax (folded ReLU, INT4 range)', () => {
    const g = graph([t('x', [1, 1, 2]), t('y', [1, 1, 2], 1, 0, 4)],
      [convOp({ op: 'dense', weights: Int8Array.from([1, 1, -1, -1]), actMin: 0, actMax: 7 }, 2, HALF, 1)], ['x'], ['y']);
    expect(run1(g, [5, 6])).toEqual([7, 0]); // 11 -> 7, -11 -> 0
  });

  it('pointwise over two positions with per-channel multipliers', () => {
    const op = convOp({ op: 'pointwise', weights: Int8Array.from([1, 1, 2, -1]) }, 2, HALF, 0);
    op.requant.shift[1] = 1; // channel 1 multiplies by 1.0
    const g = graph([t('x', [1, 2, 2]), t('y', [1, 2, 2])], [op], ['x'], ['y']);
    // pos0 x=[1,2]: ch0 3*0.5=1.5->2, ch1 0 ; pos1 x=[3,-1]: ch0 2*0.5=1, ch1 7
    expect(run1(g, [1, 2, 3, -1])).toEqual([2, 0, 1, 7]);
  });

  it('conv 3x3 with padding reads padded positions as zp_in', () => {
    // 2x2 input, C=1, zp_in = 5; x - zp = [[1,2],[3,4]]; all-ones 3x3 kernel, pad 1: every output sums all 4 = 10.
    const g = graph([t('x', [2, 2, 1], 1, 5), t('y', [2, 2, 1])],
      [convOp({ op: 'conv', weights: new Int8Array(9).fill(1), kernel: [3, 3], pad: [1, 1, 1, 1] }, 1, HALF, 1)], ['x'], ['y']);
    expect(run1(g, [6, 7, 8, 9])).toEqual([10, 10, 10, 10]);
  });

  it('conv stride 2, OHWI weights, two input channels', () => {
    // input 1x3 (H=1, W=3) C=2; kernel 1x2, stride 2: outputs at w=0 (and w=2 reads pad on the right).
    // weights [o][kh][kw][ci] = [[a0c0, a0c1], [a1c0, a1c1]] = [1, 10, 100, -1] for the single output channel.
    // w=0: x(0)=[1,2], x(1)=[3,4] -> 1 + 20 + 300 - 4 = 317; w=2 (pad right 1): x(2)=[5,6] -> 5 + 60 = 65
    const g = graph([t('x', [1, 3, 2]), t('y', [1, 2, 1])],
      [convOp({ op: 'conv', weights: Int8Array.from([1, 10, 100, -1]), kernel: [1, 2], stride: [1, 2], pad: [0, 0, 0, 1] }, 1, HALF, -2)],
      ['x'], ['y']);
    // multiplier 0.5 * 2^-2 = 1/8: 317/8 = 39.625 -> 40, 65/8 = 8.125 -> 8
    expect(run1(g, [1, 2, 3, 4, 5, 6])).toEqual([40, 8]);
  });

  it('grouped conv: each group sees its own input channels', () => {
    // C=4, groups=2, Cout=2, 1x1 kernel, weights [o][ci_g] = [[1,2],[3,4]]
    const g = graph([t('x', [1, 1, 4]), t('y', [1, 1, 2])],
      [convOp({ op: 'conv', weights: Int8Array.from([1, 2, 3, 4]), groups: 2 }, 2, HALF, 1)], ['x'], ['y']);
    expect(run1(g, [1, 1, 10, 20])).toEqual([3, 110]);
  });

  it('depthwise with channel multiplier 2 ([KH][KW][Cout] weights)', () => {
    // C=2 -> Cout=4, 1x2 kernel on W=2, no pad: out o reads channel floor(o/2).
    // weights [kw][o]: kw0 = [1, 2, 3, 4], kw1 = [1, -1, 1, -1]; x(w0)=[1,10], x(w1)=[2,20]
    // o0: 1*1 + 2*1 = 3; o1: 1*2 - 2 = 0; o2: 10*3 + 20 = 50; o3: 10*4 - 20 = 20
    const g = graph([t('x', [1, 2, 2]), t('y', [1, 1, 4])],
      [convOp({ op: 'depthwise', weights: Int8Array.from([1, 2, 3, 4, 1, -1, 1, -1]), kernel: [1, 2], channelMultiplier: 2 }, 4, HALF, 1)],
      ['x'], ['y']);
    expect(run1(g, [1, 10, 2, 20])).toEqual([3, 0, 50, 20]);
  });
});

describe('pooling', () => {
  it('average pool divisor: count_include_pad counts the padded window, else only valid positions', () => {
    // 1x3 input (W=3), C=1, zp=0, kernel 1x2 stride 2, pad right 1 -> outputs w0: {x0,x1}, w1: {x2, pad}
    const x = [3, 4, 5];
    const mk = (cip: boolean) => graph([t('x', [1, 3, 1]), t('y', [1, 2, 1])],
      [{ op: 'avgpool', name: 'p', inputs: ['x'], output: 'y', kernel: [1, 2], stride: [1, 2], pad: [0, 0, 0, 1], countIncludePad: cip } as QOp],
      ['x'], ['y']);
    expect(run1(mk(false), x)).toEqual([4, 5]); // 7/2 = 3.5 -> 4, 5/1
    expect(run1(mk(true), x)).toEqual([4, 3]); // 7/2 -> 4, 5/2 = 2.5 -> 3
  });

  it('average pool rounds half away from zero for negative sums, relative to zp', () => {
    const g = graph([t('x', [1, 2, 1], 1, 10), t('y', [1, 1, 1], 1, 10)],
      [{ op: 'avgpool', name: 'p', inputs: ['x'], output: 'y', kernel: [1, 2], stride: [1, 2], pad: [0, 0, 0, 0], countIncludePad: false } as QOp],
      ['x'], ['y']);
    expect(run1(g, [9, 8])).toEqual([8]); // (-1 + -2)/2 = -1.5 -> -2, + 10 = 8
    expect(run1(g, [9, 10])).toEqual([9]); // -0.5 -> -1 (away from zero), + 10
  });

  it('global average pool, n = H*W = 3', () => {
    const g = graph([t('x', [1, 3, 2], 1, -1), t('y', [1, 1, 2], 1, -1)],
      [{ op: 'gap', name: 'g', inputs: ['x'], output: 'y' } as QOp], ['x'], ['y']);
    // ch0: (0+1+1) = 2 -> 2/3 = 0.67 -> 1 -> 0 ; ch1: (-3 -3 -2) = -8 -> -2.67 -> -3 -> -4
    expect(run1(g, [-1, -4, 0, -4, 0, -3])).toEqual([0, -4]);
  });

  it('max pool ignores padding', () => {
    const g = graph([t('x', [2, 2, 1], 1, 0), t('y', [2, 2, 1], 1, 0)],
      [{ op: 'maxpool', name: 'm', inputs: ['x'], output: 'y', kernel: [2, 2], stride: [1, 1], pad: [0, 0, 1, 1], countIncludePad: false } as QOp],
      ['x'], ['y']);
    expect(run1(g, [-5, -7, -9, -6])).toEqual([-5, -6, -6, -6]);
  });
});

describe('elementwise and tables', () => {
  it('add: TFLite-style with left shift 20', () => {
    // s_a = 1, s_b = 0.5, s_out = 1: twice_max = 2 -> real_a = 0.5, real_b = 0.25, real_out = 2 / 2^20.
    // a - zp_a = 3, b - zp_b = 5: a' = 3*2^20 -> *0.5 = 1572864; b' = 5*2^20 -> *0.25 = 1310720; sum = 2883584
    // * 2^-19 = 5.5 -> 6 (half up), + zp_out 1 = 7.   real a+b = 3 + 2.5 = 5.5 -> 6 indeed.
    const g = graph([t('a', [1, 1, 1], 1, 0), t('b', [1, 1, 1], 0.5, 2), t('y', [1, 1, 1], 1, 1)],
      [{ op: 'add', name: 'add', inputs: ['a', 'b'], output: 'y', leftShift: 20, actMin: -128, actMax: 127,
        inputRequant: [{ multiplier: Int32Array.of(HALF), shift: Int32Array.of(0) }, { multiplier: Int32Array.of(HALF), shift: Int32Array.of(-1) }],
        outputRequant: { multiplier: Int32Array.of(HALF), shift: Int32Array.of(-18) } }],
      ['a', 'b'], ['y']);
    const out = emulate(g, { a: Int8Array.of(3), b: Int8Array.of(7) }).get('y')!;
    expect(Array.from(out)).toEqual([7]);
  });

  it('mul of two activations', () => {
    const g = graph([t('a', [1, 1, 2], 1, 1), t('b', [1, 1, 2], 1, -1), t('y', [1, 1, 2], 1, 3)],
      [{ op: 'mul', name: 'mul', inputs: ['a', 'b'], output: 'y', actMin: -128, actMax: 127, requant: { multiplier: Int32Array.of(HALF), shift: Int32Array.of(0) } }],
      ['a', 'b'], ['y']);
    // (4-1)*(2+1) = 9 -> 4.5 -> 5 + 3 = 8 ; (0-1)*(4+1) = -5 -> -2.5 -> -2 + 3 = 1
    expect(Array.from(emulate(g, { a: Int8Array.of(4, 0), b: Int8Array.of(2, 4) }).get('y')!)).toEqual([8, 1]);
  });

  it('lut indexes table[q + 128]', () => {
    const table = new Int8Array(256).map((_, i) => (i - 128) >> 1);
    const g = graph([t('x', [1, 1, 3]), t('y', [1, 1, 3])], [{ op: 'lut', name: 'l', inputs: ['x'], output: 'y', table, what: 'half' }], ['x'], ['y']);
    expect(run1(g, [-128, 5, 127])).toEqual([-64, 2, 63]);
  });

  it('softmax uses the exp table and rounds (e*256 + sum/2) / sum', () => {
    // s_in = ln 2: exp_table[k] = 65536 / 2^k. x = [0, -1, -2] -> e = [65536, 32768, 16384], sum = 114688
    // out0 = (16777216 + 57344) / 114688 = 146.78 -> 146 - 128 = 18; out1 = (8388608 + 57344)/114688 = 73.6 -> 73 - 128 = -55
    // out2 = (4194304 + 57344)/114688 = 37.07 -> 37 - 128 = -91
    const expTable = new Uint32Array(256).map((_, k) => Math.round(65536 * Math.exp(-k * Math.LN2)));
    const g = graph([t('x', [1, 1, 3], Math.LN2, 0), t('y', [1, 1, 3], 1 / 256, -128)],
      [{ op: 'softmax', name: 's', inputs: ['x'], output: 'y', expTable }], ['x'], ['y']);
    expect(run1(g, [0, -1, -2])).toEqual([18, -55, -91]);
  });
});

describe('data movement', () => {
  it('concat on C interleaves, on W appends', () => {
    const mk = (axis: 0 | 1 | 2, shapes: Array<[number, number, number]>, out: [number, number, number]) =>
      graph([t('a', shapes[0]), t('b', shapes[1]), t('y', out)], [{ op: 'concat', name: 'cat', inputs: ['a', 'b'], output: 'y', axis }], ['a', 'b'], ['y']);
    const a = Int8Array.of(1, 2, 3, 4), b = Int8Array.of(5, 6);
    expect(Array.from(emulate(mk(2, [[1, 2, 2], [1, 2, 1]], [1, 2, 3]), { a, b }).get('y')!)).toEqual([1, 2, 5, 3, 4, 6]);
    expect(Array.from(emulate(mk(1, [[1, 2, 2], [1, 1, 2]], [1, 3, 2]), { a, b }).get('y')!)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('permute has numpy transpose semantics; pad fills with value', () => {
    // [H=1, W=2, C=3] -> perm [0, 2, 1] -> [1, 3, 2]
    const g = graph([t('x', [1, 2, 3]), t('y', [1, 3, 2])], [{ op: 'permute', name: 'p', inputs: ['x'], output: 'y', perm: [0, 2, 1] }], ['x'], ['y']);
    expect(run1(g, [1, 2, 3, 4, 5, 6])).toEqual([1, 4, 2, 5, 3, 6]);
    const p = graph([t('x', [1, 1, 1]), t('y', [2, 2, 1])], [{ op: 'pad', name: 'pd', inputs: ['x'], output: 'y', pad: [1, 0, 0, 1], value: -3 }], ['x'], ['y']);
    expect(run1(p, [9])).toEqual([-3, -3, 9, -3]);
  });
});
