// Undoes the Squeeze / Unsqueeze / Transpose chains PyTorch exports around a recurrent layer's
// sequence, after import. A sequence lives in the QGraph as an NCL map [1, features, steps]
// (channels-last memory [steps][features]); ONNX moves it through [T, 1, 1, H] and [T, 1, H] shapes
// that have no channels-last placement. Two rewrites, both exact (they compose the index maps of
// the chain and only replace it by something with the same map):
//  - an LSTM / GRU whose input is a chain of Transpose / Reshape nodes from an NCL map [1, I, T]
//    (x_t[k] = map[k][t]) or a batch-first [1, T, I] tensor reads that tensor directly (layout 'ncl'
//    or 'nti'): a stacked layer reads the previous layer's sequence as the kernel wrote it;
//  - a Transpose / Reshape whose input is a tensor without a placement (not [1, ...] of rank 3 or 4,
//    nor a vector) and that is reached by such a chain from a placed tensor becomes one Transpose
//    (then a Reshape if ranks differ) of that tensor, e.g. the batch-first [1, T, H] PyTorch gives a
//    pooling or a dense over time after an LSTM's Y;
//  - a Slice / ReduceMean / ReduceMax (so a Gather) of such an unplaceable tensor runs on the placed
//    tensor's transpose instead, its axes carried over, then a Reshape gives the original shape:
//    PyTorch's `y[-1]` or `y.mean(0)` on a sequence-first [T, 1, H].
// The bypassed nodes are left to removeDeadCode.
import type { Graph, Node } from '../ir.ts';
import { tensorSize } from '../ir.ts';
import type { RnnNode } from '../ops/rnn.ts';
import { transposeSource } from '../ops/transpose.ts';
import { inferOutputShape } from './shapes.ts';

type View = Extract<Node, { op: 'Transpose' | 'Reshape' }>;
const isView = (n: Node | undefined): n is View => n !== undefined && (n.op === 'Transpose' || n.op === 'Reshape');

/** A shape lower.ts can place (Lowering.place): an N=1 map of rank 3 or 4, or a vector. */
export function placeable(shape: readonly number[]): boolean {
  return ((shape.length === 3 || shape.length === 4) && shape[0] === 1) || (shape.length <= 2 && (shape.length < 2 || shape[0] === 1));
}

function producers(graph: Graph): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) m.set(o, n);
  return m;
}

const shapeOf = (graph: Graph, t: string) => graph.tensors.get(t)!.shape;

/**
 * Walks back from `tensor` through view nodes. For each tensor reached (tensor itself first), `visit`
 * gets it and map, where map[k] is the flat index in that tensor of `tensor`'s element k. Stops when
 * visit returns false or the producer is not a view.
 */
function walkViews(graph: Graph, prod: Map<string, Node>, tensor: string, visit: (t: string, map: Int32Array) => boolean): void {
  let t = tensor;
  let map = Int32Array.from({ length: tensorSize(shapeOf(graph, tensor)) }, (_, k) => k);
  for (;;) {
    if (!visit(t, map)) return;
    const p = prod.get(t);
    if (!isView(p)) return;
    const src = p.inputs[0];
    if (p.op === 'Transpose') {
      const s = transposeSource(shapeOf(graph, src), p.perm);
      map = map.map((m) => s[m]);
    }
    t = src;
  }
}

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  const out: number[][] = [];
  for (const rest of permutations(n - 1)) for (let i = 0; i <= rest.length; i++) out.push([...rest.slice(0, i), n - 1, ...rest.slice(i)]);
  return out;
}

const sameMap = (a: Int32Array, b: Int32Array) => a.length === b.length && a.every((v, i) => v === b[i]);

/** An LSTM / GRU reading its sequence through views reads the NCL map or batch-first tensor behind them. */
function rnnInputs(graph: Graph): void {
  const prod = producers(graph);
  for (const n of graph.nodes) {
    if ((n.op !== 'LSTM' && n.op !== 'GRU') || n.layout === 'ncl' || !isView(prod.get(n.inputs[0]))) continue;
    const node = n as RnnNode;
    const x = shapeOf(graph, node.inputs[0]);
    const [T, I] = node.layout === 'tni' ? [x[0], x[2]] : [x[1], x[2]];
    if ((node.layout === 'tni' ? x[1] : x[0]) !== 1) continue;
    let found: { t: string; layout: 'ncl' | 'nti' } | undefined;
    walkViews(graph, prod, node.inputs[0], (t, map) => {
      const s = shapeOf(graph, t);
      if (t !== node.inputs[0] && s.length === 3 && s[0] === 1) {
        // map[t * I + k] is where x_t[k] lives in this tensor.
        if (s[1] === I && s[2] === T && map.every((m, idx) => m === (idx % I) * T + Math.floor(idx / I))) found = { t, layout: 'ncl' };
        else if (s[1] === T && s[2] === I && map.every((m, idx) => m === idx)) found = { t, layout: 'nti' };
      }
      return true;
    });
    if (found) {
      node.inputs = [found.t];
      node.layout = found.layout;
    }
  }
}

