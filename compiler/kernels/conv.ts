// The convolution family: conv (any groups), depthwise, pointwise (1x1) and dense. One emulator
// per kind, the shared checks and C call, and the scratch each C kernel needs.
import { emulateConvTranspose } from './conv-transpose.ts';
import { clamp, requantRaw } from '../quant/fixedpoint.ts';
import type { Bits, Clamp, QOpBase, QTensor, Requant } from '../quant/qgraph.ts';
import { packInt4 } from '../quant/weights.ts';
import { commentText } from '../codegen/names.ts';
import { list, size, type KernelDef } from './kernel.ts';
import { CONV_KIND } from './packed-act.ts';
import { packedIO } from '../quant/act-storage.ts';

/**
 * Convolution with weights, all kinds. Weight layouts (flattened; INT4 packs over this order):
 * - 'conv':      [Cout][KH][KW][Cin/groups]  (OHWI; groups > 1 means grouped conv)
 * - 'depthwise': [KH][KW][Cout], Cout = Cin * channelMultiplier; out channel o reads in channel floor(o / mult)
 * - 'pointwise': [Cout][Cin], 1x1, stride 1, no padding
 * - 'dense':     [Cout][Cin], input treated as a flat vector of Cin = H*W*C values
 * - 'conv_transpose': [Cout][KH][KW][Cin/groups] like conv; input (iy, ix) feeds output
 *                (iy*stride - pad_top + ky*dilation, ...) (./conv-transpose.ts); pad bottom/right are the
 *                end pads minus output_padding (may be negative), so the output extent is
 *                (in - 1)*stride + (k - 1)*dilation + 1 - pad_begin - pad_end
 */
export interface QConvOp extends QOpBase, Clamp {
  op: 'conv' | 'depthwise' | 'pointwise' | 'dense' | 'conv_transpose';
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


// acc[o] = bias[o] + sum_k (x_k - zp_in) * w[o][k]; out = clamp(zp_out + rq(acc, M[o], s[o]), actMin, actMax).
// Padded input positions are skipped: they read as zp_in and would contribute 0.

type Kind = QConvOp['op'];
type Body = (op: QConvOp, xs: Int32Array, inT: QTensor, outT: QTensor, acc: Int32Array) => Int8Array;

/** Requantizes one output position's accumulators (acc already holds bias + sum) into out at base. */
function requantRow(op: QConvOp, acc: Int32Array, out: Int8Array, base: number, zpOut: number): void {
  const M = op.requant.multiplier, S = op.requant.shift;
  const lo = op.actMin, hi = op.actMax;
  for (let o = 0; o < acc.length; o++) out[base + o] = clamp(requantRaw(acc[o], M[o], S[o]) + zpOut, lo, hi);
}

/** Weights [Cout][Cin], input read as a flat vector. */
const dense: Body = (op, xs, _inT, outT, acc) => {
  const cout = acc.length, cin = xs.length, w = op.weights;
  if (w.length !== cin * cout) throw new Error(`internal: dense ${op.name}: ${w.length} weights for ${cout}x${cin}`);
  const out = new Int8Array(cout);
  for (let o = 0; o < cout; o++) {
    let a = op.bias[o];
    const base = o * cin;
    for (let k = 0; k < cin; k++) a += xs[k] * w[base + k];
    acc[o] = a;
  }
  requantRow(op, acc, out, 0, outT.zeroPoint);
  return out;
};

/** 1x1, stride 1, no padding; weights [Cout][Cin]. */
const pointwise: Body = (op, xs, inT, outT, acc) => {
  const cin = inT.shape[2], cout = acc.length, w = op.weights, bias = op.bias;
  const positions = outT.shape[0] * outT.shape[1];
  const out = new Int8Array(positions * cout);
  for (let p = 0; p < positions; p++) {
    const xb = p * cin;
    for (let o = 0; o < cout; o++) {
      let a = bias[o];
      const wb = o * cin;
      for (let c = 0; c < cin; c++) a += xs[xb + c] * w[wb + c];
      acc[o] = a;
    }
    requantRow(op, acc, out, p * cout, outT.zeroPoint);
  }
  return out;
};

/** Weights [KH][KW][Cout]; output channel o reads input channel floor(o / channelMultiplier). */
const depthwise: Body = (op, xs, inT, outT, acc) => {
  const [IH, IW, Cin] = inT.shape;
  const [OH, OW, Cout] = outT.shape;
  const [KH, KW] = op.kernel, [SH, SW] = op.stride, [DH, DW] = op.dilation;
  const mult = op.channelMultiplier, w = op.weights;
  const src = new Int32Array(Cout).map((_, o) => Math.floor(o / mult));
  const out = new Int8Array(OH * OW * Cout);
  for (let oh = 0; oh < OH; oh++) {
    for (let ow = 0; ow < OW; ow++) {
      acc.set(op.bias);
      for (let kh = 0; kh < KH; kh++) {
        const ih = oh * SH - op.pad[0] + kh * DH;
        if (ih < 0 || ih >= IH) continue;
        for (let kw = 0; kw < KW; kw++) {
          const iw = ow * SW - op.pad[1] + kw * DW;
          if (iw < 0 || iw >= IW) continue;
          const xb = (ih * IW + iw) * Cin, wb = (kh * KW + kw) * Cout;
          for (let o = 0; o < Cout; o++) acc[o] += xs[xb + src[o]] * w[wb + o];
        }
      }
      requantRow(op, acc, out, (oh * OW + ow) * Cout, outT.zeroPoint);
    }
  }
  void Cin;
  return out;
};

/** Weights OHWI [Cout][KH][KW][Cin/groups]; groups >= 1. Gathers each input patch once (padding as 0). */
const conv: Body = (op, xs, inT, outT, acc) => {
  const [IH, IW, Cin] = inT.shape;
  const [OH, OW, Cout] = outT.shape;
  const [KH, KW] = op.kernel, [SH, SW] = op.stride, [DH, DW] = op.dilation;
  const groups = op.groups, cinG = Cin / groups, coutG = Cout / groups, w = op.weights;
  const K = KH * KW * cinG;
  const patch = new Int32Array(K * groups); // [group][KH][KW][cinG]
  const out = new Int8Array(OH * OW * Cout);
  for (let oh = 0; oh < OH; oh++) {
    for (let ow = 0; ow < OW; ow++) {
      for (let g = 0; g < groups; g++) {
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH - op.pad[0] + kh * DH;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * SW - op.pad[1] + kw * DW;
            const pb = g * K + (kh * KW + kw) * cinG;
            if (ih < 0 || ih >= IH || iw < 0 || iw >= IW) patch.fill(0, pb, pb + cinG);
            else {
              const xb = (ih * IW + iw) * Cin + g * cinG;
              for (let c = 0; c < cinG; c++) patch[pb + c] = xs[xb + c];
            }
          }
        }
      }
      for (let o = 0; o < Cout; o++) {
        const pb = Math.floor(o / coutG) * K, wb = o * K;
        let a = op.bias[o];
        for (let k = 0; k < K; k++) a += patch[pb + k] * w[wb + k];
        acc[o] = a;
      }
      requantRow(op, acc, out, (oh * OW + ow) * Cout, outT.zeroPoint);
    }
  }
  return out;
};

