// `loadOnnx(file)`: reads an ONNX model and returns tinym2's float IR (compiler/ir.ts), with
// static shapes everywhere, constants folded, BatchNormalization folded where possible, and
// Dropout / Identity gone. Before any node is imported, every operator type tinym2 lacks is named
// in one refusal (./scan.ts); a node whose inputs are all constants is evaluated (./fold.ts for the
// integer shape arithmetic, else through the float reference, ./fold-reference.ts); a batch fixed
// at N > 1 by the exporter becomes 1 when every op works per sample (./batch.ts). Everything a user
// can get wrong is a TinyM2Error naming the file and the node.
import { readFileSync, statSync } from 'node:fs';
import type { Graph, TensorInfo } from '../ir.ts';
import { TinyM2Error } from '../errors.ts';
import { overLimit, resolveLimits, type InputLimits } from '../limits.ts';
import { ImportContext, type SourceNode } from './context.ts';
import { FOLDABLE, foldConstantNode } from './fold.ts';
import { foldThroughReference } from './fold-reference.ts';
import { refuseUnsupportedOps } from './scan.ts';
import { compileAsBatchOne } from './batch.ts';
import { fuseGraph } from './fuse.ts';
import { constantNodeValue, IMPORTERS, SUPPORTED_OPS } from './ops.ts';
import { Attributes, dataTypeName, decodeTensor, onnx, toNumber, type ModelProto, type NodeProto, type ValueInfoProto } from './proto.ts';
import { nodeMacs } from '../reference/layer-cost.ts';

/** ONNX operator types tinym2 imports (as IR nodes, or folded when their inputs are constants). */
export const IMPORTED_OPS: readonly string[] = [...Object.keys(IMPORTERS), 'Constant'];
/** ONNX operator types tinym2 only evaluates on constant inputs (shape arithmetic). */
export const FOLDED_ONLY_OPS: readonly string[] = [...FOLDABLE].filter((op) => !(op in IMPORTERS));

/** Opsets whose PyTorch exports tinym2 is tested with. */
export const MIN_OPSET = 7;
export const MAX_OPSET = 21;

function readModelFile(file: string, limits: InputLimits): Uint8Array {
  try {
    const size = statSync(file).size;
    if (size > limits.maxModelBytes) overLimit(file, 'maxModelBytes', size, limits);
    return readFileSync(file);
  } catch (e) {
    if (e instanceof TinyM2Error) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new TinyM2Error(`${file}: cannot read the model (${code === 'ENOENT' ? 'no such file' : code ?? String(e)})`);
  }
}

function decodeModel(file: string, bytes: Uint8Array, limits: InputLimits): ModelProto {
  if (bytes.length > limits.maxModelBytes) overLimit(file, 'maxModelBytes', bytes.length, limits);
  const notOnnx = (why: string): never => {
    throw new TinyM2Error(`${file}: not a valid ONNX model (${why}); export it with torch.onnx.export and check that the file is complete`);
  };
  if (bytes.length === 0) notOnnx('the file is empty');
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    return notOnnx(`protobuf decoding failed: ${(e as Error).message}; the file may be truncated`);
  }
  const irVersion = toNumber(model.irVersion ?? 0);
  if (!model.graph || irVersion <= 0 || irVersion > 100 || (model.graph.output ?? []).length === 0) {
    notOnnx('no ONNX graph with outputs found');
  }
  const nodes = model.graph!.node?.length ?? 0;
  if (nodes > limits.maxNodes) overLimit(file, 'maxNodes', nodes, limits);
  return model;
}

function defaultOpset(file: string, model: ModelProto): number {
  const imports = model.opsetImport ?? [];
  const main = imports.find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!main) throw new TinyM2Error(`${file}: the model imports no default-domain (ai.onnx) opset`);
  const v = toNumber(main.version ?? 0);
  if (v < MIN_OPSET || v > MAX_OPSET) {
    throw new TinyM2Error(`${file}: opset ${v} is not supported; tinym2 reads opsets ${MIN_OPSET} to ${MAX_OPSET} (re-export with opset_version=13)`);
  }
  return v;
}

