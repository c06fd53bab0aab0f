// MaxPool and AveragePool (1-D / 2-D, ceil_mode, count_include_pad): import, shape, forward,
// backward, and the lowering to the pooling kernels.
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import { tensorInfo, type NodeBase } from '../ir.ts';
import type { FloatArray, Importer, OpDef } from './op.ts';
import { NO_WEIGHTS } from './op.ts';
import { spatialRank, windowAttrs } from './onnx-attrs.ts';
import { check, fmt, spatialOutput, window2d, type Window2d } from './shape-rules.ts';

export interface PoolNode extends NodeBase {
  op: 'MaxPool' | 'AveragePool';
  kernel: number[];
  strides: number[];
  pads: number[];
  dilations: number[];
  ceilMode: boolean;
  /** AveragePool only: count padded elements in the divisor. */
  countIncludePad: boolean;
}

const importPool = (op: 'MaxPool' | 'AveragePool'): Importer => (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const r = spatialRank(ctx, node, x.shape);
  const kernel = node.attrs.ints('kernel_shape');
  if (!kernel || kernel.length !== r) ctx.fail(node, `kernel_shape [${kernel ?? ''}] must have ${r} values for input [${x.shape}]`);
  if (node.outputs[1]) ctx.fail(node, 'the Indices output is not supported');
  const ir: PoolNode = {
    op, name: node.name, source: op, inputs: [x.name], outputs: [node.outputs[0]], kernel, ...windowAttrs(ctx, node, x.shape, kernel),
    ceilMode: node.attrs.int('ceil_mode', 0) === 1,
    countIncludePad: op === 'AveragePool' && node.attrs.int('count_include_pad', 0) === 1,
  };
  ctx.emit(node, ir);
};

/**
 * Visits every output position with the valid input offsets (within one channel plane) of its
 * window and the number of window positions inside input or explicit pads (never those beyond
 * them, which ceil_mode adds): the divisor with count_include_pad.
 */
function forEachWindow(g: Window2d, visit: (outIndexInPlane: number, taps: number[], divisorIncludePad: number) => void): void {
  for (let oy = 0; oy < g.oh; oy++) {
    for (let ox = 0; ox < g.ow; ox++) {
      const taps: number[] = [];
      let padded = 0;
      for (let ky = 0; ky < g.kh; ky++) {
        const iy = oy * g.sh - g.padTop + ky * g.dh;
        const yInPad = iy >= -g.padTop && iy < g.h + g.padBottom;
        for (let kx = 0; kx < g.kw; kx++) {
          const ix = ox * g.sw - g.padLeft + kx * g.dw;
          const xInPad = ix >= -g.padLeft && ix < g.w + g.padRight;
          if (yInPad && xInPad) padded++;
          if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) taps.push(iy * g.w + ix);
        }
      }
      visit(oy * g.ow + ox, taps, padded);
    }
  }
}

/** Offset of the first maximum of the window in `ref` (the input, or the frozen reference input), or -1. */
function argmaxTap(ref: FloatArray, base: number, taps: number[]): number {
  let best = -1;
  for (const t of taps) if (best < 0 || ref[base + t] > ref[base + best]) best = t;
  return best;
}

function shape(node: PoolNode, [x]: readonly (readonly number[])[]): number[] {
  check(node.pads.length === 2 * node.kernel.length, 'pads do not match the kernel rank');
  for (let i = 0; i < node.kernel.length; i++) {
    check(node.pads[i] < node.kernel[i] && node.pads[node.kernel.length + i] < node.kernel[i], `pads ${fmt(node.pads)} must be smaller than kernel ${fmt(node.kernel)}`);
  }
  return spatialOutput(x, node, x[1], node.ceilMode);
}

