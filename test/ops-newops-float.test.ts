// The float forwards of issue 11's new operators (compiler/ops/) against onnxruntime-node on
// single-node models built in memory: Slice, Split, ReduceMean, ReduceMax, Resize (nearest and
// linear, every coordinate and rounding mode, scales and sizes), PRelu, LogSoftmax and
// ConvTranspose (1-D and 2-D, strides, dilations, pads, output_padding, groups); their backward
// passes against finite differences.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convTransposeBackward, convTransposeForward, convTransposeOutSize } from '../compiler/ops/conv-transpose.ts';
import { logSoftmaxBackward, logSoftmaxForward } from '../compiler/ops/log-softmax.ts';
import { preluBackward, preluForward } from '../compiler/ops/prelu.ts';
import { reduceBackward, reduceForward } from '../compiler/ops/reduce.ts';
import { resizeBackward, resizeForward } from '../compiler/ops/resize.ts';
import { RESIZE_COORD_MODES, RESIZE_NEAREST_MODES } from '../compiler/ops/resize-coords.ts';
import { resolveSliceAxis, sliceBackward, sliceForward } from '../compiler/ops/slice.ts';
import { values, writeModel, type ModelSpec, type NodeSpec } from './helpers/onnx-builder.ts';
import { randomInput, runOnnxRuntime } from './helpers/ort.ts';

