// What the planner needs to know about a float IR graph: its weighted layers (Conv, Dense) with
// MACs, weight counts, fixed bytes and where their input bits come from, and the live activation
// bytes for the RAM check.
//
// Input bits follow compiler/quant/lower.ts, from the same OpDef hooks (quant.outputBits): a
// weighted layer ('plan') carries its plan's activation bits; an op with fixed bits (8: Softmax)
// outputs INT8; every other op takes the widest bits of its inputs; graph inputs are 8. So a layer's input bits are the widest over the weighted layers (and graph
// inputs) reached by walking back through non-weighted ops. When that set has several layers
// (a Concat or Add joining modality branches), the planner requires them to share activation
// bits: lower.ts would widen them all to the widest anyway, so a narrower choice would be a
// promise the compiler does not keep.
import { tensorSize, type Graph, type Node } from '../ir.ts';
import { isWeighted, opDef, type WeightedNode } from '../ops/registry.ts';
import { clampChain } from '../quant/lower.ts';
import type { IlpLayer, LiveSet } from './problem.ts';

export { isWeighted, type WeightedNode } from '../ops/registry.ts';

export interface LayerInfo {
  node: WeightedNode;
  name: string;
  macs: number;
  weightCount: number;
  outChannels: number;
  /**
   * Per output channel: int32 bias, int32 multiplier, int32 shift (runtime-c's requantization
   * arrays) = 12 bytes. They do not depend on the bit width.
   */
  fixedBytes: number;
  /** Float32 weights + bias, the FP32 reference size. */
  fp32Bytes: number;
  /** Weighted layers whose output bits reach this layer's input (empty: a graph input only). */
  sources: string[];
  /** Reads (possibly via other ops) a graph input or a Softmax, i.e. 8-bit data. */
  readsFixed8: boolean;
  /**
   * The tensor holding the layer's quantized output: its output, or the output of the Relu / Clip
   * chain lower.ts fuses into the layer's clamp (quant/lower.ts clampChain).
   */
  outputTensor: string;
}

export const REQUANT_BYTES_PER_CHANNEL = 12;

function consumersOf(graph: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of graph.nodes) for (const t of n.inputs) m.set(t, [...(m.get(t) ?? []), n]);
  return m;
}

export function analyzeLayers(graph: Graph): LayerInfo[] {
  const producer = new Map<string, Node>();
  for (const n of graph.nodes) producer.set(n.outputs[0], n);
  const consumers = consumersOf(graph);
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));

  // Walk back from a tensor to the weighted layers whose bits it carries.
  const sourcesCache = new Map<string, { layers: Set<string>; fixed8: boolean }>();
  const sourcesOf = (tensor: string): { layers: Set<string>; fixed8: boolean } => {
    const cached = sourcesCache.get(tensor);
    if (cached) return cached;
    const p = producer.get(tensor);
    let result: { layers: Set<string>; fixed8: boolean };
    if (!p) result = { layers: new Set(), fixed8: true };
    else if (isWeighted(p)) result = { layers: new Set([p.name]), fixed8: false };
    else if (opDef(p).quant.outputBits === 8) result = { layers: new Set(), fixed8: true };
    else {
      result = { layers: new Set(), fixed8: false };
      for (const t of p.inputs) {
        const s = sourcesOf(t);
        s.layers.forEach((l) => result.layers.add(l));
        result.fixed8 ||= s.fixed8;
      }
    }
    sourcesCache.set(tensor, result);
    return result;
  };

  const out: LayerInfo[] = [];
  for (const node of graph.nodes) {
    if (!isWeighted(node)) continue;
    const w = graph.constants.get(node.weight);
    if (!w) throw new Error(`internal: weight ${node.weight} of ${node.name} missing`);
    const weightCount = tensorSize(w.shape);
    const outChannels = w.shape[0];
    // The op's own count (Conv, Dense: outElems * weightCount / Cout; LSTM / GRU: every step's gate rows).
    const macs = opDef(node).macs(node, graph);
    const biasCount = node.bias ? tensorSize(graph.constants.get(node.bias)!.shape) : 0;
    const src = sourcesOf(node.inputs[0]);
    const onlyConsumer = (t: string) => {
      const c = consumers.get(t) ?? [];
      return c.length === 1 && !graphOutputs.has(t) ? c[0] : undefined;
    };
    const outputTensor = clampChain(graph, node, onlyConsumer)?.tensor ?? node.outputs[0];
    out.push({
      node,
      name: node.name,
      macs,
      weightCount,
      outChannels,
      fixedBytes: REQUANT_BYTES_PER_CHANNEL * outChannels,
      fp32Bytes: 4 * (weightCount + biasCount),
      sources: [...src.layers],
      readsFixed8: src.fixed8,
      outputTensor,
    });
  }
  return out;
}

/** IlpLayers (Omega to be filled in by the caller) and the equal-bits groups for fan-in. */
export function ilpLayers(layers: LayerInfo[], omega: (l: LayerInfo) => Pick<IlpLayer, 'omegaWeights' | 'omegaActivations'>): {
  layers: IlpLayer[];
  equalActivationBits: string[][];
} {
  const equal: string[][] = [];
  const seen = new Set<string>();
  const ilp = layers.map((l) => {
    if (l.sources.length > 1) {
      const key = [...l.sources].sort().join('\u0000');
      if (!seen.has(key)) {
        seen.add(key);
        equal.push([...l.sources]);
      }
    }
    const layer: IlpLayer = {
      name: l.name,
      macs: l.macs,
      weightCount: l.weightCount,
      fixedBytes: l.fixedBytes,
      ...omega(l),
      // Graph input bits (8) dominate any layer's bits in the widest-of rule.
      inputFrom: l.readsFixed8 || l.sources.length === 0 ? null : l.sources[0],
    };
    return layer;
  });
  return { layers: ilp, equalActivationBits: equal };
}

