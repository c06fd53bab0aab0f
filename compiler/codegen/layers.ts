// One runtime-c kernel call per QOp: its parameter struct (const, in flash), its constant arrays
// (weights, biases, requantization data, tables; in <name>_weights.c) and the call itself with
// the arena offsets of its tensors. What each kind writes is its KernelDef's emitC
// (compiler/kernels/); this module collects them. runtime-c/include/tm2.h documents the mapping.
import { C_ARRAY_BYTES, type CArrayType } from '../kernels/kernel.ts';
import { kernelOf } from '../kernels/registry.ts';
import type { QGraph, QTensor } from '../quant/qgraph.ts';
import type { ModelMemory } from './arena.ts';
import { intRows } from './cformat.ts';
import { commentText } from './names.ts';

/** One op as reports show it. */
export interface LayerReport {
  index: number;
  name: string;
  kind: string;
  output: [number, number, number];
  weightBits?: 4 | 8;
  activationBits: 4 | 8;
  weightBytes: number;
  macs: number;
  /** Where the op writes its output: "arena+OFFSET" or "out.FIELD" / "in.FIELD" (+offset when not 0). */
  writes: string;
}

export interface LayerCode {
  /** extern declarations of the constant arrays (in <name>.c) and their definitions (in <name>_weights.c). */
  weightDecls: string[];
  weightDefs: string[];
  /** static const parameter structs and index arrays (in <name>.c). */
  params: string[];
  /** Per op: a comment line, then its statements (the body of tm2_<name>_run). */
  body: string[];
  /** Per kernel with scratch: a test that it needs no more than planned (TM2_SELF_CHECK). */
  selfChecks: string[];
  layers: LayerReport[];
  weightBytes: number;
  macs: number;
}

export function shapeOf(q: QGraph, name: string): QTensor {
  const t = q.tensors.get(name);
  if (!t) throw new Error(`internal: QGraph ${q.name} has no tensor ${name}`);
  return t;
}

/** Where a tensor's bytes are: as a C expression (`at`) and as report text (`where`). */
export function tensorPlaces(memory: ModelMemory, ioIds: Map<string, string>): { at: (t: string) => string; where: (t: string) => string } {
  return {
    at: (t) => {
      const ext = memory.external.get(t);
      if (!ext) return `A + ${memory.tensorOffset.get(t)!}`;
      return `${ext.kind === 'input' ? 'in' : 'out'}->${ioIds.get(ext.tensor)!} + ${ext.offset}`;
    },
    where: (t) => {
      const ext = memory.external.get(t);
      if (!ext) return `arena+${memory.tensorOffset.get(t)!}`;
      return `${ext.kind === 'input' ? 'in' : 'out'}.${ioIds.get(ext.tensor)!}${ext.offset ? `+${ext.offset}` : ''}`;
    },
  };
}

/** The C of every op of `q`, with tensors placed by `memory`; identifiers start with `prefix`. */
export function emitLayers(q: QGraph, memory: ModelMemory, prefix: string, ioIds: Map<string, string>): LayerCode {
  const { at, where } = tensorPlaces(memory, ioIds);
  // ---- weights and parameters ---------------------------------------------------------------
  const weightDecls: string[] = []; // extern declarations, in <name>.c
  const weightDefs: string[] = []; // definitions, in <name>_weights.c
  let weightBytes = 0;
  const defineArray = (ctype: CArrayType, id: string, values: ArrayLike<number>, comment: string, perLine = 16) => {
    const bytes = values.length * C_ARRAY_BYTES[ctype];
    weightBytes += bytes;
    weightDecls.push(`extern const ${ctype} ${id}[${values.length}];`);
    weightDefs.push(`/* ${commentText(comment)} */\nTM2_ALIGN4 const ${ctype} ${id}[${values.length}] = {\n${intRows(values, perLine)}\n};`);
  };

  const params: string[] = []; // static const parameter structs, in <name>.c
  const body: string[] = []; // statements of tm2_<name>_run
  const layers: LayerReport[] = [];
  const selfChecks: string[] = [];
  let macs = 0;

  q.ops.forEach((op, i) => {
    const outT = shapeOf(q, op.output);
    const inPlace = memory.inPlace.has(i) ? ' (in place)' : '';
    const comment = `/* ${i}: ${op.op} ${commentText(op.name)} -> [${outT.shape.join(', ')}]${inPlace} */`;
    const report: LayerReport = { index: i, name: op.name, kind: op.op, output: outT.shape, activationBits: outT.bits, weightBytes: 0, macs: 0, writes: where(op.output) };
    const before = weightBytes;
    kernelOf(op).emitC(op, {
      q, memory, index: i, id: `l${i}`, prefix, at, outT, comment, report,
      defineArray,
      param: (text) => params.push(text),
      statement: (text) => body.push(text),
      selfCheck: (text) => selfChecks.push(text),
    });
    macs += report.macs;
    report.weightBytes = weightBytes - before;
    layers.push(report);
  });

  return { weightDecls, weightDefs, params, body, selfChecks, layers, weightBytes, macs };
}