/** Transposed conv: xs already holds x - zp_in, so the kernel's emulator runs with zero point 0. */
const convTranspose: Body = (op, xs, inT, outT) =>
  emulateConvTranspose({
    weights: op.weights, bias: op.bias, multiplier: op.requant.multiplier, shift: op.requant.shift, kernel: op.kernel, stride: op.stride,
    pad: [op.pad[0], op.pad[1]], dilation: op.dilation, groups: op.groups, inZp: 0, outZp: outT.zeroPoint, actMin: op.actMin, actMax: op.actMax,
  }, xs, inT.shape, outT.shape);

const BODIES: Record<Kind, Body> = { conv, depthwise, pointwise, dense, conv_transpose: convTranspose };

/** Runs any conv-family op (the emulator of its kind). */
export function convFamily(op: QConvOp, x: Int8Array, inT: QTensor, outT: QTensor): Int8Array {
  // x - zp_in once per op.
  const xs = new Int32Array(x.length);
  const zpIn = inT.zeroPoint;
  for (let i = 0; i < x.length; i++) xs[i] = x[i] - zpIn;
  return BODIES[op.op](op, xs, inT, outT, new Int32Array(outT.shape[2]));
}

/** Bytes of a two-pixel column buffer for k values (tm2_col_pair_bytes in runtime-c/src/tm2_mm.h). */
function colPairBytes(k: number): number {
  return ((k + 7) >> 3) * 8 * 4;
}

/** Scratch bytes of each kind's C kernel (tm2_<kind>_scratch_size; depthwise takes none). */
const SCRATCH: Record<Kind, (op: QConvOp, inT: QTensor) => number> = {
  // Column pair + one receptive field gathered as bytes (rounded up to words).
  conv: (op, inT) => {
    const k = op.kernel[0] * op.kernel[1] * (inT.shape[2] / op.groups);
    return colPairBytes(k) + ((k + 3) & ~3);
  },
  pointwise: (_op, inT) => colPairBytes(inT.shape[2]),
  dense: (_op, inT) => ((size(inT) + 7) >> 3) * 4 * 4,
  depthwise: () => 0,
  conv_transpose: () => 0,
};

