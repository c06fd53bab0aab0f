// `tinym2 plan` end to end on the committed test models (random weights: this checks plumbing,
// budgets and error handling, not accuracy).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.ts';
import { boardBudget, CODE_RESERVE_BYTES, parseSize } from '../compiler/commands/plan.ts';
import { haveTool } from '../compiler/codegen/hostcheck.ts';
import { DEFAULT_CRITERION } from '../compiler/sensitivity/criterion-names.ts';
import { analyzeLayers } from '../compiler/ilp/from-graph.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import type { PrecisionPlan } from '../compiler/quant/plan.ts';
import { expectJsonOutput } from './helpers/json-output.ts';

const dir = mkdtempSync(join(tmpdir(), 'tinym2-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = runCli;

const model = 'test/models/sensor1d.onnx';
const data = 'test/models/sensor1d.npz';

describe('tinym2 plan', () => {
  it('parses sizes', () => {
    expect(parseSize('160KB', '--flash')).toBe(160 * 1024);
    expect(parseSize('1MB', '--flash')).toBe(1024 * 1024);
    expect(parseSize('40000', '--flash')).toBe(40000);
    expect(parseSize('1.5k', '--flash')).toBe(1536);
    expect(() => parseSize('lots', '--flash')).toThrow(/not a size/);
  });

  it('reads board budgets (flash minus the code reserve)', () => {
    const b = boardBudget('nrf52840-dk');
    expect(b.flashBytes).toBe(1048576 - CODE_RESERVE_BYTES);
    expect(b.ramBytes).toBe(262144 - 8192 - 8192);
    expect(() => boardBudget('no-such-board')).toThrow(/known boards/);
  });

  it('writes a plan within the flash budget and reports accuracies as JSON', async () => {
    const out = join(dir, 'plan.json');
    const graph = loadOnnx(model);
    const layers = analyzeLayers(graph);
    const r = await cli(['plan', model, '--calib', data, '--test', data, '--flash', '3KB', '--iterations', '3', '--batch', '8', '--out', out, '--json']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const report = expectJsonOutput('plan', r.stdout) as any;
    const plan: PrecisionPlan = JSON.parse(readFileSync(out, 'utf8'));
    expect(Object.keys(plan.layers).sort()).toEqual(layers.map((l) => l.name).sort());
    expect(plan.model).toBe('sensor1d.onnx');
    expect(report.totals.weightBytes).toBeLessThanOrEqual(3 * 1024);
    expect(report.solve.provenOptimal).toBe(true);
    expect(report.accuracy.map((a: { name: string }) => a.name)).toEqual(['FP32', 'INT8', 'INT4', 'mixed (plan)']);
    // The emulator's byte count of the plan agrees with the planner's.
    expect(report.accuracy[3].weightBytes).toBe(report.totals.weightBytes);
    for (const l of report.layers) {
      expect([4, 8]).toContain(l.weightBits);
      expect(l.weightBits).toBe(l.activationBits);
    }
  });

  it('a BOPS limit below uniform INT8 is met', async () => {
    const out = join(dir, 'bops.json');
    const first = JSON.parse((await cli(['plan', model, '--calib', data, '--flash', '1MB', '--iterations', '2', '--batch', '4', '--out', out, '--json'])).stdout);
    const limit = Math.floor(0.6 * first.totals.int8Bops);
    const r = await cli(['plan', model, '--calib', data, '--bops', String(limit), '--ram', '64KB', '--iterations', '2', '--batch', '4', '--out', out, '--json']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.totals.bops).toBeLessThanOrEqual(limit);
    expect(report.layers.some((l: { weightBits: number }) => l.weightBits === 4)).toBe(true);
    const tooSmall = await cli(['plan', model, '--calib', data, '--ram', '100', '--out', out]);
    expect(tooSmall.code).toBe(3);
    expect(tooSmall.stderr).toMatch(/activations need at least \d+ bytes/);
  });

  it('counts unfolded BatchNorm weights against the budget, as the compiler stores them', async () => {
    const out = join(dir, 'bn.json');
    const r = await cli(['plan', 'test/models/bn_nodes.onnx', '--calib', 'test/models/bn_nodes.npz', '--test', 'test/models/bn_nodes.npz', '--iterations', '2', '--batch', '4', '--out', out, '--json']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.totals.otherWeightBytes).toBeGreaterThan(0);
    expect(report.accuracy[3].weightBytes).toBe(report.totals.weightBytes);
    expect(report.totals.weightBytes).toBeLessThanOrEqual(report.budgets.flashBytes);
  });

  it('untied planning can give weights and activations different bits', async () => {
    const out = join(dir, 'untied.json');
    const r = await cli(['plan', model, '--calib', data, '--untied', '--iterations', '3', '--batch', '8', '--out', out, '--json']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.tied).toBe(false);
    expect(report.notes.join(' ')).toMatch(/no budget given/);
    expect(existsSync(out)).toBe(true);
  });

  it('--sensitivity picks the criterion; every layer carries its estimate, error and criterion', async () => {
    for (const criterion of ['gauss-newton', 'hessian', 'trace-free', 'accuracy']) {
      const out = join(dir, `${criterion}.json`);
      const r = await cli(['plan', model, '--calib', data, '--sensitivity', criterion, '--rows', '6', '--iterations', '2', '--batch', '3', '--flash', '3KB', '--out', out, '--json']);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report.sensitivity.criterion).toBe(criterion);
      for (const l of report.layers) {
        expect(l.sensitivity.criterion).toBe(criterion);
        expect(Number.isFinite(l.sensitivity.value)).toBe(true);
        expect(l.sensitivity.negative).toBe(l.sensitivity.value < 0);
      }
      if (criterion === 'gauss-newton') expect(report.sensitivity.iterations).toBe(6);
    }
    const bad = await cli(['plan', model, '--calib', data, '--sensitivity', 'exact']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/sensitivity/);
  });

  it('--search refines the ILP plan by accuracy on the sensitivity rows: within budget, never below the ILP plans there, --untied refused', async () => {
    const m = 'examples/av-digits/image_only.onnx';
    const args = ['plan', m, '--calib', 'examples/av-digits/image_only.calib.npz', '--sensitivity-data', 'examples/av-digits/image_only.test.npz', '--rows', '60', '--flash', '8KB'];
    const out = join(dir, 'search.json');
    const r = await cli([...args, '--search', '30', '--out', out, '--json']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const report = expectJsonOutput('plan', r.stdout) as any;
    expect(report.search.rows).toBe(60);
    expect(report.search.limit).toBe(30);
    expect(report.search.evaluations).toBeLessThanOrEqual(30);
    expect(report.search.starts.map((s: { criterion: string }) => s.criterion)).toEqual([DEFAULT_CRITERION, 'trace-free']);
    for (const s of report.search.starts) expect(report.search.accuracy).toBeGreaterThanOrEqual(s.accuracy);
    expect(report.totals.weightBytes).toBeLessThanOrEqual(8 * 1024);
    expect(report.notes.join(' ')).toMatch(/plan search/);
    const written = JSON.parse(readFileSync(out, 'utf8')) as PrecisionPlan;
    expect(written.layers).toEqual(report.plan.layers);
    const untied = await cli([...args, '--search', '5', '--untied', '--out', out]);
    expect(untied.code).toBe(2);
  }, 120_000);

  it('--sensitivity-data measures on other rows than the calibration set', async () => {
    const out = join(dir, 'held-out.json');
    const r = await cli(['plan', model, '--calib', data, '--sensitivity-data', data, '--rows', '5', '--flash', '3KB', '--out', out, '--json']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.sensitivity.criterion).toBe(DEFAULT_CRITERION);
    expect(report.sensitivity.rows).toBe(5);
    expect(report.sensitivity.data).toBe(data);
  });

  it.runIf(haveTool('arm-none-eabi-gcc') && haveTool('qemu-system-arm'))('--instructions: counted per layer under QEMU, met by the plan, and too few is exit 3 naming the least', async () => {
    const out = join(dir, 'instr.json');
    const first = await cli(['plan', model, '--calib', data, '--sensitivity', 'trace-free', '--instructions', '1e9', '--out', out, '--json']);
    expect(first.code, first.stderr + first.stdout).toBe(0);
    const t = JSON.parse(first.stdout).totals.instructions;
    expect(t.board).toBe('mps2-an386');
    expect(t.int8).toBeGreaterThan(0);
    expect(t.int4).toBeGreaterThan(0);
    // A limit between the two uniform builds: the plan meets it (counts now come from the cache).
    const limit = Math.floor((t.int8 + t.int4) / 2);
    const r = await cli(['plan', model, '--calib', data, '--sensitivity', 'trace-free', '--instructions', String(limit), '--flash', '1MB', '--out', out, '--json']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(JSON.parse(r.stdout).totals.instructions.plan).toBeLessThanOrEqual(limit);
    const tooFew = await cli(['plan', model, '--calib', data, '--sensitivity', 'trace-free', '--instructions', '1000', '--out', join(dir, 'never2.json')]);
    expect(tooFew.code).toBe(3);
    expect(tooFew.stderr).toMatch(/at least \d+ instructions per inference/);
  }, 600_000);

  it('an impossible budget exits 3, names the smallest flash that fits, and writes nothing', async () => {
    const out = join(dir, 'never.json');
    const r = await cli(['plan', model, '--calib', data, '--flash', '100', '--iterations', '2', '--batch', '4', '--out', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/sensor1d\.onnx does not fit: its weights need at least \d+ bytes/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });

  it('missing --calib and unknown boards are clear input errors (exit 2)', async () => {
    expect((await cli(['plan', model])).code).toBe(2);
    const r = await cli(['plan', model, '--calib', data, '--board', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown board 'nope'/);
  });
});
