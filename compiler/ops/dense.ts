// Dense (fully connected on the last axis), from Gemm or MatMul by a constant: import, shape,
// forward, backward, and its lowering to the dense kernel (or a per-position pointwise conv).
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import { constantFloat, tensorInfo, tensorSize, type NodeBase } from '../ir.ts';
import { constantValues, makeConstant } from '../onnx/fold.ts';
import { spatialFlattenPerm } from '../quant/lower.ts';
import type { Importer, OpDef } from './op.ts';
import { requireFloat } from './onnx-attrs.ts';
import { check, fmt } from './shape-rules.ts';

/** Fully connected: y[o] = sum_i x[i] * W[o][i] + b[o]. Input [1, in] (or [1, ..., in]). */
export interface DenseNode extends NodeBase {
  op: 'Dense';
  /** Weight [out, in] (transposed at import when the source was MatMul or Gemm without transB). */
  weight: string;
  bias?: string;
}

const importGemm: Importer = (ctx: ImportContext, node: SourceNode) => {
  if (node.attrs.int('transA', 0) !== 0) ctx.fail(node, 'transA=1 is not supported; tinym2 supports Gemm with an activation A [1, K] and a constant B');
  const x = ctx.activation(node, 0);
  if (x.shape.length !== 2) ctx.fail(node, `A must be 2-D, got [${x.shape}]`);
  const bC = ctx.constant(node, 1, 'B (weight)');
  requireFloat(ctx, node, bC, 'weight');
  if (bC.shape.length !== 2) ctx.fail(node, `B must be 2-D, got [${bC.shape}]`);
  const transB = node.attrs.int('transB', 0) === 1;
  const alpha = node.attrs.float('alpha', 1), beta = node.attrs.float('beta', 1);
  const [k, n] = transB ? [bC.shape[1], bC.shape[0]] : bC.shape;
  const bv = constantValues(bC);
  const w = new Float32Array(n * k);
  for (let o = 0; o < n; o++) for (let i = 0; i < k; i++) w[o * k + i] = alpha * (transB ? bv[o * k + i] : bv[i * n + o]);
  const weight = alpha === 1 && transB ? bC.name : ctx.freshTensorName(`${bC.name}.dense`);
  if (weight !== bC.name) ctx.addConstant({ name: weight, dtype: 'float32', shape: [n, k], data: w });
  const ir: DenseNode = { op: 'Dense', name: node.name, source: 'Gemm', inputs: [x.name], outputs: [node.outputs[0]], weight };
  const cC = ctx.optionalConstant(node, 2, 'C (bias)');
  if (cC && beta !== 0) {
    const cv = constantValues(cC);
    if (cv.length !== n && cv.length !== 1) ctx.fail(node, `C [${cC.shape}] must broadcast to [1, ${n}]`);
    const bias = ctx.freshTensorName(`${cC.name}.bias`);
    ctx.addConstant(makeConstant(bias, 'float32', [n], Array.from({ length: n }, (_, i) => beta * cv[cv.length === 1 ? 0 : i])));
    ir.bias = bias;
  }
  ctx.emit(node, ir);
};

const importMatMul: Importer = (ctx: ImportContext, node: SourceNode) => {
  if (ctx.isConstant(node.inputs[0]) || !ctx.isConstant(node.inputs[1])) {
    ctx.fail(node, 'tinym2 supports MatMul of an activation by a constant 2-D weight (a fully connected layer) only');
  }
  const x = ctx.activation(node, 0);
  const bC = ctx.constant(node, 1, 'weight');
  requireFloat(ctx, node, bC, 'weight');
  if (bC.shape.length !== 2) ctx.fail(node, `the weight must be 2-D, got [${bC.shape}]`);
  const [k, n] = bC.shape;
  const bv = bC.data as Float32Array;
  const w = new Float32Array(n * k);
  for (let o = 0; o < n; o++) for (let i = 0; i < k; i++) w[o * k + i] = bv[i * n + o];
  const weight = ctx.freshTensorName(`${bC.name}.dense`);
  ctx.addConstant({ name: weight, dtype: 'float32', shape: [n, k], data: w });
  ctx.emit(node, { op: 'Dense', name: node.name, source: 'MatMul', inputs: [x.name], outputs: [node.outputs[0]], weight });
};

