// LSTM and GRU (one forward layer over a static sequence): ONNX import with the patterns PyTorch
// exports around them, shape, float forward / backward through time (./recurrent.ts), and the lowering
// to the recurrent kernels (compiler/kernels/rnn.ts, runtime-c lstm.c / gru.c).
//
// What is supported: direction 'forward' (a bidirectional or reverse layer is refused), default
// activations, no peepholes (P), no clip, LSTM input_forget 0, GRU linear_before_reset 1 (PyTorch's GRU;
// 0 is refused), batch 1, no sequence_lens. Initial states: omitted, or constant (PyTorch builds zeros with
// Shape / Gather / Concat / Expand, which fold); only zeros lower to the kernels. Sequence input:
// ONNX X [T, 1, I], or (layout 1) [1, T, I]; a Transpose perm [2, 0, 1] of an NCL feature map [1, I, T]
// (a Conv1d stack's output, what PyTorch's `x.permute(2, 0, 1)` or batch_first's transpose gives)
// is absorbed: the layer reads the feature map directly, whose channels-last memory is [T][I]; so is a
// Transpose perm [1, 0, 2] of a batch-first [1, T, I] sequence (PyTorch's batch_first=True on such a tensor).
// Outputs: the last hidden state Y_h (h_n) [1, 1, H], one IR node with output 'last' (the kernel's last_only);
// the per-step sequence Y [T, 1, 1, H], one IR node with output 'sequence' whose result is an NCL map
// [1, H, T] (channels-last memory [T][H], what the kernel writes and the next recurrent layer reads), followed
// by the Transpose and Reshape that give ONNX's Y. A graph reading both gets the sequence node and Y_h as
// a Slice of its last step (the layer runs once).
// The Squeeze / Transpose PyTorch puts between stacked layers or before a pooling are undone after import
// (compiler/onnx/sequence-views.ts), so a stacked layer reads the map directly.
// Y_c is not produced (a node reading it is refused); an empty Y (outputs ['', 'Y_h']) is fine.
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import { constantFloat, tensorInfo, type NodeBase } from '../ir.ts';
import { constantValues, makeConstant } from '../onnx/fold.ts';
import { lowerRnn, type RnnKind } from '../kernels/rnn.ts';
import type { Importer, OpDef } from './op.ts';
import { rnnBackward, rnnForward, type RnnWeights } from './recurrent.ts';
import { check, fmt } from './shape-rules.ts';

export interface RnnNode extends NodeBase {
  op: 'LSTM' | 'GRU';
  /**
   * [W | R]: [G*H, I + H], gate rows in ONNX order; columns 0..I-1 multiply x_t (ONNX W), I..I+H-1
   * multiply h_{t-1} (ONNX R). One matrix so that the sensitivity engine's weight traces cover both.
   */
  weight: string;
  /** ONNX B without the direction axis: [2*G*H], Wb then Rb. */
  bias: string;
  hidden: number;
  /** inputs[0] holds x_t[k] at: 'tni' X[t][0][k] (ONNX layout 0), 'nti' X[0][t][k] (layout 1), 'nck' X[0][k][t] (an NCL map). */
  layout: 'tni' | 'nti' | 'ncl';
  /** 'last': outputs[0] is Y_h [1, 1, H], the last step's hidden state. 'sequence': every step's, as an NCL map [1, H, T]. */
  output: 'last' | 'sequence';
}

const gatesOf = (op: RnnNode['op']) => (op === 'LSTM' ? 4 : 3);
const kindOf = (op: RnnNode['op']): RnnKind => (op === 'LSTM' ? 'lstm' : 'gru');

