// The integer emulator: executes a QGraph with exactly the arithmetic of runtime-c/ARITHMETIC.md,
// so that its outputs are the C kernels' outputs bit for bit. One function per QOp kind.
//
// All arithmetic is on JS numbers holding integers: accumulators stay far below 2^53, and the
// 64-bit requantization uses the exact split multiply of fixedpoint.ts (see there why not BigInt).
import { clamp, requantRaw } from './fixedpoint.ts';
import type {
  QAddOp, QConcatOp, QConvOp, QCopyOp, QGlobalAvgPoolOp, QGraph, QLutOp, QMulOp, QOp, QPadOp, QPoolOp, QSoftmaxOp, QTensor,
} from './qgraph.ts';

/** Tensor values by name; every activation is int8 storage in [H][W][C] order. */
export type QValues = Map<string, Int8Array>;

/** Runs the whole graph. Returns every tensor (inputs, intermediates, outputs) by name. */
export function emulate(q: QGraph, inputs: Record<string, Int8Array>): QValues {
  const values: QValues = new Map();
  for (const name of q.inputs) {
    const data = inputs[name];
    const t = tensorOf(q, name);
    if (!data) throw new Error(`internal: no data for graph input ${name}`);
    if (data.length !== size(t)) throw new Error(`internal: input ${name} has ${data.length} values, expected ${size(t)}`);
    values.set(name, data);
  }
  for (const op of q.ops) values.set(op.output, runOp(q, op, values));
  return values;
}

/** Executes one op given the values of its inputs. */
export function runOp(q: QGraph, op: QOp, values: QValues): Int8Array {
  const ins = op.inputs.map((n) => {
    const v = values.get(n);
    if (!v) throw new Error(`internal: op ${op.name} reads ${n} before it is computed`);
    return v;
  });
  const inT = op.inputs.map((n) => tensorOf(q, n));
  const outT = tensorOf(q, op.output);
  switch (op.op) {
    case 'conv':
    case 'depthwise':
    case 'pointwise':
    case 'dense':
      return convFamily(op, ins[0], inT[0], outT);
    case 'maxpool':
      return maxPool(op, ins[0], inT[0], outT);
    case 'avgpool':
      return avgPool(op, ins[0], inT[0], outT);
    case 'gap':
      return globalAvgPool(op, ins[0], inT[0], outT);
    case 'add':
      return add(op, ins[0], ins[1], inT[0], inT[1], outT);
    case 'mul':
      return mul(op, ins[0], ins[1], inT[0], inT[1], outT);
    case 'lut':
      return lut(op, ins[0]);
    case 'concat':
      return concat(op, ins, inT, outT);
    case 'pad':
      return pad(op, ins[0], inT[0], outT);
    case 'reshape':
    case 'permute':
      return copy(op, ins[0], inT[0], outT);
    case 'softmax':
      return softmax(op, ins[0], inT[0], outT);
  }
}

export function tensorOf(q: QGraph, name: string): QTensor {
  const t = q.tensors.get(name);
  if (!t) throw new Error(`internal: QGraph ${q.name} has no tensor ${name}`);
  return t;
}

function size(t: QTensor): number {
  return t.shape[0] * t.shape[1] * t.shape[2];
}

/** C integer division rounding half away from zero: acc >= 0 ? (acc + n/2) / n : -((-acc + n/2) / n). */
export function divRound(acc: number, n: number): number {
  const half = Math.floor(n / 2);
  return acc >= 0 ? Math.floor((acc + half) / n) : -Math.floor((-acc + half) / n);
}

// ---- convolution family ---------------------------------------------------------------------
// acc[o] = bias[o] + sum_k (x_k - zp_in) * w[o][k]; out = clamp(zp_out + rq(acc, M[o], s[o]), actMin, actMax).
// Padded input positions are skipped: they read as zp_in and would contribute 0.

/** Dispatches the conv family to its kernel. */
export function convFamily(op: QConvOp, x: Int8Array, inT: QTensor, outT: QTensor): Int8Array {
  // x - zp_in once per op.
  const xs = new Int32Array(x.length);
  const zpIn = inT.zeroPoint;
  for (let i = 0; i < x.length; i++) xs[i] = x[i] - zpIn;
  const acc = new Int32Array(outT.shape[2]);
  switch (op.op) {
    case 'dense': return dense(op, xs, outT, acc);
    case 'pointwise': return pointwise(op, xs, inT, outT, acc);
    case 'depthwise': return depthwise(op, xs, inT, outT, acc);
    case 'conv': return conv(op, xs, inT, outT, acc);
  }
}