/** Storage roots: reshape outputs and fused Relu / Clip outputs (ops with quant.clampBounds) share their input's bytes. */
function storageRoots(graph: Graph): (t: string) => string {
  const owner = new Map<string, string>();
  const consumers = consumersOf(graph);
  const root = (t: string): string => owner.get(t) ?? t;
  for (const n of graph.nodes) {
    const inp = n.inputs[0];
    const inPlace =
      n.op === 'Reshape' || (opDef(n).quant.clampBounds !== undefined && (consumers.get(inp) ?? []).length === 1);
    if (inPlace && inp !== undefined) owner.set(n.outputs[0], root(inp));
  }
  return root;
}

/** Per step (node index) the storage roots alive then, with their element counts. */
function liveRoots(graph: Graph): { root: (t: string) => string; steps: Array<Array<{ tensor: string; elements: number }>> } {
  const root = storageRoots(graph);
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  const elements = new Map<string, number>();
  for (const t of graph.inputs) {
    first.set(t.name, 0);
    elements.set(t.name, tensorSize(t.shape));
  }
  graph.nodes.forEach((n, i) => {
    const r = root(n.outputs[0]);
    if (!first.has(r)) {
      first.set(r, i);
      elements.set(r, tensorSize(graph.tensors.get(n.outputs[0])!.shape));
    }
    last.set(r, Math.max(last.get(r) ?? i, i));
    for (const t of n.inputs) last.set(root(t), Math.max(last.get(root(t)) ?? i, i));
  });
  for (const o of graph.outputs) last.set(root(o.name), graph.nodes.length);
  const steps = graph.nodes.map((_, i) => {
    const live: Array<{ tensor: string; elements: number }> = [];
    for (const [t, f] of first) if (f <= i && (last.get(t) ?? f) >= i) live.push({ tensor: t, elements: elements.get(t)! });
    return live;
  });
  return { root, steps };
}

/**
 * Peak live activation bytes at one byte per element (an all-INT8 plan), as a single live set of
 * fixed bytes. Reshape outputs and fused Relu / Clip outputs share their input's bytes. This is the
 * lower bound the arena planner (compiler/codegen/memory.ts) reports for INT8; its arena can be a
 * little larger.
 */
export function peakActivationBytes(graph: Graph): { bytes: number; step: string } {
  const { steps } = liveRoots(graph);
  let peak = 0;
  let step = '';
  steps.forEach((live, i) => {
    const bytes = live.reduce((a, t) => a + t.elements, 0);
    if (bytes > peak) {
      peak = bytes;
      step = graph.nodes[i].name;
    }
  });
  return { bytes: peak, step };
}

/**
 * The RAM constraint's live sets, one per step: a tensor whose bits follow one weighted layer (its
 * output, or what carries its bits through pooling, reshape, add, ...) counts its elements at that
 * layer's activation bits (IlpProblem.ram.bytesPerElement: INT4 activations are stored two per byte,
 * compiler/quant/act-storage.ts); graph inputs and outputs (byte-stored at the API) and 8-bit-only
 * tensors are fixed bytes. A tensor fed by several layers follows the first (the planner ties their
 * bits). Ops without a packed kernel keep some 4-bit tensors byte-stored in the compiler (LSTM / GRU,
 * pad, slice, ...); the model does not see that, and the arena plan of the compiled model is exact.
 */
export function ramLiveSets(graph: Graph, layers: LayerInfo[]): LiveSet[] {
  const { root, steps } = liveRoots(graph);
  const byOutput = new Map<string, string>();
  for (const l of layers) byOutput.set(root(l.outputTensor), l.name);
  for (const l of layers) byOutput.set(root(l.node.outputs[0]), l.name);
  const producer = new Map<string, Node>();
  for (const n of graph.nodes) producer.set(n.outputs[0], n);
  const io = new Set([...graph.inputs.map((t) => t.name), ...graph.outputs.map((t) => t.name)].map(root));
  // The layer whose activation bits a tensor's storage carries (undefined: fixed 8 bits).
  const layerCache = new Map<string, string | undefined>();
  const layerOf = (t: string): string | undefined => {
    if (layerCache.has(t)) return layerCache.get(t);
    layerCache.set(t, undefined); // cycles cannot occur in a DAG; guards re-entry
    let result: string | undefined;
    if (byOutput.has(root(t))) result = byOutput.get(root(t));
    else {
      const p = producer.get(t);
      if (p && !isWeighted(p) && opDef(p).quant.outputBits !== 8) {
        for (const x of p.inputs) {
          const l = graph.constants.has(x) ? undefined : layerOf(x);
          if (l === undefined && !graph.constants.has(x)) { result = undefined; break; }
          result ??= l;
        }
      }
    }
    layerCache.set(t, result);
    return result;
  };
  const seen = new Set<string>();
  const sets: LiveSet[] = [];
  for (const live of steps) {
    const set: LiveSet = { fixedBytes: 0, tensors: [] };
    for (const { tensor, elements } of live) {
      const l = io.has(tensor) ? undefined : layerOf(tensor);
      if (l === undefined) set.fixedBytes += elements;
      else set.tensors.push({ layer: l, elements });
    }
    const key = `${set.fixedBytes}|${set.tensors.map((t) => `${t.layer}:${t.elements}`).sort().join(',')}`;
    if (!seen.has(key)) {
      seen.add(key);
      sets.push(set);
    }
  }
  return sets;
}
