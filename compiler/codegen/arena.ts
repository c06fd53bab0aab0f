// Where every tensor and every kernel work buffer of a QGraph lives in the one static arena.
//
// Steps: graph inputs are written at step 0 (the API copies them in), op i runs at step i + 1,
// graph outputs are read at step ops + 1 (the API copies them out). A tensor lives from the step
// that writes it to the last step that reads it; a kernel's scratch lives only during its op.
//
// Three kinds of sharing make the arena smaller than "one buffer per tensor" (memory.ts places
// what is left, largest first, by lifetime):
// - reshape is a view: its output is its input's bytes;
// - concat on the outermost axis with extent > 1: each input is produced straight into its slice
//   of the output, so the concat itself copies nothing (ARITHMETIC.md "Data movement");
// - a LUT, add or mul whose input dies at that op runs in place (tm2.h allows it).
// Tensors that share bytes form a tree (each tensor links to at most one tensor whose bytes it
// uses); a link is only made when it keeps every tensor's bytes meaningful while it is alive.
import { planArena, type AliasRequest, type ArenaPlan, type BufferRequest } from './memory.ts';
import { scratchBytes } from './scratch.ts';
import { kernelOf } from '../kernels/registry.ts';
import { packedActivations, storedBytes } from '../quant/act-storage.ts';
import type { QConcatOp, QGraph, QOp } from '../quant/qgraph.ts';

export interface ModelMemory {
  plan: ArenaPlan;
  /** The buffers that own arena bytes (tensors, `scratch#<op>` and a recurrent op's `state#<op>`), lifetimes in steps: what the plan placed, for reports. */
  buffers: BufferRequest[];
  /** Arena offset of every tensor. */
  tensorOffset: Map<string, number>;
  /**
   * Per op (by index): arena offset and size of its scratch, when it needs one; `granted` >= bytes is
   * what is free from that offset on while the op runs (up to the next live buffer or the arena's
   * end): the packed-activation conv family (tm2_conv_s4a) takes it for wider bands, at no RAM cost.
   */
  scratch: Array<{ offset: number; bytes: number; granted: number } | undefined>;
  /** Per concat op (by index): which inputs are already in place (produced into their slice). */
  concatInPlace: Map<number, boolean[]>;
  /** Ops that run in place (output bytes = input bytes). */
  inPlace: Set<number>;
  /** Sum of every tensor and scratch buffer with no sharing at all, for reports. */
  unsharedBytes: number;
  /**
   * Per graph input: the op index before which it is converted into the arena; per graph output:
   * the op index after which it is copied out (-1: at the very start / end of the run).
   */
  boundaryOp: Map<string, number>;
  /**
   * Tensors that live in the caller's input / output struct instead of the arena: a graph input or
   * output whose ONNX order is its memory order (vectors, one channel, 1x1) is read / written in
   * place, with its views. `tensor` is the graph input / output, `offset` the byte offset in it.
   */
  external: Map<string, { kind: 'input' | 'output'; tensor: string; offset: number }>;
}

/** True when ONNX order and channels-last order are the same bytes (no layout conversion at the boundary). */
export function sameOrderAtBoundary(q: QGraph, name: string): boolean {
  const io = q.io[name];
  const [h, w, c] = q.tensors.get(name)!.shape;
  return io !== undefined && (io.layout === 'flat' || c === 1 || h * w === 1);
}

/** Bytes of a tensor's storage: packed INT4 tensors take half (compiler/quant/act-storage.ts). */
export function tensorBytes(q: QGraph, name: string): number {
  return storedBytes(q, name);
}

/** True when the concat's inputs are contiguous slices of its output (every axis before the concat axis is 1). */
export function concatIsContiguous(q: QGraph, op: QConcatOp): boolean {
  const shape = q.tensors.get(op.output)!.shape;
  for (let a = 0; a < op.axis; a++) if (shape[a] !== 1) return false;
  return true;
}

/** The tree of tensors that share bytes: parent link and offset inside the parent. */
class SharedStorage {
  readonly parent = new Map<string, { of: string; offset: number }>();

  root(name: string): { root: string; offset: number } {
    let offset = 0;
    let cur = name;
    for (let p = this.parent.get(cur); p; p = this.parent.get(cur)) {
      offset += p.offset;
      cur = p.of;
    }
    return { root: cur, offset };
  }

