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
//    pooling or a dense over time after an LSTM's Y.
// The bypassed nodes are left to removeDeadCode.
import type { Graph, Node } from '../ir.ts';
import { tensorSize } from '../ir.ts';
import type { RnnNode } from '../ops/rnn.ts';
import { transposeSource } from '../ops/transpose.ts';

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

export function undoSequenceViews(graph: Graph): void {
  rnnInputs(graph);
  unplaceableChains(graph);
}
