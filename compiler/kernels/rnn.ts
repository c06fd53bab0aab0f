// The quantized recurrent kernels (LSTM, GRU): integer emulation, bit for bit what runtime-c's
// tm2_lstm_* / tm2_gru_* compute (runtime-c/ARITHMETIC.md "Recurrent layers"), the weight layout
// they read, and the lowering of float weights and ranges to their integer parameters.
//
// Formats: gate preactivations Q3.12 (int16), sigmoid/tanh outputs Q0.15, LSTM cell state int16 with
// `cellFrac` fraction bits, GRU hidden state Q0.15; activations int8 asymmetric, weights symmetric per
// gate row. Each gate row's input and recurrent sums meet in one 64-bit value with one rounding:
//   v = gateBias + Sx * Mx + Sh * Mh,  pre = sat16(v >> r)
// (gateBias holds the float bias, the zero-point corrections and 2^(r-1)).
import { commentText } from '../codegen/names.ts';
import { TinyM2Error } from '../errors.ts';
import { encodeMultiplier } from '../quant/fixedpoint.ts';
import type { Bits, Clamp, QOpBase } from '../quant/qgraph.ts';
import { packInt4, quantizeWeightsPerChannel, weightQmax } from '../quant/weights.ts';
import type { KernelDef } from './kernel.ts';

export type RnnKind = 'lstm' | 'gru';

/** Gates per unit, in ONNX order: LSTM i, o, f, c; GRU z, r, h (n). */
export const RNN_GATES: Record<RnnKind, number> = { lstm: 4, gru: 3 };
/** Values per chunk of the interleaved weight layout (tm2.h TM2_RNN_CHUNK_S8 / _S4). */
export const RNN_CHUNK: Record<Bits, number> = { 8: 4, 4: 8 };

/** The integer parameters of one layer: tm2_rnn_params plus the weights in logical order. */
export interface QRnnParams {
  kind: RnnKind;
  steps: number;
  inSize: number;
  hidden: number;
  inZp: number;
  outZp: number;
  actMin: number;
  actMax: number;
  /** LSTM: o * tanh(c) (Q0.30) -> h; GRU: h (Q0.15) -> h. */
  outMultiplier: number;
  outShift: number;
  /** LSTM: cell state real = c * 2^-cellFrac (0..15). GRU: unused (0). */
  cellFrac: number;
  /** The output is the last step's h only [hidden] (ONNX Y_h), not every step's [steps][hidden]. */
  lastOnly: boolean;
  /** [hidden][4]: LSTM i, o, f, c; GRU z, r, n input part, n recurrent part. */
  gateBias: BigInt64Array;
  /** [hidden][G][2]: input part, recurrent part. */
  gateMultiplier: Int32Array;
  /** [hidden][G], r = 31 - shift. */
  gateShift: Int32Array;
  weightBits: Bits;
  /** Input weights [G * hidden][inSize], row g * hidden + j (ONNX W without the direction axis). */
  wx: Int8Array;
  /** Recurrent weights [G * hidden][hidden] (ONNX R). */
  wh: Int8Array;
}

const pad = (n: number, chunk: number) => Math.ceil(n / chunk) * chunk;

/** Weights in the kernel's interleaved layout (per unit: input chunks then recurrent chunks, gates
 * interleaved per chunk, zero padded), packed to nibbles for INT4. */
export function packRnnWeights(p: Pick<QRnnParams, 'kind' | 'inSize' | 'hidden' | 'weightBits' | 'wx' | 'wh'>): Int8Array {
  const G = RNN_GATES[p.kind], H = p.hidden, I = p.inSize, chunk = RNN_CHUNK[p.weightBits];
  const ip = pad(I, chunk), hp = pad(H, chunk);
  const out = new Int8Array(H * G * (ip + hp));
  let o = 0;
  for (let j = 0; j < H; j++) {
    for (const [src, n, np] of [[p.wx, I, ip], [p.wh, H, hp]] as const) {
      for (let c = 0; c < np; c += chunk) {
        for (let g = 0; g < G; g++) {
          const row = (g * H + j) * n;
          for (let k = c; k < c + chunk; k++) out[o++] = k < n ? src[row + k] : 0;
        }
      }
    }
  }
  return p.weightBits === 8 ? out : Int8Array.from(packInt4(out));
}

