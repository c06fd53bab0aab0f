// The TypeScript twin of runtime-c/dynafuse/tm2_dynafuse.c: the same integer arithmetic, bit for bit
// (test/dynafuse-runtime.test.ts runs both on random states and compares every field).
// Every intermediate stays below 2^53, so plain numbers are exact; divisions say how they round.

export const Q15_ONE = 32768;
export const SIGMA_ONE = 4096;

export const MODES = ['high-accuracy', 'nominal', 'energy-saving'] as const;
export type ModeName = (typeof MODES)[number];
export const HIGH_ACCURACY = 0;
export const NOMINAL = 1;
export const ENERGY_SAVING = 2;

/** Piecewise-linear function through knots (x strictly increasing), flat outside them. */
export interface Pwl {
  x: number[];
  y: number[];
}

export interface ModalityTables {
  name: string;
  /** Raw window, channels-last: window[t * channels + c]. */
  channels: number;
  samples: number;
  /** int16 windows: |difference| >> diffShift is histogrammed. */
  diffShift: number;
  /** Per channel, Q16: median |first difference| -> sigma estimate (Q12). */
  estMultQ16: number[];
  /** Channel-mean estimate (Q12) -> sigma (Q12). Empty: the estimate is the sigma. */
  estToSigma: Pwl;
  /** Sigma (Q12) -> accuracy (Q15); y[0] is the noise-free accuracy. */
  resilience: Pwl;
  energyNj: number;
  /** round(65536 * exp(-k * logit scale)), k = 0..255. */
  expTable: Uint32Array;
}

export interface DynaFuseTables {
  classes: number;
  modalities: ModalityTables[];
  thresholdQ15: number;
  defaultMode: number;
  batteryEnergySavingBelow: number;
  batteryNominalBelow: number;
  fused?: { expTable: Uint32Array; energyNj: number };
  /** ALL_DYNAMIC_WEIGHTS or ALL_FUSED_HEAD (see ALL_SELECTED_RULES). */
  allSelectedRule: number;
}

export interface Request {
  sigmaQ12: number[];
  /** Percent, or -1 if unknown. */
  batteryPct: number;
  /** A mode index to force, or -1. */
  forcedMode: number;
}

export interface Decision {
  mode: number;
  mask: number;
  useFused: boolean;
  accQ15: number[];
  wInitQ15: number[];
  weightQ15: number[];
  energyNj: number;
}

export const MAX_MODALITIES = 16;

/**
 * What decides when every modality is selected (high-accuracy mode with every modality a candidate):
 * the paper's rule, k = N heads fused with the run-time weights, or the model's fused head (which reads every
 * trunk, so it can only run then). Index = the C enum tm2_dynafuse_all_selected_rule.
 */
export const ALL_SELECTED_RULES = ['dynamic-weights', 'fused-head'] as const;
export type AllSelectedRule = (typeof ALL_SELECTED_RULES)[number];
export const ALL_DYNAMIC_WEIGHTS = 0;
export const ALL_FUSED_HEAD = 1;

/** C's int64 division truncates toward zero. */
function divTrunc(a: number, b: number): number {
  return Math.trunc(a / b);
}

export function pwlEval(f: Pwl, x: number): number {
  const n = f.x.length;
  if (n === 0) return 0;
  if (x <= f.x[0]) return f.y[0];
  if (x >= f.x[n - 1]) return f.y[n - 1];
  let j = 0;
  while (j + 1 < n && f.x[j + 1] <= x) j++;
  return f.y[j] + divTrunc((f.y[j + 1] - f.y[j]) * (x - f.x[j]), f.x[j + 1] - f.x[j]);
}

function histogramMedian(hist: Uint16Array, count: number): number {
  const rank = Math.floor((count - 1) / 2);
  let seen = 0;
  for (let b = 0; b < 256; b++) {
    seen += hist[b];
    if (seen > rank) return b;
  }
  return 255;
}

