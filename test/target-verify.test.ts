// `tinym2 verify` end to end on QEMU mps2-an386: a generated model (test/models/gemm_variants, dense
// layers only so the run is quick) is bit-exact to the emulator; the same output directory with one bias
// changed is caught (exit 1, the row and values named, the edited file named, a failing JUnit case).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { generateModel } from '../compiler/codegen/generate.ts';
import { writeOutputDir } from '../compiler/codegen/output.ts';
import { runCommand } from '../compiler/cli.ts';
import { TinyM2Error } from '../compiler/errors.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { calibrateGraph, loadDataSet, uniform } from '../compiler/quant/evaluate.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import { REPO_ROOT } from '../compiler/target/paths.ts';
import { expectJsonOutput } from './helpers/json-output.ts';

const MODEL = path.join(REPO_ROOT, 'test/models/gemm_variants.onnx');
const DATA = path.join(REPO_ROOT, 'test/models/gemm_variants.npz');
const compile = (args: string[]) => runCommand(['compile', ...args]);
const verify = (args: string[]) => runCommand(['verify', ...args]);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tm2-verify-test-'));
const outDir = path.join(tmp, 'out');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

beforeAll(() => {
  // What `tinym2 compile gemm_variants.onnx --calib gemm_variants.npz -o out` writes.
  const graph = loadOnnx(MODEL);
  const q = quantizeGraph(graph, calibrateGraph(graph, loadDataSet(graph, DATA).rows), uniform(graph, 8));
  writeOutputDir(outDir, generateModel(q, { name: 'gemm_variants', source: 'gemm_variants.onnx', precision: 'INT8' }).files);
});

/** Runs the command, capturing what it prints. */
async function runVerify(args: string[]): Promise<{ code: number; stdout: string }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    return { code: await verify(args), stdout: lines.join('\n') };
  } finally {
    spy.mockRestore();
  }
}

it('reports bit-exact outputs, accuracy, instructions, model bytes and estimates', async () => {
  const junit = path.join(tmp, 'ok.xml');
  const { code, stdout } = await runVerify([outDir, '--data', DATA, '--model', MODEL, '--calib', DATA, '--board', 'mps2-an386', '--junit', junit, '--json']);
  const r = expectJsonOutput('verify', stdout) as any;
  expect(code).toBe(0);
  expect(r).toMatchObject({ ok: true, bitExact: true, board: 'mps2-an386', runner: 'qemu-system-arm', quantizeMismatches: 0, sourcesMatchGenerator: true });
  expect(r.rows).toBeGreaterThan(1);
  expect(r.outputs[0].bitExactRows).toBe(r.rows);
  expect(r.outputs[0].accuracy).toBeGreaterThanOrEqual(0);
  expect(r.outputs[0].agreementWithFloat).toBeGreaterThan(0.5);
  expect(r.instructionsPerInference.mean).toBeGreaterThan(500);
  expect(r.modelBytes.flash).toBeGreaterThan(r.modelBytes.weights);
  expect(r.modelBytes.ram).toBeGreaterThanOrEqual(r.modelBytes.arena);
  expect(r.modelBytes.stackPeak).toBeGreaterThan(16); // the run function and its kernels push registers
  expect(r.modelBytes.stackPeak).toBeLessThan(4096);
  expect(r.firmwareBytes.flashBytes).toBeGreaterThan(r.modelBytes.flash);
  expect(r.estimates.map((e: { board: string }) => e.board)).toEqual(['mps2-an386', 'nrf52840-dk']);
  // the M4 boards have a per-class cycle model: the CPI comes from the measured instruction mix
  expect(r.instructionMix.load).toBeGreaterThan(0);
  // the per-function profile covers the inference: the shares add up to 1, kernels are named
  expect(r.functions.reduce((n: number, f: { share: number }) => n + f.share, 0)).toBeCloseTo(1, 9);
  expect(r.functions.some((f: { name: string }) => f.name.startsWith('tm2_'))).toBe(true);
  expect(r.functions.reduce((n: number, f: { instructionsPerInference: number }) => n + f.instructionsPerInference, 0)).toBeCloseTo(r.instructionsPerInference.mean, 6);
  expect(r.estimates[1].cpiModel).toBe('instruction-mix');
  expect(r.estimates[1].cpi).toBeGreaterThan(1);
  expect(r.estimates[1].latencySeconds).toBeCloseTo((Math.round(r.instructionsPerInference.mean) * r.estimates[1].cpi) / 64e6, 12);
  expect(r.fits).toEqual([
    { board: 'mps2-an386', flashBytes: 4194304, ramBytes: 4194304, fits: true },
    { board: 'nrf52840-dk', flashBytes: 1048576, ramBytes: 262144, fits: true },
  ]);
  const xml = fs.readFileSync(junit, 'utf8');
  expect(xml).toContain('failures="0"');
  expect(xml).toContain(`name="row ${r.rows - 1} bit-exact"`);
});