/** Scratch bytes of tm2_lstm_scratch_size / tm2_gru_scratch_size (the column and the 16-bit state). */
export function rnnScratchBytes(p: Pick<QRnnParams, 'inSize' | 'hidden'>): number {
  return (pad(p.inSize, 8) + pad(p.hidden, 8)) * 2 + pad(p.hidden, 2) * 2;
}

// ---- fixed-point sigmoid / tanh -------------------------------------------------------------

function table(f: (x: number) => number, lo: number, hi: number): Int16Array {
  return Int16Array.from({ length: 513 }, (_, k) => Math.min(hi, Math.max(lo, Math.floor(32768 * f(k / 32 - 8) + 0.5))));
}
/** runtime-c/src/rnn_act.c's tables (the test checks the C copy against these). */
export const SIGMOID_TABLE = table((x) => 1 / (1 + Math.exp(-x)), -32768, 32767);
export const TANH_TABLE = table(Math.tanh, -32767, 32767);

function interp(t: Int16Array, x: number): number {
  const u = x + 32768, k = u >> 7, f = u & 127;
  return t[k] + (((t[k + 1] - t[k]) * f + 64) >> 7);
}
/** Q3.12 -> Q0.15. */
export const sigmoidQ15 = (x: number) => interp(SIGMOID_TABLE, x);
export const tanhQ15 = (x: number) => interp(TANH_TABLE, x);

const sat16 = (v: number) => (v < -32768 ? -32768 : v > 32767 ? 32767 : v);
const rshr = (v: number, n: number) => (v + 2 ** (n - 1)) >> n;

function gate(v: bigint, shift: number): number {
  const q = v >> BigInt(31 - shift);
  return q < -32768n ? -32768 : q > 32767n ? 32767 : Number(q);
}

function cellQ12(c: number, frac: number): number {
  return frac > 12 ? rshr(c, frac - 12) : sat16(c * 2 ** (12 - frac));
}

/** tm2_requant: out = clamp(rq(acc) + zp) with rq exact (acc here is |acc| < 2^31). */
function requant(acc: number, m: number, shift: number, zp: number, lo: number, hi: number): number {
  const r = 31 - shift;
  const v = Number((BigInt(acc) * BigInt(m) + (1n << BigInt(r - 1))) >> BigInt(r)) + zp;
  return v < lo ? lo : v > hi ? hi : v;
}

