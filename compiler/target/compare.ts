// Compares what the firmware computed with what the TypeScript integer emulator computed (must be equal bit
// for bit), and scores both against labels and against the float model (top-1). Used by `tinym2 verify`.

export interface RowOutputs {
  /** int8 outputs by output name, in the order the firmware writes them (channels-last). */
  [output: string]: Int8Array;
}

export interface Mismatch {
  row: number;
  output: string;
  /** Indices that differ (first few). */
  indices: number[];
  differing: number;
  device: number[];
  expected: number[];
}

export interface OutputScore {
  output: string;
  /** Rows whose device output equals the emulator's exactly. */
  bitExactRows: number;
  /** Top-1 of the device output vs labels (null without labels for this output). */
  accuracy: number | null;
  /** Top-1 of the device output equal to the float model's top-1. */
  agreementWithFloat: number | null;
}

export interface Comparison {
  rows: number;
  bitExact: boolean;
  mismatches: Mismatch[];
  outputs: OutputScore[];
}

/** Index of the largest value; the first on ties (as the C argmax kernel and the emulator do). */
export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

/**
 * `device[r]` and `expected[r]` hold the int8 outputs of row r. `floatTop1[r][output]` is the float model's
 * argmax for the row (in the same class order), `labels[output]` the labels. Argmax over int8 values equals
 * argmax over the dequantized values (one positive scale per tensor), so no dequantization is needed.
 */
export function compareOutputs(
  device: RowOutputs[],
  expected: RowOutputs[],
  options: { labels?: Record<string, ArrayLike<number> | undefined>; floatTop1?: Array<Record<string, number>>; maxMismatches?: number } = {},
): Comparison {
  if (device.length !== expected.length) throw new Error(`internal: ${device.length} device rows vs ${expected.length} expected`);
  const names = expected.length > 0 ? Object.keys(expected[0]!) : [];
  const maxMismatches = options.maxMismatches ?? 20;
  const mismatches: Mismatch[] = [];
  let mismatchCount = 0;
  const scores = names.map((output) => {
    let exact = 0;
    let correct = 0;
    let agree = 0;
    const labels = options.labels?.[output];
    device.forEach((d, r) => {
      const got = d[output];
      const want = expected[r]![output]!;
      if (!got || got.length !== want.length) throw new Error(`internal: row ${r} output ${output}: ${got?.length ?? 0} values from the device, ${want.length} expected`);
      const differing: number[] = [];
      for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) differing.push(i);
      if (differing.length === 0) exact++;
      else {
        mismatchCount++;
        if (mismatches.length < maxMismatches) {
          mismatches.push({
            row: r,
            output,
            indices: differing.slice(0, 8),
            differing: differing.length,
            device: differing.slice(0, 8).map((i) => got[i]!),
            expected: differing.slice(0, 8).map((i) => want[i]!),
          });
        }
      }
      const top = argmax(got);
      if (labels && top === Number(labels[r])) correct++;
      const ft = options.floatTop1?.[r]?.[output];
      if (ft !== undefined && top === ft) agree++;
    });
    const rows = device.length;
    return {
      output,
      bitExactRows: exact,
      accuracy: labels && rows > 0 ? correct / rows : null,
      agreementWithFloat: options.floatTop1 && rows > 0 ? agree / rows : null,
    };
  });
  return { rows: device.length, bitExact: mismatchCount === 0, mismatches, outputs: scores };
}
