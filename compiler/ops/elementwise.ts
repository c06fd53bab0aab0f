// The shape of a unary elementwise op y = f(x): everything but its scalar function is shared.
// Such an op is imported from one ONNX op with its attributes, keeps its input's shape, runs
// through both float engines with the same f, and is quantized as a 256-entry lookup table
// (QLutOp: exact for any f, INT8 and INT4 alike). Adding one is one module calling `elementwise`
// and a line in ./registry.ts (see README.md).
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import type { NodeBase } from '../ir.ts';
import type { Importer, IrNode, OpDef } from './op.ts';
import { NO_WEIGHTS, sameShape } from './op.ts';

export interface ElementwiseSpec<N extends IrNode> {
  /** ONNX op type -> importer. `unaryImporter` covers ops whose only data is the input. */
  importers: Record<string, Importer>;
  /**
   * y at x, using the piece of the function that `r` falls in: r is x itself, or in a frozen
   * sensitivity pass the reference input (OpContext.frozen), so that a function with kinks is
   * differentiated as the smooth piece around the reference point. Smooth functions ignore r.
   */
  f(x: number, node: N, r: number): number;
  /** dy/dx at x on the piece of r (at a kink: the piece of the side r <= kink, as PyTorch does). */
  df(x: number, node: N, r: number): number;
  /** What the lookup table computes, for messages and C comments ("Sigmoid", "LeakyRelu 0.01"). */
  what(node: N): string;
  /** Relu / Clip only: the real bounds, so the quantizer can fold it into its producer's clamp. */
  clampBounds?(node: N): [lo: number, hi: number];
}

export function elementwise<N extends IrNode>(spec: ElementwiseSpec<N>): OpDef<N> {
  return {
    importers: spec.importers,
    ...NO_WEIGHTS,
    shape: sameShape,
    forward(ctx, [x]) {
      const ref = ctx.frozen?.[0] ?? x;
      const y = ctx.alloc(x.length);
      for (let i = 0; i < x.length; i++) y[i] = spec.f(x[i], ctx.node, ref[i]);
      return y;
    },
    backward(ctx, [x], _y, gy) {
      const ref = ctx.frozen?.[0] ?? x;
      const gx = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) gx[i] = gy[i] * spec.df(x[i], ctx.node, ref[i]);
      return { inputs: [gx], params: {} };
    },
    quant: {
      outputBits: 'inputs',
      share: 'none',
      fusesClamp: () => false,
      ...(spec.clampBounds ? { clampBounds: spec.clampBounds } : {}),
      lower(lc, node) {
        lc.lowerLut(node, (x) => spec.f(x, node, x), spec.what(node));
      },
    },
  };
}

/** Importer of an ONNX op with one input and no attributes the IR node keeps. */
export function unaryImporter<Op extends string>(op: Op): Importer {
  return (ctx: ImportContext, node: SourceNode) => {
    const x = ctx.activation(node, 0);
    const ir: NodeBase & { op: Op } = { op, name: node.name, source: node.op, inputs: [x.name], outputs: [node.outputs[0]] };
    ctx.emit(node, ir as never);
  };
}