/** Whether the C kernel has a scratch argument (and a tm2_<kind>_scratch_size). */
const TAKES_SCRATCH: Record<Kind, boolean> = { conv: true, pointwise: true, dense: true, depthwise: false, conv_transpose: false };

function convKernel(kind: Kind): KernelDef<QConvOp> {
  return {
    emulate: (op, [x], [inT], outT) => convFamily(op, x, inT, outT),

    validate(op, [x], out, v) {
      const [IH, IW, C] = x.shape;
      const [OH, OW, OC] = out.shape;
      const [KH, KW] = op.kernel;
      const perOut = op.op === 'dense' ? size(x) : op.op === 'pointwise' ? C : op.op === 'depthwise' ? KH * KW : KH * KW * (C / op.groups);
      const grouped = op.op === 'conv' || op.op === 'conv_transpose';
      if (op.weights.length !== OC * perOut) v.bad(`${op.weights.length} weights, expected ${OC} x ${perOut}`);
      const wmax = op.weightBits === 8 ? 127 : 7;
      for (const w of op.weights) if (w < -wmax || w > wmax) { v.bad(`weight ${w} outside the INT${op.weightBits} range`); break; }
      if (op.bias.length !== OC || op.weightScale.length !== OC) v.bad(`bias / weight scales are not one per output channel`);
      // int32 accumulator: |bias| + K * max|x - zp| * max|w| must stay below 2^31.
      const worstSum = perOut * 255 * wmax;
      for (let o = 0; o < op.bias.length; o++) if (Math.abs(op.bias[o]) + worstSum >= 2 ** 31) { v.bad(`channel ${o}: bias ${op.bias[o]} plus ${perOut} products can overflow int32`); break; }
      v.checkRequant(op.requant, OC, 'requant');
      v.checkClamp(op, out);
      if (op.op === 'dense' && (OH !== 1 || OW !== 1)) v.bad(`dense output is [${out.shape}], expected [1, 1, C]`);
      if (op.op === 'pointwise' && (OH !== IH || OW !== IW || KH !== 1 || KW !== 1 || op.pad.some((p) => p !== 0) || op.stride[0] !== 1 || op.stride[1] !== 1)) v.bad('pointwise must be 1x1, stride 1, unpadded, same H and W');
      if (op.op === 'depthwise' && OC !== C * op.channelMultiplier) v.bad(`depthwise with ${C} input channels and multiplier ${op.channelMultiplier} has ${OC} outputs`);
      if (grouped && (C % op.groups !== 0 || OC % op.groups !== 0)) v.bad(`${op.groups} groups do not divide ${C} -> ${OC} channels`);
      if (op.op === 'conv_transpose') {
        const extent = (n: number, k: number, s: number, d: number, p0: number, p1: number) => (n - 1) * s + (k - 1) * d + 1 - p0 - p1;
        if (OH !== extent(IH, KH, op.stride[0], op.dilation[0], op.pad[0], op.pad[2]) || OW !== extent(IW, KW, op.stride[1], op.dilation[1], op.pad[1], op.pad[3])) {
          v.bad(`output [${OH}, ${OW}] does not follow from input [${IH}, ${IW}], kernel, stride, dilation and padding of a transposed convolution`);
        }
        if (KH > 32 || KW > 32) v.bad(`kernel [${KH}, ${KW}] exceeds TM2_CONV_TRANSPOSE_MAX_KERNEL (32)`);
        if (op.pad[0] < 0 || op.pad[1] < 0) v.bad('negative begin padding');
      }
      if (op.op === 'conv' || op.op === 'depthwise') {
        if (!v.extentOk(OH, IH, KH, op.stride[0], op.dilation[0], op.pad[0], op.pad[2]) || !v.extentOk(OW, IW, KW, op.stride[1], op.dilation[1], op.pad[1], op.pad[3])) {
          v.bad(`output [${OH}, ${OW}] does not follow from input [${IH}, ${IW}], kernel, stride, dilation and padding`);
        }
      }
    },

    emitC(op, e) {
      const { q, id: L, prefix, outT } = e;
      const inT = q.tensors.get(op.inputs[0])!;
      const s = op.weightBits === 4 ? 's4' : 's8';
      const w = op.weightBits === 4 ? Int8Array.from(packInt4(op.weights), (b) => (b << 24) >> 24) : op.weights;
      e.defineArray('int8_t', `${prefix}_${L}_w`, w, `${op.name}: ${op.op} weights, INT${op.weightBits}${op.weightBits === 4 ? ' packed low nibble first' : ''}, ${op.weights.length} values`);
      e.defineArray('int32_t', `${prefix}_${L}_bias`, op.bias, `${op.name}: bias`, 8);
      e.defineArray('int32_t', `${prefix}_${L}_mult`, op.requant.multiplier, `${op.name}: requantization multipliers (Q31)`, 8);
      e.defineArray('int32_t', `${prefix}_${L}_shift`, op.requant.shift, `${op.name}: requantization shifts`, 16);
      const p = [
        `${inT.shape.join(', ')}`,
        `${outT.shape.join(', ')}`,
        `${op.kernel[0]}, ${op.kernel[1]}`,
        `${op.stride[0]}, ${op.stride[1]}`,
        `${op.pad[0]}, ${op.pad[1]}`,
        `${op.dilation[0]}, ${op.dilation[1]}`,
        `${op.op === 'conv' || op.op === 'conv_transpose' ? op.groups : 1}, ${op.op === 'depthwise' ? op.channelMultiplier : 1}`,
        `${inT.zeroPoint}, ${outT.zeroPoint}`,
        `${op.actMin}, ${op.actMax}`,
        `${prefix}_${L}_bias, ${prefix}_${L}_mult, ${prefix}_${L}_shift`,
      ];
      e.param(
        `/* ${commentText(op.name)}: in [h, w, c], out [h, w, c], kernel, stride, pad top/left, dilation, groups/ch_mult, zero points, clamp */\n` +
          `static const tm2_conv_params ${L} = {\n  ${p.join(',\n  ')}\n};`,
      );
      const sc = e.memory.scratch[e.index];
      const io = op.op === 'conv_transpose' ? 0 : packedIO(q, op).flags;
      if (io && op.op !== 'conv_transpose') {
        // Packed INT4 activations: the same kernel on unpacked windows (runtime-c/src/s4_act.c).
        const kind = CONV_KIND[op.op];
        e.statement(`${e.comment}\n  tm2_conv_s4a(${kind}, ${op.weightBits}, &${L}, ${e.at(op.inputs[0])}, ${prefix}_${L}_w, ${e.at(op.output)}, ${io}, ${sc ? `A + ${sc.offset}, ${sc.granted}` : 'NULL, 0'});`);
        e.selfCheck(`  if (tm2_conv_s4a_scratch_size(${kind}, &${L}, ${io}) > ${sc ? sc.bytes : 0}u) bad++;`);
        e.report.weightBits = op.weightBits;
        e.report.macs = op.macs;
        return;
      }
      const takesScratch = TAKES_SCRATCH[op.op];
      const scratchArg = takesScratch ? `, ${sc ? `A + ${sc.offset}` : 'NULL'}` : '';
      e.statement(`${e.comment}\n  tm2_${op.op}_${s}(&${L}, ${e.at(op.inputs[0])}, ${prefix}_${L}_w, ${e.at(op.output)}${scratchArg});`);
      if (takesScratch) e.selfCheck(`  if (tm2_${op.op}_scratch_size(&${L}) > ${sc ? sc.bytes : 0}u) bad++;`);
      e.report.weightBits = op.weightBits;
      e.report.macs = op.macs;
    },

    scratchBytes: (op, [inT]) => SCRATCH[kind](op, inT),
    inPlace: false,

    runOps(op, [x], [inT], outT) {
      const w = op.weightBits === 8 ? op.weights : Int8Array.from(packInt4(op.weights));
      const head = [op.weightBits, ...inT.shape, ...outT.shape, ...op.kernel, ...op.stride, op.pad[0], op.pad[1], ...op.dilation,
        op.op === 'conv' || op.op === 'conv_transpose' ? op.groups : 1, op.op === 'depthwise' ? op.channelMultiplier : 1,
        inT.zeroPoint, outT.zeroPoint, op.actMin, op.actMax];
      return `${kind} ${head.join(' ')} ${list(x)} ${list(w)} ${list(op.bias)} ${list(op.requant.multiplier)} ${list(op.requant.shift)}`;
    },
  };
}

export const convKernels = {
  conv: convKernel('conv'),
  depthwise: convKernel('depthwise'),
  pointwise: convKernel('pointwise'),
  dense: convKernel('dense'),
  conv_transpose: convKernel('conv_transpose'),
};