/** The kernel on a sequence x [steps][inSize] -> h [steps][hidden] (int8). */
export function emulateRnn(p: QRnnParams, x: Int8Array): Int8Array {
  const { hidden: H, inSize: I, steps: T } = p;
  const G = RNN_GATES[p.kind];
  if (x.length !== T * I) throw new Error(`internal: rnn input has ${x.length} values, expected ${T * I}`);
  const out = new Int8Array(T * H); // every step's h (the kernel keeps only the last when lastOnly)
  const state = new Int32Array(H); // LSTM cell, GRU h (Q0.15)
  const sx = new Int32Array(G), sh = new Int32Array(G);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < H; j++) {
      for (let g = 0; g < G; g++) {
        const rx = (g * H + j) * I, rh = (g * H + j) * H;
        let a = 0, b = 0;
        for (let k = 0; k < I; k++) a += x[t * I + k] * p.wx[rx + k];
        for (let k = 0; k < H; k++) b += (t ? out[(t - 1) * H + k] : p.outZp) * p.wh[rh + k];
        sx[g] = a;
        sh[g] = b;
      }
      const m = (g: number, part: number) => BigInt(p.gateMultiplier[(j * G + g) * 2 + part]);
      const pre = (g: number, slot: number, useX: boolean, useH: boolean) =>
        gate(p.gateBias[j * 4 + slot] + (useX ? BigInt(sx[g]) * m(g, 0) : 0n) + (useH ? BigInt(sh[g]) * m(g, 1) : 0n), p.gateShift[j * G + g]);
      if (p.kind === 'lstm') {
        const i = sigmoidQ15(pre(0, 0, true, true)), o = sigmoidQ15(pre(1, 1, true, true));
        const f = sigmoidQ15(pre(2, 2, true, true)), cc = tanhQ15(pre(3, 3, true, true));
        const c = sat16(rshr(f * state[j], 15) + rshr(i * cc, 30 - p.cellFrac));
        state[j] = c;
        out[t * H + j] = requant(o * tanhQ15(cellQ12(c, p.cellFrac)), p.outMultiplier, p.outShift, p.outZp, p.actMin, p.actMax);
      } else {
        const z = sigmoidQ15(pre(0, 0, true, true)), r = sigmoidQ15(pre(1, 1, true, true));
        const nx = pre(2, 2, true, false), nh = pre(2, 3, false, true);
        const n = tanhQ15(sat16(nx + rshr(r * nh, 15)));
        const h = sat16(n + rshr(z * (state[j] - n), 15));
        state[j] = h;
        out[t * H + j] = requant(h, p.outMultiplier, p.outShift, p.outZp, p.actMin, p.actMax);
      }
    }
  }
  return p.lastOnly ? out.slice((T - 1) * H) : out;
}

// ---- lowering from float --------------------------------------------------------------------

/** A float layer in ONNX terms (one direction): W [G*H][I], R [G*H][H], Wb, Rb [G*H], gate order of ONNX. */
export interface FloatRnn {
  kind: RnnKind;
  steps: number;
  inSize: number;
  hidden: number;
  w: Float32Array;
  r: Float32Array;
  wb: Float32Array;
  rb: Float32Array;
}

export interface RnnQuantRanges {
  inScale: number;
  inZp: number;
  outScale: number;
  outZp: number;
  /** LSTM: largest |cell state| seen in calibration (sets cellFrac). */
  cellMaxAbs?: number;
  actMin?: number;
  actMax?: number;
  /** Output only the last step's h (default: every step's). */
  lastOnly?: boolean;
}

/** Fraction bits of the LSTM cell state for a largest magnitude: the most that keeps it in int16. */
export function cellFracFor(maxAbs: number): number {
  if (!(maxAbs > 0)) return 15;
  return Math.max(0, Math.min(15, 15 - Math.ceil(Math.log2(maxAbs * 1.05))));
}