export const dense: OpDef<DenseNode> = {
  importers: { Gemm: importGemm, MatMul: importMatMul },
  constants: (n) => (n.bias ? [n.weight, n.bias] : [n.weight]),
  /** Rows x in x out. */
  macs(node, graph) {
    const [o, i] = graph.constants.get(node.weight)!.shape;
    return (tensorSize(graph.tensors.get(node.outputs[0])!.shape) / o) * i * o;
  },

  shape(node, [x], constants) {
    const w = constants.get(node.weight)?.shape;
    check(w !== undefined, `constant '${node.weight}' is missing`);
    check(w.length === 2, `weight must be 2-D [out, in], got ${fmt(w)}`);
    check(x[x.length - 1] === w[1], `input ${fmt(x)} has ${x[x.length - 1]} features, weight ${fmt(w)} expects ${w[1]}`);
    if (node.bias) {
      const b = constants.get(node.bias)?.shape;
      check(b !== undefined, `constant '${node.bias}' is missing`);
      check(tensorSize(b) === w[0], `bias has ${tensorSize(b)} values for ${w[0]} outputs`);
    }
    return [...x.slice(0, -1), w[0]];
  },

  /** y[r][o] = sum_i x[r][i] W[o][i] + b[o] over every leading row r (Dense acts on the last axis). */
  forward(ctx, [x]) {
    const n = ctx.node;
    const w = ctx.param(n.weight);
    const b = n.bias ? ctx.param(n.bias) : null;
    const [out, inn] = ctx.paramShape(n.weight);
    const rows = x.length / inn;
    const y = ctx.alloc(rows * out);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < out; o++) {
        let acc = b ? b[o] : 0;
        const wo = o * inn, xr = r * inn;
        for (let i = 0; i < inn; i++) acc += x[xr + i] * w[wo + i];
        y[r * out + o] = acc;
      }
    }
    return y;
  },

  backward(ctx, [x], _y, gy) {
    const n = ctx.node;
    const w = ctx.param(n.weight);
    const [out, inn] = ctx.paramShape(n.weight);
    const rows = x.length / inn;
    const gx = new Float64Array(x.length);
    const gw = new Float64Array(w.length);
    const gb = new Float64Array(out);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < out; o++) {
        const d = gy[r * out + o];
        if (d === 0) continue;
        gb[o] += d;
        const wo = o * inn;
        const xr = r * inn;
        for (let i = 0; i < inn; i++) {
          gx[xr + i] += d * w[wo + i];
          gw[wo + i] += d * x[xr + i];
        }
      }
    }
    const params: Record<string, Float64Array> = { [n.weight]: gw };
    if (n.bias) params[n.bias] = gb;
    return { inputs: [gx], params };
  },

  quant: {
    outputBits: 'plan',
    share: 'none',
    fusesClamp: () => true,
    lower(lc, node) {
      const inName = node.inputs[0];
      const inShape = tensorInfo(lc.graph, inName).shape;
      const batchLike = inShape.slice(0, -1).reduce((a, b) => a * b, 1);
      const inP = lc.placed(inName);
      if (batchLike !== 1 && inP.kind === 'spatial') return lowerPerPosition(lc, node, inP);
      const inT = lc.qtensor(inP.q);
      // Which ONNX input index each memory slot holds.
      let perm: Int32Array | null = null;
      if (inP.kind === 'vector') perm = inP.perm;
      else {
        const [H, W, C] = inT.shape;
        if (H * W > 1 && C > 1) perm = spatialFlattenPerm(H, W, C);
      }
      const wf = constantFloat(lc.graph, node.weight); // [out][in]
      const cin = inT.shape[0] * inT.shape[1] * inT.shape[2];
      const cout = wf.length / cin;
      if (!Number.isInteger(cout)) lc.unsupported(node, `its weight has ${wf.length} values for an input of ${cin}`);
      const permuted = new Float32Array(wf.length);
      for (let o = 0; o < cout; o++) for (let m = 0; m < cin; m++) permuted[o * cin + m] = wf[o * cin + (perm ? perm[m] : m)];
      const outName = lc.resultTensor(node);
      const out = lc.place(outName, tensorInfo(lc.graph, node.outputs[0]).shape);
      const outT = lc.qtensor(out.q);
      const { weightBits } = lc.layerBits(node);
      const { q, scale, bias, requant } = lc.convParams(node, permuted, cout, node.bias, weightBits, inT.scale, outT.scale);
      lc.emit({
        op: 'dense', name: node.name, inputs: [inT.name], output: out.q,
        weights: q, weightBits, weightScale: scale, bias, requant,
        kernel: [1, 1], stride: [1, 1], pad: [0, 0, 0, 0], dilation: [1, 1], groups: 1, channelMultiplier: 1,
        macs: cin * cout,
        ...lc.clampFor(node, out.q),
      });
    },
  },
};

