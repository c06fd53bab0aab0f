// ADMN skippable blocks: how a model declares them, and the checks that make skipping one exact.
//
// Declaration: the ONNX model's metadata_props entry `tinym2.admn.blocks`, a JSON array, one object per
// block in bit order (block b = bit b of the block mask):
//     [{"modality": "image", "input": "<residual input tensor>", "output": "<the Add's output tensor>"}, ...]
// (examples/*/train_admn.py write it after torch.onnx.export). A tensor-name annotation rather than a
// node-name convention because exporters rename nodes freely, while the residual's two tensors are
// exactly what skipping needs: a skipped block turns `output` into a copy of `input`.
//
// A block is skippable when (checked here, exit 2 otherwise):
// - `output` is made by an Add of two activations, one of them `input` itself (y = x + f(x)), with the
//   same shape as `input`, and no activation folded after the Add (then y = relu(x + f(x)) != x);
// - the ops of f (everything between `input` and `output`) read nothing from outside the block but
//   `input`, and nothing outside reads their results (so skipping them changes no other tensor).
// Quantization: every declared block's input and output share one scale and zero point, the union of
// the residual stream's calibrated ranges (`tiedTensors` -> LowerOptions.tiedTensors), so the skip is a
// byte copy, no requantization.
import { TinyM2Error } from '../errors.ts';
import type { Graph } from '../ir.ts';
import type { QGraph } from '../quant/qgraph.ts';
import { packedActivations, storedBytes } from '../quant/act-storage.ts';

export const ADMN_METADATA_KEY = 'tinym2.admn.blocks';
/** The block mask is a uint32_t on the device. */
export const MAX_BLOCKS = 32;

export interface BlockDeclaration {
  modality: string;
  input: string;
  output: string;
}

/** A declared block located in the QGraph. */
export interface AdmnBlock extends BlockDeclaration {
  /** Bit of the block mask. */
  bit: number;
  /** Indices into q.ops of f and the residual Add, in op order; the Add is the last. */
  ops: number[];
  /** Bytes of the residual stream tensor (what a skip copies). */
  bytes: number;
}

export interface AdmnBlocks {
  blocks: AdmnBlock[];
  /** Modalities in order of their first block. */
  modalities: string[];
  /** Block bits of each modality, in depth order (block k of modality m = blocksOf[m][k]). */
  blocksOf: Record<string, number[]>;
}