  /** Makes `name` live at `offset` bytes into `into`'s bytes; false if that would contradict an earlier link. */
  link(name: string, into: string, offset: number): boolean {
    const a = this.root(name);
    const b = this.root(into);
    if (a.root === b.root) return a.offset === b.offset + offset;
    const rel = b.offset + offset - a.offset;
    if (rel < 0) return false;
    this.parent.set(a.root, { of: b.root, offset: rel });
    return true;
  }

  /** Tensors whose bytes are shared with nobody else yet. */
  isAlone(name: string): boolean {
    if (this.parent.has(name)) return false;
    for (const p of this.parent.values()) if (p.of === name) return false;
    return true;
  }
}

export function planModelMemory(q: QGraph): ModelMemory {
  const n = q.ops.length;
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  q.ops.forEach((op, i) => {
    first.set(op.output, i + 1);
    for (const x of op.inputs) last.set(x, Math.max(last.get(x) ?? 0, i + 1));
  });
  // A graph input is brought into the arena just before the first op that reads it, a graph
  // output copied out just after the op that writes it (boundaryStep): in a model with one branch
  // per modality, each input then takes arena bytes only while its branch runs.
  const inputStep = new Map<string, number>();
  for (const name of q.inputs) {
    const readers = q.ops.flatMap((op, i) => (op.inputs.includes(name) ? [i + 1] : []));
    inputStep.set(name, readers.length ? Math.min(...readers) : 0);
    first.set(name, inputStep.get(name)!);
  }
  for (const name of q.outputs) {
    const step = q.inputs.includes(name) ? n + 1 : first.get(name)!;
    last.set(name, Math.max(last.get(name) ?? 0, step));
  }
  for (const [name, f] of first) if (!last.has(name)) last.set(name, f); // written, never read

  const storage = new SharedStorage();
  const graphIO = new Set([...q.inputs, ...q.outputs]);
  const concatInPlace = new Map<number, boolean[]>();
  const inPlace = new Set<number>();

  // Views first: a reshape output is its input.
  q.ops.forEach((op) => {
    if (op.op === 'reshape' || (op.op === 'permute' && !op.perm)) storage.link(op.output, op.inputs[0], 0);
  });
  // Concat inputs produced straight into their slice. An input used twice by concats (or twice
  // by one) keeps its own bytes for the second use and is copied there.
  q.ops.forEach((op, i) => {
    if (op.op !== 'concat' || !concatIsContiguous(q, op)) return;
    let offset = 0;
    const placed: boolean[] = [];
    for (const x of op.inputs) {
      const seenBefore = placed.length > 0 && op.inputs.slice(0, placed.length).includes(x);
      // x's bytes may move into the slice only if whatever owns them is exactly x (x itself or a
      // same-size view): a bigger owner (x already in another concat) would drag its other
      // slices over this concat's other inputs.
      const owner = storage.root(x);
      const movable = owner.offset === 0 && tensorBytes(q, owner.root) === tensorBytes(q, x);
      placed.push(!seenBefore && movable && storage.link(x, op.output, offset));
      offset += tensorBytes(q, x);
    }
    concatInPlace.set(i, placed);
  });
  // Elementwise ops in place (tm2.h allows it for lut, add and mul): the output takes the bytes of
  // an input that is read by nothing after this op and shares bytes with nothing.
  const packed = packedActivations(q);
  q.ops.forEach((op, i) => {
    if (!kernelOf(op).inPlace) return;
    for (const x of op.inputs) {
      if (packed.has(x) !== packed.has(op.output)) continue; // same bytes, same storage
      if (graphIO.has(x) || last.get(x) !== i + 1 || !storage.isAlone(x) || tensorBytes(q, x) !== tensorBytes(q, op.output)) continue;
      if (op.inputs.filter((y) => y === x).length > 1) continue; // add(x, x): fine too, but keep it simple
      if (storage.link(x, op.output, 0)) {
        inPlace.add(i);
        return;
      }
    }
  });

  // Graph inputs / outputs that need no layout conversion stay in the caller's structs: the
  // first layers read the input struct, the last ones write the output struct. Their whole
  // storage group goes along, so it must be exactly that tensor and its views.
  const groups = new Map<string, string[]>();
  for (const name of first.keys()) {
    const r = storage.root(name).root;
    groups.set(r, [...(groups.get(r) ?? []), name]);
  }
  const external: ModelMemory['external'] = new Map();
  const inputSet = new Set(q.inputs);
  for (const t of [...q.inputs, ...q.outputs]) {
    if (!sameOrderAtBoundary(q, t) || (inputSet.has(t) && q.outputs.includes(t))) continue;
    const { root, offset } = storage.root(t);
    const members = groups.get(root)!;
    if (offset !== 0 || tensorBytes(q, root) !== tensorBytes(q, t)) continue;
    if (members.some((m) => m !== t && graphIO.has(m))) continue;
    const kind = inputSet.has(t) ? 'input' : 'output';
    for (const m of members) external.set(m, { kind, tensor: t, offset: storage.root(m).offset });
  }

  const buffers: BufferRequest[] = [];
  const aliases: AliasRequest[] = [];
  let unsharedBytes = 0;
  for (const [name, f] of first) {
    const bytes = tensorBytes(q, name);
    unsharedBytes += bytes;
    if (external.has(name)) continue;
    const p = storage.parent.get(name);
    if (p) aliases.push({ name, of: p.of, offset: p.offset, first: f, last: last.get(name)! });
    else buffers.push({ name, bytes, first: f, last: last.get(name)! });
  }
  const scratchName = (i: number) => `${kernelOf(q.ops[i]).scratchIsState ? 'state' : 'scratch'}#${i}`;
  const scratchSize: number[] = q.ops.map((op) => scratchBytes(q, op));
  scratchSize.forEach((bytes, i) => {
    if (bytes > 0) {
      buffers.push({ name: scratchName(i), bytes, first: i + 1, last: i + 1 });
      unsharedBytes += bytes;
    }
  });

  const plan = planArena(buffers, aliases, 4);
  const tensorOffset = new Map<string, number>();
  for (const name of first.keys()) if (!external.has(name)) tensorOffset.set(name, plan.offsets.get(name)!);
  // Each buffer is reserved while it or a tensor living in its bytes (an alias) is alive, as planArena keeps it.
  const reserved = new Map(buffers.map((b) => [b.name, { first: b.first, last: b.last }]));
  const aliasOf = new Map(aliases.map((a) => [a.name, a.of]));
  for (const a of aliases) {
    let root = a.of;
    while (aliasOf.has(root)) root = aliasOf.get(root)!;
    const r = reserved.get(root)!;
    r.first = Math.min(r.first, a.first);
    r.last = Math.max(r.last, a.last);
  }
  const scratch = scratchSize.map((bytes, i) => {
    if (bytes <= 0) return undefined;
    const offset = plan.offsets.get(scratchName(i))!;
    let end = plan.arenaBytes;
    for (const b of buffers) {
      const at = plan.offsets.get(b.name)!, r = reserved.get(b.name)!;
      if (b.name !== scratchName(i) && r.first <= i + 1 && i + 1 <= r.last && at >= offset + bytes) end = Math.min(end, at);
    }
    return { offset, bytes, granted: end - offset };
  });
  const boundaryOp = new Map<string, number>();
  for (const name of q.inputs) boundaryOp.set(name, inputStep.get(name)! - 1);
  for (const name of q.outputs) boundaryOp.set(name, q.inputs.includes(name) ? -1 : first.get(name)! - 1);
  return { plan, buffers, tensorOffset, scratch, concatInPlace, inPlace, unsharedBytes, external, boundaryOp };
}

/** Ops that read and write overlapping bytes although they are not meant to run in place (a planning bug). */
export function overlappingOps(q: QGraph, mem: ModelMemory): string[] {
  const bad: string[] = [];
  // Places are (space, byte range): the arena, or one caller struct member.
  const place = (name: string): [string, number, number] => {
    const ext = mem.external.get(name);
    const o = ext ? ext.offset : mem.tensorOffset.get(name)!;
    return [ext ? `${ext.kind}:${ext.tensor}` : 'arena', o, o + tensorBytes(q, name)];
  };
  q.ops.forEach((op: QOp, i) => {
    if (op.op === 'reshape' || op.op === 'concat' || (op.op === 'permute' && !op.perm)) return;
    const [os, o0, o1] = place(op.output);
    if (os.startsWith('input:')) bad.push(`${op.name} writes into the caller's input ${op.output}`);
    for (const x of op.inputs) {
      const [as, a0, a1] = place(x);
      // In place means exactly the same bytes; any other overlap is a planning bug.
      const exact = mem.inPlace.has(i) && as === os && a0 === o0 && a1 === o1;
      if (as === os && a0 < o1 && o0 < a1 && !exact) bad.push(`${op.name} (${x} -> ${op.output})`);
    }
  });
  return bad;
}
