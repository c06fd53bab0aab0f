// Float forward of ONNX PRelu with a slope per channel (axis 1) or one slope, generic over
// float32 and float64: y = x >= 0 ? x : slope[c] * x.
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import { constantFloat, tensorInfo, type NodeBase } from '../ir.ts';
import { preluRequant } from '../kernels/prelu.ts';
import { activationRange } from '../quant/fixedpoint.ts';
import { perSample, type Importer, type OpDef } from './op.ts';
import { requireFloat } from './onnx-attrs.ts';
import { check, fmt } from './shape-rules.ts';
type FloatArray = Float32Array | Float64Array;

/** `slope` has C entries (per channel of axis 1) or one. */
export function preluForward<T extends FloatArray>(x: T, xShape: readonly number[], slope: ArrayLike<number>): T {
  const C = xShape.length > 1 ? xShape[1] : 1;
  const inner = xShape.slice(2).reduce((a, b) => a * b, 1);
  const y = new (x.constructor as new (n: number) => T)(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    y[i] = v >= 0 ? v : v * slope[slope.length === 1 ? 0 : Math.floor(i / inner) % C];
  }
  return y;
}

/**
 * Vector-Jacobian product: gx = gy * (x >= 0 ? 1 : slope), gslope[c] = sum of gy * x where x < 0.
 * The region (x >= 0) is read from `ref` (the frozen reference input of a sensitivity pass) when given.
 */
export function preluBackward(x: ArrayLike<number>, xShape: readonly number[], slope: ArrayLike<number>, gy: Float64Array, ref: ArrayLike<number> = x): { gx: Float64Array; gslope: Float64Array } {
  const C = xShape.length > 1 ? xShape[1] : 1;
  const inner = xShape.slice(2).reduce((a, b) => a * b, 1);
  const gx = new Float64Array(x.length), gslope = new Float64Array(slope.length);
  for (let i = 0; i < x.length; i++) {
    const c = slope.length === 1 ? 0 : Math.floor(i / inner) % C;
    if (ref[i] >= 0) gx[i] = gy[i];
    else {
      gx[i] = gy[i] * slope[c];
      gslope[c] += gy[i] * x[i];
    }
  }
  return { gx, gslope };
}

// ---- IR op, importer and quantization (the OpDef) -------------------------------------------

/** PRelu with one slope per channel (axis 1); `slope` names a constant of C values. */
export interface PReluNode extends NodeBase { op: 'PRelu'; slope: string }

const importPRelu: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const s = ctx.constant(node, 1, 'slope');
  requireFloat(ctx, node, s, 'slope');
  const values = s.data as Float32Array;
  // One slope for every element: a LeakyRelu (a lookup table).
  if (values.length === 1 || values.every((v) => v === values[0])) {
    ctx.emit(node, { op: 'LeakyRelu', name: node.name, source: 'PRelu', inputs: [x.name], outputs: [node.outputs[0]], alpha: values[0] });
    return;
  }
  // Otherwise the slope must vary along axis 1 only (numpy broadcasting, right-aligned).
  const rank = x.shape.length, C = x.shape[1];
  const aligned = [...new Array<number>(Math.max(0, rank - s.shape.length)).fill(1), ...s.shape];
  if (rank < 2 || aligned.length !== rank || aligned.some((d, a) => (a === 1 ? d !== C : d !== 1))) {
    ctx.fail(node, `slope of shape [${s.shape}] on input [${x.shape}]: tinym2 supports one slope, or one per channel (axis 1)`);
  }
  const flat = ctx.uniqueName(`${s.name}.per_channel`);
  ctx.addConstant({ name: flat, dtype: 'float32', shape: [C], data: Float32Array.from(values) });
  ctx.emit(node, { op: 'PRelu', name: node.name, source: 'PRelu', inputs: [x.name], outputs: [node.outputs[0]], slope: flat });
};

export const prelu: OpDef<PReluNode> = {
  mixesSamples: perSample, // one slope per channel (axis 1)
  importers: { PRelu: importPRelu },
  constants: (n) => [n.slope],
  macs: () => 0,
  shape(node, [x], constants) {
    const s = constants.get(node.slope);
    check(s !== undefined && s.shape.length === 1 && x.length >= 2 && s.shape[0] === x[1], `slope '${node.slope}' does not have one value per channel of ${fmt(x)}`);
    return [...x];
  },
  forward: (ctx, [x]) => preluForward(x, ctx.inShapes[0], ctx.param(ctx.node.slope)),
  backward(ctx, [x], _y, gy) {
    const { gx, gslope } = preluBackward(x, ctx.inShapes[0], ctx.param(ctx.node.slope), gy, ctx.frozen?.[0]);
    return { inputs: [gx], params: { [ctx.node.slope]: gslope } };
  },
  quant: {
    outputBits: 'inputs',
    share: 'none',
    fusesClamp: () => false,
    lower(lc, node) {
      let inP = lc.placed(node.inputs[0]);
      if (inP.kind === 'vector' && inP.perm) inP = lc.materializeVector(inP, node.inputs[0]);
      const inT = lc.qtensor(inP.q);
      const out = lc.place(node.outputs[0], tensorInfo(lc.graph, node.outputs[0]).shape);
      const outT = lc.qtensor(out.q);
      const [actMin, actMax] = activationRange(outT.bits);
      const r = ((): ReturnType<typeof preluRequant> => {
        try {
          return preluRequant(constantFloat(lc.graph, node.slope), inT.scale, outT.scale);
        } catch {
          return lc.unsupported(node, 'a slope times its input range exceeds its output range by 2^30 or more');
        }
      })();
      lc.emit({ op: 'prelu', name: node.name, inputs: [inP.q], output: out.q, ...r, actMin, actMax });
    },
  },
};