it('catches a changed bias: exit 1, the differing row and values, the edited file, a failing JUnit case', async () => {
  const edited = path.join(tmp, 'edited');
  fs.cpSync(outDir, edited, { recursive: true });
  const weights = path.join(edited, 'gemm_variants_weights.c');
  const text = fs.readFileSync(weights, 'utf8');
  const at = text.lastIndexOf('_bias[');
  const open = text.indexOf('{', at);
  const changed = text.slice(0, open) + text.slice(open).replace(/-?\d+/, (v) => String(Number(v) + 5000));
  fs.writeFileSync(weights, changed);
  const junit = path.join(tmp, 'bad.xml');
  const { code, stdout } = await runVerify([edited, '--data', DATA, '--model', MODEL, '--calib', DATA, '--junit', junit, '--rows', '3']);
  expect(code).toBe(1);
  expect(stdout).toMatch(/bit-exact [0-2]\/3 rows vs the emulator/);
  expect(stdout).toMatch(/row \d+ \w+: \d+ values? differ/);
  expect(stdout).toMatch(/FAILED: \d of 3 rows differ from the emulator; .*edited is probably stale or edited: gemm_variants_weights.c differ/);
  const failures = execFileSync('/usr/bin/python3', ['-c', 'import sys,xml.etree.ElementTree as E; r=E.parse(sys.argv[1]).getroot(); print(r.get("failures"))', junit]).toString().trim();
  expect(Number(failures)).toBeGreaterThanOrEqual(1);
});

it('reads the recipe from OUT_DIR/tinym2.json, and says what is missing without one', async () => {
  const withManifest = path.join(tmp, 'manifest');
  fs.cpSync(outDir, withManifest, { recursive: true });
  fs.writeFileSync(path.join(withManifest, 'tinym2.json'), JSON.stringify({ model: path.relative(withManifest, MODEL), calib: DATA, precision: 'int8' }));
  const { code } = await runVerify([withManifest, '--data', DATA, '--rows', '2']);
  expect(code).toBe(0);
  await expect(verify([outDir, '--data', DATA])).rejects.toThrow(/verify needs to know how .* was made: pass --model model.onnx --calib calib.npz/);
  await expect(verify([tmp, '--data', DATA])).rejects.toThrow(TinyM2Error); // no generated model there
  await expect(verify([outDir, '--data', DATA, '--board', 'stm32f746-disco'])).rejects.toThrow(
    /board stm32f746-disco cannot run here .*; verify on mps2-an500 \(same cortex-m7 core\)/,
  );
});

it('verifies what `tinym2 compile` wrote from OUT_DIR and --data alone (the recipe is in OUT_DIR/tinym2.json)', async () => {
  const out = path.join(tmp, 'compiled');
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    expect(await compile([MODEL, '--calib', DATA, '--precision', 'int4', '-o', out])).toBe(0);
  } finally {
    log.mockRestore();
  }
  const { code, stdout } = await runVerify([out, '--board', 'mps2-an500', '--data', DATA, '--rows', '3', '--json']);
  const r = JSON.parse(stdout);
  expect(code).toBe(0);
  expect(r).toMatchObject({ ok: true, bitExact: true, board: 'mps2-an500', rows: 3, sourcesMatchGenerator: true });
  expect(r.estimates.map((e: { board: string }) => e.board)).toEqual(['mps2-an500', 'stm32f746-disco']);
});

