// Float forward and backward of ONNX Resize (nearest and linear) on the spatial axes of NCHW / NCL,
// generic over float32 and float64 (the reference and the sensitivity engine). Each output element
// is a weighted sum of at most four inputs (one for nearest): resizeTaps lists them once for both.
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import { tensorInfo, type NodeBase } from '../ir.ts';
import { resizeTables } from '../kernels/resize.ts';
import { constantValues } from '../onnx/fold.ts';
import { activationRange } from '../quant/fixedpoint.ts';
import { NO_WEIGHTS, perSample, type Importer, type OpDef } from './op.ts';
import { RESIZE_COORD_MODES, RESIZE_NEAREST_MODES } from './resize-coords.ts';
import { check, fmt } from './shape-rules.ts';
import { linearTaps, nearestIndex, type ResizeAxis, type ResizeCoordMode, type ResizeNearestMode } from './resize-coords.ts';

export interface ResizeAttrs {
  mode: 'nearest' | 'linear';
  coordMode: ResizeCoordMode;
  nearestMode: ResizeNearestMode;
  /** Scale per spatial axis as ONNX's formulas use it. */
  scales: number[];
}

type FloatArray = Float32Array | Float64Array;

interface Tap { offset: number; weight: number }

/** Per output (oy, ox) of one plane: the input offsets within the plane and their weights. */
function resizeTaps(xShape: readonly number[], p: ResizeAttrs, outShape: readonly number[]): { taps: Tap[][]; inPlane: number; outPlane: number; planes: number } {
  const twoD = xShape.length === 4;
  const IH = twoD ? xShape[2] : 1, IW = xShape[xShape.length - 1];
  const OH = twoD ? outShape[2] : 1, OW = outShape[outShape.length - 1];
  const ay: ResizeAxis = { inSize: IH, outSize: OH, scale: twoD ? p.scales[0] : 1 };
  const ax: ResizeAxis = { inSize: IW, outSize: OW, scale: p.scales[p.scales.length - 1] };
  const axis = (a: ResizeAxis, o: number, on: boolean): Array<[number, number]> => {
    if (!on) return [[0, 1]];
    if (p.mode === 'nearest') return [[nearestIndex(o, a, p.coordMode, p.nearestMode), 1]];
    const t = linearTaps(o, a, p.coordMode);
    return [[t.i0, 1 - t.w], [t.i1, t.w]];
  };
  const taps: Tap[][] = [];
  for (let oy = 0; oy < OH; oy++) {
    const ys = axis(ay, oy, twoD);
    for (let ox = 0; ox < OW; ox++) {
      const xs = axis(ax, ox, true);
      taps.push(ys.flatMap(([iy, wy]) => xs.map(([ix, wx]) => ({ offset: iy * IW + ix, weight: wy * wx }))));
    }
  }
  return { taps, inPlane: IH * IW, outPlane: OH * OW, planes: xShape[0] * xShape[1] };
}

/** [N, C, ...spatial] -> [N, C, ...outSpatial]; 1-D signals have one spatial axis. */
export function resizeForward<T extends FloatArray>(x: T, xShape: readonly number[], p: ResizeAttrs, outShape: readonly number[]): T {
  const { taps, inPlane, outPlane, planes } = resizeTaps(xShape, p, outShape);
  const y = new (x.constructor as new (n: number) => T)(planes * outPlane);
  for (let pl = 0; pl < planes; pl++) {
    for (let o = 0; o < outPlane; o++) {
      let v = 0;
      // Bilinear as ONNX computes it: interpolate along W, then along H (the weight products are equal).
      for (const t of taps[o]) v += x[pl * inPlane + t.offset] * t.weight;
      y[pl * outPlane + o] = v;
    }
  }
  return y;
}

/** Vector-Jacobian product: each output's gradient goes back to its taps, weighted. */
export function resizeBackward(xShape: readonly number[], p: ResizeAttrs, outShape: readonly number[], gy: Float64Array): Float64Array {
  const { taps, inPlane, outPlane, planes } = resizeTaps(xShape, p, outShape);
  const gx = new Float64Array(planes * inPlane);
  for (let pl = 0; pl < planes; pl++) {
    for (let o = 0; o < outPlane; o++) for (const t of taps[o]) gx[pl * inPlane + t.offset] += gy[pl * outPlane + o] * t.weight;
  }
  return gx;
}

// ---- IR op, importers and quantization (the OpDef) ------------------------------------------

/** Resize of the spatial axes of NCHW / NCL; N and C unchanged. */
export interface ResizeNode extends NodeBase, ResizeAttrs {
  op: 'Resize';
  /** Output extent per spatial axis. */
  sizes: number[];
}

