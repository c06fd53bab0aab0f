// Mutators for the fuzzer (test/fuzz/): byte-level damage to any file, and structured mutations of
// ONNX models (attributes, shapes, names, node order, hostile constants), .npz headers and JSON
// configs. Every case is a pure function of (seed, index), so a crash found in a long campaign is
// reproduced from two numbers and its input can be written out as a regression case.
import onnxProto from 'onnx-proto';
import { mulberry32Uint } from '../../compiler/random.ts';

const { onnx } = onnxProto;

export class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32Uint(seed);
  }
  int(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  chance(p: number): boolean {
    return this.next() / 4294967296 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** Seed of case `index` of a run with `seed` (splitmix-style mixing, so neighbouring cases differ). */
export function caseSeed(seed: number, index: number): number {
  let h = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x08, 0x10, 0x12, 0x1a, 0x22];

/** 1 to 4 random byte edits: flips, overwrites, inserts, deletes, duplicated runs, truncation. */
export function mutateBytes(input: Uint8Array, rng: Rng): Uint8Array {
  let b: Uint8Array = Uint8Array.from(input);
  const edits = 1 + rng.int(4);
  for (let e = 0; e < edits && b.length > 0; e++) {
    const at = rng.int(b.length);
    switch (rng.int(7)) {
      case 0: b[at] ^= 1 << rng.int(8); break;
      case 1: b[at] = rng.int(256); break;
      case 2: b[at] = rng.pick(INTERESTING_BYTES); break;
      case 3: { // insert
        const ins = Uint8Array.from({ length: 1 + rng.int(16) }, () => rng.int(256));
        b = concatBytes(b.subarray(0, at), ins, b.subarray(at));
        break;
      }
      case 4: { // delete
        const len = 1 + rng.int(Math.min(64, b.length - at));
        b = concatBytes(b.subarray(0, at), b.subarray(at + len));
        break;
      }
      case 5: { // duplicate a run
        const len = 1 + rng.int(Math.min(256, b.length - at));
        b = concatBytes(b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len));
        break;
      }
      default: b = b.subarray(0, at); // truncate
    }
  }
  return b;
}

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Names that have broken code generation, comments, Markdown or JSON before (issue 18). */
export const HOSTILE_NAMES = [
  'int', 'for', 'return', 'main', 'h', 'classes', 'NULL', 'errno', '_Bool', '__x', 'x/*y', 'a*/b', 'a\u202eb', 'a\u0000b',
  'line\nbreak', 'quote"back\\slash', '`code` | pipe', '', ' ', '0start', 'Ünïcødé', 'a'.repeat(10_000), 'A_B', 'a__b', 'a-b',
];

const INTERESTING_INTS = [0, 1, -1, 2, 3, -2, 5, 7, 16, 255, 1 << 20, 1 << 30, 2 ** 31 - 1, -(2 ** 31), 1e9, 2 ** 40, -(2 ** 40), 2 ** 53, Number.MAX_SAFE_INTEGER];
const INTERESTING_FLOATS = [0, -0, 1, -1, 0.5, 1e-45, 1e-30, 3e38, -3e38, 1e30, NaN, Infinity, -Infinity, 6, 1e-5];
const OPS = [
  'Conv', 'Relu', 'Add', 'Mul', 'Sub', 'Div', 'Concat', 'Reshape', 'Flatten', 'Gemm', 'MatMul', 'MaxPool', 'AveragePool',
  'GlobalAveragePool', 'Transpose', 'Squeeze', 'Unsqueeze', 'Gather', 'Slice', 'Range', 'ConstantOfShape', 'Shape', 'Cast',
  'Softmax', 'Sigmoid', 'LeakyRelu', 'Clip', 'Pad', 'BatchNormalization', 'Identity', 'Dropout', 'ReduceMean', 'Sqrt', 'Neg',
  'Constant', 'Loop', 'If', 'Unknown',
];

type Model = onnxProto.onnx.ModelProto;
type Node = onnxProto.onnx.INodeProto;
type Tensor = onnxProto.onnx.ITensorProto;

function tensorNames(g: NonNullable<Model['graph']>): string[] {
  const names = new Set<string>();
  for (const i of g.input ?? []) if (i.name) names.add(i.name);
  for (const t of g.initializer ?? []) if (t.name) names.add(t.name);
  for (const n of g.node ?? []) for (const o of n.output ?? []) names.add(o);
  return [...names];
}

function int64Tensor(name: string, values: number[], dims = [values.length]): Tensor {
  return { name, dataType: 7, dims, int64Data: values };
}

function floatTensor(name: string, values: number[], dims = [values.length]): Tensor {
  return { name, dataType: 1, dims, floatData: values };
}

/** A foldable node on fresh constants with hostile arguments (the folding bugs of issue 18). */
function hostileFoldNode(g: NonNullable<Model['graph']>, rng: Rng, k: number): void {
  const p = `fz${k}_`;
  const inits = (g.initializer ??= []);
  const nodes = (g.node ??= []);
  const I = (name: string, v: number[], dims?: number[]) => { inits.push(int64Tensor(p + name, v, dims)); return p + name; };
  const out = p + 'out';
  const big = rng.pick(INTERESTING_INTS);
  switch (rng.int(9)) {
    case 0: nodes.unshift({ opType: 'Concat', input: [], output: [out], attribute: [{ name: 'axis', type: 2, i: 0 }] }); break;
    case 1: nodes.unshift({ opType: 'Gather', input: [I('d', [1, 2]), I('i', [big])], output: [out] }); break;
    case 2: nodes.unshift({ opType: 'Unsqueeze', input: [I('d', [1, 2]), I('a', [big])], output: [out] }); break;
    case 3: nodes.unshift({ opType: 'Transpose', input: [I('d', [1, 2, 3, 4], [2, 2])], output: [out], attribute: [{ name: 'perm', type: 7, ints: [big, 0] }] }); break;
    case 4: nodes.unshift({ opType: 'ConstantOfShape', input: [I('s', [big, rng.pick(INTERESTING_INTS)])], output: [out] }); break;
    case 5: nodes.unshift({ opType: 'Slice', input: [I('d', [1, 2, 3]), I('s', [0]), I('e', [3]), I('a', [0]), I('st', [rng.pick([0, -1, big])])], output: [out] }); break;
    case 6: nodes.unshift({ opType: 'Range', input: [I('s', [0], []), I('l', [big], []), I('st', [rng.pick([0, 1, -1])], [])], output: [out] }); break;
    case 7: nodes.unshift({ opType: 'Concat', input: [I('a', Array.from({ length: 200_000 }, (_, i) => i)), I('b', [1])], output: [out], attribute: [{ name: 'axis', type: 2, i: 0 }] }); break;
    default: {
      inits.push(floatTensor(p + 'f', [rng.pick(INTERESTING_FLOATS)], []));
      nodes.unshift({ opType: rng.pick(['Div', 'Sqrt', 'Neg', 'Cast']), input: [p + 'f', p + 'f'], output: [out], attribute: [{ name: 'to', type: 2, i: 7 }] });
    }
  }
  // Feed the result somewhere, so a node that reads it must use the folded value.
  const reader = rng.pick(nodes);
  if (reader && (reader.input ?? []).length > 1 && rng.chance(0.5)) reader.input![1 + rng.int(reader.input!.length - 1)] = out;
}

/** 1 to 3 structured edits of a decoded model. */
export function mutateModel(model: Model, rng: Rng): void {
  const g = model.graph;
  if (!g) return;
  const nodes = (g.node ??= []);
  const edits = 1 + rng.int(3);
  for (let e = 0; e < edits; e++) {
    const n: Node | undefined = nodes.length ? rng.pick(nodes) : undefined;
    switch (rng.int(16)) {
      case 0: case 1: { // an attribute value
        const a = n?.attribute?.length ? rng.pick(n.attribute) : undefined;
        if (!a) break;
        if (a.ints?.length) a.ints[rng.int(a.ints.length)] = rng.pick(INTERESTING_INTS);
        else if (a.floats?.length) a.floats[rng.int(a.floats.length)] = rng.pick(INTERESTING_FLOATS);
        else if (a.type === 1) a.f = rng.pick(INTERESTING_FLOATS);
        else if (a.type === 2) a.i = rng.pick(INTERESTING_INTS);
        else if (a.t) mutateTensor(a.t, rng);
        break;
      }
      case 2: if (n) n.opType = rng.pick(OPS); break;
      case 3: if (n) nodes.splice(nodes.indexOf(n), 1); break;
      case 4: if (n) nodes.splice(rng.int(nodes.length), 0, onnx.NodeProto.fromObject(onnx.NodeProto.toObject(n as onnxProto.onnx.NodeProto))); break;
      case 5: nodes.reverse(); break;
      case 6: { // rewire an input
        if (!n?.input?.length) break;
        const names = tensorNames(g);
        const k = rng.int(n.input.length);
        if (rng.chance(0.3)) n.input.splice(k, 1);
        else n.input[k] = rng.chance(0.2) ? '' : rng.pick(names);
        break;
      }
      case 7: { // a hostile name for a node, a tensor or the graph
        const name = rng.pick(HOSTILE_NAMES);
        const which = rng.int(4);
        if (which === 0 && n) n.name = name;
        else if (which === 1) g.name = name;
        else {
          const names = tensorNames(g);
          const from = rng.pick(names);
          if (from !== undefined) renameEverywhere(g, from, name);
        }
        break;
      }
      case 8: case 9: { // an initializer's shape or data
        const t = g.initializer?.length ? rng.pick(g.initializer) : undefined;
        if (t) mutateTensor(t, rng);
        break;
      }
      case 10: { // a graph input's shape
        const vi = g.input?.length ? rng.pick(g.input) : undefined;
        const dims = vi?.type?.tensorType?.shape?.dim;
        if (dims?.length) dims[rng.int(dims.length)] = rng.chance(0.2) ? { dimParam: 'N' } : { dimValue: rng.pick(INTERESTING_INTS) };
        break;
      }
      case 11: hostileFoldNode(g, rng, e); break;
      case 12: { // opset
        const o = model.opsetImport?.[0];
        if (o) o.version = rng.pick([1, 6, 7, 9, 10, 11, 12, 13, 17, 18, 21, 22, 2 ** 40]);
        break;
      }
      case 13: { // outputs
        const outs = (g.output ??= []);
        if (outs.length && rng.chance(0.5)) outs[rng.int(outs.length)].name = rng.pick(tensorNames(g));
        else if (nodes.length) outs.push({ name: rng.pick(rng.pick(nodes).output ?? ['']) });
        break;
      }
      case 14: { // a Constant node with a hostile value
        const out = `fzc${e}`;
        nodes.unshift({ opType: 'Constant', output: [out], attribute: [{ name: 'value', type: 4, t: floatTensor('', [rng.pick(INTERESTING_FLOATS)], []) }] });
        const reader = n && (n.input ?? []).length > 1 ? n : undefined;
        if (reader) reader.input![1] = out;
        break;
      }
      default: { // swap two nodes
        if (nodes.length < 2) break;
        const i = rng.int(nodes.length), j = rng.int(nodes.length);
        [nodes[i], nodes[j]] = [nodes[j], nodes[i]];
      }
    }
  }
}

function renameEverywhere(g: NonNullable<Model['graph']>, from: string, to: string): void {
  const r = (x: string) => (x === from ? to : x);
  for (const n of g.node ?? []) { n.input = (n.input ?? []).map(r); n.output = (n.output ?? []).map(r); }
  for (const t of g.initializer ?? []) if (t.name === from) t.name = to;
  for (const v of [...(g.input ?? []), ...(g.output ?? [])]) if (v.name === from) v.name = to;
}

function mutateTensor(t: Tensor, rng: Rng): void {
  switch (rng.int(6)) {
    case 0: if (t.dims?.length) t.dims[rng.int(t.dims.length)] = rng.pick(INTERESTING_INTS); break;
    case 1: t.dims = [...(t.dims ?? []), rng.pick([1, 2, 0])]; break;
    case 2: t.dataType = rng.pick([1, 6, 7, 10, 11, 2, 0, 99]); break;
    case 3: if (t.rawData?.length) t.rawData = t.rawData.subarray(0, rng.int(t.rawData.length)); break;
    default: {
      // a value: NaN, an infinity, a float32 near its maximum, ...
      const v = rng.pick(INTERESTING_FLOATS);
      if (t.floatData?.length) t.floatData[rng.int(t.floatData.length)] = v;
      else if (t.rawData && t.rawData.length >= 4 && t.dataType === 1) {
        const copy = Uint8Array.from(t.rawData);
        new DataView(copy.buffer).setFloat32(4 * rng.int(copy.length >> 2), v, true);
        t.rawData = copy;
      } else if (t.rawData && t.rawData.length >= 8 && t.dataType === 7) {
        const copy = Uint8Array.from(t.rawData);
        new DataView(copy.buffer).setBigInt64(8 * rng.int(copy.length >> 3), BigInt(Math.trunc(rng.pick(INTERESTING_INTS))), true);
        t.rawData = copy;
      } else if (t.int64Data?.length) t.int64Data[rng.int(t.int64Data.length)] = rng.pick(INTERESTING_INTS);
    }
  }
}

/** A structured ONNX mutant (falls back to byte damage when the seed does not decode). */
export function mutateOnnx(seed: Uint8Array, rng: Rng): Uint8Array {
  let model: Model;
  try {
    model = onnx.ModelProto.decode(seed);
  } catch {
    return mutateBytes(seed, rng);
  }
  mutateModel(model, rng);
  return onnx.ModelProto.encode(model).finish();
}

/** A mutated JSON document: values replaced by hostile ones, keys dropped or added, or text damage. */
export function mutateJson(text: string, rng: Rng): string {
  if (rng.chance(0.25)) return new TextDecoder().decode(mutateBytes(new TextEncoder().encode(text), rng));
  const data = JSON.parse(text) as unknown;
  const hostile: unknown[] = [null, 0, -1, 3, 16, 4, 8, 1e308, -1e308, 'x', '', {}, [], true, 2 ** 53, 0.5, ...HOSTILE_NAMES.slice(0, 12)];
  const edits = 1 + rng.int(3);
  let root = data;
  for (let e = 0; e < edits; e++) {
    // walk to a random container
    let node = root as Record<string, unknown> | unknown[];
    for (let depth = 0; depth < 6; depth++) {
      const keys = node && typeof node === 'object' ? Object.keys(node) : [];
      if (keys.length === 0 || rng.chance(0.3)) break;
      const child = (node as Record<string, unknown>)[rng.pick(keys)];
      if (child && typeof child === 'object') node = child as Record<string, unknown>;
      else break;
    }
    if (!node || typeof node !== 'object') { root = rng.pick(hostile); continue; }
    const keys = Object.keys(node);
    const op = rng.int(4);
    if (op === 0 && keys.length) delete (node as Record<string, unknown>)[rng.pick(keys)];
    else if (op === 1) (node as Record<string, unknown>)[rng.pick([...keys, ...HOSTILE_NAMES.slice(0, 8)])] = rng.pick(hostile);
    else if (keys.length) (node as Record<string, unknown>)[rng.pick(keys)] = rng.pick(hostile);
  }
  return JSON.stringify(root);
}
