// The quantized, lowered graph: the contract between the quantizer, the TypeScript integer
// emulator, the C code generator and the kernels in runtime-c.
//
// Every op here is one call of one runtime-c kernel, and the emulator executes exactly the
// arithmetic that kernel does (runtime-c/ARITHMETIC.md is the written contract). Layout is
// channels-last like CMSIS-NN and TFLite Micro: a 2-D activation is [H, W, C], a 1-D one is
// [1, W, C] (H = 1), a vector is [1, 1, C]. Batch is always 1 and is not stored.
//
// Activations are INT8 or INT4 (asymmetric, with a zero point). INT4 activations hold values
// in [-8, 7]; here (and in the emulator) they are one per Int8Array element, and the code generator
// stores them two per byte in the arena where act-storage.ts allows (packed INT4 activations,
// README.md); the arithmetic is the same either way, only the clamp bounds differ from INT8. Weights are symmetric per output channel, INT8
// in [-127, 127] or INT4 in [-7, 7]; INT4 weights are packed two per byte by the code
// generator (first value in the low nibble, over the flattened weight array in the layout
// each op documents), as CMSIS-NN and TFLite do. Here, weights are kept unpacked in Int8Array.

import type { OpOfKernel } from '../kernels/kernel.ts';
import type { KERNELS } from '../kernels/registry.ts';

export type Bits = 4 | 8;

export interface QTensor {
  name: string;
  /** [H, W, C]. */
  shape: [number, number, number];
  bits: Bits;
  /** real = scale * (q - zeroPoint) */
  scale: number;
  zeroPoint: number;
}

/**
 * Fixed-point requantization, per output channel (or one entry for per-tensor ops):
 * out = clamp(zeroPoint_out + rq(acc, multiplier, shift), actMin, actMax) with
 * rq(acc, M, s) = (acc * M + 2^(r-1)) >> r (64-bit product, arithmetic shift), r = 31 - s,
 * 1 <= r <= 62, M in [2^30, 2^31) or 0. Single rounding, round half up (toward +infinity).
 */
export interface Requant {
  multiplier: Int32Array;
  shift: Int32Array;
}

export interface QOpBase {
  /** IR node name(s) this op implements, for messages and for mapping plan layers. */
  name: string;
  inputs: string[];
  output: string;
}

/** Output clamp in the quantized domain; folds ReLU / ReLU6 / Clip after the op. */
export interface Clamp {
  actMin: number;
  actMax: number;
}

// Each op kind's type lives with the rest of its kernel in compiler/kernels/<kind>.ts; the union
// is the kernel registry's (compiler/kernels/registry.ts), so a kind exists exactly when it has
// a kernel.
export type { QConvOp } from '../kernels/conv.ts';
export type { QPoolOp } from '../kernels/pool.ts';
export type { QGlobalAvgPoolOp } from '../kernels/gap.ts';
export type { QAddOp } from '../kernels/add.ts';
export type { QMulOp } from '../kernels/mul.ts';
export type { QLutOp } from '../kernels/lut.ts';
export type { QConcatOp } from '../kernels/concat.ts';
export type { QPadOp } from '../kernels/pad.ts';
export type { QCopyOp } from '../kernels/copy.ts';
export type { QSoftmaxOp } from '../kernels/softmax.ts';
export type { QRnnOp } from '../kernels/rnn.ts';

export type QOp = OpOfKernel<(typeof KERNELS)[keyof typeof KERNELS]>;

/**
 * Per-channel input quantization (optional, graph inputs only; added by the quantizer): the
 * float value of ONNX channel c (axis 1) is x = scale[c] * q + offset[c], so the API quantizes
 * q = clamp(round((x - offset[c]) / scale[c]), act range) (round half away from zero), and the
 * input QTensor then has scale 1 and zero point 0. The first convolutions absorb scale and offset
 * into their weights and biases. Used when channels have very different ranges or large offsets
 * (raw sensor units), which one per-tensor scale including 0 would resolve badly.
 */
export interface InputChannelAffine {
  scale: number[];
  offset: number[];
}

/**
 * How 4-bit activations are stored (CLI --int4-activations): 'packed' two per byte where the ops
 * allow it (compiler/quant/act-storage.ts; smaller arena, more instructions to unpack), 'bytes' one
 * value per byte as INT8 tensors (faster kernels, INT8-sized arena).
 */
export const INT4_ACTIVATION_STORAGE = ['packed', 'bytes'] as const;
export type Int4Activations = (typeof INT4_ACTIVATION_STORAGE)[number];

export interface QGraph {
  name: string;
  /** Graph inputs in ONNX order; the API quantizes float inputs with these parameters. */
  inputs: string[];
  outputs: string[];
  /**
   * For each graph input/output: the ONNX (NCHW / NCL) shape and whether it was transposed
   * to channels-last, so the API and the emulator can convert at the boundary.
   */
  io: Record<string, { onnxShape: number[]; layout: 'nchw' | 'ncl' | 'flat'; channelAffine?: InputChannelAffine }>;
  tensors: Map<string, QTensor>;
  ops: QOp[];
  /** How 4-bit activations are stored; absent = 'packed'. Stored in qgraph.json, so verify rebuilds the same arena. */
  int4Activations?: Int4Activations;
}