/**
 * Static shape of a graph input. The batch dimension (0) may be symbolic: it becomes `batch`, which is 1
 * unless the exporter fixed a batch N (then the graph is imported at N and rewritten to 1 afterwards).
 */
function inputShape(ctx: ImportContext, vi: ValueInfoProto, batch: number): number[] {
  const name = vi.name ?? '';
  const dims = checkedDims(ctx, vi);
  return dims.map((d, i) => {
    const v = d.dimValue !== undefined && d.dimValue !== null ? toNumber(d.dimValue) : 0;
    if (v > 0) return v;
    if (i === 0) return batch;
    ctx.fail(undefined, `input '${name}' dimension ${i} is dynamic ('${d.dimParam || '?'}'); tinym2 needs static shapes except the batch: export with dynamic_axes only on axis 0`);
  });
}

function checkedDims(ctx: ImportContext, vi: ValueInfoProto) {
  const name = vi.name ?? '';
  const tt = vi.type?.tensorType;
  if (!tt) ctx.fail(undefined, `input '${name}' is not a tensor`);
  if (tt.elemType !== 1) {
    ctx.fail(undefined, `input '${name}' has data type ${dataTypeName(tt.elemType)}; tinym2 models take FLOAT (float32) inputs`);
  }
  const dims = tt.shape?.dim;
  if (!dims) ctx.fail(undefined, `input '${name}' has no shape; export with a fixed input shape (dummy input of the real size)`);
  return dims;
}

/** The batch the exporter fixed on the inputs (1 when none or symbolic); inputs that disagree are refused. */
function exportedBatch(ctx: ImportContext, inputs: ValueInfoProto[]): number {
  const fixed = new Map<number, string>();
  for (const vi of inputs) {
    const d = checkedDims(ctx, vi)[0];
    const v = d && d.dimValue !== undefined && d.dimValue !== null ? toNumber(d.dimValue) : 0;
    if (v > 0 && !fixed.has(v)) fixed.set(v, vi.name ?? '');
  }
  if (fixed.size > 1) {
    ctx.fail(undefined, `inputs ${[...fixed].map(([b, n]) => `'${n}' (batch ${b})`).join(' and ')} have different batch sizes; tinym2 compiles batch 1: export with a batch of 1 or a dynamic batch axis`);
  }
  return fixed.size === 1 ? [...fixed.keys()][0] : 1;
}

/**
 * Kahn's order over the ONNX nodes, in linear time: each node counts the inputs it still waits for,
 * and a node becomes ready when the last one is produced. Among ready nodes the earliest in the file
 * goes first (a binary heap), so a sorted file keeps its order. Nodes that never become ready (a
 * dangling input or a cycle) follow in file order: the importer reports the missing input on them.
 */
export function topologicalOrder(nodes: NodeProto[], known: Set<string>): NodeProto[] {
  const waiting = new Int32Array(nodes.length);
  const consumers = new Map<string, number[]>();
  const heap: number[] = [];
  const push = (i: number) => {
    heap.push(i);
    for (let k = heap.length - 1; k > 0; ) {
      const parent = (k - 1) >> 1;
      if (heap[parent] <= heap[k]) break;
      [heap[parent], heap[k]] = [heap[k], heap[parent]];
      k = parent;
    }
  };
  const pop = (): number => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let k = 0; ; ) {
        const l = 2 * k + 1, r = l + 1;
        let m = k;
        if (l < heap.length && heap[l] < heap[m]) m = l;
        if (r < heap.length && heap[r] < heap[m]) m = r;
        if (m === k) break;
        [heap[m], heap[k]] = [heap[k], heap[m]];
        k = m;
      }
    }
    return top;
  };
  nodes.forEach((n, i) => {
    const pending = new Set((n.input ?? []).filter((x) => x && !known.has(x)));
    waiting[i] = pending.size;
    for (const x of pending) {
      const list = consumers.get(x);
      if (list) list.push(i);
      else consumers.set(x, [i]);
    }
    if (pending.size === 0) push(i);
  });
  const produced = new Set<string>();
  const placed = new Uint8Array(nodes.length);
  const out: NodeProto[] = [];
  while (heap.length > 0) {
    const i = pop();
    placed[i] = 1;
    out.push(nodes[i]);
    for (const o of nodes[i].output ?? []) {
      if (!o || produced.has(o) || known.has(o)) continue; // a name produced twice is reported by the importer
      produced.add(o);
      for (const c of consumers.get(o) ?? []) if (--waiting[c] === 0) push(c);
    }
  }
  nodes.forEach((n, i) => { if (!placed[i]) out.push(n); });
  return out;
}

