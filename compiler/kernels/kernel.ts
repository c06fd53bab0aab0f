// What one quantized kernel is made of. Every QGraph op kind (compiler/quant/qgraph.ts) has one
// KernelDef in ./registry.ts, and tsc refuses the registry when a piece is missing:
// - emulate: the exact integer arithmetic of the runtime-c kernel (runtime-c/ARITHMETIC.md);
// - validate: the structural checks the emulator and the C kernel silently assume;
// - emitC: the C the generator writes for it (parameter struct, constant arrays, the call);
// - scratchBytes: the work buffer the C kernel needs (must equal its tm2_*_scratch_size,
//   test/scratch-sizes.test.ts checks that on random shapes);
// - inPlace: whether the C kernel may write its output over an input of the same size (tm2.h
//   says which kernels allow it; codegen/arena.ts uses it when that input dies at this op);
// - runOps: the line test/c/run_ops.c reads to run the C kernel on one case (null: no C kernel,
//   the generator emits a memcpy or nothing).
import type { QGraph, QOpBase, QTensor, Requant } from '../quant/qgraph.ts';
import type { ModelMemory } from '../codegen/arena.ts';
import type { LayerReport } from '../codegen/layers.ts';

/** Element types of the constant arrays a kernel may define, and their sizes in bytes. */
export const C_ARRAY_BYTES = { int8_t: 1, uint8_t: 1, uint16_t: 2, int32_t: 4, uint32_t: 4 } as const;
export type CArrayType = keyof typeof C_ARRAY_BYTES;

/** The helpers validate() gets: each records a problem against the op being checked. */
export interface Validator {
  bad(msg: string): void;
  /** Multiplier in [2^30, 2^31) or 0 and 1 <= 31 - shift <= 62, n entries. */
  checkRequant(r: Requant, n: number, what: string): void;
  /** The op's clamp lies inside the output's INT8 / INT4 range. */
  checkClamp(op: { actMin: number; actMax: number }, out: QTensor): void;
  sameParams(a: QTensor, b: QTensor): void;
  /** Output extent of a window op along one axis, ONNX floor mode, or the ceil-mode one. */
  extentOk(out: number, inp: number, k: number, s: number, d: number, p0: number, p1: number): boolean;
}

/** What emitC() writes into and reads from; see compiler/codegen/layers.ts. */
export interface EmitContext {
  q: QGraph;
  memory: ModelMemory;
  /** Index of the op in q.ops. */
  index: number;
  /** C identifier of this op's parameter struct (`l<index>`). */
  id: string;
  /** Identifier prefix of the model (`<name>`). */
  prefix: string;
  /** The C expression of a tensor's first byte. */
  at(tensor: string): string;
  outT: QTensor;
  /** The op's C comment line (ends with the comment terminator). */
  comment: string;
  /** Defines a constant array in <name>_weights.c (and counts its bytes as weights). */
  defineArray(ctype: CArrayType, id: string, values: ArrayLike<number>, comment: string, perLine?: number): void;
  /** A static const parameter struct or index array in <name>.c. */
  param(text: string): void;
  /** The op's statements in tm2_<name>_run, comment first. */
  statement(text: string): void;
  /** A TM2_SELF_CHECK line (scratch no larger than planned). */
  selfCheck(text: string): void;
  report: LayerReport;
}

export interface KernelDef<O extends QOpBase & { op: string }> {
  emulate(op: O, xs: Int8Array[], inTs: QTensor[], outT: QTensor): Int8Array;
  validate(op: O, ins: QTensor[], out: QTensor, v: Validator): void;
  emitC(op: O, e: EmitContext): void;
  scratchBytes(op: O, ins: QTensor[]): number;
  /** The scratch is the op's state (a recurrent layer's, live across its whole sequence): reports name it `state#<op>`. */
  scratchIsState?: boolean;
  inPlace: boolean;
  runOps: ((op: O, xs: Int8Array[], inTs: QTensor[], outT: QTensor) => string) | null;
}

/** The QOp type a KernelDef is for. */
export type OpOfKernel<D> = D extends KernelDef<infer O> ? O : never;

export function size(t: QTensor): number {
  return t.shape[0] * t.shape[1] * t.shape[2];
}

/** The int range a tensor's storage may hold: INT8 [-128, 127], INT4 [-8, 7]. */
export function storageRange(t: QTensor): [number, number] {
  return t.bits === 8 ? [-128, 127] : [-8, 7];
}

/** C integer division rounding half away from zero: acc >= 0 ? (acc + n/2) / n : -((-acc + n/2) / n). */
export function divRound(acc: number, n: number): number {
  const half = Math.floor(n / 2);
  return acc >= 0 ? Math.floor((acc + half) / n) : -Math.floor((-acc + half) / n);
}

/** "n v0 v1 ..." as run_ops.c reads arrays. */
export function list(a: ArrayLike<number>): string {
  return `${a.length} ${Array.from(a).join(' ')}`;
}