/** Integer parameters for a float layer and its activation ranges (weights per gate row, `bits`). */
export function lowerRnn(f: FloatRnn, q: RnnQuantRanges, bits: Bits, what: string): QRnnParams {
  const { kind, hidden: H, inSize: I } = f;
  const G = RNN_GATES[kind];
  const wq = quantizeWeightsPerChannel(f.w, G * H, bits), rq = quantizeWeightsPerChannel(f.r, G * H, bits);
  const gateBias = new BigInt64Array(H * 4), gateMultiplier = new Int32Array(H * G * 2), gateShift = new Int32Array(H * G);
  const qmax = weightQmax(bits);
  for (let j = 0; j < H; j++) {
    for (let g = 0; g < G; g++) {
      const row = g * H + j;
      // Real multipliers into Q3.12 gate units, and the row's sums of quantized weights (zero points).
      const mx = q.inScale * wq.scale[row] * 4096, mh = q.outScale * rq.scale[row] * 4096;
      let sumW = 0, sumR = 0;
      for (let k = 0; k < I; k++) sumW += wq.q[row * I + k];
      for (let k = 0; k < H; k++) sumR += rq.q[row * H + k];
      const separateN = kind === 'gru' && g === 2;
      const bx = separateN ? f.wb[row] : f.wb[row] + f.rb[row];
      const bh = separateN ? f.rb[row] : 0;
      // One r for both parts: the larger multiplier gets 31 bits; then lowered until every term of v
      // (bias, zero-point corrections, the largest sums) stays below 2^61 in magnitude.
      const big = Math.max(mx, mh);
      let r = big > 0 ? 31 - encodeMultiplier(big, `${what} gate multiplier`).shift : 62;
      const bound = (Math.abs(bx) + Math.abs(bh)) * 4096 + (Math.abs(q.inZp) * qmax * I + I * 128 * qmax) * mx + (Math.abs(q.outZp) * qmax * H + H * 128 * qmax) * mh;
      if (bound > 0) r = Math.min(r, Math.floor(61 - Math.log2(bound)));
      r = Math.min(62, r);
      if (r < 1) throw new TinyM2Error(`cannot quantize ${what}: gate values beyond the 16-bit gate format (biases or ranges are extreme)`);
      const Mx = Math.round(mx * 2 ** r), Mh = Math.round(mh * 2 ** r);
      if (Mx >= 2 ** 31 || Mh >= 2 ** 31) throw new Error(`internal: ${what} gate multiplier ${Math.max(Mx, Mh)} >= 2^31`);
      gateMultiplier[(j * G + g) * 2] = Mx;
      gateMultiplier[(j * G + g) * 2 + 1] = Mh;
      gateShift[j * G + g] = 31 - r;
      const R = BigInt(r), round = 1n << (R - 1n);
      const fold = (b: number, zp: number, sum: number, M: number) => BigInt(Math.round(b * 4096 * 2 ** r)) - BigInt(zp) * BigInt(sum) * BigInt(M);
      const xPart = fold(bx, q.inZp, sumW, Mx), hPart = fold(bh, q.outZp, sumR, Mh);
      if (separateN) {
        gateBias[j * 4 + 2] = xPart + round;
        gateBias[j * 4 + 3] = hPart + round;
      } else {
        gateBias[j * 4 + g] = xPart + hPart + round;
      }
    }
  }
  const cellFrac = kind === 'lstm' ? cellFracFor(q.cellMaxAbs ?? 8) : 0;
  const out = encodeMultiplier((kind === 'lstm' ? 2 ** -30 : 2 ** -15) / q.outScale, `${what} output multiplier`);
  return {
    kind, steps: f.steps, inSize: I, hidden: H, inZp: q.inZp, outZp: q.outZp, actMin: q.actMin ?? -128, actMax: q.actMax ?? 127,
    outMultiplier: out.multiplier, outShift: out.shift, cellFrac, lastOnly: q.lastOnly ?? false, gateBias, gateMultiplier, gateShift, weightBits: bits,
    wx: wq.q, wh: rq.q,
  };
}

// ---- the kernel registry entry (compiler/kernels/registry.ts: lstm, gru) -------------------

/** A recurrent layer in the QGraph: tm2_lstm_* / tm2_gru_* over the whole sequence (input [1][T][I]). */
export interface QRnnOp extends QOpBase, Clamp, Omit<QRnnParams, 'kind' | 'actMin' | 'actMax'> {
  op: RnnKind;
  macs: number;
}

function paramsOf(op: QRnnOp): QRnnParams {
  return { ...op, kind: op.op };
}

