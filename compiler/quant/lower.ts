// Lowering: float IR + calibration ranges + precision plan -> QGraph (compiler/quant/qgraph.ts).
//
// Steps, in order:
// 1. Fusion decisions on the IR: a Relu / Clip that is the only consumer of a conv / dense / add /
//    per-channel affine output becomes that op's output clamp; a constant-zero Pad consumed only by
//    convolutions becomes their padding.
// 2. Quantization parameters: every tensor that survives gets bits (plan), a range (calibration)
//    and scale / zero point. Ops that move data without arithmetic (pools, reshape, permute, pad,
//    concat) make their inputs and output share one parameter set ("share groups", union-find),
//    with the union of the ranges and the widest bits of the group.
// 3. Op by op emission. Layout: an NCHW / NCL tensor becomes channels-last [H, W, C]; everything
//    else is a vector [1, 1, N]. A vector remembers which ONNX element each memory slot holds
//    (`perm`), so a Flatten of a channels-last tensor costs nothing: the Dense that reads it gets
//    its weight columns permuted instead.
import { constantFloat, tensorInfo, tensorSize, type ConvNode, type DenseNode, type Graph, type Node } from '../ir.ts';
import { TinyM2Error } from '../errors.ts';
import type { Calibration, Range } from './calibrate.ts';
import { activationParams, activationRange, clamp, encodeMultiplier, encodeRequant } from './fixedpoint.ts';
import type { PrecisionPlan } from './plan.ts';
import type { Bits, InputChannelAffine, QConvOp, QGraph, QOp, QTensor, Requant } from './qgraph.ts';
import { quantizeWeightsPerChannel, roundHalfAway } from './weights.ts';

/** Where an IR tensor lives in the QGraph. */
type Placement =
  | { kind: 'spatial'; q: string; rank: 3 | 4 }
  /** perm[m] = ONNX flat index held in memory slot m (null: identity). fromSpatial: perm is the flatten of that [H, W, C]. */
  | { kind: 'vector'; q: string; perm: Int32Array | null; fromSpatial?: [number, number, number] };

const WEIGHTED = new Set(['Conv', 'Dense']);
const ADD_LEFT_SHIFT = 20;

export interface LowerOptions {
  /** Weight bits for per-channel affine ops (ScaleShift, Mul/Add by a constant vector). */
  affineWeightBits?: Bits;
  /**
   * Quantize graph inputs per channel (qgraph.ts InputChannelAffine) where every reader is an
   * unpadded Conv, folding each channel's scale and offset into those convs. On by default (the
   * generated quantize helpers and io.ts apply io[input].channelAffine); false gives every input one
   * per-tensor scale and zero point (CLI --per-tensor-inputs).
   */
  perChannelInputs?: boolean;
  /**
   * Groups of IR tensors that must share one scale and zero point (the union of their ranges, the
   * widest bits), like the data-movement share groups: ADMN residual streams, so that a skipped block
   * is a byte copy (compiler/admn/blocks.ts tiedTensors).
   */
  tiedTensors?: string[][];
}

export function quantizeGraph(graph: Graph, calib: Calibration, plan?: PrecisionPlan, options: LowerOptions = {}): QGraph {
  return new Lowering(graph, calib, plan, options).run();
}

/** A node's place in messages: "node 'conv1' (Conv) in model.onnx". */
function where(graph: Graph, node: Node): string {
  return `node '${node.name}' (${node.source}) in ${graph.file}`;
}

/** Union-find over tensor names. */
class ShareGroups {
  private parent = new Map<string, string>();
  find(x: string): string {
    let p = this.parent.get(x) ?? x;
    if (p !== x) {
      p = this.find(p);
      this.parent.set(x, p);
    }
    return p;
  }
  union(a: string, b: string): void {
    const ra = this.find(a), rb = this.find(b);
    if (ra !== rb) this.parent.set(ra, rb);
  }
}

class Lowering {
  private readonly consumers = new Map<string, Node[]>();
  private readonly producer = new Map<string, Node>();
  /** Activation nodes folded into their producer: node name -> true. */
  private readonly folded = new Set<string>();
  /** Producer node name -> the tensor it finally writes and its clamp in real values. */
  private readonly fusedOutput = new Map<string, { tensor: string; lo: number; hi: number }>();
  /** Pad node folded into conv: conv node name -> extra [top, left, bottom, right]. */
  private readonly foldedPad = new Map<string, { pad: [number, number, number, number]; source: string }>();
  private readonly groups = new ShareGroups();
  private readonly bits = new Map<string, Bits>();
  private readonly params = new Map<string, { scale: number; zeroPoint: number; bits: Bits }>();
  private readonly placement = new Map<string, Placement>();
  private readonly tensors = new Map<string, QTensor>();
  private readonly ops: QOp[] = [];
  private readonly graphOutputs: Set<string>;
  /** Graph inputs quantized per channel: input name -> per-channel scale and offset. */
  private readonly inputAffine = new Map<string, InputChannelAffine>();
  private uid = 0;

  constructor(
    private readonly graph: Graph,
    private readonly calib: Calibration,
    private readonly plan: PrecisionPlan | undefined,
    private readonly options: LowerOptions,
  ) {
    this.graphOutputs = new Set(graph.outputs.map((o) => o.name));
    for (const node of graph.nodes) {
      for (const o of node.outputs) this.producer.set(o, node);
      for (const i of node.inputs) {
        const list = this.consumers.get(i) ?? [];
        list.push(node);
        this.consumers.set(i, list);
      }
    }
  }

  run(): QGraph {
    this.checkPlan();
    this.decideFusions();
    this.decideParams();
    if (this.options.perChannelInputs ?? true) this.decideInputAffine();
    const io: QGraph['io'] = {};
    // The tensors the caller fills, fixed before lowering: a reader that needs the input in ONNX
    // order re-places it (materializeVector), which must not rename the model's input.
    const inputs: string[] = [];
    for (const input of this.graph.inputs) {
      const p = this.place(input.name, input.shape);
      inputs.push(p.q);
      const affine = this.inputAffine.get(input.name);
      io[input.name] = { onnxShape: input.shape, layout: layoutName(p, input.shape), ...(affine ? { channelAffine: affine } : {}) };
    }
    for (const node of this.graph.nodes) {
      if (this.folded.has(node.name)) continue;
      this.lowerNode(node);
    }
    const outputs: string[] = [];
    for (const out of this.graph.outputs) {
      let p = this.placed(out.name);
      if (p.kind === 'vector' && p.perm) p = this.materializeVector(p, out.name);
      outputs.push(p.q);
      io[p.q] = { onnxShape: out.shape, layout: layoutName(p, out.shape) };
    }
    return {
      name: this.graph.name,
      inputs,
      outputs,
      io,
      tensors: this.tensors,
      ops: this.ops,
    };
  }

