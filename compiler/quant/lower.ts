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
import { constantFloat, tensorInfo, tensorSize, type Graph, type Node } from '../ir.ts';
import type { IrNode } from '../ops/op.ts';
import { opDef } from '../ops/registry.ts';
import { TinyM2Error } from '../errors.ts';
import type { Calibration, Range } from './calibrate.ts';
import { activationParams, activationRange, clamp, encodeRequant } from './fixedpoint.ts';
import type { PrecisionPlan } from './plan.ts';
import type { Bits, InputChannelAffine, Int4Activations, QGraph, QOp, QTensor, Requant } from './qgraph.ts';
import { quantizeWeightsPerChannel, roundHalfAway } from './weights.ts';

/** Where an IR tensor lives in the QGraph. */
export type Placement =
  | { kind: 'spatial'; q: string; rank: 3 | 4 }
  /** perm[m] = ONNX flat index held in memory slot m (null: identity). fromSpatial: perm is the flatten of that [H, W, C]. */
  | { kind: 'vector'; q: string; perm: Int32Array | null; fromSpatial?: [number, number, number] };


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
  /** How 4-bit activations are stored (QGraph.int4Activations; CLI --int4-activations). Default 'packed'. */
  int4Activations?: Int4Activations;
  /**
   * Groups of IR tensors that must share one scale and zero point (the union of their ranges, the
   * widest bits), like the data-movement share groups: ADMN residual streams, so that a skipped block
   * is a byte copy (compiler/admn/blocks.ts tiedTensors).
   */
  tiedTensors?: string[][];
}

export { foldInputAffine } from '../ops/conv.ts';

/**
 * The Relu / Clip nodes that fold into `node`'s output clamp (step 1 below): each the only reader
 * of the previous output, for a node whose kernel takes a clamp (OpDef.quant.fusesClamp). Returns
 * the tensor the node finally writes and the real clamp bounds, or undefined when nothing folds.
 * The ILP planner (compiler/ilp/from-graph.ts) calls it too, so both see the same layer outputs.
 */
export function clampChain(
  graph: Graph, node: Node, onlyConsumer: (tensor: string) => Node | undefined,
): { tensor: string; lo: number; hi: number; folded: Node[] } | undefined {
  if (!opDef(node).quant.fusesClamp(node, graph)) return undefined;
  let tensor = node.outputs[0];
  let lo = -Infinity, hi = Infinity;
  const folded: Node[] = [];
  // Relu then Clip (torch's ReLU6) folds as a chain.
  for (;;) {
    const next = onlyConsumer(tensor);
    const bounds = next && opDef(next).quant.clampBounds?.(next);
    if (!next || !bounds) break;
    lo = Math.max(lo, bounds[0]);
    hi = Math.min(hi, bounds[1]);
    folded.push(next);
    tensor = next.outputs[0];
  }
  return folded.length > 0 ? { tensor, lo, hi, folded } : undefined;
}

export function quantizeGraph(graph: Graph, calib: Calibration, plan?: PrecisionPlan, options: LowerOptions = {}): QGraph {
  return new Lowering(graph, calib, plan, options).run();
}