const dir = mkdtempSync(join(tmpdir(), 'tm2-newops-float-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

/** Runs one node on x with onnxruntime; returns its single output. */
async function ort(node: NodeSpec, xShape: number[], outShape: number[], opset: number, initializers: ModelSpec['initializers'] = [], x?: Float32Array) {
  const spec: ModelSpec = { opset, inputs: [{ name: 'x', shape: xShape }], outputs: node.outputs.map((n) => ({ name: n, shape: undefined })), initializers, nodes: [node] };
  void outShape;
  const file = writeModel(join(dir, `m${count++}.onnx`), spec);
  const data = x ?? randomInput(xShape.reduce((a, b) => a * b, 1), count);
  const res = await runOnnxRuntime(file, { x: { data, shape: xShape } });
  return { x: data, outs: node.outputs.map((n) => res.get(n)!) };
}

function close(got: Float32Array | Float64Array, want: Float32Array, tol = 1e-5): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]), `element ${i}: ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i])));
}

const int64 = (name: string, data: number[]) => ({ name, dims: [data.length], dataType: 7, data });
const float = (name: string, data: number[], dims = [data.length]) => ({ name, dims, data });

describe('Slice and Split', () => {
  const cases: Array<{ shape: number[]; starts: number[]; ends: number[]; axes: number[]; steps: number[] }> = [
    { shape: [1, 4, 5, 6], starts: [1, 0], ends: [3, 100], axes: [1, 3], steps: [1, 2] },
    { shape: [1, 4, 5, 6], starts: [-1, 4], ends: [-100, 0], axes: [2, 3], steps: [-1, -2] },
    { shape: [1, 3, 10], starts: [2], ends: [-2], axes: [-1], steps: [3] },
    { shape: [1, 8], starts: [1], ends: [7], axes: [1], steps: [1] },
  ];
  for (const c of cases) it(`Slice ${JSON.stringify(c)}`, async () => {
    const node: NodeSpec = { op: 'Slice', inputs: ['x', 'st', 'en', 'ax', 'sp'], outputs: ['y'] };
    const { x, outs } = await ort(node, c.shape, [], 13, [int64('st', c.starts), int64('en', c.ends), int64('ax', c.axes), int64('sp', c.steps)]);
    const starts = c.shape.map(() => 0), steps = c.shape.map(() => 1), outShape = [...c.shape];
    c.axes.forEach((a0, i) => {
      const a = a0 < 0 ? a0 + c.shape.length : a0;
      const r = resolveSliceAxis(c.shape[a], c.starts[i], c.ends[i], c.steps[i]);
      starts[a] = r.start; steps[a] = c.steps[i]; outShape[a] = r.count;
    });
    expect(outShape).toEqual(outs[0].shape);
    close(sliceForward(x, c.shape, { starts, steps }, outShape), outs[0].data);
    close(sliceForward(Float64Array.from(x), c.shape, { starts, steps }, outShape), outs[0].data);
  });

  it('Split on channels with uneven parts, as slices', async () => {
    const node: NodeSpec = { op: 'Split', inputs: ['x', 'sz'], outputs: ['a', 'b', 'c'], attrs: { axis: { i: 1 } } };
    const shape = [1, 7, 3, 2];
    const { x, outs } = await ort(node, shape, [], 13, [int64('sz', [2, 4, 1])]);
    let offset = 0;
    for (const [i, n] of [2, 4, 1].entries()) {
      const out = sliceForward(x, shape, { starts: [0, offset, 0, 0], steps: [1, 1, 1, 1] }, [1, n, 3, 2]);
      close(out, outs[i].data);
      offset += n;
    }
  });
});

describe('ReduceMean and ReduceMax', () => {
  for (const kind of ['mean', 'max'] as const) {
    for (const axes of [[2, 3], [1], [1, 2, 3], [3], [1, 3]]) it(`Reduce${kind} axes ${axes}`, async () => {
      const node: NodeSpec = { op: kind === 'mean' ? 'ReduceMean' : 'ReduceMax', inputs: ['x'], outputs: ['y'], attrs: { axes: { ints: axes }, keepdims: { i: 1 } } };
      const shape = [1, 5, 4, 6];
      const { x, outs } = await ort(node, shape, [], 13);
      close(reduceForward(kind, x, shape, axes), outs[0].data);
    });
  }
});

describe('Resize', () => {
  for (const mode of ['nearest', 'linear'] as const) {
    for (const coord of RESIZE_COORD_MODES) {
      if (mode === 'linear' && coord === 'tf_half_pixel_for_nn') continue; // defined for nearest only
      for (const rounding of mode === 'nearest' ? RESIZE_NEAREST_MODES : (['round_prefer_floor'] as const)) {
        for (const [inHW, scales] of [[[3, 4], [2, 2]], [[5, 6], [0.5, 1.5]], [[4, 3], [1.7, 2.5]]] as const) {
          it(`${mode} ${coord} ${rounding} ${inHW} x ${scales}`, async () => {
            const shape = [1, 2, inHW[0], inHW[1]];
            const node: NodeSpec = { op: 'Resize', inputs: ['x', 'roi', 'sc'], outputs: ['y'], attrs: { mode: { s: mode }, coordinate_transformation_mode: { s: coord }, nearest_mode: { s: rounding } } };
            const { x, outs } = await ort(node, shape, [], 13, [float('roi', []), float('sc', [1, 1, ...scales])]);
            const outShape = outs[0].shape;
            expect(outShape).toEqual([1, 2, Math.floor(inHW[0] * scales[0]), Math.floor(inHW[1] * scales[1])]);
            close(resizeForward(x, shape, { mode, coordMode: coord, nearestMode: rounding, scales: [...scales] }, outShape), outs[0].data, 1e-5);
          });
        }
      }
    }
  }
  it('by sizes: scale = out / in (1-D signal, linear)', async () => {
    const shape = [1, 3, 7];
    const node: NodeSpec = { op: 'Resize', inputs: ['x', '', '', 'sz'], outputs: ['y'], attrs: { mode: { s: 'linear' } } };
    const { x, outs } = await ort(node, shape, [], 13, [int64('sz', [1, 3, 12])]);
    close(resizeForward(x, shape, { mode: 'linear', coordMode: 'half_pixel', nearestMode: 'round_prefer_floor', scales: [12 / 7] }, [1, 3, 12]), outs[0].data);
  });
});

describe('PRelu and LogSoftmax', () => {
  it('PRelu with a slope per channel ([C, 1, 1]) and a single slope', async () => {
    const shape = [1, 4, 3, 5];
    const slopes = [0.1, -0.5, 2, 0];
    const a = await ort({ op: 'PRelu', inputs: ['x', 's'], outputs: ['y'] }, shape, [], 13, [float('s', slopes, [4, 1, 1])]);
    close(preluForward(a.x, shape, slopes), a.outs[0].data);
    const b = await ort({ op: 'PRelu', inputs: ['x', 's'], outputs: ['y'] }, shape, [], 13, [float('s', [0.25], [1])]);
    close(preluForward(b.x, shape, [0.25]), b.outs[0].data);
  });
  for (const [shape, axis] of [[[1, 10], -1], [[1, 4, 7], 1], [[1, 3, 2, 5], -1]] as const) it(`LogSoftmax ${shape} axis ${axis}`, async () => {
    const { x, outs } = await ort({ op: 'LogSoftmax', inputs: ['x'], outputs: ['y'], attrs: { axis: { i: axis } } }, [...shape], [], 13, [], randomInput((shape as readonly number[]).reduce((p, d) => p * d, 1), 3).map((v) => v * 6));
    close(logSoftmaxForward(x, shape, axis), outs[0].data, 1e-5);
  });
});

describe('ConvTranspose', () => {
  const cases = [
    { cin: 3, cout: 4, in: [4, 5], k: [3, 3], s: [2, 2], d: [1, 1], p: [1, 1, 1, 1], op: [1, 1], g: 1 },
    { cin: 4, cout: 6, in: [3, 3], k: [2, 3], s: [1, 2], d: [2, 1], p: [0, 1, 1, 0], op: [0, 1], g: 2 },
    { cin: 2, cout: 3, in: [9], k: [4], s: [2], d: [1], p: [1, 1], op: [0], g: 1 },
    { cin: 6, cout: 3, in: [5], k: [3], s: [3], d: [2], p: [0, 2], op: [2], g: 3 },
  ];
  for (const c of cases) it(JSON.stringify(c), async () => {
    const shape = [1, c.cin, ...c.in];
    const wShape = [c.cin, c.cout / c.g, ...c.k];
    const w = values(wShape.reduce((a, b) => a * b, 1), 5), b = values(c.cout, 6);
    const node: NodeSpec = { op: 'ConvTranspose', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: {
      kernel_shape: { ints: c.k }, strides: { ints: c.s }, dilations: { ints: c.d }, pads: { ints: c.p }, output_padding: { ints: c.op }, group: { i: c.g } } };
    const { x, outs } = await ort(node, shape, [], 13, [float('w', w, wShape), float('b', b)]);
    const r = c.k.length;
    const outShape = [1, c.cout, ...c.in.map((n, i) => convTransposeOutSize(n, c.k[i], c.s[i], c.d[i], c.p[i], c.p[i + r], c.op[i]))];
    expect(outShape).toEqual(outs[0].shape);
    close(convTransposeForward(x, shape, w, b, { kernel: c.k, strides: c.s, pads: c.p, dilations: c.d, group: c.g }, outShape), outs[0].data, 1e-4);
  });
});

// Backward passes (used by the sensitivity engine) against central finite differences of the forwards.
describe('backward passes equal finite differences of the forwards', () => {
  /** Checks <gy, dF/dx_i> for every i of x against gx. */
  function fd(f: (x: Float64Array) => Float64Array, x: Float64Array, gy: Float64Array, gx: Float64Array): void {
    const eps = 1e-6;
    for (let i = 0; i < x.length; i++) {
      const a = Float64Array.from(x), b = Float64Array.from(x);
      a[i] += eps; b[i] -= eps;
      const fa = f(a), fb = f(b);
      let d = 0;
      for (let k = 0; k < gy.length; k++) d += gy[k] * (fa[k] - fb[k]) / (2 * eps);
      expect(Math.abs(d - gx[i]), `x[${i}]`).toBeLessThan(1e-5);
    }
  }
  const rand = (n: number, seed: number) => Float64Array.from(randomInput(n, seed));
  const sizeOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

  it('Slice, ReduceMean, ReduceMax, Resize linear and nearest, PRelu, LogSoftmax, ConvTranspose', () => {
    const xs = [1, 3, 4, 5];
    const x = rand(sizeOf(xs), 11);
    // Slice
    const sp = { starts: [0, 2, 3, 0], steps: [1, -1, -2, 2] }, so = [1, 2, 2, 3];
    const gs = rand(sizeOf(so), 12);
    fd((v) => sliceForward(v, xs, sp, so), x, gs, sliceBackward(gs, xs, sp, so));
    // Reduce
    for (const kind of ['mean', 'max'] as const) {
      for (const axes of [[2, 3], [1]]) {
        const gr = rand(sizeOf(xs.map((d, a) => (axes.includes(a) ? 1 : d))), 13);
        fd((v) => reduceForward(kind, v, xs, axes), x, gr, reduceBackward(kind, x, xs, axes, gr));
      }
    }
    // Resize
    for (const mode of ['linear', 'nearest'] as const) {
      const rp = { mode, coordMode: 'half_pixel' as const, nearestMode: 'round_prefer_floor' as const, scales: [1.5, 0.6] }, ro = [1, 3, 6, 3];
      const gr = rand(sizeOf(ro), 14);
      fd((v) => resizeForward(v, xs, rp, ro), x, gr, resizeBackward(xs, rp, ro, gr));
    }
    // PRelu (input and slope)
    const slope = Float64Array.of(0.3, -0.2, 1.5);
    const gp = rand(x.length, 15);
    const pb = preluBackward(x, xs, slope, gp);
    fd((v) => preluForward(v, xs, slope), x, gp, pb.gx);
    fd((s) => preluForward(x, xs, s), slope, gp, pb.gslope);
    // LogSoftmax
    const gl = rand(x.length, 16);
    fd((v) => logSoftmaxForward(v, xs, 1), x, gl, logSoftmaxBackward(logSoftmaxForward(x, xs, 1), xs, 1, gl));
    // ConvTranspose (input, weight, bias)
    const cp = { kernel: [2, 3], strides: [2, 1], pads: [0, 1, 1, 0], dilations: [1, 2], group: 1 };
    const w = rand(3 * 2 * 2 * 3, 17), b = rand(2, 18);
    const co = [1, 2, convTransposeOutSize(4, 2, 2, 1, 0, 1, 0), convTransposeOutSize(5, 3, 1, 2, 1, 0, 0)];
    const gc = rand(sizeOf(co), 19);
    const cb = convTransposeBackward(x, xs, w, cp, co, gc);
    fd((v) => convTransposeForward(v, xs, w, b, cp, co), x, gc, cb.gx);
    fd((v) => convTransposeForward(x, xs, v, b, cp, co), w, gc, cb.gw);
    fd((v) => convTransposeForward(x, xs, w, v, cp, co), b, gc, cb.gb);
  });
});