/** Requantizes one output position's accumulators (acc already holds bias + sum) into out at base. */
function requantRow(op: QConvOp, acc: Int32Array, out: Int8Array, base: number, zpOut: number): void {
  const M = op.requant.multiplier, S = op.requant.shift;
  const lo = op.actMin, hi = op.actMax;
  for (let o = 0; o < acc.length; o++) out[base + o] = clamp(requantRaw(acc[o], M[o], S[o]) + zpOut, lo, hi);
}

/** Weights [Cout][Cin], input read as a flat vector. */
function dense(op: QConvOp, xs: Int32Array, outT: QTensor, acc: Int32Array): Int8Array {
  const cout = acc.length, cin = xs.length, w = op.weights;
  if (w.length !== cin * cout) throw new Error(`internal: dense ${op.name}: ${w.length} weights for ${cout}x${cin}`);
  const out = (new Int8Array(cout));
  for (let o = 0; o < cout; o++) {
    let a = op.bias[o];
    const base = o * cin;
    for (let k = 0; k < cin; k++) a += xs[k] * w[base + k];
    acc[o] = a;
  }
  requantRow(op, acc, out, 0, outT.zeroPoint);
  return out;
}

/** 1x1, stride 1, no padding; weights [Cout][Cin]. */
function pointwise(op: QConvOp, xs: Int32Array, inT: QTensor, outT: QTensor, acc: Int32Array): Int8Array {
  const cin = inT.shape[2], cout = acc.length, w = op.weights, bias = op.bias;
  const positions = outT.shape[0] * outT.shape[1];
  const out = (new Int8Array(positions * cout));
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
}

/** Weights [KH][KW][Cout]; output channel o reads input channel floor(o / channelMultiplier). */
function depthwise(op: QConvOp, xs: Int32Array, inT: QTensor, outT: QTensor, acc: Int32Array): Int8Array {
  const [IH, IW, Cin] = inT.shape;
  const [OH, OW, Cout] = outT.shape;
  const [KH, KW] = op.kernel, [SH, SW] = op.stride, [DH, DW] = op.dilation;
  const mult = op.channelMultiplier, w = op.weights;
  const src = new Int32Array(Cout).map((_, o) => Math.floor(o / mult));
  const out = (new Int8Array(OH * OW * Cout));
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
  return out;
}

/** Weights OHWI [Cout][KH][KW][Cin/groups]; groups >= 1. Gathers each input patch once (padding as 0). */
function conv(op: QConvOp, xs: Int32Array, inT: QTensor, outT: QTensor, acc: Int32Array): Int8Array {
  const [IH, IW, Cin] = inT.shape;
  const [OH, OW, Cout] = outT.shape;
  const [KH, KW] = op.kernel, [SH, SW] = op.stride, [DH, DW] = op.dilation;
  const groups = op.groups, cinG = Cin / groups, coutG = Cout / groups, w = op.weights;
  const K = KH * KW * cinG;
  const patch = new Int32Array(K * groups); // [group][KH][KW][cinG]
  const out = (new Int8Array(OH * OW * Cout));
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
}

// ---- pooling --------------------------------------------------------------------------------

/** Max over the valid window positions (padding ignored). In and out share scale and zero point. */
export function maxPool(op: QPoolOp, x: Int8Array, inT: QTensor, outT: QTensor): Int8Array {
  const [IH, IW, C] = inT.shape;
  const [OH, OW] = outT.shape;
  const out = new Int8Array(size(outT));
  for (let oh = 0; oh < OH; oh++) {
    for (let ow = 0; ow < OW; ow++) {
      const h0 = oh * op.stride[0] - op.pad[0];
      const w0 = ow * op.stride[1] - op.pad[1];
      for (let c = 0; c < C; c++) {
        let m = -129;
        for (let ih = Math.max(h0, 0); ih < Math.min(h0 + op.kernel[0], IH); ih++) {
          for (let iw = Math.max(w0, 0); iw < Math.min(w0 + op.kernel[1], IW); iw++) {
            const v = x[(ih * IW + iw) * C + c];
            if (v > m) m = v;
          }
        }
        out[(oh * OW + ow) * C + c] = m === -129 ? inT.zeroPoint : m;
      }
    }
  }
  return out;
}