/** Median |first difference| per channel (after >> shift, capped at 255), channels-last window. */
export function medianAbsDiffs(window: ArrayLike<number>, channels: number, samples: number, shift = 0): number[] {
  const out: number[] = [];
  const hist = new Uint16Array(256);
  for (let c = 0; c < channels; c++) {
    hist.fill(0);
    for (let t = 1; t < samples; t++) {
      const d = Math.abs(window[t * channels + c] - window[(t - 1) * channels + c]) >> shift;
      hist[d > 255 ? 255 : d]++;
    }
    out.push(histogramMedian(hist, samples - 1));
  }
  return out;
}

/** The channel-mean sigma estimate (Q12) before the estimate -> sigma map. */
export function rawEstimate(m: ModalityTables, window: ArrayLike<number>, shift: number): number {
  if (m.channels === 0 || m.samples < 2) return 0;
  const mads = medianAbsDiffs(window, m.channels, m.samples, shift);
  let sum = 0;
  for (let c = 0; c < m.channels; c++) sum += Math.floor((mads[c] * m.estMultQ16[c] + 32768) / 65536);
  return Math.floor(sum / m.channels);
}

function estimateToSigma(m: ModalityTables, est: number): number {
  return m.estToSigma.x.length ? pwlEval(m.estToSigma, est) : est;
}

export function noiseS8(m: ModalityTables, window: Int8Array): number {
  if (m.channels === 0 || m.samples < 2) return 0;
  return estimateToSigma(m, rawEstimate(m, window, 0));
}

export function noiseS16(m: ModalityTables, window: Int16Array): number {
  if (m.channels === 0 || m.samples < 2) return 0;
  return estimateToSigma(m, rawEstimate(m, window, m.diffShift));
}

/** Q15 shares over `mask` summing to exactly 32768 (largest remainder, ties to the lower index). */
export function q15Shares(values: number[], mask: number): number[] {
  const n = values.length;
  const inMask = (i: number) => ((mask >>> i) & 1) === 1;
  let anyPositive = false;
  for (let i = 0; i < n; i++) if (inMask(i) && values[i] > 0) anyPositive = true;
  const v = values.map((x) => (anyPositive ? x : 1));
  let sum = 0;
  for (let i = 0; i < n; i++) if (inMask(i)) sum += v[i];
  const w = new Array<number>(n).fill(0);
  const rem = new Array<number>(n).fill(0);
  let left = Q15_ONE;
  for (let i = 0; i < n; i++) {
    if (!inMask(i)) continue;
    const num = v[i] * Q15_ONE;
    w[i] = Math.floor(num / sum);
    rem[i] = num - w[i] * sum;
    left -= w[i];
  }
  const bumped = new Array<boolean>(n).fill(false);
  while (left > 0) {
    let best = -1;
    for (let i = 0; i < n; i++) if (inMask(i) && !bumped[i] && (best < 0 || rem[i] > rem[best])) best = i;
    w[best]++;
    bumped[best] = true;
    left--;
  }
  return w;
}

export function chooseMode(t: DynaFuseTables, req: Request): number {
  if (req.forcedMode >= 0 && req.forcedMode <= 2) return req.forcedMode;
  if (req.batteryPct >= 0) {
    if (req.batteryPct < t.batteryEnergySavingBelow) return ENERGY_SAVING;
    if (req.batteryPct < t.batteryNominalBelow) return NOMINAL;
    return HIGH_ACCURACY;
  }
  return t.defaultMode;
}

