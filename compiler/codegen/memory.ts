// Static memory planning: every activation and scratch buffer of a model gets an offset in one
// arena, chosen by lifetime so that buffers never live at the same time can share bytes.
//
// Placement is greedy like TFLite Micro's GreedyMemoryPlanner (each buffer at the lowest offset
// that overlaps no placed buffer of overlapping lifetime), run over a few orders (largest first as
// TFLM does, first use, bytes x lifetime, longest lifetime) keeping the smallest result. Unlike TFLM, the
// plan is made at compile time and its size is printed next to the lower bound (the largest sum
// of live bytes at any step), so nobody has to find the arena size "by experimentation".

/** A buffer that needs its own bytes from step `first` to step `last` (op indices, inclusive). */
export interface BufferRequest {
  name: string;
  bytes: number;
  first: number;
  last: number;
}

/**
 * A buffer that lives inside another one's bytes instead of getting its own: a concat input
 * written straight into its slice of the output, a reshape view, or an op run in place.
 */
export interface AliasRequest {
  name: string;
  of: string;
  offset: number;
  /** The alias's own lifetime; the storage it lives in is kept alive for it. */
  first: number;
  last: number;
}

export interface ArenaPlan {
  /** Byte offset of every buffer and alias in the arena. */
  offsets: Map<string, number>;
  /** Arena size in bytes (a multiple of `alignment`). */
  arenaBytes: number;
  /** Largest sum of live buffer bytes at any one step: no plan can be smaller. */
  lowerBound: number;
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

interface Root {
  name: string;
  bytes: number;
  first: number;
  last: number;
}

/** Follows alias chains to the buffer that owns the bytes; returns it and the total offset. */
function resolveAlias(
  name: string,
  buffers: Map<string, BufferRequest>,
  aliases: Map<string, AliasRequest>,
): { root: string; offset: number } {
  let offset = 0;
  let cur = name;
  const seen = new Set<string>();
  while (aliases.has(cur)) {
    if (seen.has(cur)) throw new Error(`internal: alias cycle through ${cur}`);
    seen.add(cur);
    const a = aliases.get(cur)!;
    offset += a.offset;
    cur = a.of;
  }
  if (!buffers.has(cur)) throw new Error(`internal: alias ${name} resolves to unknown buffer ${cur}`);
  return { root: cur, offset };
}

/** Places buffers in the given order, each at the lowest offset free during its lifetime. */
function greedyPlace(order: Root[], alignment: number): { offsets: Map<string, number>; arenaBytes: number } {
  const placed: Array<Root & { offset: number }> = [];
  const offsets = new Map<string, number>();
  let arenaBytes = 0;
  for (const r of order) {
    const size = alignUp(r.bytes, alignment);
    // Intervals already taken by buffers alive at the same time, sorted by offset.
    const busy = placed
      .filter((p) => p.first <= r.last && r.first <= p.last)
      .map((p) => [p.offset, p.offset + alignUp(p.bytes, alignment)] as const)
      .sort((x, y) => x[0] - y[0]);
    let offset = 0;
    for (const [start, end] of busy) {
      if (offset + size <= start) break;
      offset = Math.max(offset, end);
    }
    placed.push({ ...r, offset });
    offsets.set(r.name, offset);
    arenaBytes = Math.max(arenaBytes, offset + size);
  }
  return { offsets, arenaBytes };
}

export function planArena(
  bufferList: BufferRequest[],
  aliasList: AliasRequest[] = [],
  alignment = 4,
): ArenaPlan {
  const buffers = new Map(bufferList.map((b) => [b.name, b]));
  const aliases = new Map(aliasList.map((a) => [a.name, a]));
  for (const a of aliasList) {
    if (buffers.has(a.name)) throw new Error(`internal: ${a.name} is both a buffer and an alias`);
  }

  // A root's lifetime covers every alias that lives in it.
  const roots = new Map<string, Root>();
  for (const b of bufferList) roots.set(b.name, { ...b });
  for (const a of aliasList) {
    const { root, offset } = resolveAlias(a.name, buffers, aliases);
    const r = roots.get(root)!;
    r.first = Math.min(r.first, a.first);
    r.last = Math.max(r.last, a.last);
    if (offset < 0) throw new Error(`internal: alias ${a.name} at negative offset`);
  }

  // Greedy placement is order-dependent; TFLM's order (largest first) is one of a few cheap ones.
  // Try each and keep the smallest arena (ties: the first order), which is still deterministic.
  const byName = (x: Root, y: Root) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0);
  const orders: Array<(x: Root, y: Root) => number> = [
    (x, y) => y.bytes - x.bytes || x.first - y.first || byName(x, y),
    (x, y) => x.first - y.first || y.bytes - x.bytes || byName(x, y),
    (x, y) => y.bytes * (y.last - y.first + 1) - x.bytes * (x.last - x.first + 1) || y.bytes - x.bytes || byName(x, y),
    (x, y) => y.last - y.first - (x.last - x.first) || y.bytes - x.bytes || byName(x, y),
  ];
  let best: { offsets: Map<string, number>; arenaBytes: number } | undefined;
  for (const order of orders) {
    const placed = greedyPlace([...roots.values()].sort(order), alignment);
    if (!best || placed.arenaBytes < best.arenaBytes) best = placed;
  }
  const offsets = best!.offsets;
  const arenaBytes = best!.arenaBytes;
  for (const a of aliasList) {
    const { root, offset } = resolveAlias(a.name, buffers, aliases);
    offsets.set(a.name, offsets.get(root)! + offset);
  }

  const steps = new Set<number>();
  for (const r of roots.values()) steps.add(r.first);
  let lowerBound = 0;
  for (const s of steps) {
    let live = 0;
    for (const r of roots.values()) if (r.first <= s && s <= r.last) live += r.bytes;
    lowerBound = Math.max(lowerBound, live);
  }
  return { offsets, arenaBytes, lowerBound };
}