const poolQuant: OpDef<PoolNode>['quant'] = {
  outputBits: 'inputs',
  share: 'first',
  fusesClamp: () => false,
  // Zero padding is exact for an average pool that counts padding in its divisor; a max pool
  // would see the zeros.
  absorbsZeroPad: (node) => node.op === 'AveragePool' && (node.countIncludePad || node.pads.every((v) => v === 0)),
  lower(lc, node) {
    const inP = lc.spatialInput(node, lc.activationInput(node));
    const out = lc.place(node.outputs[0], tensorInfo(lc.graph, node.outputs[0]).shape);
    const twoD = node.kernel.length === 2;
    if (node.kernel.length > 2) lc.unsupported(node, '3-D pooling is not supported');
    if (node.dilations.some((d) => d !== 1)) lc.unsupported(node, 'dilated pooling is not supported');
    const pad: [number, number, number, number] = twoD ? [node.pads[0], node.pads[1], node.pads[2], node.pads[3]] : [0, node.pads[0], 0, node.pads[1]];
    const extra = lc.foldedPadOf(node);
    if (extra) for (let i = 0; i < 4; i++) pad[i] += extra.pad[i];
    lc.emit({
      op: node.op === 'MaxPool' ? 'maxpool' : 'avgpool', name: node.name, inputs: [inP.q], output: out.q,
      kernel: twoD ? [node.kernel[0], node.kernel[1]] : [1, node.kernel[0]],
      stride: twoD ? [node.strides[0], node.strides[1]] : [1, node.strides[0]],
      pad,
      // A folded zero Pad's positions were real elements of the pooled tensor: they count.
      countIncludePad: node.countIncludePad || extra !== undefined,
    });
  },
};

export const maxPool: OpDef<PoolNode> = {
  ...NO_WEIGHTS,
  importers: { MaxPool: importPool('MaxPool') },
  shape,
  forward(ctx, [x]) {
    const g = window2d(ctx.inShapes[0], ctx.outShape, ctx.node);
    const ref = ctx.frozen?.[0] ?? x;
    const y = ctx.alloc(g.n * g.c * g.oh * g.ow);
    forEachWindow(g, (o, taps) => {
      for (let plane = 0; plane < g.n * g.c; plane++) {
        const base = plane * g.h * g.w;
        const best = argmaxTap(ref, base, taps);
        y[plane * g.oh * g.ow + o] = best >= 0 ? x[base + best] : -Infinity;
      }
    });
    return y;
  },
  backward(ctx, [x], _y, gy) {
    const g = window2d(ctx.inShapes[0], ctx.outShape, ctx.node);
    const ref = ctx.frozen?.[0] ?? x;
    const gx = new Float64Array(x.length);
    forEachWindow(g, (o, taps) => {
      for (let plane = 0; plane < g.n * g.c; plane++) {
        const base = plane * g.h * g.w;
        // The gradient goes to the first maximum (ties are measure-zero for real data).
        const best = argmaxTap(ref, base, taps);
        if (best >= 0) gx[base + best] += gy[plane * g.oh * g.ow + o];
      }
    });
    return { inputs: [gx], params: {} };
  },
  quant: poolQuant,
};

export const averagePool: OpDef<PoolNode> = {
  ...NO_WEIGHTS,
  importers: { AveragePool: importPool('AveragePool') },
  shape,
  forward(ctx, [x]) {
    const g = window2d(ctx.inShapes[0], ctx.outShape, ctx.node);
    const y = ctx.alloc(g.n * g.c * g.oh * g.ow);
    forEachWindow(g, (o, taps, padded) => {
      const n = ctx.node.countIncludePad ? padded : taps.length;
      for (let plane = 0; plane < g.n * g.c; plane++) {
        const base = plane * g.h * g.w;
        let s = 0;
        for (const t of taps) s += x[base + t];
        y[plane * g.oh * g.ow + o] = n > 0 ? s / n : 0;
      }
    });
    return y;
  },
  backward(ctx, [x], _y, gy) {
    const g = window2d(ctx.inShapes[0], ctx.outShape, ctx.node);
    const gx = new Float64Array(x.length);
    forEachWindow(g, (o, taps, padded) => {
      const n = ctx.node.countIncludePad ? padded : taps.length;
      if (n === 0) return;
      for (let plane = 0; plane < g.n * g.c; plane++) {
        const base = plane * g.h * g.w;
        const d = gy[plane * g.oh * g.ow + o] / n;
        for (const t of taps) gx[base + t] += d;
      }
    });
    return { inputs: [gx], params: {} };
  },
  quant: poolQuant,
};