function importRnn(ctx: ImportContext, node: SourceNode): void {
  const op = node.op as 'LSTM' | 'GRU';
  const G = gatesOf(op);
  const dir = node.attrs.string('direction', 'forward');
  if (dir !== 'forward') ctx.fail(node, `direction '${dir}' is not supported; tinym2 runs forward ${op} layers (export a unidirectional layer: bidirectional=False)`);
  for (const a of ['activations', 'activation_alpha', 'activation_beta', 'clip']) {
    if (node.attrs.has(a)) ctx.fail(node, `attribute ${a} is not supported; tinym2 runs ${op} with the default activations and no clip`);
  }
  if (op === 'LSTM' && node.attrs.int('input_forget', 0) !== 0) ctx.fail(node, 'input_forget=1 (coupled input and forget gates) is not supported');
  if (op === 'GRU' && node.attrs.int('linear_before_reset', 0) !== 1) {
    ctx.fail(node, 'linear_before_reset=0 is not supported; tinym2 runs the GRU of PyTorch / Keras reset_after (linear_before_reset=1)');
  }
  const layoutAttr = node.attrs.int('layout', 0);
  const w = ctx.constant(node, 1, 'W'), r = ctx.constant(node, 2, 'R');
  const H = node.attrs.int('hidden_size', r.shape[2] ?? 0);
  if (w.shape.length !== 3 || w.shape[0] !== 1 || w.shape[1] !== G * H) ctx.fail(node, `W has shape ${fmt(w.shape)}, expected [1, ${G * H}, input_size]`);
  if (r.shape.length !== 3 || r.shape[0] !== 1 || r.shape[1] !== G * H || r.shape[2] !== H) ctx.fail(node, `R has shape ${fmt(r.shape)}, expected [1, ${G * H}, ${H}]`);
  const I = w.shape[2];
  const b = node.inputs[3] ? ctx.constant(node, 3, 'B') : undefined;
  if (b && (b.shape.length !== 2 || b.shape[1] !== 2 * G * H)) ctx.fail(node, `B has shape ${fmt(b.shape)}, expected [1, ${2 * G * H}]`);
  if (node.inputs[4]) ctx.fail(node, 'sequence_lens is not supported: the sequence length is the static length of X');
  for (const [i, what] of [[5, 'initial_h'], [6, 'initial_c']] as const) {
    if (!node.inputs[i]) continue;
    if (!ctx.isConstant(node.inputs[i])) ctx.fail(node, `${what} is computed from the input; tinym2 supports a constant (zero) initial state`);
    if (constantValues(ctx.constant(node, i, what)).some((x) => x !== 0)) ctx.fail(node, `${what} is not zero; tinym2 supports a zero initial state`);
  }
  if (op === 'LSTM' && node.inputs[7]) ctx.fail(node, 'peepholes (input P) are not supported');
  // Y_c (outputs[2]) is left unproduced, so a node reading it is refused.

  // The sequence: absorb a Transpose perm [2, 0, 1] of an NCL map.
  let x = ctx.activation(node, 0);
  let layout: RnnNode['layout'] = layoutAttr === 1 ? 'nti' : 'tni';
  const producer = ctx.nodes.find((n) => n.outputs.includes(x.name));
  if (layoutAttr === 0 && producer && producer.op === 'Transpose') {
    const src = ctx.tensors.get(producer.inputs[0]);
    const perm = producer.perm.join();
    if (src && src.shape.length === 3 && src.shape[0] === 1 && (perm === '2,0,1' || perm === '1,0,2')) {
      x = src;
      layout = perm === '2,0,1' ? 'ncl' : 'nti'; // an NCL map, or a batch-first [1, T, I] sequence
    }
  }
  const wv = w.data as Float32Array, rv = r.data as Float32Array;
  const name = (s: string) => ctx.freshTensorName(`${node.name}.${s}`);
  const wName = name('WR'), bName = name('B');
  const wr = new Float32Array(G * H * (I + H));
  for (let row = 0; row < G * H; row++) {
    wr.set(wv.subarray(row * I, (row + 1) * I), row * (I + H));
    wr.set(rv.subarray(row * H, (row + 1) * H), row * (I + H) + I);
  }
  ctx.addConstant({ name: wName, dtype: 'float32', shape: [G * H, I + H], data: wr });
  ctx.addConstant(makeConstant(bName, 'float32', [2 * G * H], b ? Array.from(constantValues(b)) : new Array<number>(2 * G * H).fill(0)));
  const base = { op, source: op, weight: wName, bias: bName, hidden: H, layout };
  // Only the outputs the graph reads (a graph output or a node's input); Y_h alone when neither is read.
  const y = node.outputs[0] && ctx.read.has(node.outputs[0]) ? node.outputs[0] : '';
  const yh = node.outputs[1] && (ctx.read.has(node.outputs[1]) || !y) ? node.outputs[1] : '';
  if (!y && !yh) ctx.fail(node, 'neither Y nor Y_h is requested; tinym2 does not produce Y_c (the last cell state) of an LSTM');
  if (!y) {
    ctx.emit(node, { ...base, inputs: [x.name], name: node.name, outputs: [yh], output: 'last' });
    return;
  }
  // The sequence as an NCL map [1, H, T], then ONNX's Y [T, 1, 1, H] from it (both views of the same data),
  // and Y_h, when read too, as its last step (the same values: the layer runs once).
  const seq = ctx.freshTensorName(`${y}.ncl`), tnh = ctx.freshTensorName(`${y}.tnh`);
  ctx.emit(node, { ...base, inputs: [x.name], name: node.name, outputs: [seq], output: 'sequence' });
  const T = ctx.tensors.get(seq)!.shape[2];
  ctx.emit(node, { op: 'Transpose', name: ctx.uniqueName(`${node.name}.Y.tnh`), source: 'Transpose', inputs: [seq], outputs: [tnh], perm: [2, 0, 1] });
  ctx.emit(node, { op: 'Reshape', name: ctx.uniqueName(`${node.name}.Y.tbnh`), source: 'Reshape', inputs: [tnh], outputs: [y], shape: [T, 1, 1, H] });
  if (yh) {
    const last = ctx.freshTensorName(`${yh}.ncl`);
    ctx.emit(node, { op: 'Slice', name: ctx.uniqueName(`${node.name}.Y_h`), source: op, inputs: [seq], outputs: [last], starts: [0, 0, T - 1], steps: [1, 1, 1], counts: [1, H, 1] });
    ctx.emit(node, { op: 'Reshape', name: ctx.uniqueName(`${node.name}.Y_h.view`), source: op, inputs: [last], outputs: [yh], shape: [1, 1, H] });
  }
}