/**
 * acc = sum over valid positions of (q - zp); n counts window positions inside [-pad_begin, in + pad_end)
 * per axis when countIncludePad, else inside [0, in); out = clamp(zp + divRound(acc, n)).
 */
export function avgPool(op: QPoolOp, x: Int8Array, inT: QTensor, outT: QTensor): Int8Array {
  const [IH, IW, C] = inT.shape;
  const [OH, OW] = outT.shape;
  const zp = inT.zeroPoint;
  const [lo, hi] = storageRange(outT);
  const out = new Int8Array(size(outT));
  for (let oh = 0; oh < OH; oh++) {
    for (let ow = 0; ow < OW; ow++) {
      const h0 = oh * op.stride[0] - op.pad[0];
      const w0 = ow * op.stride[1] - op.pad[1];
      const hs = Math.max(h0, 0), he = Math.min(h0 + op.kernel[0], IH);
      const ws = Math.max(w0, 0), we = Math.min(w0 + op.kernel[1], IW);
      let n: number;
      if (op.countIncludePad) {
        const nh = Math.min(h0 + op.kernel[0], IH + op.pad[2]) - Math.max(h0, -op.pad[0]);
        const nw = Math.min(w0 + op.kernel[1], IW + op.pad[3]) - Math.max(w0, -op.pad[1]);
        n = nh * nw;
      } else {
        n = (he - hs) * (we - ws);
      }
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let ih = hs; ih < he; ih++) for (let iw = ws; iw < we; iw++) acc += x[(ih * IW + iw) * C + c] - zp;
        out[(oh * OW + ow) * C + c] = n > 0 ? clamp(zp + divRound(acc, n), lo, hi) : zp;
      }
    }
  }
  return out;
}

/** Average over H and W with n = H * W, same rounding as avgPool. */
export function globalAvgPool(_op: QGlobalAvgPoolOp, x: Int8Array, inT: QTensor, outT: QTensor): Int8Array {
  const [H, W, C] = inT.shape;
  const zp = inT.zeroPoint;
  const [lo, hi] = storageRange(outT);
  const n = H * W;
  const out = new Int8Array(C);
  for (let c = 0; c < C; c++) {
    let acc = 0;
    for (let p = 0; p < n; p++) acc += x[p * C + c] - zp;
    out[c] = clamp(zp + divRound(acc, n), lo, hi);
  }
  return out;
}

/** The int range a tensor's storage may hold: INT8 [-128, 127], INT4 [-8, 7]. */
function storageRange(t: QTensor): [number, number] {
  return t.bits === 8 ? [-128, 127] : [-8, 7];
}

// ---- elementwise ----------------------------------------------------------------------------

/** TFLite-style add: inputs shifted left by leftShift, rescaled to a common scale, summed, requantized. */
export function add(op: QAddOp, a: Int8Array, b: Int8Array, aT: QTensor, bT: QTensor, outT: QTensor): Int8Array {
  const out = new Int8Array(size(outT));
  const shiftMul = 2 ** op.leftShift;
  const [ra, rb] = op.inputRequant;
  const ma = ra.multiplier[0], sa = ra.shift[0];
  const mb = rb.multiplier[0], sb = rb.shift[0];
  const mo = op.outputRequant.multiplier[0], so = op.outputRequant.shift[0];
  const zpOut = outT.zeroPoint;
  for (let i = 0; i < out.length; i++) {
    const av = (a[i] - aT.zeroPoint) * shiftMul;
    const bv = (b[i] - bT.zeroPoint) * shiftMul;
    const s = requantRaw(av, ma, sa) + requantRaw(bv, mb, sb);
    out[i] = clamp(requantRaw(s, mo, so) + zpOut, op.actMin, op.actMax);
  }
  return out;
}

/** out = clamp(rq((a - zp_a) * (b - zp_b)) + zp_out). */
export function mul(op: QMulOp, a: Int8Array, b: Int8Array, aT: QTensor, bT: QTensor, outT: QTensor): Int8Array {
  const out = new Int8Array(size(outT));
  const m = op.requant.multiplier[0], s = op.requant.shift[0];
  for (let i = 0; i < out.length; i++) {
    const acc = (a[i] - aT.zeroPoint) * (b[i] - bT.zeroPoint);
    out[i] = clamp(requantRaw(acc, m, s) + outT.zeroPoint, op.actMin, op.actMax);
  }
  return out;
}