export function decide(t: DynaFuseTables, req: Request): Decision {
  const n = t.modalities.length;
  const mode = chooseMode(t, req);
  let bestIdeal = 0;
  let all = 0;
  const accQ15: number[] = [];
  for (let i = 0; i < n; i++) {
    const m = t.modalities[i];
    const acc = pwlEval(m.resilience, Math.max(0, req.sigmaQ12[i]));
    accQ15.push(Math.min(Q15_ONE, Math.max(0, acc)));
    if (m.resilience.y.length && m.resilience.y[0] > bestIdeal) bestIdeal = m.resilience.y[0];
    all = (all | (1 << i)) >>> 0;
  }
  const wInitQ15 = q15Shares(accQ15, all);

  const threshold = Math.floor((t.thresholdQ15 * bestIdeal + 16384) / 32768);
  let candidates = 0;
  let nCandidates = 0;
  for (let i = 0; i < n; i++) {
    if (accQ15[i] >= threshold) {
      candidates |= 1 << i;
      nCandidates++;
    }
  }
  if (nCandidates === 0 && n > 0) {
    let best = 0;
    for (let i = 1; i < n; i++) if (accQ15[i] > accQ15[best]) best = i;
    candidates = 1 << best;
    nCandidates = 1;
  }
  let k = mode === HIGH_ACCURACY ? n : mode === NOMINAL ? Math.floor(n / 2) : 1;
  k = Math.min(Math.max(k, 1), nCandidates);

  let mask = 0;
  for (; k > 0; k--) {
    let best = -1;
    for (let i = 0; i < n; i++) {
      if (!((candidates >>> i) & 1) || (mask >>> i) & 1) continue;
      const e = t.modalities[i].energyNj;
      if (best < 0 || e < t.modalities[best].energyNj || (e === t.modalities[best].energyNj && accQ15[i] > accQ15[best])) best = i;
    }
    mask = (mask | (1 << best)) >>> 0;
  }
  const useFused = t.allSelectedRule === ALL_FUSED_HEAD && t.fused !== undefined && n > 0 && mask === all;
  const weightQ15 = q15Shares(accQ15, mask);
  let energyNj = useFused ? t.fused!.energyNj : 0;
  for (let i = 0; i < n; i++) if ((mask >>> i) & 1) energyNj = (energyNj + t.modalities[i].energyNj) >>> 0;
  return { mode, mask, useFused, accQ15, wInitQ15, weightQ15, energyNj };
}

function addHead(classes: number, logits: ArrayLike<number>, expTable: Uint32Array, weight: number, acc: number[]): void {
  let max = -128;
  for (let c = 0; c < classes; c++) if (logits[c] > max) max = logits[c];
  let sum = 0;
  for (let c = 0; c < classes; c++) sum += expTable[max - logits[c]];
  const half = Math.floor(sum / 2);
  for (let c = 0; c < classes; c++) acc[c] += weight * Math.floor((expTable[max - logits[c]] * Q15_ONE + half) / sum);
}

/** Fused Q15 class probabilities and the argmax (first maximum of the unrounded sum). */
export function fuse(t: DynaFuseTables, d: Decision, heads: Array<ArrayLike<number> | undefined>, fused?: ArrayLike<number>): { probsQ15: number[]; argmax: number } {
  const acc = new Array<number>(t.classes).fill(0);
  if (d.useFused) {
    addHead(t.classes, fused!, t.fused!.expTable, Q15_ONE, acc);
  } else {
    for (let i = 0; i < t.modalities.length; i++) {
      if ((d.mask >>> i) & 1 && d.weightQ15[i] > 0) addHead(t.classes, heads[i]!, t.modalities[i].expTable, d.weightQ15[i], acc);
    }
  }
  let best = 0;
  for (let c = 1; c < t.classes; c++) if (acc[c] > acc[best]) best = c;
  return { probsQ15: acc.map((a) => Math.floor((a + 16384) / 32768)), argmax: best };
}

/** The runtime-c softmax's exp table for logits of this scale: round(65536 * exp(-k * scale)). */
export function expTableFor(scale: number): Uint32Array {
  const t = new Uint32Array(256);
  for (let k = 0; k < 256; k++) t[k] = Math.round(65536 * Math.exp(-k * scale));
  return t;
}