export const rnnKernel: KernelDef<QRnnOp> = {
  emulate: (op, [x]) => emulateRnn(paramsOf(op), x),

  validate(op, [inT], out, v) {
    const G = RNN_GATES[op.op], H = op.hidden, I = op.inSize;
    if (inT.shape[0] * inT.shape[1] !== op.steps || inT.shape[2] !== I) v.bad(`input [${inT.shape}] is not [1, ${op.steps}, ${I}]`);
    if (out.shape[0] * out.shape[1] * out.shape[2] !== (op.lastOnly ? H : op.steps * H)) v.bad(`output [${out.shape}] does not hold ${op.lastOnly ? H : op.steps * H} values`);
    if (op.wx.length !== G * H * I || op.wh.length !== G * H * H) v.bad('weight arrays do not match the shape');
    if (op.gateBias.length !== 4 * H || op.gateMultiplier.length !== 2 * G * H || op.gateShift.length !== G * H) v.bad('gate parameter arrays do not match the shape');
    for (let i = 0; i < op.gateShift.length; i++) {
      const r = 31 - op.gateShift[i];
      if (r < 1 || r > 62) v.bad(`gate shift ${op.gateShift[i]} out of range (r = ${r})`);
    }
    for (const m of op.gateMultiplier) if (m < 0 || m >= 2 ** 31) v.bad(`gate multiplier ${m} out of range`);
    if (op.op === 'lstm' && (op.cellFrac < 0 || op.cellFrac > 15)) v.bad(`cell_frac ${op.cellFrac} not in 0..15`);
    v.checkRequant({ multiplier: Int32Array.of(op.outMultiplier), shift: Int32Array.of(op.outShift) }, 1, 'output');
    v.checkClamp(op, out);
  },

  emitC(op, e) {
    const { id: L, prefix, outT } = e;
    const s = op.weightBits === 4 ? 's4' : 's8';
    const w = packRnnWeights(paramsOf(op));
    e.defineArray('int8_t', `${prefix}_${L}_w`, w, `${op.name}: ${op.op.toUpperCase()} weights in the kernel's interleaved layout (tm2.h), INT${op.weightBits}${op.weightBits === 4 ? ' packed low nibble first' : ''}`);
    e.defineArray('int32_t', `${prefix}_${L}_gmult`, op.gateMultiplier, `${op.name}: gate multipliers (input, recurrent) per gate row`, 8);
    e.defineArray('int32_t', `${prefix}_${L}_gshift`, op.gateShift, `${op.name}: gate shifts per gate row`, 16);
    // int64 constants: the arrays of <name>_weights.c are int8/int32 only; the gate constants go beside the params.
    e.param(`/* ${commentText(op.name)}: gate constants (bias, zero points, rounding) per unit, 4 slots */\nstatic const int64_t ${L}_gbias[${op.gateBias.length}] = {${Array.from(op.gateBias, (b) => `${b}LL`).join(', ')}};`);
    e.param(
      `/* ${commentText(op.name)}: steps, in_size, hidden, in_zp, out_zp, clamp, output multiplier/shift, cell_frac, last_only */\n` +
        `static const tm2_rnn_params ${L} = {${op.steps}, ${op.inSize}, ${op.hidden}, ${op.inZp}, ${op.outZp}, ${op.actMin}, ${op.actMax}, ${op.outMultiplier}, ${op.outShift}, ${op.cellFrac}, ${op.lastOnly ? 1 : 0}, ${L}_gbias, ${prefix}_${L}_gmult, ${prefix}_${L}_gshift};`,
    );
    const sc = e.memory.scratch[e.index];
    e.statement(`${e.comment}\n  tm2_${op.op}_${s}(&${L}, ${e.at(op.inputs[0])}, ${prefix}_${L}_w, ${e.at(op.output)}, ${sc ? `A + ${sc.offset}` : 'NULL'});`);
    e.selfCheck(`  if (tm2_${op.op}_scratch_size(&${L}) > ${sc ? sc.bytes : 0}u) bad++;`);
    e.report.weightBits = op.weightBits;
    e.report.macs = op.macs;
    void outT;
  },

  scratchBytes: (op) => rnnScratchBytes(op),
  scratchIsState: true,
  inPlace: false,
  runOps: null,
};