/** The declarations in a model's metadata (as imported: Graph.metadata), or undefined when it has none. */
export function readBlockDeclarations(graph: Pick<Graph, 'file' | 'metadata'>): BlockDeclaration[] | undefined {
  const file = graph.file;
  const text = graph.metadata?.[ADMN_METADATA_KEY];
  if (text === undefined) return undefined;
  const entry = { value: text };
  const bad = (why: string): never => {
    throw new TinyM2Error(`${file}: metadata '${ADMN_METADATA_KEY}' ${why}; expected a JSON array of {"modality", "input", "output"} (compiler/admn/README.md)`);
  };
  let value: unknown;
  try {
    value = JSON.parse(entry.value ?? '');
  } catch (e) {
    return bad(`is not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(value) || value.length === 0) return bad('is not a non-empty array');
  if (value.length > MAX_BLOCKS) return bad(`declares ${value.length} blocks, at most ${MAX_BLOCKS} fit the uint32_t block mask`);
  return value.map((v, i) => {
    const o = v as Record<string, unknown>;
    for (const k of ['modality', 'input', 'output']) if (typeof o?.[k] !== 'string' || !o[k]) bad(`entry ${i} has no string '${k}'`);
    return { modality: o.modality as string, input: o.input as string, output: o.output as string };
  });
}

/** Checks the declarations against the float graph (before quantization); exit 2 with the block named. */
export function checkBlocksInGraph(graph: Graph, decls: BlockDeclaration[]): void {
  const producer = new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const readers = new Map<string, string[]>();
  for (const n of graph.nodes) for (const i of n.inputs) readers.set(i, [...(readers.get(i) ?? []), n.name]);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const seen = new Set<string>();
  decls.forEach((d, b) => {
    const fail = (why: string): never => {
      throw new TinyM2Error(`${graph.file}: ADMN block ${b} (${d.modality}: '${d.input}' -> '${d.output}') is not a skippable residual block: ${why}`, { details: { block: b, ...d } });
    };
    if (seen.has(d.output)) fail('another block declares the same output');
    seen.add(d.output);
    const xi = graph.tensors.get(d.input), yi = graph.tensors.get(d.output);
    if (!xi) fail(`the model has no tensor '${d.input}'`);
    if (!yi) fail(`the model has no tensor '${d.output}'`);
    if (xi!.shape.join('x') !== yi!.shape.join('x')) fail(`input shape [${xi!.shape}] differs from output shape [${yi!.shape}]`);
    const add = producer.get(d.output);
    if (!add || add.op !== 'Add' || ('constant' in add && add.constant) || add.inputs.length !== 2) fail(`'${d.output}' is not made by an Add of two activations`);
    if (!add!.inputs.includes(d.input)) fail(`the Add '${add!.name}' does not read '${d.input}' (y = x + f(x) needs the residual itself)`);
    // f: every node from the Add's other input back to the block input.
    const inside = new Set<string>([add!.name]);
    const stack = add!.inputs.filter((t) => t !== d.input);
    while (stack.length) {
      const t = stack.pop()!;
      const n = producer.get(t);
      if (!n) fail(`f reads '${t}', which comes from outside the block (a graph input)`);
      if (inside.has(n!.name)) continue;
      inside.add(n!.name);
      for (const i of n!.inputs) if (i !== d.input) stack.push(i);
    }
    for (const name of inside) {
      const n = graph.nodes.find((m) => m.name === name)!;
      for (const o of n.outputs) {
        if (o === d.output) continue;
        if (outputs.has(o)) fail(`'${o}' inside the block is a graph output`);
        for (const r of readers.get(o) ?? []) if (!inside.has(r)) fail(`'${o}' inside the block is also read by node '${r}' outside it`);
      }
    }
    // An activation folded after the Add would make the block y = act(x + f(x)), not x when skipped.
    const after = readers.get(d.output) ?? [];
    const act = after.length === 1 ? graph.nodes.find((m) => m.name === after[0]) : undefined;
    if (act && (act.op === 'Relu' || act.op === 'Clip')) fail(`its Add is followed by ${act.op} '${act.name}' only; put the activation inside f (pre-activation residual) so that a skipped block is the identity`);
  });
}

/** Groups of tensors that must share one quantization: each modality's chain of block inputs and outputs. */
export function tiedTensors(decls: BlockDeclaration[]): string[][] {
  const groups: string[][] = [];
  for (const d of decls) {
    const g = groups.find((x) => x.includes(d.input) || x.includes(d.output));
    if (g) g.push(...[d.input, d.output].filter((t) => !g.includes(t)));
    else groups.push([d.input, d.output]);
  }
  // Chains declared out of order can leave two groups that touch: merge until none do.
  for (let merged = true; merged; ) {
    merged = false;
    for (let i = 0; i < groups.length && !merged; i++) {
      for (let j = i + 1; j < groups.length && !merged; j++) {
        if (groups[j].some((t) => groups[i].includes(t))) {
          groups[i].push(...groups[j].filter((t) => !groups[i].includes(t)));
          groups.splice(j, 1);
          merged = true;
        }
      }
    }
  }
  return groups;
}

/** Locates the blocks in the lowered graph and checks that the quantizer tied their scales. */
export function resolveBlocks(q: QGraph, decls: BlockDeclaration[]): AdmnBlocks {
  const producerOp = new Map(q.ops.map((op, k) => [op.output, k] as const));
  const blocks: AdmnBlock[] = decls.map((d, bit) => {
    const x = q.tensors.get(d.input), y = q.tensors.get(d.output);
    if (!x || !y) throw new Error(`internal: ADMN block ${bit} tensors '${d.input}' / '${d.output}' are not in QGraph ${q.name}`);
    if (x.scale !== y.scale || x.zeroPoint !== y.zeroPoint || x.bits !== y.bits || x.shape.join() !== y.shape.join()) {
      throw new Error(`internal: ADMN block ${bit}: '${d.input}' and '${d.output}' were not given one quantization (${x.scale}/${x.zeroPoint} vs ${y.scale}/${y.zeroPoint})`);
    }
    const addK = producerOp.get(d.output);
    const add = addK === undefined ? undefined : q.ops[addK];
    if (!add || add.op !== 'add' || !add.inputs.includes(d.input)) throw new Error(`internal: ADMN block ${bit}: '${d.output}' is not a residual add of '${d.input}' in the QGraph`);
    const ops = new Set<number>([addK!]);
    const stack = add.inputs.filter((t) => t !== d.input);
    while (stack.length) {
      const t = stack.pop()!;
      const k = producerOp.get(t);
      if (k === undefined) throw new Error(`internal: ADMN block ${bit}: '${t}' has no producer inside the block`);
      if (ops.has(k)) continue;
      ops.add(k);
      for (const i of q.ops[k].inputs) if (i !== d.input) stack.push(i);
    }
    // Skipping copies x's bytes over y's: both must be stored alike (compiler/quant/act-storage.ts).
    const packed = packedActivations(q);
    if (packed.has(d.input) !== packed.has(d.output)) throw new Error(`internal: ADMN block ${bit}: '${d.input}' and '${d.output}' are not stored alike (packed INT4 vs one per byte)`);
    return { ...d, bit, ops: [...ops].sort((a, b) => a - b), bytes: storedBytes(q, d.input) };
  });
  const modalities: string[] = [];
  const blocksOf: Record<string, number[]> = {};
  for (const b of blocks) {
    if (!blocksOf[b.modality]) {
      modalities.push(b.modality);
      blocksOf[b.modality] = [];
    }
    blocksOf[b.modality].push(b.bit);
  }
  return { blocks, modalities, blocksOf };
}

/** The mask with every block of every modality up to its depth: depth[m] = number of its first blocks that run. */
export function depthMask(admn: AdmnBlocks, depth: Record<string, number>): number {
  let mask = 0;
  for (const m of admn.modalities) for (const bit of admn.blocksOf[m].slice(0, depth[m] ?? admn.blocksOf[m].length)) mask |= 2 ** bit;
  return mask >>> 0;
}

export function allBlocksMask(admn: AdmnBlocks): number {
  return admn.blocks.length === 32 ? 0xffffffff : 2 ** admn.blocks.length - 1;
}
