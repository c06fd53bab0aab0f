// ScaleShift: y = x * scale[c] + shift[c] on axis 1, an unfolded BatchNormalization (the importer
// folds BatchNormalization into the Conv / Dense before it where it can; see onnx/fuse.ts).
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import { constantFloat, tensorSize, type NodeBase } from '../ir.ts';
import { constantValues, makeConstant } from '../onnx/fold.ts';
import type { Importer, OpDef } from './op.ts';
import { check, fmt } from './shape-rules.ts';

/** Per-channel affine y = x * scale[c] + shift[c] on axis 1: an unfolded BatchNormalization. */
export interface ScaleShiftNode extends NodeBase {
  op: 'ScaleShift';
  scale: string;
  shift: string;
}

const importBatchNorm: Importer = (ctx: ImportContext, node: SourceNode) => {
  const x = ctx.activation(node, 0);
  if (node.attrs.int('training_mode', 0) !== 0) ctx.fail(node, 'training_mode=1 is not supported; export the model in eval() mode');
  // Older exports list running mean / var outputs too: harmless as long as nothing reads them
  // (a reader would be refused for reading a tensor no node produces).
  const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => ctx.constant(node, i, ['', 'scale', 'bias', 'mean', 'var'][i]));
  const eps = node.attrs.float('epsilon', 1e-5);
  const c = x.shape[1];
  for (const t of [gamma, beta, mean, variance]) {
    if (tensorSize(t.shape) !== c) ctx.fail(node, `'${t.name}' has ${tensorSize(t.shape)} values for ${c} channels of input [${x.shape}]`);
  }
  const g = constantValues(gamma), bt = constantValues(beta), m = constantValues(mean), v = constantValues(variance);
  const scale = g.map((gi, i) => gi / Math.sqrt(v[i] + eps));
  const shift = bt.map((bi, i) => bi - m[i] * scale[i]);
  const scaleName = ctx.freshTensorName(`${node.name}.scale`);
  ctx.addConstant(makeConstant(scaleName, 'float32', [c], scale));
  const shiftName = ctx.freshTensorName(`${node.name}.shift`);
  ctx.addConstant(makeConstant(shiftName, 'float32', [c], shift));
  ctx.emit(node, {
    op: 'ScaleShift', name: node.name, source: 'BatchNormalization', inputs: [x.name], outputs: [node.outputs[0]], scale: scaleName, shift: shiftName,
  });
};

export const scaleShift: OpDef<ScaleShiftNode> = {
  importers: { BatchNormalization: importBatchNorm },
  constants: (n) => [n.scale, n.shift],
  macs: () => 0,

  shape(node, [x], constants) {
    check(x.length >= 2, `input ${fmt(x)} has no channel axis`);
    const size = (name: string) => {
      const c = constants.get(name);
      check(c !== undefined, `constant '${name}' is missing`);
      return tensorSize(c.shape);
    };
    check(size(node.scale) === x[1] && size(node.shift) === x[1], `scale / shift sizes do not match ${x[1]} channels of input ${fmt(x)}`);
    return [...x];
  },

  forward(ctx, [x]) {
    const scale = ctx.param(ctx.node.scale);
    const shift = ctx.param(ctx.node.shift);
    const shape = ctx.inShapes[0];
    const c = shape[1] ?? 1;
    const inner = shape.slice(2).reduce((a, b) => a * b, 1);
    const y = ctx.alloc(x.length);
    for (let i = 0; i < x.length; i++) {
      const ch = Math.floor(i / inner) % c;
      y[i] = x[i] * scale[ch] + shift[ch];
    }
    return y;
  },

  backward(ctx, [x], _y, gy) {
    const scale = ctx.param(ctx.node.scale);
    const shape = ctx.inShapes[0];
    const c = shape[1] ?? 1;
    const inner = shape.slice(2).reduce((a, b) => a * b, 1);
    const gx = new Float64Array(x.length);
    const gs = new Float64Array(c);
    const gt = new Float64Array(c);
    for (let i = 0; i < x.length; i++) {
      const ch = Math.floor(i / inner) % c;
      gx[i] = gy[i] * scale[ch];
      gs[ch] += gy[i] * x[i];
      gt[ch] += gy[i];
    }
    return { inputs: [gx], params: { [ctx.node.scale]: gs, [ctx.node.shift]: gt } };
  },

  quant: {
    outputBits: 'inputs',
    share: 'none',
    fusesClamp: () => true,
    lower(lc, node) {
      lc.lowerAffine(node, constantFloat(lc.graph, node.scale), constantFloat(lc.graph, node.shift));
    },
  },
};
