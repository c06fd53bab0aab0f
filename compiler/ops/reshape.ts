// Any static reshape (Flatten, Squeeze, Unsqueeze, Reshape with a constant shape): data order
// unchanged, so a view in both float engines; lowered to a view or, when channels-last memory
// order differs from ONNX order, to permutes.
import { tensorInfo, tensorSize, type NodeBase } from '../ir.ts';
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import { constantValues, resolveReshape } from '../onnx/fold.ts';
import { spatialFlattenPerm, type Placement } from '../quant/lower.ts';
import type { Importer, OpDef } from './op.ts';
import { NO_WEIGHTS } from './op.ts';
import { normAxis } from './onnx-attrs.ts';
import { check, fmt, ShapeError } from './shape-rules.ts';

/** Any static reshape (Flatten, Squeeze, Unsqueeze, Reshape): data order unchanged. */
export interface ReshapeNode extends NodeBase { op: 'Reshape'; shape: number[] }

function reshapeTo(ctx: ImportContext, node: SourceNode, shape: number[]): void {
  const x = ctx.activation(node, 0);
  ctx.emit(node, { op: 'Reshape', name: node.name, source: node.op, inputs: [x.name], outputs: [node.outputs[0]], shape });
}

const flatten: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const raw = node.attrs.int('axis', 1);
  if (raw < -x.shape.length || raw > x.shape.length) ctx.fail(node, `axis ${raw} is out of range for input [${x.shape}]`);
  const axis = normAxis(raw, x.shape.length);
  reshapeTo(ctx, node, [tensorSize(x.shape.slice(0, axis)), tensorSize(x.shape.slice(axis))]);
};

const reshapeImporter: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const target = ctx.opset < 5 ? (node.attrs.ints('shape') ?? []) : constantValues(ctx.constant(node, 1, 'shape'));
  try {
    reshapeTo(ctx, node, resolveReshape(x.shape, target, node.attrs.int('allowzero', 0) === 1));
  } catch (e) {
    if (e instanceof ShapeError) ctx.fail(node, `shape mismatch: ${e.message}`);
    throw e;
  }
};

function axesOf(ctx: ImportContext, node: SourceNode): number[] | undefined {
  if (ctx.opset >= 13) {
    const c = ctx.optionalConstant(node, 1, 'axes');
    return c ? constantValues(c) : undefined;
  }
  return node.attrs.ints('axes');
}

const squeeze: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const axes = axesOf(ctx, node)?.map((a) => normAxis(a, x.shape.length));
  if (axes) for (const a of axes) if (x.shape[a] !== 1) ctx.fail(node, `cannot squeeze axis ${a} of size ${x.shape[a]} (input [${x.shape}])`);
  reshapeTo(ctx, node, x.shape.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)));
};

const unsqueeze: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  const list = axesOf(ctx, node);
  if (!list) ctx.fail(node, 'axes are required');
  const rank = x.shape.length + list.length;
  const axes = list.map((a) => normAxis(a, rank));
  if (axes.some((a) => !Number.isInteger(a) || a < 0 || a >= rank) || new Set(axes).size !== axes.length) {
    ctx.fail(node, `axes [${list}] are out of range or repeated for an output of rank ${rank}`);
  }
  const shape: number[] = [];
  for (let i = 0, j = 0; i < rank; i++) shape.push(axes.includes(i) ? 1 : x.shape[j++]);
  reshapeTo(ctx, node, shape);
};

export const reshape: OpDef<ReshapeNode> = {
  ...NO_WEIGHTS,
  importers: { Flatten: flatten, Reshape: reshapeImporter, Squeeze: squeeze, Unsqueeze: unsqueeze },

  shape(node, [x]) {
    check(tensorSize(node.shape) === tensorSize(x), `cannot reshape ${fmt(x)} (${tensorSize(x)} values) to ${fmt(node.shape)}`);
    return [...node.shape];
  },

  forward(ctx, [x]) {
    const y = ctx.alloc(x.length);
    y.set(x);
    return y;
  },

  backward: (_ctx, _xs, _y, gy) => ({ inputs: [Float64Array.from(gy)], params: {} }),

  quant: {
    outputBits: 'inputs',
    share: 'first',
    fusesClamp: () => false,
    lower(lc, node) {
      const inP = lc.placed(node.inputs[0]);
      const inT = lc.qtensor(inP.q);
      const outShape = tensorInfo(lc.graph, node.outputs[0]).shape;
      const outName = node.outputs[0];
      const outSpatial = (outShape.length === 3 || outShape.length === 4) && outShape[0] === 1;
      if (inP.kind === 'spatial' && !outSpatial) {
        // Flatten / squeeze of a channels-last tensor: a view whose perm remembers the ONNX order.
        const out = lc.place(outName, outShape);
        const [H, W, C] = inT.shape;
        const perm = H * W > 1 && C > 1 ? spatialFlattenPerm(H, W, C) : null;
        lc.setPlacement(outName, { kind: 'vector', q: out.q, perm, fromSpatial: perm ? [H, W, C] : undefined });
        lc.emit({ op: 'reshape', name: node.name, inputs: [inP.q], output: out.q });
        return;
      }
      if (inP.kind === 'vector' && !outSpatial) {
        lc.inheritPlacement(inP, outName, outShape);
        lc.emit({ op: 'reshape', name: node.name, inputs: [inP.q], output: lc.placed(outName).q });
        return;
      }
      // Output is NCHW / NCL.
      const newC = outShape[1];
      if (inP.kind === 'spatial' && inT.shape[2] === newC) {
        const out = lc.place(outName, outShape); // same C, same H*W order: a view
        lc.emit({ op: 'reshape', name: node.name, inputs: [inP.q], output: out.q });
        return;
      }
      // Bring the input to ONNX order as a flat vector, then view it as [C, H*W] and permute to channels-last.
      let flat: Placement = inP;
      if (inP.kind === 'spatial') {
        const [H, W, C] = inT.shape;
        flat = lc.materializeVector({ kind: 'vector', q: inP.q, perm: H * W > 1 && C > 1 ? spatialFlattenPerm(H, W, C) : null, fromSpatial: [H, W, C] }, `${node.inputs[0]}`);
      } else if (inP.perm) {
        flat = lc.materializeVector(inP, node.inputs[0]);
      }
      const out = lc.place(outName, outShape);
      const outT = lc.qtensor(out.q);
      const [H, W, C] = outT.shape;
      if (H * W === 1 || C === 1) {
        lc.emit({ op: 'reshape', name: node.name, inputs: [flat.q], output: out.q });
        return;
      }
      const chw = lc.fresh(outName, 'chw');
      lc.addTensor(chw, [C, H, W], lc.paramsOf(outName));
      lc.emit({ op: 'reshape', name: node.name, inputs: [flat.q], output: chw });
      lc.emit({ op: 'permute', name: node.name, inputs: [chw], output: out.q, perm: [1, 2, 0] });
    },
  },
};