  // ---- plan -----------------------------------------------------------------------------------

  private checkPlan(): void {
    if (!this.plan) return;
    for (const node of this.graph.nodes) {
      if (WEIGHTED.has(node.op) && !this.plan.layers[node.name]) {
        throw new TinyM2Error(`the precision plan for ${this.plan.model} has no entry for layer '${node.name}' of ${this.graph.file}; make the plan again for this model`, {
          details: { node: node.name },
        });
      }
    }
  }

  private layerBits(node: Node): { weightBits: Bits; activationBits: Bits } {
    const l = this.plan?.layers[node.name];
    return { weightBits: l?.weightBits ?? 8, activationBits: l?.activationBits ?? 8 };
  }

  // ---- 1. fusion ------------------------------------------------------------------------------

  private onlyConsumer(tensor: string): Node | undefined {
    const c = this.consumers.get(tensor) ?? [];
    return c.length === 1 && !this.graphOutputs.has(tensor) ? c[0] : undefined;
  }

  private isChannelAffine(node: Node): boolean {
    if (node.op === 'ScaleShift') return true;
    if ((node.op === 'Add' || node.op === 'Sub' || node.op === 'Mul') && node.constant) return this.channelConstant(node) !== undefined;
    return false;
  }

  private decideFusions(): void {
    for (const node of this.graph.nodes) {
      const clampable = WEIGHTED.has(node.op) || this.isChannelAffine(node) || ((node.op === 'Add' || node.op === 'Sub' || node.op === 'Mul') && !node.constant);
      if (!clampable) continue;
      let tensor = node.outputs[0];
      let lo = -Infinity, hi = Infinity;
      // Relu then Clip (torch's ReLU6) folds as a chain.
      for (;;) {
        const next = this.onlyConsumer(tensor);
        if (!next || (next.op !== 'Relu' && next.op !== 'Clip')) break;
        if (next.op === 'Relu') lo = Math.max(lo, 0);
        else { lo = Math.max(lo, next.min); hi = Math.min(hi, next.max); }
        this.folded.add(next.name);
        tensor = next.outputs[0];
      }
      if (tensor !== node.outputs[0]) this.fusedOutput.set(node.name, { tensor, lo, hi });
    }
    for (const node of this.graph.nodes) {
      if (node.op !== 'Pad' || node.value !== 0) continue;
      const shape = tensorInfo(this.graph, node.inputs[0]).shape;
      const rank = shape.length;
      if (rank < 3 || rank > 4) continue;
      const p = node.pads;
      if (p[0] !== 0 || p[1] !== 0 || p[rank] !== 0 || p[rank + 1] !== 0) continue; // batch / channel padding
      const users = this.consumers.get(node.outputs[0]) ?? [];
      // Zero padding is exact for a conv (padded positions read as zp_in = real 0) and for an
      // average pool that counts padding in its divisor; a max pool would see the zeros, so not there.
      const foldable = (u: Node) => u.op === 'Conv' || (u.op === 'AveragePool' && (u.countIncludePad || u.pads.every((v) => v === 0)));
      if (users.length === 0 || this.graphOutputs.has(node.outputs[0]) || !users.every(foldable)) continue;
      const pad: [number, number, number, number] = rank === 4 ? [p[2], p[3], p[6], p[7]] : [0, p[2], 0, p[5]];
      for (const u of users) this.foldedPad.set(u.name, { pad, source: node.inputs[0] });
      this.folded.add(node.name);
    }
  }

  /** The tensor a node's result is finally written to (after folded activations). */
  private resultTensor(node: Node): string {
    return this.fusedOutput.get(node.name)?.tensor ?? node.outputs[0];
  }

  /** The activation input a node reads, looking through a folded Pad. */
  private activationInput(node: Node, i = 0): string {
    const pad = this.foldedPad.get(node.name);
    return i === 0 && pad ? pad.source : node.inputs[i];
  }

  // ---- 2. quantization parameters -------------------------------------------------------------

  private decideParams(): void {
    const fixed = new Map<string, { scale: number; zeroPoint: number }>();
    // Share groups: data movement and concat.
    for (const node of this.graph.nodes) {
      if (this.folded.has(node.name)) continue;
      const out = this.resultTensor(node);
      switch (node.op) {
        case 'MaxPool': case 'AveragePool': case 'GlobalAveragePool': case 'Reshape': case 'Transpose': case 'Pad':
          this.groups.union(this.activationInput(node), out);
          break;
        case 'Concat':
          for (const i of node.inputs) this.groups.union(i, out);
          break;
        case 'Softmax':
          fixed.set(out, { scale: 1 / 256, zeroPoint: -128 });
          break;
        default:
          break;
      }
    }
    for (const group of this.options.tiedTensors ?? []) {
      for (const t of group) {
        if (!this.graph.tensors.has(t)) throw new TinyM2Error(`${this.graph.file}: tensor '${t}' to share one quantization with '${group[0]}' is not in the model`);
        this.groups.union(t, group[0]);
      }
    }
    // Bits: inputs from the plan, weighted layers from the plan, the rest follow their inputs.
    const setBits = () => {
      for (const input of this.graph.inputs) this.bits.set(input.name, this.plan?.inputBits?.[input.name] ?? 8);
      for (const node of this.graph.nodes) {
        if (this.folded.has(node.name)) continue;
        const out = this.resultTensor(node);
        if (WEIGHTED.has(node.op)) this.bits.set(out, this.layerBits(node).activationBits);
        else if (node.op === 'Softmax') this.bits.set(out, 8);
        else {
          const ins = node.op === 'Concat' ? node.inputs : [this.activationInput(node), ...node.inputs.slice(1)];
          this.bits.set(out, Math.max(...ins.map((i) => this.bits.get(i) ?? 8)) as Bits);
        }
      }
    };
    setBits();
    // Group members get the widest bits and the union of their ranges (at those bits).
    const groupBits = new Map<string, Bits>();
    const groupRange = new Map<string, Range>();
    const groupFixed = new Map<string, { scale: number; zeroPoint: number }>();
    for (const [name, b] of this.bits) {
      const root = this.groups.find(name);
      groupBits.set(root, Math.max(groupBits.get(root) ?? 4, b) as Bits);
      const f = fixed.get(name);
      if (f) groupFixed.set(root, f);
    }
    for (const [name] of this.bits) {
      const root = this.groups.find(name);
      const r = this.rangeOf(name, groupBits.get(root)!);
      const g = groupRange.get(root);
      groupRange.set(root, g ? { min: Math.min(g.min, r.min), max: Math.max(g.max, r.max) } : r);
    }
    for (const [name] of this.bits) {
      const root = this.groups.find(name);
      const bits = fixed.has(name) ? 8 : groupBits.get(root)!;
      const f = groupFixed.get(root);
      if (f) {
        this.params.set(name, { ...f, bits: 8 });
        continue;
      }
      const r = groupRange.get(root)!;
      this.params.set(name, { ...activationParams(r.min, r.max, bits), bits });
    }
  }