/** Steps and input size of the sequence from the input shape. */
function seqDims(node: RnnNode, x: readonly number[]): { T: number; I: number } {
  if (node.layout === 'tni') return { T: x[0], I: x[2] };
  if (node.layout === 'nti') return { T: x[1], I: x[2] };
  return { T: x[2], I: x[1] };
}

/** The sequence as [T][I] from the input in its layout. */
function sequence(node: RnnNode, x: ArrayLike<number>, T: number, I: number): Float64Array {
  const s = new Float64Array(T * I);
  for (let t = 0; t < T; t++) for (let k = 0; k < I; k++) s[t * I + k] = node.layout === 'ncl' ? x[k * T + t] : x[t * I + k];
  return s;
}

/** W and R split out of [W | R]. */
function splitWeights(wr: ArrayLike<number>, rows: number, I: number, H: number): { w: Float64Array; r: Float64Array } {
  const w = new Float64Array(rows * I), r = new Float64Array(rows * H);
  for (let row = 0; row < rows; row++) {
    for (let k = 0; k < I; k++) w[row * I + k] = wr[row * (I + H) + k];
    for (let k = 0; k < H; k++) r[row * H + k] = wr[row * (I + H) + I + k];
  }
  return { w, r };
}

function weightsOf(node: RnnNode, param: (n: string) => ArrayLike<number>, I: number): RnnWeights {
  const H = node.hidden, rows = gatesOf(node.op) * H;
  const b = Float64Array.from(param(node.bias));
  return { kind: kindOf(node.op), inSize: I, hidden: H, ...splitWeights(param(node.weight), rows, I, H), wb: b.subarray(0, rows), rb: b.subarray(rows) };
}

const importer: Importer = importRnn;

