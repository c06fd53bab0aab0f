// Activation ranges over a calibration set, observed on the float reference's tensors.
//
// Three methods: 'minmax' (the extreme values seen), 'percentile' (the p-th and (100-p)-th
// percentiles, p = 99.99 for INT8 and 99.9 for INT4 by default), which ignores rare outliers so
// the scale spends its levels on values that actually occur, and 'mse', which for each bit width picks the clipping
// of the min/max range that minimizes the mean squared quantize-dequantize error over the
// sampled values (few levels at INT4 make clipping pay off more than at INT8). Percentiles come from a fixed-size uniform sample of each
// tensor's values (reservoir sampling with a fixed seed, so results repeat exactly), which keeps
// memory bounded however large the calibration set is; min/max always see every value.
import { activationParams, activationRange } from './fixedpoint.ts';
import { mulberry32 } from '../random.ts';
import type { Bits } from './qgraph.ts';

export interface Range {
  min: number;
  max: number;
  /** Ranges chosen for one activation bit width ('mse' calibration); `min`/`max` otherwise. */
  byBits?: Partial<Record<Bits, { min: number; max: number }>>;
  /** Graph inputs: the range of each channel (ONNX axis 1), same method. */
  channels?: Array<{ min: number; max: number }>;
}

/** Activation range per IR tensor name (graph inputs, intermediates, outputs). */
export type Calibration = Map<string, Range>;

export type CalibrationMethod = 'minmax' | 'percentile' | 'mse';

export interface CalibrationOptions {
  method?: CalibrationMethod;
  /** For 'percentile': the upper percentile (the lower one is 100 - p). */
  percentile?: number;
  /** For 'percentile': the percentile used for INT4 activations (fewer levels: clip more). */
  percentileInt4?: number;
  /** Values kept per tensor for percentiles. */
  sampleSize?: number;
}

/**
 * The default the examples measured best with (compiler/quant/README.md has the table): over the
 * 17 heads of the examples, 99.99 loses the least at INT8 and 99.9 the least at INT4 (of min/max,
 * 99.99, 99.9 and mse).
 */
export const DEFAULT_CALIBRATION: Required<CalibrationOptions> = { method: 'percentile', percentile: 99.99, percentileInt4: 99.9, sampleSize: 1 << 16 };

class TensorObserver {
  min = Infinity;
  max = -Infinity;
  seen = 0;
  readonly sample: Float32Array;
  kept = 0;

  constructor(sampleSize: number, private rng: () => number) {
    this.sample = new Float32Array(sampleSize);
  }

  add(values: ArrayLike<number>): void {
    const cap = this.sample.length;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
      if (this.kept < cap) {
        this.sample[this.kept++] = v;
      } else {
        const j = Math.floor(this.rng() * (this.seen + 1));
        if (j < cap) this.sample[j] = v;
      }
      this.seen++;
    }
  }

  range(opts: Required<CalibrationOptions>): Range {
    if (this.seen === 0) return { min: 0, max: 0 };
    if (opts.method === 'minmax') return { min: this.min, max: this.max };
    const sorted = this.sample.slice(0, this.kept).sort();
    if (opts.method === 'mse') {
      return { min: this.min, max: this.max, byBits: { 8: mseRange(sorted, this.min, this.max, 8), 4: mseRange(sorted, this.min, this.max, 4) } };
    }
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))))];
    const p8 = { min: at(100 - opts.percentile), max: at(opts.percentile) };
    const p4 = { min: at(100 - opts.percentileInt4), max: at(opts.percentileInt4) };
    return { ...p8, byBits: { 8: p8, 4: p4 } };
  }
}

/**
 * The clipped range [a * lo, a * hi] (a in a fixed grid from 1 down to 0.2; lo <= 0 <= hi) whose
 * activation parameters give the least mean squared error on the sampled values.
 */
function mseRange(values: Float32Array, min: number, max: number, bits: Bits): { min: number; max: number } {
  const lo = Math.min(min, 0), hi = Math.max(max, 0);
  const [qmin, qmax] = activationRange(bits);
  let best = { min: lo, max: hi }, bestErr = Infinity;
  for (let k = 0; k <= 40; k++) {
    const a = 1 - k * 0.02;
    const { scale, zeroPoint } = activationParams(lo * a, hi * a, bits);
    let err = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      const q = Math.min(qmax, Math.max(qmin, Math.round(v / scale) + zeroPoint));
      const d = (q - zeroPoint) * scale - v;
      err += d * d;
    }
    if (err < bestErr) { bestErr = err; best = { min: lo * a, max: hi * a }; }
  }
  return best;
}

const CHANNEL_SEP = '\u0000channel ';
function channelKey(name: string, c: number): string {
  return `${name}${CHANNEL_SEP}${c}`;
}


/** Accumulates observations sample by sample; call `result()` at the end. */
export class RangeObserver {
  private readonly tensors = new Map<string, TensorObserver>();
  private readonly opts: Required<CalibrationOptions>;
  private readonly rng = mulberry32(0x7e57);
  /** Tensors also observed per channel, with their channel counts. */
  private readonly channelCounts = new Map<string, number>();

  constructor(options: CalibrationOptions = {}) {
    this.opts = { ...DEFAULT_CALIBRATION, ...options };
  }

  /** One sample's tensors (e.g. the float reference's keepAll output plus the inputs). */
  observe(values: Map<string, ArrayLike<number>>): void {
    for (const [name, data] of values) {
      let obs = this.tensors.get(name);
      if (!obs) {
        obs = new TensorObserver(this.opts.sampleSize, this.rng);
        this.tensors.set(name, obs);
      }
      obs.add(data);
    }
  }

  /** Also observes each channel of a [1, C, ...] tensor on its own (for per-channel input quantization). */
  observeChannels(name: string, data: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> }, channels: number): void {
    const per = data.length / channels;
    const slices = new Map<string, ArrayLike<number>>();
    for (let c = 0; c < channels; c++) slices.set(channelKey(name, c), data.subarray(c * per, (c + 1) * per));
    this.observe(slices);
    this.channelCounts.set(name, channels);
  }

  result(): Calibration {
    const out: Calibration = new Map();
    for (const [name, obs] of this.tensors) if (!name.includes(CHANNEL_SEP)) out.set(name, obs.range(this.opts));
    for (const [name, channels] of this.channelCounts) {
      const r = out.get(name);
      if (!r) continue;
      r.channels = [];
      for (let c = 0; c < channels; c++) {
        // Per-channel input ranges use percentiles under 'mse' too (the mse search is per bit width).
        const cr = this.tensors.get(channelKey(name, c))!.range({ ...this.opts, method: this.opts.method === 'mse' ? 'percentile' : this.opts.method });
        r.channels.push({ min: cr.min, max: cr.max });
      }
    }
    return out;
  }
}