/**
 * Dense over the last ONNX axis of a [1, A, F] or [1, A, B, F] tensor, once per position: a
 * pointwise conv on a copy whose innermost memory axis is F, permuted back to channels-last after.
 */
function lowerPerPosition(lc: Parameters<OpDef<DenseNode>['quant']['lower']>[0], node: DenseNode, inP: { q: string; rank: 3 | 4 }): void {
  const inT = lc.qtensor(inP.q);
  const outName = lc.resultTensor(node);
  const out = lc.place(outName, tensorInfo(lc.graph, node.outputs[0]).shape);
  const outT = lc.qtensor(out.q);
  // ONNX's last axis is W in channels-last [H, W, C]; bring it innermost and back.
  const [toLast, back]: [[number, number, number], [number, number, number]] = inP.rank === 4 ? [[2, 0, 1], [1, 2, 0]] : [[0, 2, 1], [0, 2, 1]];
  const lastShape = toLast.map((a) => inT.shape[a]) as [number, number, number];
  const [P0, P1, F] = lastShape;
  const wf = constantFloat(lc.graph, node.weight); // [O][F]
  const O = wf.length / F;
  if (!Number.isInteger(O)) lc.unsupported(node, `its weight has ${wf.length} values for ${F} input features`);
  const xLast = lc.fresh(inP.q, 'features-last');
  lc.addTensor(xLast, lastShape, { scale: inT.scale, zeroPoint: inT.zeroPoint, bits: inT.bits });
  lc.emit({ op: 'permute', name: node.name, inputs: [inP.q], output: xLast, perm: toLast });
  const yLast = lc.fresh(out.q, 'features-last');
  lc.addTensor(yLast, [P0, P1, O], { scale: outT.scale, zeroPoint: outT.zeroPoint, bits: outT.bits });
  const { weightBits } = lc.layerBits(node);
  const { q, scale, bias, requant } = lc.convParams(node, wf, O, node.bias, weightBits, inT.scale, outT.scale);
  lc.emit({
    op: 'pointwise', name: node.name, inputs: [xLast], output: yLast,
    weights: q, weightBits, weightScale: scale, bias, requant,
    kernel: [1, 1], stride: [1, 1], pad: [0, 0, 0, 0], dilation: [1, 1], groups: 1, channelMultiplier: 1,
    macs: P0 * P1 * F * O,
    ...lc.clampFor(node, out.q),
  });
  lc.emit({ op: 'permute', name: node.name, inputs: [yLast], output: out.q, perm: back });
}
