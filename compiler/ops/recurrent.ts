// Float LSTM and GRU (one direction, batch 1, zero or given initial state) in float64: the forward
// every float consumer shares (reference interpreter, calibration of the cell-state range, sensitivity)
// and its backward through time (reverse-mode gradients w.r.t. the sequence, the initial state and every
// weight, for the sensitivity engine's Hessian traces). ONNX semantics: gate rows of W [G*H][I],
// R [G*H][H], Wb, Rb [G*H] in ONNX order (LSTM i, o, f, c; GRU z, r, h), default activations
// (sigmoid, tanh, tanh), no peepholes, no clip, LSTM input_forget 0, GRU linear_before_reset 1.
import type { RnnKind } from '../kernels/rnn.ts';

export interface RnnWeights {
  kind: RnnKind;
  inSize: number;
  hidden: number;
  w: ArrayLike<number>;
  r: ArrayLike<number>;
  wb: ArrayLike<number>;
  rb: ArrayLike<number>;
}

/** What the forward keeps for the backward (post-activation gates per step). */
export interface RnnTape {
  steps: number;
  /** h_{t-1} per step [T][H] (h_{-1} = the initial state). */
  hPrev: Float64Array;
  /** LSTM: c_{t-1} and c_t [T][H]; GRU: unused. */
  cPrev: Float64Array;
  c: Float64Array;
  /** Gate values after their activation [T][G*H]; GRU also keeps Rn h + Rbn in `lin` [T][H]. */
  gates: Float64Array;
  lin: Float64Array;
}

