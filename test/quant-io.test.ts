import { describe, expect, it } from 'vitest';
import { dequantizeOutput, quantizeInput } from '../compiler/quant/io.ts';
import type { QGraph } from '../compiler/quant/qgraph.ts';

describe('float <-> int8 at the graph boundary', () => {
  const q: QGraph = {
    name: 'io', inputs: ['x'], outputs: ['x'], ops: [],
    io: { x: { onnxShape: [1, 3, 2, 2], layout: 'nchw' } },
    tensors: new Map([['x', { name: 'x', shape: [2, 2, 3], bits: 8, scale: 0.5, zeroPoint: -3 }]]),
  };

  it('transposes NCHW to channels-last, rounds half away from zero and clamps', () => {
    // ONNX order: c0 = [0, 1, 2, 3], c1 = [10, 11, 12, 13], c2 = [0.25, -0.25, 100, -100]
    const x = Float32Array.from([0, 1, 2, 3, 10, 11, 12, 13, 0.25, -0.25, 100, -100]);
    const qx = quantizeInput(q, 'x', x);
    // memory [h][w][c]: (0,0) = [0, 10, 0.25] -> q = round(v / 0.5) - 3 = [-3, 17, -2] (0.5 -> 1)
    expect(Array.from(qx.subarray(0, 3))).toEqual([-3, 17, -2]);
    expect(Array.from(qx.subarray(3, 6))).toEqual([-1, 19, -4]); // (0,1) = [1, 11, -0.25] (-0.5 -> -1)
    expect(qx[8]).toBe(127); // 100 clamps
    expect(qx[11]).toBe(-128); // -100 clamps
    const back = dequantizeOutput(q, 'x', qx);
    expect(Array.from(back.subarray(0, 8))).toEqual([0, 1, 2, 3, 10, 11, 12, 13]);
  });

  it('clamps INT4 inputs to [-8, 7]', () => {
    const q4: QGraph = { ...q, tensors: new Map([['x', { name: 'x', shape: [2, 2, 3], bits: 4, scale: 0.5, zeroPoint: 0 }]]) };
    const qx = quantizeInput(q4, 'x', Float32Array.from({ length: 12 }, (_, i) => i - 6));
    expect(Math.max(...qx)).toBe(7);
    expect(Math.min(...qx)).toBe(-8);
  });

  it('quantizes per channel with io.channelAffine: q = round((x - offset[c]) / scale[c])', () => {
    const qa: QGraph = {
      ...q,
      io: { x: { onnxShape: [1, 2, 3], layout: 'ncl', channelAffine: { scale: [0.5, 0.01], offset: [97, -1] } } },
      tensors: new Map([['x', { name: 'x', shape: [1, 3, 2], bits: 8, scale: 1, zeroPoint: 0 }]]),
    };
    // ONNX [1, 2, 3]: c0 = [97, 98, 200], c1 = [-1, -0.99, 0.5]; memory [w][c]
    const qx = quantizeInput(qa, 'x', Float32Array.from([97, 98, 200, -1, -0.99, 0.5]));
    expect(Array.from(qx)).toEqual([0, 0, 2, 1, 127, 127]); // memory [w][c]: (97, -1), (98, -0.99), (200, 0.5) -> (0, 0), (2, 1), (206 -> 127, 150 -> 127)
  });
});
