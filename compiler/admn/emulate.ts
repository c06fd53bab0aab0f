// The integer emulator with a block mask: what tm2_<name>_run_layers(in, out, block_mask) computes.
// An op of a block whose bit is clear does not run; the block's output is a copy of its input (one
// quantization for both, blocks.ts), exactly the generated code's memmove.
import { runOp, type QValues } from '../quant/emulator.ts';
import type { QGraph } from '../quant/qgraph.ts';
import type { AdmnBlocks } from './blocks.ts';

/** For each op index, the block it belongs to (or -1). */
export function blockOfOp(q: QGraph, admn: AdmnBlocks): Int32Array {
  const of = new Int32Array(q.ops.length).fill(-1);
  for (const b of admn.blocks) for (const k of b.ops) of[k] = b.bit;
  return of;
}

/** Runs the graph with the blocks of `blockMask` (bit b = block b runs); returns every computed tensor. */
export function emulateLayers(q: QGraph, admn: AdmnBlocks, inputs: Record<string, Int8Array>, blockMask: number, blockOf = blockOfOp(q, admn)): QValues {
  const values: QValues = new Map();
  for (const name of q.inputs) {
    const data = inputs[name];
    if (!data) throw new Error(`internal: no data for graph input ${name}`);
    values.set(name, data);
  }
  q.ops.forEach((op, k) => {
    const b = blockOf[k];
    if (b < 0 || (blockMask >>> b) & 1) {
      values.set(op.output, runOp(q, op, values));
    } else if (op.output === admn.blocks[b].output) {
      values.set(op.output, values.get(admn.blocks[b].input)!.slice());
    }
  });
  return values;
}

/** What a modality's branch computes at every depth, from one run of the full branch (see branchByDepth). */
export interface BranchPlan {
  /** Ops of the branch (graph order): everything its head needs. */
  ops: number[];
  /** The residual stream after d blocks is read from stream[d] (d = 0: the first block's input). */
  stream: string[];
  /** The last block's output: at depth d < D it equals stream[d] (the skipped blocks are identities). */
  last: string;
  /** Ops that depend on `last` (graph order): rerun for each depth. */
  tail: number[];
}

export function branchPlan(q: QGraph, admn: AdmnBlocks, modality: string, ops: number[]): BranchPlan {
  const bits = admn.blocksOf[modality];
  if (!bits?.length) throw new Error(`internal: modality ${modality} has no ADMN blocks`);
  const blocks = bits.map((b) => admn.blocks[b]);
  const last = blocks[blocks.length - 1].output;
  const inOps = new Set(ops);
  for (const b of blocks) for (const k of b.ops) if (!inOps.has(k)) throw new Error(`internal: block ${b.bit} of ${modality} is not in its head's ops`);
  const dependent = new Set([last]);
  const tail: number[] = [];
  for (const k of ops) {
    if (q.ops[k].inputs.some((t) => dependent.has(t))) {
      dependent.add(q.ops[k].output);
      tail.push(k);
    }
  }
  return { ops, stream: [blocks[0].input, ...blocks.map((b) => b.output)], last, tail };
}

/**
 * The branch's tensors at every depth d = 0..D: element d holds its values (tail and head output
 * included) when the first d blocks run. One full run plus D reruns of the tail: the same values as
 * emulateLayers with that modality's depth mask, by construction of the identity skip.
 */
export function branchByDepth(q: QGraph, plan: BranchPlan, inputs: Record<string, Int8Array>): QValues[] {
  const values: QValues = new Map(Object.entries(inputs));
  for (const k of plan.ops) values.set(q.ops[k].output, runOp(q, q.ops[k], values));
  const D = plan.stream.length - 1;
  const out: QValues[] = [];
  for (let d = 0; d < D; d++) {
    const v: QValues = new Map(values);
    v.set(plan.last, values.get(plan.stream[d])!);
    for (const k of plan.tail) v.set(q.ops[k].output, runOp(q, q.ops[k], v));
    out.push(v);
  }
  out.push(values);
  return out;
}
