// How each activation tensor is stored: INT4 tensors two per byte (packed, first value in the low
// nibble, as INT4 weights; an odd count leaves the last high nibble 0), everything else one value
// per byte. Only storage differs: a packed tensor holds the same values in [-8, 7] the emulator
// computes, and the kernels unpack windows of it (runtime-c/src/s4_act.c).
//
// A 4-bit tensor stays byte-stored when
// - the graph says so: QGraph.int4Activations 'bytes' (--int4-activations bytes) stores every
//   tensor one value per byte, trading the smaller arena for the faster byte kernels;
// - it is a graph input or output: the API's structs hold one int8 per value, and the layout
//   conversion at the boundary is a byte permute;
// - an op that writes or reads it has no packed entry point (PACKED_KINDS: the conv family but
//   conv_transpose, pooling, global average pool, add, mul, table lookups). The others (softmax,
//   pad, permute with a real permutation, slice, reduce, resize, PRelu, log-softmax, LSTM / GRU,
//   transposed conv) move or reduce values by index arithmetic of their own; they run on the
//   byte-stored form;
// - it shares bytes with such a tensor: a reshape (or identity permute) view, or a concat on the
//   outermost axis whose inputs live in their slices. Such a group is packed only as a whole, and a
//   concat group only when every input but the last has an even count (its slice starts on a byte)
//   and the concat is contiguous (a non-contiguous concat copies with byte strides).
import { concatIsContiguous } from '../codegen/arena.ts';
import type { Int4Activations, QGraph, QOp } from './qgraph.ts';

/** Op kinds whose C call reads and writes packed tensors (the s4a entry points of tm2.h). */
export const PACKED_KINDS: ReadonlySet<QOp['op']> = new Set(['conv', 'depthwise', 'pointwise', 'dense', 'maxpool', 'avgpool', 'gap', 'add', 'mul', 'lut']);

const cache = new WeakMap<QGraph, ReadonlySet<string>>();

function isView(op: QOp): boolean {
  return op.op === 'reshape' || (op.op === 'permute' && !op.perm);
}

/** The tensors of `q` stored packed (a pure function of the graph; cached per QGraph object). */
export function packedActivations(q: QGraph): ReadonlySet<string> {
  const hit = cache.get(q);
  if (hit) return hit;
  if (q.int4Activations === 'bytes') {
    const none = new Set<string>();
    cache.set(q, none);
    return none;
  }
  const parent = new Map<string, string>();
  const find = (t: string): string => {
    let r = t;
    while (parent.has(r)) r = parent.get(r)!;
    return r;
  };
  const union = (a: string, b: string) => {
    const ra = find(a), rb = find(b);
    if (ra !== rb) parent.set(ra, rb);
  };
  const count = (t: string) => q.tensors.get(t)!.shape.reduce((x, y) => x * y, 1);
  const byteOnly = new Set<string>([...q.inputs, ...q.outputs]);
  for (const [name, t] of q.tensors) if (t.bits !== 4) byteOnly.add(name);
  for (const op of q.ops) {
    if (isView(op)) union(op.output, op.inputs[0]);
    else if (op.op === 'concat') {
      for (const x of op.inputs) union(op.output, x);
      const aligned = op.inputs.slice(0, -1).every((x) => count(x) % 2 === 0);
      if (!concatIsContiguous(q, op) || !aligned) byteOnly.add(op.output);
    } else if (!PACKED_KINDS.has(op.op)) {
      for (const t of [...op.inputs, op.output]) byteOnly.add(t);
    }
  }
  const badGroups = new Set([...byteOnly].map(find));
  const packed = new Set<string>();
  for (const name of q.tensors.keys()) if (!badGroups.has(find(name))) packed.add(name);
  cache.set(q, packed);
  return packed;
}

/** Arena bytes per 4-bit element at most, as the ILP's RAM constraint and compile's shape check count them. */
export function int4BytesPerElement(storage: Int4Activations | undefined): number {
  return storage === 'bytes' ? 1 : 0.5;
}

/** Bytes a tensor takes in the arena: ceil(n / 2) packed, n otherwise. */
export function storedBytes(q: QGraph, name: string): number {
  const t = q.tensors.get(name);
  if (!t) throw new Error(`internal: QGraph ${q.name} has no tensor ${name}`);
  const n = t.shape[0] * t.shape[1] * t.shape[2];
  return packedActivations(q).has(name) ? (n + 1) >> 1 : n;
}

/** TM2_S4A_IN_PACKED | TM2_S4A_OUT_PACKED for an op (tm2.h), 0 when it touches no packed tensor. */
export function packedIO(q: QGraph, op: QOp): { flags: number; ins: boolean[]; out: boolean } {
  const p = packedActivations(q);
  const ins = op.inputs.map((x) => p.has(x));
  const out = p.has(op.output);
  return { flags: (ins.some((b) => b) ? 1 : 0) | (out ? 2 : 0), ins, out };
}
