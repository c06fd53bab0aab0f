// The HTML reports in a real browser (headless Chromium): each command's --report and
// `tinym2 report OUT_DIR` after `verify --profile-layers`. Every page loads with no console error
// and no request beyond its own file, every plot is a non-empty SVG with the marks it promises,
// and the command prints the sections and charts it wrote (checked against the page).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { haveTool } from '../compiler/codegen/hostcheck.ts';
import { CHROMIUM, haveChromium, openReport, type OpenedReport } from './helpers/browser.ts';
import { REPO_ROOT } from './helpers/models.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tm2-report-browser-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tinym2(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'tinym2.js'), ...args], { encoding: 'utf8', cwd: REPO_ROOT });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Every figure drew each of its promised marks at least once, in a box that is not empty. */
function expectRendered(page: OpenedReport, charts: string[]): void {
  expect(page.consoleErrors).toEqual([]);
  expect(page.requests).toEqual([]);
  expect(page.figures.map((f) => f.id)).toEqual(charts);
  for (const f of page.figures) {
    expect(f.width, f.id).toBeGreaterThan(100);
    expect(f.height, f.id).toBeGreaterThan(30);
    expect(Object.keys(f.marks).length, f.id).toBeGreaterThan(0);
    for (const [mark, n] of Object.entries(f.marks)) expect(n, `${f.id}: ${mark} marks`).toBeGreaterThan(0);
  }
  // A PNG with something on it (the page is a few screens long).
  expect(page.screenshot.subarray(1, 4).toString()).toBe('PNG');
  expect(page.screenshot.length).toBeGreaterThan(50_000);
}

const qemu = haveTool('arm-none-eabi-gcc') && haveTool('qemu-system-arm');

describe.skipIf(!haveChromium)(`HTML reports in headless Chromium (${CHROMIUM}; skipped when it is not installed: apt-get install chromium)`, () => {
  const AV = 'examples/av-digits';
  const out = join(tmp, 'av');

  it('compile --report: layers and memory', async () => {
    const file = join(tmp, 'compile.html');
    const r = tinym2('compile', `${AV}/model.onnx`, '--calib', `${AV}/calib.npz`, '-o', out, '--report', file, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).report).toBe(file);
    const page = await openReport(file);
    expect(page.sections).toEqual(['layers', 'memory']);
    expectRendered(page, ['layer-weight-bytes', 'layer-macs', 'memory-arena', 'memory-live']);
  }, 300_000);

  it.skipIf(!qemu)('verify --profile-layers --report, then tinym2 report OUT_DIR: instructions per layer, flash split, accuracy', async () => {
    const file = join(tmp, 'verify.html');
    if (!existsSync(out)) expect(tinym2('compile', `${AV}/model.onnx`, '--calib', `${AV}/calib.npz`, '-o', out).code).toBe(0); // run alone (-t)
    const v = tinym2('verify', out, '--data', `${AV}/test.npz`, '--rows', '16', '--profile-layers', '--report', file, '--json');
    expect(v.code, v.stderr + v.stdout).toBe(0);
    const vr = JSON.parse(v.stdout);
    expect(vr.profiledRows).toBe(4);
    // On the same rows, layers add up to the inference of the build without per-layer markers, less the
    // copies in and out of the arena and the calls (and give or take the markers' own few instructions).
    const perLayer = vr.layers.reduce((a: number, l: { instructions: number }) => a + l.instructions, 0);
    expect(perLayer).toBeLessThan(1.0001 * vr.profiledInference);
    expect(perLayer).toBeGreaterThan(0.97 * vr.profiledInference);
    expect(vr.layers.find((l: { op: string }) => l.op === 'reshape').instructions).toBeLessThan(10);
    const charts = [
      'layer-weight-bytes', 'layer-macs', 'layer-instructions', 'layer-macs-per-instruction',
      'memory-arena', 'memory-live', 'memory-flash', 'accuracy-outputs', 'accuracy-confusion-logits',
    ];
    expectRendered(await openReport(file), charts);

    // The same page later from OUT_DIR alone (verify.json), byte for byte but for the line naming the command.
    const again = join(tmp, 'again.html');
    const r = tinym2('report', out, '-o', again, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).charts).toEqual(charts);
    const strip = (f: string) => readFileSync(f, 'utf8').replace(/<p class="prov">tinym2 (verify|report) [^<]*<\/p>/, '');
    expect(strip(again)).toBe(strip(file));
    const page = await openReport(again, join(tmp, 'again.png'));
    expectRendered(page, charts);
    expect(page.sections).toEqual(['layers', 'memory', 'accuracy']);
    expect(existsSync(join(tmp, 'again.png'))).toBe(true);
  }, 600_000);

  it('plan --report: sensitivity, Omega and the accuracy curve over budgets (vs bytes, instructions under QEMU, BOPS)', async () => {
    const file = join(tmp, 'plan.html');
    const r = tinym2(
      'plan', 'test/models/sensor1d.onnx', '--calib', 'test/models/sensor1d.npz', '--test', 'test/models/sensor1d.npz',
      '--flash', '3KB', '--iterations', '3', '--batch', '8', '--out', join(tmp, 'plan.json'), '--report', file, '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    // plan.json keeps the evidence, so a model compiled with it shows the plan in 'tinym2 report'.
    const plan = JSON.parse(readFileSync(join(tmp, 'plan.json'), 'utf8'));
    expect(plan.evidence.curve.map((p: { kind: string }) => p.kind)).toEqual(expect.arrayContaining(['chosen', 'INT8', 'INT4', 'budget']));
    const page = await openReport(file);
    expect(page.sections).toEqual(['layers', 'memory', 'plan']);
    // With QEMU, every plan of the curve also ran as generated C: instructions per inference.
    if (qemu) for (const p of plan.evidence.curve) expect(p.instructions).toBeGreaterThan(1000);
    expectRendered(page, [
      'layer-weight-bytes', 'layer-macs', 'memory-arena', 'memory-live', 'plan-trace', 'plan-omega', 'plan-accuracy-bytes',
      ...(qemu ? ['plan-accuracy-instructions'] : []), 'plan-accuracy-bops',
    ]);
  }, 600_000);

  it('dynafuse --report: resilience, estimator, modes, energy', async () => {
    const file = join(tmp, 'dynafuse.html');
    const r = tinym2('dynafuse', 'examples/dsa-har/model.onnx', '--calib', 'examples/dsa-har/calib.npz', '--rows', '24', '--no-qemu', '-o', join(tmp, 'df'), '--report', file);
    expect(r.code, r.stderr).toBe(0);
    const page = await openReport(file);
    expect(page.sections).toEqual(['layers', 'memory', 'dynafuse']);
    expectRendered(page, ['layer-weight-bytes', 'layer-macs', 'memory-arena', 'memory-live', 'dynafuse-resilience', 'dynafuse-estimator', 'dynafuse-modes', 'dynafuse-energy']);
  }, 600_000);
});
