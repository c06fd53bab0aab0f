// What commands leave in OUT_DIR for a later `tinym2 report OUT_DIR`: verify's measurements
// (OUT_DIR/verify.json). compile's recipe and plan are OUT_DIR/tinym2.json (compiler/commands/compile.ts).
// A verify result carries the fingerprint of the sources it ran, so a report never shows figures of
// sources that have since been recompiled or edited.
import fs from 'node:fs';
import path from 'node:path';
import { EXIT_BAD_INPUT, TinyM2Error } from '../errors.ts';
import type { ConfusionMatrix, OutputAccuracy } from './data.ts';

export const VERIFY_ARTIFACT = 'verify.json';

/** Rows the per-layer counting build of verify --profile-layers runs (layer counts barely depend on the data; each row costs a QEMU run's worth). */
export const PROFILE_ROWS = 4;

export interface VerifyArtifact {
  /** sourcesDigest() of OUT_DIR's C when verify ran. */
  digest: string;
  board: string;
  data: string;
  rows: number;
  instructionsPerInference: number | null;
  /** Mean instructions per layer (op index order) from the per-layer counting build, when it ran. */
  layers: Array<{ index: number; name: string; instructions: number }> | null;
  /** Rows the per-layer build ran (the first ones), and a whole inference's instructions over those rows. */
  profiledRows: number | null;
  profiledInference: number | null;
  /** The model's bytes inside the firmware image. */
  modelBytes: { text: number; rodata: number; data: number; weights: number };
  outputs: OutputAccuracy[];
  confusion: ConfusionMatrix[];
}

export function writeJsonAtomically(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new TinyM2Error(`cannot write ${file}: ${(e as Error).message}`);
  }
}

export function writeVerifyArtifact(outDir: string, a: VerifyArtifact): void {
  writeJsonAtomically(path.join(outDir, VERIFY_ARTIFACT), a);
}

/** OUT_DIR/verify.json, or undefined when verify has not run there. */
export function readVerifyArtifact(outDir: string): VerifyArtifact | undefined {
  const file = path.join(outDir, VERIFY_ARTIFACT);
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as VerifyArtifact;
  } catch (e) {
    throw new TinyM2Error(`${file} is not valid JSON (${(e as Error).message}): delete it and run 'tinym2 verify' again`, { exitCode: EXIT_BAD_INPUT });
  }
}