function renameTensor(graph: Graph, from: string, to: string): void {
  for (const n of graph.nodes) {
    n.inputs = n.inputs.map((x) => (x === from ? to : x));
    n.outputs = n.outputs.map((x) => (x === from ? to : x));
  }
  const t = graph.tensors.get(from);
  if (t) {
    graph.tensors.delete(from);
    graph.tensors.set(to, { ...t, name: to });
  }
}

/** Reads and imports an ONNX file; `limits` overrides the caps of compiler/limits.ts. */
export function loadOnnx(file: string, limits: Partial<InputLimits> = {}): Graph {
  const resolved = resolveLimits(limits);
  return importOnnx(readModelFile(file, resolved), file, resolved);
}

/** Imports an ONNX model from its bytes; `file` names it in messages. */
export function loadOnnxBytes(bytes: Uint8Array, file: string, limits: Partial<InputLimits> = {}): Graph {
  return importOnnx(bytes, file, resolveLimits(limits));
}

function importOnnx(bytes: Uint8Array, file: string, limits: InputLimits): Graph {
  const model = decodeModel(file, bytes, limits);
  const g = model.graph!;
  const ctx = new ImportContext(file, defaultOpset(file, model), limits);

  for (const init of g.initializer ?? []) {
    const c = decodeTensor(init, init.name ?? '', limits);
    if (typeof c === 'string') return ctx.fail(undefined, c);
    ctx.addConstant(c);
  }
  if ((g.sparseInitializer ?? []).length > 0) ctx.fail(undefined, 'sparse initializers are not supported');

  const inputs: TensorInfo[] = [];
  // Old exports list initializers as inputs too.
  const inputProtos = (g.input ?? []).filter((vi) => !ctx.isConstant(vi.name ?? ''));
  const batch = exportedBatch(ctx, inputProtos);
  for (const vi of inputProtos) {
    const name = vi.name ?? '';
    const shape = inputShape(ctx, vi, batch);
    ctx.addTensor(name, shape);
    inputs.push({ name, shape, dtype: 'float32' });
  }
  if (inputs.length === 0) ctx.fail(undefined, 'the graph has no (non-constant) inputs');

  const known = new Set([...ctx.constants.keys(), ...inputs.map((i) => i.name)]);
  const ordered = topologicalOrder(g.node ?? [], known);
  refuseUnsupportedOps(file, ordered, IMPORTED_OPS, FOLDED_ONLY_OPS);
  for (const n of ordered) for (const x of n.input ?? []) if (x) ctx.read.add(x);
  for (const vi of g.output ?? []) ctx.read.add(vi.name ?? '');
  ordered.forEach((proto, index) => {
    const op = proto.opType ?? '';
    const node: SourceNode = {
      proto, op,
      name: ctx.uniqueName(proto.name || `${op}_${index}`),
      attrs: new Attributes(proto),
      inputs: (proto.input ?? []).map((x) => (x ? ctx.resolve(x) : '')),
      outputs: proto.output ?? [],
    };
    ctx.current = node;
    // ONNX lets a recurrent layer leave Y unnamed (outputs ['', 'Y_h']); every other node names its first output.
    const optionalFirst = op === 'LSTM' || op === 'GRU';
    if (node.outputs.length === 0 || (!node.outputs[0] && !(optionalFirst && node.outputs.some((o) => o)))) ctx.fail(node, 'the node has no output');
    for (const o of node.outputs) {
      if (o && (ctx.isConstant(o) || ctx.tensors.has(o))) ctx.fail(node, `output '${o}' is already produced by another node or is an input or initializer`);
    }
    const nonFinite = node.attrs.nonFinite();
    if (nonFinite.length > 0) ctx.fail(node, `attribute ${nonFinite.join(', ')} is NaN or infinite`);
    if (op === 'Constant') return constantNodeValue(ctx, node);
    if (foldConstantNode(ctx, node)) return;
    const importer = IMPORTERS[op];
    const present = node.inputs.filter((x) => x !== '');
    if (importer && present.length > 0 && present.every((x) => ctx.isConstant(x)) && foldThroughReference(ctx, node, importer)) return;
    if (!importer) {
      // The scan let it through, so it is an op tinym2 evaluates on constants only (./fold.ts).
      const live = present.find((x) => !ctx.isConstant(x)) ?? '';
      ctx.fail(node, `tinym2 evaluates ${op} on constant inputs only (shape arithmetic), and input '${live}' is an activation; tinym2 supports ${SUPPORTED_OPS}`);
    }
    importer(ctx, node);
  });
  ctx.current = undefined;

  const graph: Graph = {
    name: g.name || file.replace(/^.*\//, '').replace(/\.onnx$/, ''),
    file,
    opset: ctx.opset,
    inputs,
    outputs: [],
    nodes: ctx.nodes,
    tensors: ctx.tensors,
    constants: ctx.constants,
    metadata: Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? ''])),
  };

  for (const vi of g.output ?? []) {
    const name = vi.name ?? '';
    const actual = ctx.resolve(name);
    if (ctx.isConstant(actual)) ctx.fail(undefined, `output '${name}' is a constant (it does not depend on any input)`);
    if (!graph.tensors.has(actual)) ctx.fail(undefined, `output '${name}' is not produced by any node`);
    if (actual !== name) {
      if (inputs.some((i) => i.name === actual)) ctx.fail(undefined, `output '${name}' is a copy of input '${actual}'`);
      renameTensor(graph, actual, name);
    }
    const t = graph.tensors.get(name)!;
    const elem = vi.type?.tensorType?.elemType;
    if (elem !== undefined && elem !== null && elem !== 0 && elem !== 1) {
      ctx.fail(undefined, `output '${name}' has data type ${dataTypeName(elem)}; tinym2 models produce FLOAT (float32) outputs`);
    }
    const declared = vi.type?.tensorType?.shape?.dim;
    if (declared) {
      const ok = declared.length === t.shape.length && declared.every((d, i) => {
        const v = d.dimValue !== undefined && d.dimValue !== null ? toNumber(d.dimValue) : 0;
        return v <= 0 || i === 0 || v === t.shape[i];
      });
      if (!ok) {
        const producer = graph.nodes.find((n) => n.outputs.includes(name));
        const decl = declared.map((d) => (d.dimParam ? d.dimParam : toNumber(d.dimValue ?? 0)));
        ctx.fail(undefined, `output '${name}'${producer ? ` (from node '${producer.name}', ${producer.source})` : ''} has shape [${t.shape}] but the model declares [${decl}]`);
      }
    }
    graph.outputs.push({ ...t });
  }

  fuseGraph(graph);
  if (batch > 1) compileAsBatchOne(graph, batch);
  const macs = graph.nodes.reduce((sum, n) => sum + nodeMacs(graph, n), 0);
  if (macs > limits.maxMacs) overLimit(`${file}: one inference`, 'maxMacs', macs, limits);
  return graph;
}