export interface RnnForward {
  /** Every step's hidden state [T][H]. */
  y: Float64Array;
  /** Last hidden state and (LSTM) last cell state [H]. */
  hLast: Float64Array;
  cLast: Float64Array;
  tape: RnnTape;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
const gatesOf = (kind: RnnKind) => (kind === 'lstm' ? 4 : 3);

/** x [T][I]; h0, c0 [H] or undefined for zeros. `cellMaxAbs` (optional) collects the largest |c|. */
export function rnnForward(p: RnnWeights, x: ArrayLike<number>, steps: number, h0?: ArrayLike<number>, c0?: ArrayLike<number>, cellMaxAbs?: { value: number }): RnnForward {
  const { hidden: H, inSize: I } = p;
  const G = gatesOf(p.kind);
  const tape: RnnTape = {
    steps, hPrev: new Float64Array(steps * H), cPrev: new Float64Array(steps * H), c: new Float64Array(steps * H),
    gates: new Float64Array(steps * G * H), lin: new Float64Array(steps * H),
  };
  const y = new Float64Array(steps * H);
  let h = Float64Array.from(h0 ?? new Float64Array(H));
  let c = Float64Array.from(c0 ?? new Float64Array(H));
  const a = new Float64Array(G * H), b = new Float64Array(G * H);
  for (let t = 0; t < steps; t++) {
    tape.hPrev.set(h, t * H);
    tape.cPrev.set(c, t * H);
    for (let row = 0; row < G * H; row++) {
      let s = p.wb[row], u = p.rb[row];
      for (let k = 0; k < I; k++) s += p.w[row * I + k] * x[t * I + k];
      for (let k = 0; k < H; k++) u += p.r[row * H + k] * h[k];
      a[row] = s;
      b[row] = u;
    }
    const hn = new Float64Array(H), cn = new Float64Array(H);
    const g = tape.gates.subarray(t * G * H, (t + 1) * G * H);
    for (let j = 0; j < H; j++) {
      if (p.kind === 'lstm') {
        const i = sigmoid(a[j] + b[j]), o = sigmoid(a[H + j] + b[H + j]), f = sigmoid(a[2 * H + j] + b[2 * H + j]);
        const cc = Math.tanh(a[3 * H + j] + b[3 * H + j]);
        g[j] = i; g[H + j] = o; g[2 * H + j] = f; g[3 * H + j] = cc;
        cn[j] = f * c[j] + i * cc;
        if (cellMaxAbs) cellMaxAbs.value = Math.max(cellMaxAbs.value, Math.abs(cn[j]));
        hn[j] = o * Math.tanh(cn[j]);
      } else {
        const z = sigmoid(a[j] + b[j]), r = sigmoid(a[H + j] + b[H + j]);
        const n = Math.tanh(a[2 * H + j] + r * b[2 * H + j]);
        g[j] = z; g[H + j] = r; g[2 * H + j] = n;
        tape.lin[t * H + j] = b[2 * H + j];
        hn[j] = (1 - z) * n + z * h[j];
      }
    }
    tape.c.set(cn, t * H);
    y.set(hn, t * H);
    h = hn;
    c = cn;
  }
  return { y, hLast: h, cLast: c, tape };
}

export interface RnnGradients {
  x: Float64Array;
  h0: Float64Array;
  c0: Float64Array;
  w: Float64Array;
  r: Float64Array;
  wb: Float64Array;
  rb: Float64Array;
}

/**
 * Backward through time. gy [T][H]: gradient on every step's output; gHLast, gCLast [H] (optional):
 * on the last hidden / cell state when those are outputs of their own (ONNX Y_h, Y_c).
 */
export function rnnBackward(p: RnnWeights, x: ArrayLike<number>, fwd: RnnForward, gy: ArrayLike<number>, gHLast?: ArrayLike<number>, gCLast?: ArrayLike<number>): RnnGradients {
  const { hidden: H, inSize: I } = p;
  const G = gatesOf(p.kind);
  const T = fwd.tape.steps, tape = fwd.tape;
  const out: RnnGradients = {
    x: new Float64Array(T * I), h0: new Float64Array(H), c0: new Float64Array(H),
    w: new Float64Array(G * H * I), r: new Float64Array(G * H * H), wb: new Float64Array(G * H), rb: new Float64Array(G * H),
  };
  let dhNext = Float64Array.from(gHLast ?? new Float64Array(H));
  let dcNext = Float64Array.from(gCLast ?? new Float64Array(H));
  const dax = new Float64Array(G * H), dah = new Float64Array(G * H);
  for (let t = T - 1; t >= 0; t--) {
    const g = tape.gates.subarray(t * G * H, (t + 1) * G * H);
    const hPrev = tape.hPrev.subarray(t * H, (t + 1) * H);
    const dhPrev = new Float64Array(H), dcPrev = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      const dh = gy[t * H + j] + dhNext[j];
      if (p.kind === 'lstm') {
        const i = g[j], o = g[H + j], f = g[2 * H + j], cc = g[3 * H + j];
        const c = tape.c[t * H + j], tc = Math.tanh(c);
        const dc = dcNext[j] + dh * o * (1 - tc * tc);
        const di = dc * cc, dcc = dc * i, df = dc * tape.cPrev[t * H + j], dO = dh * tc;
        dcPrev[j] = dc * f;
        dax[j] = dah[j] = di * i * (1 - i);
        dax[H + j] = dah[H + j] = dO * o * (1 - o);
        dax[2 * H + j] = dah[2 * H + j] = df * f * (1 - f);
        dax[3 * H + j] = dah[3 * H + j] = dcc * (1 - cc * cc);
      } else {
        const z = g[j], r = g[H + j], n = g[2 * H + j], lin = tape.lin[t * H + j];
        const dn = dh * (1 - z), dz = dh * (hPrev[j] - n);
        dhPrev[j] = dh * z;
        const dan = dn * (1 - n * n);
        dax[j] = dah[j] = dz * z * (1 - z);
        dax[H + j] = dah[H + j] = dan * lin * r * (1 - r);
        dax[2 * H + j] = dan;
        dah[2 * H + j] = dan * r;
      }
    }
    for (let row = 0; row < G * H; row++) {
      const ax = dax[row], ah = dah[row];
      out.wb[row] += ax;
      out.rb[row] += ah;
      for (let k = 0; k < I; k++) {
        out.w[row * I + k] += ax * x[t * I + k];
        out.x[t * I + k] += ax * p.w[row * I + k];
      }
      for (let k = 0; k < H; k++) {
        out.r[row * H + k] += ah * hPrev[k];
        dhPrev[k] += ah * p.r[row * H + k];
      }
    }
    dhNext = dhPrev;
    dcNext = dcPrev;
  }
  out.h0.set(dhNext);
  out.c0.set(dcNext);
  return out;
}