  /**
   * Per-channel input quantization where it is exact: every reader is a Conv without padding (a
   * padded position would read q = 0, which is no longer real 0). Channel c maps [lo_c, hi_c] onto
   * the whole integer range: x = s_c * q + m_c, and the input tensor holds q with scale 1, zp 0.
   */
  private decideInputAffine(): void {
    for (const input of this.graph.inputs) {
      const r = this.calib.get(input.name);
      const readers = this.consumers.get(input.name) ?? [];
      if (!r?.channels || this.graphOutputs.has(input.name) || readers.length === 0) continue;
      const unpaddedConv = (n: Node) => n.op === 'Conv' && n.pads.every((v) => v === 0) && !this.foldedPad.has(n.name);
      if (!readers.every(unpaddedConv)) continue;
      const bits = this.paramsOf(input.name).bits;
      const [qmin, qmax] = activationRange(bits);
      const scale: number[] = [], offset: number[] = [];
      for (const { min, max } of r.channels) {
        // float32 like every other scale; a constant channel gets scale 1 (q is always 0).
        const s = max > min ? Math.fround((max - min) / (qmax - qmin)) : 1;
        scale.push(s);
        offset.push(Math.fround(max > min ? min - s * qmin : min));
      }
      this.inputAffine.set(input.name, { scale, offset });
      this.params.set(input.name, { scale: 1, zeroPoint: 0, bits });
    }
  }

  /** The calibrated range of a tensor, the bit-width-specific one when the calibration has it. */
  private rangeOf(tensor: string, bits: Bits): Range {
    const r = this.calib.get(tensor);
    if (!r) throw new Error(`internal: no calibration range for tensor ${tensor} of ${this.graph.file}`);
    const specific = r.byBits?.[bits];
    return specific ? { min: specific.min, max: specific.max } : { min: r.min, max: r.max };
  }

  private paramsOf(tensor: string): { scale: number; zeroPoint: number; bits: Bits } {
    const p = this.params.get(tensor);
    if (!p) throw new Error(`internal: no quantization parameters for ${tensor}`);
    return p;
  }

  // ---- placement ------------------------------------------------------------------------------

  private placed(name: string): Placement {
    const p = this.placement.get(name);
    if (!p) throw new Error(`internal: tensor ${name} used before it was lowered`);
    return p;
  }

  /** Creates the QTensor for an IR tensor with the layout its ONNX shape implies. */
  private place(irName: string, shape: number[], qName = irName): Placement {
    const p = this.paramsOf(irName);
    let placement: Placement;
    let qshape: [number, number, number];
    if ((shape.length === 3 || shape.length === 4) && shape[0] === 1) {
      qshape = shape.length === 4 ? [shape[2], shape[3], shape[1]] : [1, shape[2], shape[1]];
      placement = { kind: 'spatial', q: qName, rank: shape.length as 3 | 4 };
    } else if (shape.length <= 2 && (shape.length < 2 || shape[0] === 1)) {
      qshape = [1, 1, tensorSize(shape)];
      placement = { kind: 'vector', q: qName, perm: null };
    } else {
      const node = this.producer.get(irName);
      throw new TinyM2Error(`tensor '${irName}' of ${this.graph.file} has shape [${shape.join(', ')}]${node ? ` (from node '${node.name}')` : ''}; tinym2 handles NCHW / NCL activations and [1, N] vectors`, {
        details: { tensor: irName, node: node?.name },
      });
    }
    this.addTensor(qName, qshape, p);
    this.placement.set(irName, placement);
    return placement;
  }

  private addTensor(name: string, shape: [number, number, number], p: { scale: number; zeroPoint: number; bits: Bits }): QTensor {
    const t: QTensor = { name, shape, bits: p.bits, scale: p.scale, zeroPoint: p.zeroPoint };
    this.tensors.set(name, t);
    return t;
  }