/** A view of an unplaceable tensor, reached by views from a placed one, becomes a Transpose (+ Reshape) of that one. */
function unplaceableChains(graph: Graph): void {
  const prod = producers(graph);
  const nodes: Node[] = [];
  for (const n of graph.nodes) {
    nodes.push(n);
    if (!isView(n) || placeable(shapeOf(graph, n.inputs[0])) || !placeable(shapeOf(graph, n.outputs[0]))) continue;
    let root: { t: string; map: Int32Array } | undefined;
    walkViews(graph, prod, n.outputs[0], (t, map) => {
      if (t === n.outputs[0]) return true;
      if (placeable(shapeOf(graph, t))) {
        root = { t, map };
        return false;
      }
      return true;
    });
    if (!root) continue;
    const S = shapeOf(graph, root.t), D = shapeOf(graph, n.outputs[0]);
    for (const perm of permutations(S.length).filter((p) => p[0] === 0)) {
      if (!sameMap(transposeSource(S, perm), root.map)) continue;
      const P = perm.map((p) => S[p]);
      if (!placeable(P)) continue;
      nodes.pop();
      const base = { name: n.name, source: n.source } as const;
      if (P.join() === D.join()) {
        nodes.push({ ...base, op: 'Transpose', inputs: [root.t], outputs: n.outputs, perm });
      } else {
        let mid = `${n.outputs[0]}.perm`;
        for (let i = 1; graph.tensors.has(mid); i++) mid = `${n.outputs[0]}.perm_${i}`;
        graph.tensors.set(mid, { name: mid, shape: P, dtype: 'float32' });
        nodes.push({ ...base, name: `${n.name}.perm`, op: 'Transpose', inputs: [root.t], outputs: [mid], perm });
        nodes.push({ ...base, op: 'Reshape', inputs: [mid], outputs: n.outputs, shape: [...D] });
      }
      break;
    }
  }
  graph.nodes = nodes;
}

const nonUnit = (shape: readonly number[]) => shape.map((d, a) => [d, a]).filter(([d]) => d !== 1);

function freshTensor(graph: Graph, base: string, node: Node): string {
  let name = base;
  for (let i = 1; graph.tensors.has(name); i++) name = `${base}_${i}`;
  const shape = inferOutputShape(node, node.inputs.map((t) => shapeOf(graph, t)), graph.constants);
  graph.tensors.set(name, { name, shape, dtype: 'float32' });
  return name;
}

/** A Slice or reduction of an unplaceable tensor, reached by views from a placed one, on that one's transpose. */
function axisOpsOfUnplaceable(graph: Graph): void {
  const prod = producers(graph);
  const nodes: Node[] = [];
  const transposed = new Map<string, string>(); // one transpose per placed tensor and perm, shared by its readers
  for (const n of graph.nodes) {
    nodes.push(n);
    if ((n.op !== 'Slice' && n.op !== 'ReduceMean' && n.op !== 'ReduceMax') || placeable(shapeOf(graph, n.inputs[0])) || !isView(prod.get(n.inputs[0]))) continue;
    let root: { t: string; map: Int32Array } | undefined;
    walkViews(graph, prod, n.inputs[0], (t, map) => {
      if (t !== n.inputs[0] && placeable(shapeOf(graph, t))) {
        root = { t, map };
        return false;
      }
      return true;
    });
    if (!root) continue;
    const S = shapeOf(graph, root.t), U = shapeOf(graph, n.inputs[0]);
    const perm = permutations(S.length).find((p) => p[0] === 0 && placeable(p.map((a) => S[a])) && sameMap(transposeSource(S, p), root!.map));
    if (!perm) continue;
    const V = perm.map((a) => S[a]);
    const u = nonUnit(U), v = nonUnit(V);
    if (u.length !== v.length || u.some(([d], k) => d !== v[k][0])) continue;
    const toV = new Map(u.map(([, a], k) => [a, v[k][1]]));
    nodes.pop();
    let input = root.t;
    const key = `${root.t}|${perm}`;
    if (transposed.has(key)) input = transposed.get(key)!;
    else if (perm.some((p, i) => p !== i)) {
      const t: Node = { op: 'Transpose', name: `${n.name}.perm`, source: n.source, inputs: [root.t], outputs: [''], perm };
      input = t.outputs[0] = freshTensor(graph, `${n.inputs[0]}.perm`, t);
      transposed.set(key, input);
      nodes.push(t);
    }
    let op: Node;
    if (n.op === 'Slice') {
      const starts = V.map(() => 0), steps = V.map(() => 1), counts = [...V];
      for (const [a, b] of toV) [starts[b], steps[b], counts[b]] = [n.starts[a], n.steps[a], n.counts[a]];
      op = { ...n, name: `${n.name}.axes`, inputs: [input], outputs: [''], starts, steps, counts };
    } else {
      const axes = n.axes.filter((a) => toV.has(a)).map((a) => toV.get(a)!).sort((x, y) => x - y);
      const spatial = V.map((_, i) => i).slice(2);
      op = n.op === 'ReduceMean' && axes.join() === spatial.join()
        ? { op: 'GlobalAveragePool', name: `${n.name}.axes`, source: n.source, inputs: [input], outputs: [''] }
        : { ...n, name: `${n.name}.axes`, inputs: [input], outputs: [''], axes };
    }
    op.outputs[0] = freshTensor(graph, `${n.outputs[0]}.axes`, op);
    nodes.push(op, { op: 'Reshape', name: n.name, source: n.source, inputs: [op.outputs[0]], outputs: n.outputs, shape: [...shapeOf(graph, n.outputs[0])] });
  }
  graph.nodes = nodes;
}

export function undoSequenceViews(graph: Graph): void {
  rnnInputs(graph);
  unplaceableChains(graph);
  axisOpsOfUnplaceable(graph);
}
