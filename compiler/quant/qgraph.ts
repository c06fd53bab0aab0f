// The quantized, lowered graph: the contract between the quantizer, the TypeScript integer
// emulator, the C code generator and the kernels in runtime-c.
//
// Every op here is one call of one runtime-c kernel, and the emulator executes exactly the
// arithmetic that kernel does (runtime-c/ARITHMETIC.md is the written contract). Layout is
// channels-last like CMSIS-NN and TFLite Micro: a 2-D activation is [H, W, C], a 1-D one is
// [1, W, C] (H = 1), a vector is [1, 1, C]. Batch is always 1 and is not stored.
//
// Activations are INT8 or INT4 (asymmetric, with a zero point). INT4 activations hold values
// in [-8, 7] and are stored one per byte in the arena, so every kernel reads them with the same
// loads as INT8; only the clamp bounds differ. Weights are symmetric per output channel, INT8
// in [-127, 127] or INT4 in [-7, 7]; INT4 weights are packed two per byte by the code
// generator (first value in the low nibble, over the flattened weight array in the layout
// each op documents), as CMSIS-NN and TFLite do. Here, weights are kept unpacked in Int8Array.

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

interface QOpBase {
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

/**
 * Convolution with weights, all kinds. Weight layouts (flattened; INT4 packs over this order):
 * - 'conv':      [Cout][KH][KW][Cin/groups]  (OHWI; groups > 1 means grouped conv)
 * - 'depthwise': [KH][KW][Cout], Cout = Cin * channelMultiplier; out channel o reads in channel floor(o / mult)
 * - 'pointwise': [Cout][Cin], 1x1, stride 1, no padding
 * - 'dense':     [Cout][Cin], input treated as a flat vector of Cin = H*W*C values
 */
export interface QConvOp extends QOpBase, Clamp {
  op: 'conv' | 'depthwise' | 'pointwise' | 'dense';
  weights: Int8Array;
  weightBits: Bits;
  /** Per output channel weight scale (real weight = weightScale[o] * q). */
  weightScale: Float32Array;
  /** int32 bias per output channel, in units of inputScale * weightScale[o]. */
  bias: Int32Array;
  requant: Requant;
  kernel: [number, number];
  stride: [number, number];
  /** [top, left, bottom, right]; padded input positions read as the input zero point. */
  pad: [number, number, number, number];
  dilation: [number, number];
  groups: number;
  channelMultiplier: number;
  /** MAC count of this op, for reports and BOPS. */
  macs: number;
}

export interface QPoolOp extends QOpBase {
  op: 'maxpool' | 'avgpool';
  kernel: [number, number];
  stride: [number, number];
  pad: [number, number, number, number];
  /** avgpool: divisor per output position follows ARITHMETIC.md (countIncludePad rule). */
  countIncludePad: boolean;
}

/** Global average pool over H and W. In and out share scale and zero point. */
export interface QGlobalAvgPoolOp extends QOpBase { op: 'gap' }

/** Same-shape elementwise add (residual), TFLite-style: left shift 20 then three requants. */
export interface QAddOp extends QOpBase, Clamp {
  op: 'add';
  leftShift: number;
  inputRequant: [Requant, Requant];
  outputRequant: Requant;
}

/** Same-shape elementwise multiply of two activations. */
export interface QMulOp extends QOpBase, Clamp {
  op: 'mul';
  requant: Requant;
}

/** Any unary elementwise map as a 256-entry table indexed by q + 128 (sigmoid, leaky ReLU, ...). */
export interface QLutOp extends QOpBase {
  op: 'lut';
  table: Int8Array;
  /** What the table computes, for messages ("Sigmoid", "LeakyRelu 0.01", ...). */
  what: string;
}

/** Concatenation; all inputs share the output's scale and zero point (the quantizer ensures it). */
export interface QConcatOp extends QOpBase {
  op: 'concat';
  /** Axis in [H, W, C] terms: 0, 1 or 2. */
  axis: 0 | 1 | 2;
}

/** Constant padding with the quantized pad value. */
export interface QPadOp extends QOpBase {
  op: 'pad';
  pad: [number, number, number, number];
  value: number;
}

/**
 * Data movement with no arithmetic: reshape (a view when order is unchanged) or a permutation
 * copy. `perm` permutes the [H, W, C] axes of the input; absent means order is unchanged.
 */
export interface QCopyOp extends QOpBase {
  op: 'reshape' | 'permute';
  perm?: [number, number, number];
}

/**
 * Integer softmax over the last axis: exp table of 256 uint32 entries,
 * table[k] = round(65536 * exp(-k * inputScale)); output scale 1/256, zero point -128.
 */
export interface QSoftmaxOp extends QOpBase {
  op: 'softmax';
  expTable: Uint32Array;
}

export type QOp =
  | QConvOp
  | QPoolOp
  | QGlobalAvgPoolOp
  | QAddOp
  | QMulOp
  | QLutOp
  | QConcatOp
  | QPadOp
  | QCopyOp
  | QSoftmaxOp;

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
}