  private qtensor(name: string): QTensor {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`internal: no QTensor ${name}`);
    return t;
  }

  private fresh(base: string, suffix: string): string {
    let name = `${base}:${suffix}`;
    while (this.tensors.has(name)) name = `${base}:${suffix}${++this.uid}`;
    return name;
  }

  /** Places a vector at memory in ONNX order, via a permute of the channels-last tensor it flattens. */
  private materializeVector(p: Extract<Placement, { kind: 'vector' }>, irName: string): Placement {
    if (!p.fromSpatial) {
      throw new TinyM2Error(`tensor '${irName}' of ${this.graph.file} is a mix of flattened channels-last tensors that would need a gather to restore ONNX order; tinym2 cannot lower this use of it`, { details: { tensor: irName } });
    }
    const [H, W, C] = p.fromSpatial;
    const src = this.qtensor(p.q);
    const params = { scale: src.scale, zeroPoint: src.zeroPoint, bits: src.bits };
    const hwc = this.fresh(irName, 'hwc');
    this.addTensor(hwc, [H, W, C], params);
    this.ops.push({ op: 'reshape', name: irName, inputs: [p.q], output: hwc });
    const chw = this.fresh(irName, 'chw');
    this.addTensor(chw, [C, H, W], params);
    this.ops.push({ op: 'permute', name: irName, inputs: [hwc], output: chw, perm: [2, 0, 1] });
    const flat = this.fresh(irName, 'onnx');
    this.addTensor(flat, [1, 1, H * W * C], params);
    this.ops.push({ op: 'reshape', name: irName, inputs: [chw], output: flat });
    const out: Placement = { kind: 'vector', q: flat, perm: null };
    this.placement.set(irName, out);
    return out;
  }

  // ---- 3. emission ----------------------------------------------------------------------------

  private lowerNode(node: Node): void {
    switch (node.op) {
      case 'Conv': return this.lowerConv(node);
      case 'Dense': return this.lowerDense(node);
      case 'ScaleShift': return this.lowerAffine(node, constantFloat(this.graph, node.scale), constantFloat(this.graph, node.shift));
      case 'Add': case 'Sub': case 'Mul':
        if (node.constant) return this.lowerConstantBinary(node);
        return this.lowerBinary(node);
      case 'Relu': return this.lowerLut(node, (x) => Math.max(x, 0), 'Relu');
      case 'Clip': return this.lowerLut(node, (x) => Math.min(Math.max(x, node.min), node.max), `Clip ${node.min}..${node.max}`);
      case 'LeakyRelu': return this.lowerLut(node, (x) => (x >= 0 ? x : node.alpha * x), `LeakyRelu ${node.alpha}`);
      case 'Sigmoid': return this.lowerLut(node, (x) => 1 / (1 + Math.exp(-x)), 'Sigmoid');
      case 'MaxPool': case 'AveragePool': return this.lowerPool(node);
      case 'GlobalAveragePool': return this.lowerGap(node);
      case 'Pad': return this.lowerPad(node);
      case 'Reshape': return this.lowerReshape(node);
      case 'Transpose': return this.lowerTranspose(node);
      case 'Concat': return this.lowerConcat(node);
      case 'Softmax': return this.lowerSoftmax(node);
    }
  }

  private unsupported(node: Node, why: string): never {
    throw new TinyM2Error(`cannot lower ${where(this.graph, node)}: ${why}`, { details: { node: node.name, op: node.op } });
  }

  /** The spatial input placement of a node, or an error naming it. */
  private spatialInput(node: Node, tensor: string): Extract<Placement, { kind: 'spatial' }> {
    const p = this.placed(tensor);
    if (p.kind !== 'spatial') this.unsupported(node, `its input '${tensor}' is not an NCHW / NCL activation`);
    return p;
  }

  /** Output clamp bounds in the quantized domain from the folded activation's real bounds. */
  private clampFor(node: Node, out: string): { actMin: number; actMax: number } {
    const p = this.paramsOf(out);
    let [lo, hi] = activationRange(p.bits);
    const fused = this.fusedOutput.get(node.name);
    if (fused) {
      if (fused.lo > -Infinity) lo = clamp(p.zeroPoint + roundHalfAway(fused.lo / p.scale), lo, hi);
      if (fused.hi < Infinity) hi = clamp(p.zeroPoint + roundHalfAway(fused.hi / p.scale), lo, hi);
    }
    return { actMin: lo, actMax: hi };
  }

  /** Quantized weights, bias and requant for one conv-family op. Weights in [Cout][...] order. */
  private convParams(node: Node, w: Float32Array, cout: number, biasName: string | undefined, bits: Bits, inScale: number, outScale: number, bias?: Float32Array) {
    const { q, scale } = quantizeWeightsPerChannel(w, cout, bits);
    // An all-zero channel has scale 0; any scale works for its weights, and 1 keeps bias and multiplier meaningful.
    for (let o = 0; o < cout; o++) if (scale[o] === 0) scale[o] = 1;
    const b = bias ?? (biasName ? constantFloat(this.graph, biasName) : undefined);
    // The int32 accumulator must not overflow (ARITHMETIC.md: "no overflow by construction"): a
    // channel whose weights are tiny next to its bias would need a bias beyond 2^30 units. Coarsen
    // that channel's weight scale until the bias fits; its weights were negligible anyway.
    if (b) {
      const per = w.length / cout;
      const qmax = bits === 8 ? 127 : 7;
      for (let o = 0; o < cout; o++) {
        if (Math.abs(b[o]) / (inScale * scale[o]) <= 2 ** 30) continue;
        scale[o] = Math.fround((Math.abs(b[o]) / (inScale * 2 ** 30)) * (1 + 2 ** -20));
        for (let i = o * per; i < (o + 1) * per; i++) q[i] = clamp(roundHalfAway(w[i] / scale[o]), -qmax, qmax);
      }
    }
    const qb = new Int32Array(cout);
    const reals = new Float64Array(cout);
    for (let o = 0; o < cout; o++) {
      const accScale = inScale * scale[o];
      if (b) qb[o] = clamp(roundHalfAway(b[o] / accScale), -(2 ** 31), 2 ** 31 - 1);
      reals[o] = accScale / outScale;
    }
    let requant: Requant;
    try {
      requant = encodeRequant(reals, `requant multiplier of ${node.name}`);
    } catch {
      this.unsupported(node, 'its output range is so much narrower than its inputs that the requantization multiplier exceeds 2^30');
    }
    return { q, scale, bias: qb, requant };
  }

  private lowerConv(node: ConvNode): void {
    const inName = this.activationInput(node);
    const inP = this.spatialInput(node, inName);
    const inT = this.qtensor(inP.q);
    const outName = this.resultTensor(node);
    const outShape = tensorInfo(this.graph, node.outputs[0]).shape;
    const out = this.place(outName, outShape);
    const outT = this.qtensor(out.q);
    const Cin = inT.shape[2];
    const Cout = outT.shape[2];
    const twoD = node.kernel.length === 2;
    if (node.kernel.length > 2) this.unsupported(node, '3-D convolution is not supported');
    const kernel: [number, number] = twoD ? [node.kernel[0], node.kernel[1]] : [1, node.kernel[0]];
    const stride: [number, number] = twoD ? [node.strides[0], node.strides[1]] : [1, node.strides[0]];
    const dilation: [number, number] = twoD ? [node.dilations[0], node.dilations[1]] : [1, node.dilations[0]];
    const pad: [number, number, number, number] = twoD ? [node.pads[0], node.pads[1], node.pads[2], node.pads[3]] : [0, node.pads[0], 0, node.pads[1]];
    const extra = this.foldedPad.get(node.name);
    if (extra) for (let i = 0; i < 4; i++) pad[i] += extra.pad[i];
    const { weightBits } = this.layerBits(node);
    const group = node.group;
    const cinG = Cin / group;
    let wf = constantFloat(this.graph, node.weight); // [Cout][Cin/g][KH][KW] (1-D: [Cout][Cin/g][K])
    const KH = kernel[0], KW = kernel[1];
    let biasOverride: Float32Array | undefined;
    const affine = this.inputAffine.get(inName);
    if (affine) ({ weights: wf, bias: biasOverride } = foldInputAffine(wf, node.bias ? constantFloat(this.graph, node.bias) : undefined, affine, Cout, group, cinG, KH * KW));
    // Cin = 1 with group 1 stays a plain conv (same arithmetic, and conv kernels handle it well).
    const kind: QConvOp['op'] =
      group === 1 && KH === 1 && KW === 1 && stride[0] === 1 && stride[1] === 1 && pad.every((v) => v === 0) ? 'pointwise'
        : group === Cin && group > 1 ? 'depthwise'
          : 'conv';
    // Reorder to OHWI (conv, pointwise); depthwise below re-lays [KH][KW][Cout].
    const ohwi = new Float32Array(wf.length);
    for (let o = 0; o < Cout; o++)
      for (let c = 0; c < cinG; c++)
        for (let kh = 0; kh < KH; kh++)
          for (let kw = 0; kw < KW; kw++)
            ohwi[((o * KH + kh) * KW + kw) * cinG + c] = wf[((o * cinG + c) * KH + kh) * KW + kw];
    const inScale = inT.scale;
    const { q, scale, bias, requant } = this.convParams(node, ohwi, Cout, node.bias, weightBits, inScale, outT.scale, biasOverride);
    let weights = q;
    if (kind === 'depthwise') {
      // cinG = 1: ohwi is [Cout][KH][KW]; depthwise wants [KH][KW][Cout].
      weights = new Int8Array(q.length);
      for (let o = 0; o < Cout; o++) for (let k = 0; k < KH * KW; k++) weights[k * Cout + o] = q[o * KH * KW + k];
    }
    const OH = outT.shape[0], OW = outT.shape[1];
    this.ops.push({
      op: kind, name: node.name, inputs: [inP.q], output: out.q,
      weights, weightBits, weightScale: scale, bias, requant,
      kernel, stride, pad, dilation,
      groups: kind === 'depthwise' ? Cin : group,
      channelMultiplier: kind === 'depthwise' ? Cout / Cin : 1,
      macs: OH * OW * Cout * KH * KW * cinG,
      ...this.clampFor(node, out.q),
    });
  }

  private lowerDense(node: DenseNode): void {
    const inName = node.inputs[0];
    const inShape = tensorInfo(this.graph, inName).shape;
    const batchLike = inShape.slice(0, -1).reduce((a, b) => a * b, 1);
    const inP = this.placed(inName);
    if (batchLike !== 1 && inP.kind === 'spatial') return this.lowerDensePerPosition(node, inP);
    const inT = this.qtensor(inP.q);
    // Which ONNX input index each memory slot holds.
    let perm: Int32Array | null = null;
    if (inP.kind === 'vector') perm = inP.perm;
    else {
      const [H, W, C] = inT.shape;
      if (H * W > 1 && C > 1) perm = spatialFlattenPerm(H, W, C);
    }
    const wf = constantFloat(this.graph, node.weight); // [out][in]
    const cin = inT.shape[0] * inT.shape[1] * inT.shape[2];
    const cout = wf.length / cin;
    if (!Number.isInteger(cout)) this.unsupported(node, `its weight has ${wf.length} values for an input of ${cin}`);
    const permuted = new Float32Array(wf.length);
    for (let o = 0; o < cout; o++) for (let m = 0; m < cin; m++) permuted[o * cin + m] = wf[o * cin + (perm ? perm[m] : m)];
    const outName = this.resultTensor(node);
    const out = this.place(outName, tensorInfo(this.graph, node.outputs[0]).shape);
    const outT = this.qtensor(out.q);
    const { weightBits } = this.layerBits(node);
    const { q, scale, bias, requant } = this.convParams(node, permuted, cout, node.bias, weightBits, inT.scale, outT.scale);
    this.ops.push({
      op: 'dense', name: node.name, inputs: [inT.name], output: out.q,
      weights: q, weightBits, weightScale: scale, bias, requant,
      kernel: [1, 1], stride: [1, 1], pad: [0, 0, 0, 0], dilation: [1, 1], groups: 1, channelMultiplier: 1,
      macs: cin * cout,
      ...this.clampFor(node, out.q),
    });
  }

  /**
   * Dense over the last ONNX axis of a [1, A, F] or [1, A, B, F] tensor, once per position: a
   * pointwise conv on a copy whose innermost memory axis is F, permuted back to channels-last after.
   */
  private lowerDensePerPosition(node: DenseNode, inP: Extract<Placement, { kind: 'spatial' }>): void {
    const inT = this.qtensor(inP.q);
    const outName = this.resultTensor(node);
    const out = this.place(outName, tensorInfo(this.graph, node.outputs[0]).shape);
    const outT = this.qtensor(out.q);
    // ONNX's last axis is W in channels-last [H, W, C]; bring it innermost and back.
    const [toLast, back]: [[number, number, number], [number, number, number]] = inP.rank === 4 ? [[2, 0, 1], [1, 2, 0]] : [[0, 2, 1], [0, 2, 1]];
    const lastShape = toLast.map((a) => inT.shape[a]) as [number, number, number];
    const [P0, P1, F] = lastShape;
    const wf = constantFloat(this.graph, node.weight); // [O][F]
    const O = wf.length / F;
    if (!Number.isInteger(O)) this.unsupported(node, `its weight has ${wf.length} values for ${F} input features`);
    const xLast = this.fresh(inP.q, 'features-last');
    this.addTensor(xLast, lastShape, { scale: inT.scale, zeroPoint: inT.zeroPoint, bits: inT.bits });
    this.ops.push({ op: 'permute', name: node.name, inputs: [inP.q], output: xLast, perm: toLast });
    const yLast = this.fresh(out.q, 'features-last');
    this.addTensor(yLast, [P0, P1, O], { scale: outT.scale, zeroPoint: outT.zeroPoint, bits: outT.bits });
    const { weightBits } = this.layerBits(node);
    const { q, scale, bias, requant } = this.convParams(node, wf, O, node.bias, weightBits, inT.scale, outT.scale);
    this.ops.push({
      op: 'pointwise', name: node.name, inputs: [xLast], output: yLast,
      weights: q, weightBits, weightScale: scale, bias, requant,
      kernel: [1, 1], stride: [1, 1], pad: [0, 0, 0, 0], dilation: [1, 1], groups: 1, channelMultiplier: 1,
      macs: P0 * P1 * F * O,
      ...this.clampFor(node, out.q),
    });
    this.ops.push({ op: 'permute', name: node.name, inputs: [yLast], output: out.q, perm: back });
  }

  /** The per-channel constant of Add/Sub/Mul as a length-C vector, or undefined if it is not one. */
  private channelConstant(node: Node & { constant?: string }): Float32Array | undefined {
    if (!node.constant) return undefined;
    const c = this.graph.constants.get(node.constant);
    if (!c || !(c.data instanceof Float32Array)) return undefined;
    const xShape = tensorInfo(this.graph, node.inputs[0]).shape;
    const C = xShape.length >= 2 ? xShape[1] : xShape[0];
    const n = c.data.length;
    if (n === 1) return undefined; // a scalar: a table op
    if (n !== C) return undefined;
    // It must lie along axis 1 of x after numpy broadcasting: right-aligned shape [.., C, 1, ..1].
    const cs = c.shape;
    const aligned = [...Array(Math.max(0, xShape.length - cs.length)).fill(1), ...cs];
    const cAxis = 1;
    for (let i = 0; i < aligned.length; i++) {
      if (i === cAxis) { if (aligned[i] !== C) return undefined; }
      else if (aligned[i] !== 1) return undefined;
    }
    return c.data;
  }

  private lowerConstantBinary(node: Node & { op: 'Add' | 'Sub' | 'Mul'; constant?: string; constantIndex?: 0 | 1 }): void {
    const cv = this.channelConstant(node);
    const c = this.graph.constants.get(node.constant!);
    if (cv) {
      const C = cv.length;
      const scale = new Float32Array(C), shift = new Float32Array(C);
      for (let i = 0; i < C; i++) {
        if (node.op === 'Mul') { scale[i] = cv[i]; shift[i] = 0; }
        else if (node.op === 'Add') { scale[i] = 1; shift[i] = cv[i]; }
        else if (node.constantIndex === 0) { scale[i] = -1; shift[i] = cv[i]; } // c - x
        else { scale[i] = 1; shift[i] = -cv[i]; } // x - c
      }
      return this.lowerAffine(node, scale, shift);
    }
    if (c && c.data instanceof Float32Array && c.data.length === 1) {
      const k = c.data[0];
      const f = node.op === 'Mul' ? (x: number) => x * k : node.op === 'Add' ? (x: number) => x + k : node.constantIndex === 0 ? (x: number) => k - x : (x: number) => x - k;
      return this.lowerLut(node, f, `${node.op} ${k}`);
    }
    this.unsupported(node, `its constant '${node.constant}' is neither a scalar nor one value per channel`);
  }

  /** y = x * scale[c] + shift[c] as a depthwise 1x1 (weights = scale, bias = shift). */
  private lowerAffine(node: Node, scaleV: Float32Array, shiftV: Float32Array): void {
    const inName = node.inputs[0];
    const inP = this.placed(inName);
    if (inP.kind === 'vector' && inP.perm) this.unsupported(node, 'a per-channel affine on a flattened channels-last tensor is not supported');
    const inT = this.qtensor(inP.q);
    const C = inT.shape[2];
    if (scaleV.length !== C) this.unsupported(node, `it has ${scaleV.length} per-channel values for ${C} channels`);
    const outName = this.resultTensor(node);
    const out = this.place(outName, tensorInfo(this.graph, node.outputs[0]).shape);
    const outT = this.qtensor(out.q);
    const bits = this.plan?.layers[node.name]?.weightBits ?? this.options.affineWeightBits ?? 8;
    const { q, scale, bias, requant } = this.convParams(node, scaleV, C, undefined, bits, inT.scale, outT.scale, shiftV);
    this.ops.push({
      op: 'depthwise', name: node.name, inputs: [inP.q], output: out.q,
      weights: q, weightBits: bits, weightScale: scale, bias, requant,
      kernel: [1, 1], stride: [1, 1], pad: [0, 0, 0, 0], dilation: [1, 1], groups: C, channelMultiplier: 1,
      macs: inT.shape[0] * inT.shape[1] * C,
      ...this.clampFor(node, out.q),
    });
  }

  private lowerBinary(node: Node & { op: 'Add' | 'Sub' | 'Mul' }): void {
    const [a, b] = node.inputs.map((n) => this.placed(n));
    const aT = this.qtensor(a.q), bT = this.qtensor(b.q);
    if (aT.shape.join() !== bT.shape.join() || a.kind !== b.kind || (a.kind === 'vector' && b.kind === 'vector' && !samePerm(a.perm, b.perm))) {
      this.unsupported(node, `its inputs have different shapes or layouts ([${tensorInfo(this.graph, node.inputs[0]).shape}] and [${tensorInfo(this.graph, node.inputs[1]).shape}]); only same-shape ${node.op} of two activations is supported`);
    }
    const outName = this.resultTensor(node);
    const out = this.inheritPlacement(a, outName, tensorInfo(this.graph, node.outputs[0]).shape);
    const outT = this.qtensor(out.q);
    const clampQ = this.clampFor(node, out.q);
    let bq = b.q;
    if (node.op === 'Sub') {
      // a - b = a + (-b). Negation is exact as a table: with zero point -1 - zp_b (same scale),
      // q' = -1 - q holds -real exactly and stays in range (INT8 and INT4 ranges are [-m, m - 1]).
      bq = this.fresh(b.q, 'negated');
      this.addTensor(bq, bT.shape, { scale: bT.scale, zeroPoint: -1 - bT.zeroPoint, bits: bT.bits });
      const table = new Int8Array(256);
      for (let i = 0; i < 256; i++) table[i] = clamp(-1 - (i - 128), -128, 127);
      this.ops.push({ op: 'lut', name: node.name, inputs: [b.q], output: bq, table, what: 'negate' });
    }
    if (node.op === 'Add' || node.op === 'Sub') {
      const twiceMax = 2 * Math.max(aT.scale, bT.scale);
      const enc = (r: number): Requant => {
        const e = encodeMultiplier(r);
        return { multiplier: Int32Array.of(e.multiplier), shift: Int32Array.of(e.shift) };
      };
      this.ops.push({
        op: 'add', name: node.name, inputs: [a.q, bq], output: out.q, leftShift: ADD_LEFT_SHIFT,
        inputRequant: [enc(aT.scale / twiceMax), enc(bT.scale / twiceMax)],
        outputRequant: enc(twiceMax / (2 ** ADD_LEFT_SHIFT * outT.scale)),
        ...clampQ,
      });
    } else {
      this.ops.push({ op: 'mul', name: node.name, inputs: [a.q, b.q], output: out.q, requant: encodeRequant([(aT.scale * bT.scale) / outT.scale]), ...clampQ });
    }
  }

  /** Places an elementwise result with the same layout as its input (keeping a vector's perm). */
  private inheritPlacement(inP: Placement, outName: string, shape: number[]): Placement {
    const out = this.place(outName, shape);
    if (inP.kind === 'vector' && out.kind === 'vector') {
      const withPerm: Placement = { kind: 'vector', q: out.q, perm: inP.perm, fromSpatial: inP.fromSpatial };
      this.placement.set(outName, withPerm);
      return withPerm;
    }
    return out;
  }

  private lowerLut(node: Node, f: (x: number) => number, what: string): void {
    const inP = this.placed(node.inputs[0]);
    const inT = this.qtensor(inP.q);
    const out = this.inheritPlacement(inP, node.outputs[0], tensorInfo(this.graph, node.outputs[0]).shape);
    const outT = this.qtensor(out.q);
    const [lo, hi] = activationRange(outT.bits);
    const table = new Int8Array(256);
    for (let i = 0; i < 256; i++) {
      const real = f(inT.scale * (i - 128 - inT.zeroPoint));
      table[i] = clamp(roundHalfAway(real / outT.scale) + outT.zeroPoint, lo, hi);
    }
    this.ops.push({ op: 'lut', name: node.name, inputs: [inP.q], output: out.q, table, what });
  }

  private lowerPool(node: Node & { op: 'MaxPool' | 'AveragePool' }): void {
    const inP = this.spatialInput(node, this.activationInput(node));
    const out = this.place(node.outputs[0], tensorInfo(this.graph, node.outputs[0]).shape);
    const twoD = node.kernel.length === 2;
    if (node.kernel.length > 2) this.unsupported(node, '3-D pooling is not supported');
    if (node.dilations.some((d) => d !== 1)) this.unsupported(node, 'dilated pooling is not supported');
    const pad: [number, number, number, number] = twoD ? [node.pads[0], node.pads[1], node.pads[2], node.pads[3]] : [0, node.pads[0], 0, node.pads[1]];
    const extra = this.foldedPad.get(node.name);
    if (extra) for (let i = 0; i < 4; i++) pad[i] += extra.pad[i];
    this.ops.push({
      op: node.op === 'MaxPool' ? 'maxpool' : 'avgpool', name: node.name, inputs: [inP.q], output: out.q,
      kernel: twoD ? [node.kernel[0], node.kernel[1]] : [1, node.kernel[0]],
      stride: twoD ? [node.strides[0], node.strides[1]] : [1, node.strides[0]],
      pad,
      // A folded zero Pad's positions were real elements of the pooled tensor: they count.
      countIncludePad: node.countIncludePad || extra !== undefined,
    });
  }

  private lowerGap(node: Node): void {
    const inP = this.spatialInput(node, node.inputs[0]);
    const out = this.place(node.outputs[0], tensorInfo(this.graph, node.outputs[0]).shape);
    this.ops.push({ op: 'gap', name: node.name, inputs: [inP.q], output: out.q });
  }

  private lowerPad(node: Node & { op: 'Pad' }): void {
    const inP = this.spatialInput(node, node.inputs[0]);
    const rank = tensorInfo(this.graph, node.inputs[0]).shape.length;
    const p = node.pads;
    if (p[0] !== 0 || p[1] !== 0 || p[rank] !== 0 || p[rank + 1] !== 0) this.unsupported(node, 'padding of the batch or channel axis is not supported');
    if (p.some((v) => v < 0)) this.unsupported(node, 'negative padding (cropping) is not supported');
    const out = this.place(node.outputs[0], tensorInfo(this.graph, node.outputs[0]).shape);
    const outT = this.qtensor(out.q);
    const [lo, hi] = activationRange(outT.bits);
    this.ops.push({
      op: 'pad', name: node.name, inputs: [inP.q], output: out.q,
      pad: rank === 4 ? [p[2], p[3], p[6], p[7]] : [0, p[2], 0, p[5]],
      value: clamp(outT.zeroPoint + roundHalfAway(node.value / outT.scale), lo, hi),
    });
  }

  private lowerReshape(node: Node & { op: 'Reshape' }): void {
    const inP = this.placed(node.inputs[0]);
    const inT = this.qtensor(inP.q);
    const outShape = tensorInfo(this.graph, node.outputs[0]).shape;
    const outName = node.outputs[0];
    const outSpatial = (outShape.length === 3 || outShape.length === 4) && outShape[0] === 1;
    if (inP.kind === 'spatial' && !outSpatial) {
      // Flatten / squeeze of a channels-last tensor: a view whose perm remembers the ONNX order.
      const out = this.place(outName, outShape);
      const [H, W, C] = inT.shape;
      const perm = H * W > 1 && C > 1 ? spatialFlattenPerm(H, W, C) : null;
      const v: Placement = { kind: 'vector', q: out.q, perm, fromSpatial: perm ? [H, W, C] : undefined };
      this.placement.set(outName, v);
      this.ops.push({ op: 'reshape', name: node.name, inputs: [inP.q], output: out.q });
      return;
    }
    if (inP.kind === 'vector' && !outSpatial) {
      this.inheritPlacement(inP, outName, outShape);
      this.ops.push({ op: 'reshape', name: node.name, inputs: [inP.q], output: this.placed(outName).q });
      return;
    }
    // Output is NCHW / NCL.
    const newC = outShape[1];
    if (inP.kind === 'spatial' && inT.shape[2] === newC) {
      const out = this.place(outName, outShape); // same C, same H*W order: a view
      this.ops.push({ op: 'reshape', name: node.name, inputs: [inP.q], output: out.q });
      return;
    }
    // Bring the input to ONNX order as a flat vector, then view it as [C, H*W] and permute to channels-last.
    let flat: Placement = inP;
    if (inP.kind === 'spatial') {
      const [H, W, C] = inT.shape;
      flat = this.materializeVector({ kind: 'vector', q: inP.q, perm: H * W > 1 && C > 1 ? spatialFlattenPerm(H, W, C) : null, fromSpatial: [H, W, C] }, `${node.inputs[0]}`);
    } else if (inP.perm) {
      flat = this.materializeVector(inP, node.inputs[0]);
    }
    const out = this.place(outName, outShape);
    const outT = this.qtensor(out.q);
    const [H, W, C] = outT.shape;
    if (H * W === 1 || C === 1) {
      this.ops.push({ op: 'reshape', name: node.name, inputs: [flat.q], output: out.q });
      return;
    }
    const chw = this.fresh(outName, 'chw');
    this.addTensor(chw, [C, H, W], this.paramsOf(outName));
    this.ops.push({ op: 'reshape', name: node.name, inputs: [flat.q], output: chw });
    this.ops.push({ op: 'permute', name: node.name, inputs: [chw], output: out.q, perm: [1, 2, 0] });
  }

  private lowerTranspose(node: Node & { op: 'Transpose' }): void {
    const inP = this.placed(node.inputs[0]);
    const outShape = tensorInfo(this.graph, node.outputs[0]).shape;
    const rank = node.perm.length;
    if (node.perm[0] !== 0) this.unsupported(node, 'a transpose that moves the batch axis is not supported');
    if (inP.kind === 'vector') {
      if (rank > 2) this.unsupported(node, 'transpose of this tensor is not supported');
      this.inheritPlacement(inP, node.outputs[0], outShape);
      this.ops.push({ op: 'reshape', name: node.name, inputs: [inP.q], output: this.placed(node.outputs[0]).q });
      return;
    }
    // ONNX axis -> channels-last axis of [H, W, C].
    const toHwc = (axis: number) => (rank === 4 ? [-1, 2, 0, 1][axis] : [-1, 2, 1][axis]);
    const perm: [number, number, number] = rank === 4
      ? [toHwc(node.perm[2]), toHwc(node.perm[3]), toHwc(node.perm[1])]
      : [0, toHwc(node.perm[2]), toHwc(node.perm[1])];
    const out = this.place(node.outputs[0], outShape);
    const identity = perm[0] === 0 && perm[1] === 1 && perm[2] === 2;
    this.ops.push(identity
      ? { op: 'reshape', name: node.name, inputs: [inP.q], output: out.q }
      : { op: 'permute', name: node.name, inputs: [inP.q], output: out.q, perm });
  }

  private lowerConcat(node: Node & { op: 'Concat' }): void {
    const ins = node.inputs.map((n) => this.placed(n));
    const outShape = tensorInfo(this.graph, node.outputs[0]).shape;
    const rank = outShape.length;
    const axis = node.axis < 0 ? node.axis + rank : node.axis;
    if (axis === 0) this.unsupported(node, 'concatenation along the batch axis is not supported');
    if (ins.every((p) => p.kind === 'vector')) {
      if (rank > 2) this.unsupported(node, 'this concatenation is not supported');
      const out = this.place(node.outputs[0], outShape);
      let perm: Int32Array | null = null;
      if (ins.some((p) => p.kind === 'vector' && p.perm)) {
        perm = new Int32Array(tensorSize(outShape));
        let off = 0;
        for (const p of ins) {
          const n = this.qtensor(p.q).shape[2];
          for (let m = 0; m < n; m++) perm[off + m] = off + (p.kind === 'vector' && p.perm ? p.perm[m] : m);
          off += n;
        }
      }
      this.placement.set(node.outputs[0], { kind: 'vector', q: out.q, perm });
      this.ops.push({ op: 'concat', name: node.name, inputs: ins.map((p) => p.q), output: out.q, axis: 2 });
      return;
    }
    if (!ins.every((p) => p.kind === 'spatial')) this.unsupported(node, 'it concatenates NCHW activations with flat vectors');
    const out = this.place(node.outputs[0], outShape);
    const hwcAxis = (rank === 4 ? [-1, 2, 0, 1] : [-1, 2, 1])[axis] as 0 | 1 | 2;
    this.ops.push({ op: 'concat', name: node.name, inputs: ins.map((p) => p.q), output: out.q, axis: hwcAxis });
  }

  private lowerSoftmax(node: Node & { op: 'Softmax' }): void {
    const inP = this.placed(node.inputs[0]);
    const inShape = tensorInfo(this.graph, node.inputs[0]).shape;
    const axis = node.axis < 0 ? node.axis + inShape.length : node.axis;
    const overChannels = axis === 1 && (inP.kind === 'spatial' || inShape.length === 2);
    const overLast = axis === inShape.length - 1 && tensorSize(inShape) === inShape[axis];
    if (!overChannels && !overLast) this.unsupported(node, `softmax over axis ${node.axis} of [${inShape.join(', ')}] is not supported (only over channels / the feature axis)`);
    if (inP.kind === 'vector' && inP.perm) this.unsupported(node, 'softmax of a flattened channels-last tensor is not supported');
    const inT = this.qtensor(inP.q);
    const out = this.inheritPlacement(inP, node.outputs[0], tensorInfo(this.graph, node.outputs[0]).shape);
    const expTable = new Uint32Array(256);
    for (let k = 0; k < 256; k++) expTable[k] = Math.round(65536 * Math.exp(-k * inT.scale));
    this.ops.push({ op: 'softmax', name: node.name, inputs: [inP.q], output: out.q, expTable });
  }
}