it('per-channel inputs (the default) quantize bit-exact on the Cortex-M4, and --per-tensor-inputs is reproduced from tinym2.json (dsa-har, raw sensor units)', async () => {
  const model = path.join(REPO_ROOT, 'examples/dsa-har/model.onnx');
  const calib = path.join(REPO_ROOT, 'examples/dsa-har/calib.npz');
  const test = path.join(REPO_ROOT, 'examples/dsa-har/test.npz');
  for (const perTensor of [false, true]) {
    const out = path.join(tmp, perTensor ? 'har-per-tensor' : 'har');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await compile([model, '--calib', calib, '-o', out, ...(perTensor ? ['--per-tensor-inputs'] : [])])).toBe(0);
    } finally {
      log.mockRestore();
    }
    expect(fs.readFileSync(path.join(out, 'dsa_har.c'), 'utf8').includes('torso_channel_scale')).toBe(!perTensor);
    // The firmware harness runs the generated quantize helpers (soft-float double on the M4) on the
    // float rows and counts differences from the emulator's input quantization.
    const { code, stdout } = await runVerify([out, '--data', test, '--rows', '2', '--json']);
    const r = JSON.parse(stdout);
    expect(code).toBe(0);
    expect(r).toMatchObject({ ok: true, bitExact: true, rows: 2, quantizeMismatches: 0, sourcesMatchGenerator: true });
  }
}, 180_000);

it('as a CI gate: --min-accuracy, --max-drop and --expect (reference outputs from tinym2 run) each a check and a JUnit case', async () => {
  const reference = path.join(tmp, 'reference.npz');
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    expect(await runCommand(['run', MODEL, '--data', DATA, '-o', reference])).toBe(0);
  } finally {
    log.mockRestore();
  }
  const base = [outDir, '--data', DATA, '--model', MODEL, '--calib', DATA, '--rows', '4'];
  // Generous gates pass; the float model's own outputs are within the default tolerance of the INT8 model's.
  const passing = await runVerify([...base, '--min-accuracy', '0', '--max-drop', '100', '--expect', reference, '--json']);
  const ok = JSON.parse(passing.stdout);
  expect(passing.code, ok.failures.join('; ')).toBe(0);
  expect(ok.gates.length).toBeGreaterThanOrEqual(3);
  expect(ok.gates.every((g: { ok: boolean }) => g.ok)).toBe(true);
  expect(ok.expect.outputs[0].maxAbsError).toBeGreaterThan(0);
  // A floor above what was measured, and a zero tolerance, fail with exit 1 and say by how much.
  const floor = Math.min(100, 100 * ok.outputs[0].accuracy + 10);
  const junit = path.join(tmp, 'gates.xml');
  const failing = await runVerify([...base, '--min-accuracy', String(floor), '--expect', reference, '--atol', '0', '--junit', junit]);
  expect(failing.code).toBe(1);
  expect(failing.stdout).toMatch(/FAIL .*values outside, worst row/);
  if (ok.outputs[0].accuracy < 1) expect(failing.stdout).toMatch(/points below --min-accuracy/);
  const xml = fs.readFileSync(junit, 'utf8');
  expect(xml).toMatch(/name="[^"]+ within tolerance of reference.npz"/);
  expect(xml).toMatch(/name="[^"]+ top-1 &gt;= [\d.]+%"/);
}, 300_000);

it('the output folder is self-contained: moved away from the model it verifies from qgraph.json; with the model, against float too', async () => {
  const compiled = path.join(tmp, 'compiled');
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    expect(await compile([MODEL, '--calib', DATA, '-o', compiled])).toBe(0);
  } finally {
    log.mockRestore();
  }
  const vendored = path.join(tmp, 'firmware', 'third_party', 'models', 'gemm');
  fs.mkdirSync(path.dirname(vendored), { recursive: true });
  fs.cpSync(compiled, vendored, { recursive: true });
  fs.rmSync(compiled, { recursive: true });
  const moved = await runVerify([vendored, '--data', DATA, '--rows', '3', '--json']);
  const r = JSON.parse(moved.stdout);
  expect(moved.code, r.failures?.join('; ')).toBe(0);
  expect(r).toMatchObject({ ok: true, bitExact: true, expectationsFrom: 'qgraph.json', sourcesMatchGenerator: true });
  expect(r.notes.join(' ')).toMatch(/is not there \(the folder has moved\?\)/);
  expect(r.outputs[0].floatAccuracy).toBeNull();
  // Next to the model again (same relative path as compiled): the float model is found and its hash matches.
  const back = path.join(tmp, 'compiled');
  fs.cpSync(vendored, back, { recursive: true });
  const home = JSON.parse((await runVerify([back, '--data', DATA, '--rows', '3', '--json'])).stdout);
  expect(home).toMatchObject({ ok: true, expectationsFrom: 'qgraph.json', notes: [] });
  expect(home.outputs[0].agreementWithFloat).not.toBeNull();
}, 300_000);
