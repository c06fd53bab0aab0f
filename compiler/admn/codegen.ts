// What the code generator adds for ADMN blocks: the block-mask guards around each block's ops, the
// identity copy of a skipped block, and the API text (templates/c/model.{c,h}.hbs, `admn`).
//
//   void tm2_<name>_run_layers(const tm2_<name>_inputs *in, tm2_<name>_outputs *out, uint32_t block_mask);
//
// bit b of block_mask = block b (declaration order) runs; a skipped block's output is a memmove of its
// input (same bytes, same quantization: blocks.ts), so the layers after it read it as if the block had
// run as the identity. The arena plan stays valid: the block's inner tensors are read only inside it,
// and its output is written at the step of its Add, as when it runs. Multi-head models also get
// tm2_<name>_run_heads_layers(in, out, mask, block_mask) (DynaFuse branch skipping and depth together).
import type { QGraph } from '../quant/qgraph.ts';
import { cIdentifier, commentText } from '../codegen/names.ts';
import { allBlocksMask, type AdmnBlocks } from './blocks.ts';
import { blockOfOp } from './emulate.ts';

export interface AdmnCodegen {
  /** The statements of op k, guarded by its block's bit (unchanged outside blocks). */
  wrap(k: number, stmts: string[]): string[];
  /** Template context. */
  context: { allBlocks: string; count: number; blocks: Array<{ macro: string; bit: string; index: number; modality: string; depth: number; input: string; output: string }> };
}

const hex = (m: number) => `0x${(m >>> 0).toString(16)}u`;

export function admnCodegen(q: QGraph, admn: AdmnBlocks, NAME: string, at: (tensor: string) => string): AdmnCodegen {
  const blockOf = blockOfOp(q, admn);
  const indent = (s: string[]) => s.map((l) => `  ${l}`);
  return {
    wrap(k, stmts) {
      const b = blockOf[k];
      if (b < 0) return stmts;
      const block = admn.blocks[b];
      const bit = hex(2 ** b);
      if (q.ops[k].output !== block.output) return [`  if (block_mask & ${bit}) {`, ...indent(stmts), '  }'];
      return [
        `  if (block_mask & ${bit}) {`,
        ...indent(stmts),
        '  } else {',
        `    memmove(${at(block.output)}, ${at(block.input)}, ${block.bytes}); /* block ${b} skipped: y = x (one quantization) */`,
        '  }',
      ];
    },
    context: {
      allBlocks: hex(allBlocksMask(admn)),
      count: admn.blocks.length,
      blocks: admn.blocks.map((b) => {
        const depth = admn.blocksOf[b.modality].indexOf(b.bit);
        return { macro: `TM2_${NAME}_BLOCK_${cIdentifier(b.modality).toUpperCase()}_${depth}`, bit: hex(2 ** b.bit), index: b.bit, modality: commentText(b.modality), depth, input: commentText(b.input), output: commentText(b.output) };
      }),
    },
  };
}
