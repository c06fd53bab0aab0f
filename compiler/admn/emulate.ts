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