/**
 * Conv weights and bias on u instead of x, where x_c = scale[c] * u_c + offset[c]:
 * W'[o][ci][k] = W[o][ci][k] * scale[c], b'[o] = b[o] + sum_{ci,k} W[o][ci][k] * offset[c],
 * c = the absolute input channel of ci in o's group. Computed in double precision.
 */
export function foldInputAffine(w: Float32Array, b: Float32Array | undefined, affine: InputChannelAffine, cout: number, groups: number, cinG: number, k: number): { weights: Float32Array; bias: Float32Array } {
  const weights = new Float32Array(w.length);
  const bias = new Float32Array(cout);
  const coutG = cout / groups;
  for (let o = 0; o < cout; o++) {
    const g = Math.floor(o / coutG);
    let acc = b ? b[o] : 0;
    for (let ci = 0; ci < cinG; ci++) {
      const c = g * cinG + ci;
      for (let j = 0; j < k; j++) {
        const idx = (o * cinG + ci) * k + j;
        weights[idx] = w[idx] * affine.scale[c];
        acc += w[idx] * affine.offset[c];
      }
    }
    bias[o] = acc;
  }
  return { weights, bias };
}

/** perm[m] = ONNX (C, H, W) flat index of channels-last memory slot m. */
export function spatialFlattenPerm(H: number, W: number, C: number): Int32Array {
  const perm = new Int32Array(H * W * C);
  for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) perm[(h * W + w) * C + c] = (c * H + h) * W + w;
  return perm;
}

function samePerm(a: Int32Array | null, b: Int32Array | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function layoutName(p: Placement, onnxShape: number[]): 'nchw' | 'ncl' | 'flat' {
  if (p.kind === 'vector') return 'flat';
  return onnxShape.length === 4 ? 'nchw' : 'ncl';
}
