// The CI gates of `tinym2 verify`, beyond bit-exactness with the emulator: an accuracy floor
// (--min-accuracy), a limit on the drop from the float model (--max-drop), and the generated code's
// dequantized outputs against reference outputs the user supplies (--expect outputs.npz, within
// --atol + --rtol x |reference|). Each gate is one named check: a failing one says by how much, and
// each becomes its own JUnit test case.
import { readNpz } from '../data/npz.ts';
import { EXIT_BAD_INPUT, TinyM2Error } from '../errors.ts';
import type { RowOutputs } from './compare.ts';

export interface GateCheck {
  name: string;
  ok: boolean;
  /** What was measured, and when failing, by how much it missed. */
  message: string;
}

export interface ScoredOutput {
  field: string;
  accuracy: number | null;
  floatAccuracy: number | null;
}

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

/** --min-accuracy P (percent) and --max-drop POINTS (percentage points below the float model), per output with labels. */
export function accuracyGates(outputs: ScoredOutput[], o: { minAccuracy?: number; maxDrop?: number }): GateCheck[] {
  if (o.minAccuracy === undefined && o.maxDrop === undefined) return [];
  const scored = outputs.filter((x) => x.accuracy !== null);
  if (scored.length === 0) {
    throw new TinyM2Error('--min-accuracy / --max-drop need labels in the data (an int64 "labels" array): no output has any', { exitCode: EXIT_BAD_INPUT });
  }
  const checks: GateCheck[] = [];
  for (const x of scored) {
    const acc = x.accuracy!;
    if (o.minAccuracy !== undefined) {
      const below = o.minAccuracy - 100 * acc;
      checks.push({
        name: `${x.field} top-1 >= ${o.minAccuracy}%`,
        ok: below <= 0,
        message: below <= 0 ? `${x.field}: top-1 ${pct(acc)}, at least ${o.minAccuracy}%` : `${x.field}: top-1 ${pct(acc)} is ${below.toFixed(2)} points below --min-accuracy ${o.minAccuracy}`,
      });
    }
    if (o.maxDrop !== undefined && x.floatAccuracy !== null) {
      const drop = 100 * (x.floatAccuracy - acc);
      const over = drop - o.maxDrop;
      checks.push({
        name: `${x.field} top-1 drop vs float <= ${o.maxDrop} points`,
        ok: over <= 1e-9,
        message:
          `${x.field}: top-1 ${pct(acc)} vs ${pct(x.floatAccuracy)} for the float model (${drop >= 0 ? 'drop' : 'gain'} ${Math.abs(drop).toFixed(2)} points)` +
          (over > 1e-9 ? `, ${over.toFixed(2)} points more than --max-drop ${o.maxDrop}` : ''),
      });
    }
  }
  return checks;
}

export interface QuantizedOutput {
  /** The ONNX output name (the array name in the reference npz). */
  name: string;
  /** The field in the firmware's output struct (the key of RowOutputs). */
  field: string;
  scale: number;
  zeroPoint: number;
}

export interface ExpectReport {
  output: string;
  rows: number;
  values: number;
  maxAbsError: number;
  meanAbsError: number;
  atol: number;
  rtol: number;
  /** Values outside atol + rtol * |reference|. */
  outside: number;
  worst: { row: number; index: number; device: number; reference: number };
}

/**
 * The device's outputs, dequantized (scale * (q - zeroPoint)), against reference outputs (`file`: one float
 * array per ONNX output, named as the output, batch first, as `tinym2 run -o` writes them). The default
 * atol is 5% of each reference output's range: room for quantization, which a user's tolerance replaces.
 */
export function expectGate(file: string, device: RowOutputs[], outputs: QuantizedOutput[], tol: { atol?: number; rtol: number }): { checks: GateCheck[]; reports: ExpectReport[] } {
  const npz = readNpz(file);
  const checks: GateCheck[] = [];
  const reports: ExpectReport[] = [];
  for (const out of outputs) {
    const ref = npz.get(out.name);
    if (!ref) throw new TinyM2Error(`${file} has no array '${out.name}' (the reference outputs are named as the model outputs: ${outputs.map((x) => x.name).join(', ')})`, { exitCode: EXIT_BAD_INPUT });
    const perRow = device[0]?.[out.field]?.length ?? 0;
    const refRows = ref.shape[0] ?? 0;
    const refPerRow = refRows ? ref.data.length / refRows : 0;
    if (refPerRow !== perRow || refRows < device.length) {
      throw new TinyM2Error(
        `${file}: '${out.name}' has shape [${ref.shape.join(', ')}], but ${device.length} rows of ${perRow} values were verified: give the reference outputs of the same rows (e.g. from 'tinym2 run -o')`,
        { exitCode: EXIT_BAD_INPUT },
      );
    }
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < device.length * perRow; i++) {
      const v = Number(ref.data[i]);
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const atol = tol.atol ?? 0.05 * (hi - lo);
    let maxAbs = 0;
    let sum = 0;
    let outside = 0;
    let worst = { row: 0, index: 0, device: 0, reference: 0 };
    device.forEach((row, r) => {
      const q = row[out.field]!;
      for (let i = 0; i < perRow; i++) {
        const d = out.scale * (q[i]! - out.zeroPoint);
        const ref_ = Number(ref.data[r * perRow + i]);
        const err = Math.abs(d - ref_);
        sum += err;
        if (err > atol + tol.rtol * Math.abs(ref_)) outside++;
        if (err > maxAbs) [maxAbs, worst] = [err, { row: r, index: i, device: d, reference: ref_ }];
      }
    });
    const values = device.length * perRow;
    const report: ExpectReport = { output: out.name, rows: device.length, values, maxAbsError: maxAbs, meanAbsError: values ? sum / values : 0, atol, rtol: tol.rtol, outside, worst };
    reports.push(report);
    checks.push({
      name: `${out.name} within tolerance of ${file.split('/').pop()}`,
      ok: outside === 0,
      message:
        `${out.name}: max |error| ${maxAbs.toPrecision(3)}, mean ${report.meanAbsError.toPrecision(3)} vs the reference (atol ${atol.toPrecision(3)}, rtol ${tol.rtol})` +
        (outside ? `; ${outside} of ${values} values outside, worst row ${worst.row} [${worst.index}]: ${worst.device.toPrecision(4)} vs ${worst.reference.toPrecision(4)}` : ''),
    });
  }
  return { checks, reports };
}