/** A node's place in messages: "node 'conv1' (Conv) in model.onnx". */
function where(graph: Graph, node: IrNode): string {
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

/**
 * The lowering of one graph. Per-op emission lives with each op (compiler/ops/, OpDef.quant.lower);
 * this class keeps what crosses ops: fusion, share groups, placement, and the helpers op lowerings
 * call (all public for them).
 */
export class Lowering {
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
    readonly graph: Graph,
    private readonly calib: Calibration,
    readonly plan: PrecisionPlan | undefined,
    readonly options: LowerOptions,
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
      ...(this.options.int4Activations === 'bytes' ? { int4Activations: 'bytes' as const } : {}),
    };
  }

  // ---- plan -----------------------------------------------------------------------------------

  private checkPlan(): void {
    if (!this.plan) return;
    for (const node of this.graph.nodes) {
      if (opDef(node).quant.outputBits === 'plan' && !this.plan.layers[node.name]) {
        throw new TinyM2Error(`the precision plan for ${this.plan.model} has no entry for layer '${node.name}' of ${this.graph.file}; make the plan again for this model`, {
          details: { node: node.name },
        });
      }
    }
  }

  layerBits(node: IrNode): { weightBits: Bits; activationBits: Bits } {
    const l = this.plan?.layers[node.name];
    return { weightBits: l?.weightBits ?? 8, activationBits: l?.activationBits ?? 8 };
  }

  // ---- 1. fusion ------------------------------------------------------------------------------

  private onlyConsumer(tensor: string): Node | undefined {
    const c = this.consumers.get(tensor) ?? [];
    return c.length === 1 && !this.graphOutputs.has(tensor) ? c[0] : undefined;
  }

  private decideFusions(): void {
    for (const node of this.graph.nodes) {
      const chain = clampChain(this.graph, node, (t) => this.onlyConsumer(t));
      if (!chain) continue;
      for (const n of chain.folded) this.folded.add(n.name);
      this.fusedOutput.set(node.name, chain);
    }
    for (const node of this.graph.nodes) {
      if (node.op !== 'Pad' || node.value !== 0) continue;
      const shape = tensorInfo(this.graph, node.inputs[0]).shape;
      const rank = shape.length;
      if (rank < 3 || rank > 4) continue;
      const p = node.pads;
      if (p[0] !== 0 || p[1] !== 0 || p[rank] !== 0 || p[rank + 1] !== 0) continue; // batch / channel padding
      const users = this.consumers.get(node.outputs[0]) ?? [];
      // Zero padding is exact where padded positions read as zp_in = real 0 (a conv) or count as
      // real elements (an average pool counting padding); each op says (absorbsZeroPad).
      const foldable = (u: Node) => opDef(u).quant.absorbsZeroPad?.(u) ?? false;
      if (users.length === 0 || this.graphOutputs.has(node.outputs[0]) || !users.every(foldable)) continue;
      const pad: [number, number, number, number] = rank === 4 ? [p[2], p[3], p[6], p[7]] : [0, p[2], 0, p[5]];
      for (const u of users) this.foldedPad.set(u.name, { pad, source: node.inputs[0] });
      this.folded.add(node.name);
    }
  }

  /** The tensor a node's result is finally written to (after folded activations). */
  resultTensor(node: IrNode): string {
    return this.fusedOutput.get(node.name)?.tensor ?? node.outputs[0];
  }

  /** The activation input a node reads, looking through a folded Pad. */
  activationInput(node: IrNode, i = 0): string {
    const pad = this.foldedPad.get(node.name);
    return i === 0 && pad ? pad.source : node.inputs[i];
  }

  // ---- 2. quantization parameters -------------------------------------------------------------

  private decideParams(): void {
    const fixed = new Map<string, { scale: number; zeroPoint: number }>();
    // Share groups: data movement and concat (OpDef.quant.share), fixed encodings (softmax).
    for (const node of this.graph.nodes) {
      if (this.folded.has(node.name)) continue;
      const out = this.resultTensor(node);
      const q = opDef(node).quant;
      if (q.share === 'first') this.groups.union(this.activationInput(node), out);
      else if (q.share === 'all') for (const i of node.inputs) this.groups.union(i, out);
      if (q.fixedOutput) fixed.set(out, q.fixedOutput);
    }
    for (const group of this.options.tiedTensors ?? []) {
      for (const t of group) {
        if (!this.graph.tensors.has(t)) throw new TinyM2Error(`${this.graph.file}: tensor '${t}' to share one quantization with '${group[0]}' is not in the model`);
        this.groups.union(t, group[0]);
      }
    }
    // Bits (OpDef.quant.outputBits): inputs from the plan, weighted layers from the plan, fixed
    // encodings 8, the rest follow their inputs. compiler/ilp/from-graph.ts reads the same hooks.
    const setBits = () => {
      for (const input of this.graph.inputs) this.bits.set(input.name, this.plan?.inputBits?.[input.name] ?? 8);
      for (const node of this.graph.nodes) {
        if (this.folded.has(node.name)) continue;
        const out = this.resultTensor(node);
        const rule = opDef(node).quant.outputBits;
        if (rule === 'plan') this.bits.set(out, this.layerBits(node).activationBits);
        else if (rule === 8) this.bits.set(out, 8);
        else {
          const ins = [this.activationInput(node), ...node.inputs.slice(1)];
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

  paramsOf(tensor: string): { scale: number; zeroPoint: number; bits: Bits } {
    const p = this.params.get(tensor);
    if (!p) throw new Error(`internal: no quantization parameters for ${tensor}`);
    return p;
  }

  // ---- placement ------------------------------------------------------------------------------

  placed(name: string): Placement {
    const p = this.placement.get(name);
    if (!p) throw new Error(`internal: tensor ${name} used before it was lowered`);
    return p;
  }

  /** Creates the QTensor for an IR tensor with the layout its ONNX shape implies. */
  place(irName: string, shape: number[], qName = irName): Placement {
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

  addTensor(name: string, shape: [number, number, number], p: { scale: number; zeroPoint: number; bits: Bits }): QTensor {
    const t: QTensor = { name, shape, bits: p.bits, scale: p.scale, zeroPoint: p.zeroPoint };
    this.tensors.set(name, t);
    return t;
  }

  qtensor(name: string): QTensor {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`internal: no QTensor ${name}`);
    return t;
  }

  fresh(base: string, suffix: string): string {
    let name = `${base}:${suffix}`;
    while (this.tensors.has(name)) name = `${base}:${suffix}${++this.uid}`;
    return name;
  }

  /** Places a vector at memory in ONNX order, via a permute of the channels-last tensor it flattens. */
  materializeVector(p: Extract<Placement, { kind: 'vector' }>, irName: string): Placement {
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
    opDef(node).quant.lower(this, node);
  }

  /** Appends a QGraph op (op lowerings call this). */
  emit(op: QOp): void {
    this.ops.push(op);
  }

  setPlacement(irName: string, p: Placement): void {
    this.placement.set(irName, p);
  }

  /** The zero Pad folded into this node's padding, if any. */
  foldedPadOf(node: IrNode): { pad: [number, number, number, number]; source: string } | undefined {
    return this.foldedPad.get(node.name);
  }

  /** Per-channel quantization of a graph input (decideInputAffine), if it has one. */
  inputAffineOf(tensor: string): InputChannelAffine | undefined {
    return this.inputAffine.get(tensor);
  }

  unsupported(node: IrNode, why: string): never {
    throw new TinyM2Error(`cannot lower ${where(this.graph, node)}: ${why}`, { details: { node: node.name, op: node.op } });
  }

  /** The spatial input placement of a node, or an error naming it. */
  spatialInput(node: IrNode, tensor: string): Extract<Placement, { kind: 'spatial' }> {
    const p = this.placed(tensor);
    if (p.kind !== 'spatial') this.unsupported(node, `its input '${tensor}' is not an NCHW / NCL activation`);
    return p;
  }

  /** Output clamp bounds in the quantized domain from the folded activation's real bounds. */
  clampFor(node: IrNode, out: string): { actMin: number; actMax: number } {
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
  convParams(node: IrNode, w: Float32Array, cout: number, biasName: string | undefined, bits: Bits, inScale: number, outScale: number, bias?: Float32Array) {
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

  /** y = x * scale[c] + shift[c] as a depthwise 1x1 (weights = scale, bias = shift). */
  lowerAffine(node: IrNode, scaleV: Float32Array, shiftV: Float32Array): void {
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

  /** Places an elementwise result with the same layout as its input (keeping a vector's perm). */
  inheritPlacement(inP: Placement, outName: string, shape: number[]): Placement {
    const out = this.place(outName, shape);
    if (inP.kind === 'vector' && out.kind === 'vector') {
      const withPerm: Placement = { kind: 'vector', q: out.q, perm: inP.perm, fromSpatial: inP.fromSpatial };
      this.placement.set(outName, withPerm);
      return withPerm;
    }
    return out;
  }

  lowerLut(node: IrNode, f: (x: number) => number, what: string): void {
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

}

/** perm[m] = ONNX (C, H, W) flat index of channels-last memory slot m. */
export function spatialFlattenPerm(H: number, W: number, C: number): Int32Array {
  const perm = new Int32Array(H * W * C);
  for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) perm[(h * W + w) * C + c] = (c * H + h) * W + w;
  return perm;
}

function layoutName(p: Placement, onnxShape: number[]): 'nchw' | 'ncl' | 'flat' {
  if (p.kind === 'vector') return 'flat';
  return onnxShape.length === 4 ? 'nchw' : 'ncl';
}