const importResize: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const rank = x.shape.length;
  if (rank !== 3 && rank !== 4) ctx.fail(node, `input [${x.shape}]: tinym2 resizes 1-D (N,C,L) and 2-D (N,C,H,W) activations only`);
  const modeAttr = node.attrs.string('mode', 'nearest');
  if (modeAttr !== 'nearest' && modeAttr !== 'linear') ctx.fail(node, `mode '${modeAttr}' is not supported (nearest and linear are)`);
  let coordMode: string, nearestMode: string;
  let scales: number[] | undefined, sizes: number[] | undefined;
  if (ctx.opset < 11) {
    // Resize-10 / Upsample: asymmetric coordinates, nearest rounds down (onnxruntime's "simple" mode when enlarging).
    coordMode = 'asymmetric';
    nearestMode = 'floor';
    if (node.op === 'Upsample' && ctx.opset < 9) ctx.fail(node, 'Upsample before opset 9 (scales as an attribute) is not supported; re-export at opset 9 or later');
    scales = constantValues(ctx.constant(node, 1, 'scales'));
  } else {
    coordMode = node.attrs.string('coordinate_transformation_mode', 'half_pixel');
    nearestMode = node.attrs.string('nearest_mode', 'round_prefer_floor');
    const sc = ctx.optionalConstant(node, 2, 'scales'), sz = ctx.optionalConstant(node, 3, 'sizes');
    if (sc && sc.shape.reduce((a, b) => a * b, 1) > 0) scales = constantValues(sc);
    if (sz && sz.shape.reduce((a, b) => a * b, 1) > 0) sizes = constantValues(sz);
    if (node.attrs.int('antialias', 0) !== 0) ctx.fail(node, 'antialias = 1 is not supported');
    if (node.attrs.has('axes')) ctx.fail(node, 'the axes attribute is not supported; give scales or sizes for every axis');
    if (sizes && node.attrs.string('keep_aspect_ratio_policy', 'stretch') !== 'stretch') ctx.fail(node, 'keep_aspect_ratio_policy other than stretch is not supported');
  }
  if (!(RESIZE_COORD_MODES as readonly string[]).includes(coordMode)) ctx.fail(node, `coordinate_transformation_mode '${coordMode}' is not supported (${RESIZE_COORD_MODES.join(', ')} are)`);
  if (!(RESIZE_NEAREST_MODES as readonly string[]).includes(nearestMode)) ctx.fail(node, `nearest_mode '${nearestMode}' is not supported`);
  if (modeAttr === 'linear' && coordMode === 'tf_half_pixel_for_nn') ctx.fail(node, 'tf_half_pixel_for_nn is defined for nearest mode only');
  let outSizes: number[], spatialScales: number[];
  if (sizes) {
    if (sizes.length !== rank || sizes[0] !== x.shape[0] || sizes[1] !== x.shape[1]) ctx.fail(node, `sizes [${sizes}] must keep N and C of [${x.shape}]`);
    outSizes = sizes.slice(2);
    spatialScales = outSizes.map((o, i) => o / x.shape[2 + i]);
  } else if (scales) {
    if (scales.length !== rank || scales[0] !== 1 || scales[1] !== 1) ctx.fail(node, `scales [${scales}] must be 1 on N and C`);
    spatialScales = scales.slice(2);
    outSizes = spatialScales.map((s, i) => Math.floor(x.shape[2 + i] * s));
  } else ctx.fail(node, 'has neither scales nor sizes');
  if (outSizes.some((o) => o < 1) || spatialScales.some((s) => !(s > 0))) ctx.fail(node, `output size [${outSizes}] / scales [${spatialScales}] must be positive`);
  ctx.emit(node, {
    op: 'Resize', name: node.name, source: node.op, inputs: [x.name], outputs: [node.outputs[0]],
    mode: modeAttr, coordMode: coordMode as ResizeCoordMode, nearestMode: nearestMode as ResizeNearestMode, scales: spatialScales, sizes: outSizes,
  });
};

export const resize: OpDef<ResizeNode> = {
  mixesSamples: perSample, // H and W only: the importer refuses scales on N or C
  importers: { Resize: importResize, Upsample: importResize },
  ...NO_WEIGHTS,
  shape(node, [x]) {
    check(x.length === 3 || x.length === 4, `expects a 1-D (N,C,L) or 2-D (N,C,H,W) input, got ${fmt(x)}`);
    check(node.sizes.length === x.length - 2 && node.scales.length === x.length - 2, `sizes ${fmt(node.sizes)} do not match input ${fmt(x)}`);
    return [x[0], x[1], ...node.sizes];
  },
  forward: (ctx, [x]) => resizeForward(x, ctx.inShapes[0], ctx.node, ctx.outShape),
  backward: (ctx, _xs, _y, gy) => ({ inputs: [resizeBackward(ctx.inShapes[0], ctx.node, ctx.outShape, gy)], params: {} }),
  quant: {
    outputBits: 'inputs',
    share: 'first',
    fusesClamp: () => false,
    lower(lc, node) {
      const inP = lc.spatialInput(node, node.inputs[0]);
      const inT = lc.qtensor(inP.q);
      const out = lc.place(node.outputs[0], tensorInfo(lc.graph, node.outputs[0]).shape);
      const outT = lc.qtensor(out.q);
      const twoD = node.sizes.length === 2;
      const ay = { inSize: inT.shape[0], outSize: outT.shape[0], scale: twoD ? node.scales[0] : 1 };
      const ax = { inSize: inT.shape[1], outSize: outT.shape[1], scale: node.scales[node.scales.length - 1] };
      const mode = node.mode === 'nearest' ? 'nearest' : 'bilinear';
      const tables = resizeTables(ay, ax, mode, node.coordMode, node.nearestMode);
      const [actMin, actMax] = activationRange(outT.bits);
      lc.emit({ op: mode === 'nearest' ? 'resize_nearest' : 'resize_bilinear', name: node.name, inputs: [inP.q], output: out.q, ...tables, actMin, actMax });
    },
  },
};