/** out = table[q + 128]. */
export function lut(op: QLutOp, x: Int8Array): Int8Array {
  const out = new Int8Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = op.table[x[i] + 128];
  return out;
}

/**
 * Softmax over C for every (h, w): d = max - q, e = expTable[d], sum = sum of e,
 * out = clamp(floor((e * 256 + floor(sum / 2)) / sum) - 128, -128, 127), all unsigned 32-bit.
 */
export function softmax(op: QSoftmaxOp, x: Int8Array, inT: QTensor, _outT: QTensor): Int8Array {
  const C = inT.shape[2];
  const out = new Int8Array(x.length);
  const e = new Uint32Array(C);
  for (let base = 0; base < x.length; base += C) {
    let max = -128;
    for (let c = 0; c < C; c++) if (x[base + c] > max) max = x[base + c];
    let sum = 0;
    for (let c = 0; c < C; c++) {
      e[c] = op.expTable[max - x[base + c]];
      sum = (sum + e[c]) >>> 0;
    }
    const half = Math.floor(sum / 2);
    for (let c = 0; c < C; c++) {
      const v = Math.floor(((e[c] * 256 + half) >>> 0) / sum) - 128;
      out[base + c] = clamp(v, -128, 127);
    }
  }
  return out;
}

// ---- data movement --------------------------------------------------------------------------

/** Concatenation along H, W or C (inputs share the output's quantization, so values are copied). */
export function concat(op: QConcatOp, xs: Int8Array[], inTs: QTensor[], outT: QTensor): Int8Array {
  const out = new Int8Array(size(outT));
  const [OH, OW, OC] = outT.shape;
  let offset = 0; // along the concat axis
  for (let k = 0; k < xs.length; k++) {
    const [h, w, c] = inTs[k].shape;
    const x = xs[k];
    for (let ih = 0; ih < h; ih++) {
      for (let iw = 0; iw < w; iw++) {
        for (let ic = 0; ic < c; ic++) {
          const oh = op.axis === 0 ? ih + offset : ih;
          const ow = op.axis === 1 ? iw + offset : iw;
          const oc = op.axis === 2 ? ic + offset : ic;
          out[(oh * OW + ow) * OC + oc] = x[(ih * w + iw) * c + ic];
        }
      }
    }
    offset += inTs[k].shape[op.axis];
  }
  if (offset !== outT.shape[op.axis] || OH * OW * OC !== out.length) throw new Error(`internal: concat ${op.name} shapes do not add up`);
  return out;
}

/** Constant padding of H and W: [top, left, bottom, right], filled with op.value. */
export function pad(op: QPadOp, x: Int8Array, inT: QTensor, outT: QTensor): Int8Array {
  const out = new Int8Array(size(outT)).fill(op.value);
  const [IH, IW, C] = inT.shape;
  const OW = outT.shape[1];
  for (let ih = 0; ih < IH; ih++) {
    for (let iw = 0; iw < IW; iw++) {
      const src = (ih * IW + iw) * C;
      const dst = ((ih + op.pad[0]) * OW + iw + op.pad[1]) * C;
      out.set(x.subarray(src, src + C), dst);
    }
  }
  return out;
}

/**
 * reshape: memory order unchanged (a view; here a copy). permute: numpy-transpose semantics on the
 * [H, W, C] axes: out.shape[i] = in.shape[perm[i]], out[i0, i1, i2] = in[j] with j[perm[i]] = i_i.
 */
export function copy(op: QCopyOp, x: Int8Array, inT: QTensor, outT: QTensor): Int8Array {
  if (op.op === 'reshape' || !op.perm) return x.slice();
  const perm = op.perm;
  const inStrides = [inT.shape[1] * inT.shape[2], inT.shape[2], 1];
  const s0 = inStrides[perm[0]], s1 = inStrides[perm[1]], s2 = inStrides[perm[2]];
  const [D0, D1, D2] = outT.shape;
  const out = new Int8Array(size(outT));
  let i = 0;
  for (let a = 0; a < D0; a++) for (let b = 0; b < D1; b++) for (let c = 0; c < D2; c++) out[i++] = x[a * s0 + b * s1 + c * s2];
  return out;
}