export const rnn: OpDef<RnnNode> = {
  importers: { LSTM: importer, GRU: importer },
  // The sequence is [T, batch, I] in ONNX's layout, so axis 0 is time, not the sample: a batch fixed at N > 1
  // is not rewritten here (PyTorch exports of a recurrent model carry the batch on axis 1 or in a Transpose).
  mixesSamples: () => 'a recurrent layer reads its sequence along axis 0 (time): export the model with batch 1',

  shape(node, [x], constants) {
    check(x.length === 3, `the sequence must be 3-D, got ${fmt(x)}`);
    const { I } = seqDims(node, x);
    const w = constants.get(node.weight)?.shape;
    check(w !== undefined && w[1] === I + node.hidden, `input ${fmt(x)} has ${I} features, [W | R] ${fmt(w ?? [])} expects ${(w?.[1] ?? 0) - node.hidden}`);
    return node.output === 'last' ? [1, 1, node.hidden] : [1, node.hidden, seqDims(node, x).T];
  },

  forward(ctx, [x]) {
    const { T, I } = seqDims(ctx.node, ctx.inShapes[0]);
    const f = rnnForward(weightsOf(ctx.node, (n) => ctx.param(n), I), sequence(ctx.node, x, T, I), T);
    const H = ctx.node.hidden;
    if (ctx.node.output === 'last') {
      const y = ctx.alloc(H);
      y.set(f.hLast);
      return y;
    }
    const y = ctx.alloc(H * T); // [1, H, T] from f.y [T][H]
    for (let t = 0; t < T; t++) for (let j = 0; j < H; j++) y[j * T + t] = f.y[t * H + j];
    return y;
  },

  backward(ctx, [x], _y, gy) {
    const n = ctx.node;
    const { T, I } = seqDims(n, ctx.inShapes[0]);
    const p = weightsOf(n, (c) => ctx.param(c), I);
    const seq = sequence(n, x, T, I);
    const f = rnnForward(p, seq, T);
    let g;
    if (n.output === 'last') g = rnnBackward(p, seq, f, new Float64Array(T * n.hidden), gy);
    else {
      const gSeq = new Float64Array(T * n.hidden); // [T][H] from gy [1, H, T]
      for (let t = 0; t < T; t++) for (let j = 0; j < n.hidden; j++) gSeq[t * n.hidden + j] = gy[j * T + t];
      g = rnnBackward(p, seq, f, gSeq, new Float64Array(n.hidden));
    }
    const gx = new Float64Array(x.length);
    for (let t = 0; t < T; t++) for (let k = 0; k < I; k++) gx[n.layout === 'ncl' ? k * T + t : t * I + k] = g.x[t * I + k];
    const H = n.hidden, rows = gatesOf(n.op) * H;
    const gwr = new Float64Array(rows * (I + H));
    for (let row = 0; row < rows; row++) {
      for (let k = 0; k < I; k++) gwr[row * (I + H) + k] = g.w[row * I + k];
      for (let k = 0; k < H; k++) gwr[row * (I + H) + I + k] = g.r[row * H + k];
    }
    const gb = new Float64Array(2 * rows);
    gb.set(g.wb);
    gb.set(g.rb, rows);
    return { inputs: [gx], params: { [n.weight]: gwr, [n.bias]: gb } };
  },

  constants: (node) => [node.weight, node.bias],
  macs(node, graph) {
    const x = tensorInfo(graph, node.inputs[0]).shape;
    const { T, I } = seqDims(node, x);
    return T * gatesOf(node.op) * node.hidden * (I + node.hidden);
  },

  quant: {
    outputBits: 'plan',
    share: 'none',
    fusesClamp: () => false,
    lower(lc, node) {
      const inP = lc.placed(node.inputs[0]);
      if (node.layout === 'tni' || inP.kind !== 'spatial' || inP.rank !== 3) {
        lc.unsupported(node, 'its sequence is neither a [1, features, steps] map nor a batch-first [1, steps, features] tensor (tinym2 lowers an LSTM / GRU reading one of those, directly or through the Transpose PyTorch exports)');
      }
      let inT = lc.qtensor(inP.q); // 'ncl': [1][T][I], x_t contiguous
      if (node.layout === 'nti') {
        // [1, T, I] is placed as NCL with T channels: memory [1][I][T]; one permute makes x_t contiguous.
        const steps = lc.fresh(inP.q, 'steps-first');
        lc.addTensor(steps, [1, inT.shape[2], inT.shape[1]], { scale: inT.scale, zeroPoint: inT.zeroPoint, bits: inT.bits });
        lc.emit({ op: 'permute', name: node.name, inputs: [inP.q], output: steps, perm: [0, 2, 1] });
        inT = lc.qtensor(steps);
      }
      const [, T, I] = inT.shape;
      const outName = lc.resultTensor(node);
      const out = lc.place(outName, tensorInfo(lc.graph, node.outputs[0]).shape);
      const outT = lc.qtensor(out.q);
      const { weightBits } = lc.layerBits(node);
      const g = lc.graph;
      const H = node.hidden;
      const rows = gatesOf(node.op) * H;
      const { w, r } = splitWeights(constantFloat(g, node.weight), rows, I, H);
      const b = constantFloat(g, node.bias);
      const p = lowerRnn(
        { kind: kindOf(node.op), steps: T, inSize: I, hidden: H, w: Float32Array.from(w), r: Float32Array.from(r), wb: b.subarray(0, rows), rb: b.subarray(rows) },
        // |c_t| <= t for a zero initial state (|f| < 1, |i * c~| < 1): the cell format holds any cell state.
        { inScale: inT.scale, inZp: inT.zeroPoint, outScale: outT.scale, outZp: outT.zeroPoint, cellMaxAbs: T, lastOnly: node.output === 'last', ...lc.clampFor(node, out.q) },
        weightBits, `layer '${node.name}'`,
      );
      lc.emit({ op: kindOf(node.op), name: node.name, inputs: [inT.name], output: out.q, ...p, macs: T * gatesOf(node.op) * node.hidden * (I + node.hidden) });
    },
  },
};
