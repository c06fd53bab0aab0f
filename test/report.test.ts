// The report library without a browser: the av-digits model as 'tinym2 compile' writes it gives a
// page with the layer and memory sections, every chart's SVG has marks of the kinds it promises, the
// page loads nothing from anywhere, the same inputs give the same bytes, and a verify.json measured on
// other sources is left out (with a note) instead of being shown against the wrong model.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateModel } from '../compiler/codegen/generate.ts';
import { writeOutputDir } from '../compiler/codegen/output.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { calibrateGraph, loadDataSet, uniform } from '../compiler/quant/evaluate.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import { VERIFY_ARTIFACT, type VerifyArtifact } from '../compiler/report/artifacts.ts';
import { chartsFor } from '../compiler/report/charts.ts';
import { reportFromOutDir } from '../compiler/report/outdir.ts';
import { renderSvg } from '../compiler/report/render.ts';
import { writeReport } from '../compiler/report/write.ts';
import { REPO_ROOT } from './helpers/models.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tm2-report-'));
const out = join(tmp, 'av');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeAll(() => {
  const model = join(REPO_ROOT, 'examples/av-digits/model.onnx');
  const calib = join(REPO_ROOT, 'examples/av-digits/calib.npz');
  const graph = loadOnnx(model);
  const plan = uniform(graph, 8);
  const q = quantizeGraph(graph, calibrateGraph(graph, loadDataSet(graph, calib).rows), plan);
  const gen = generateModel(q, { name: 'av', source: 'model.onnx', precision: 'INT8' });
  gen.files.set('tinym2.json', JSON.stringify({ model, calib, name: 'av', precision: 'INT8', perChannelInputs: true, plan }));
  writeOutputDir(out, gen.files);
}, 120_000);

describe('report library', () => {
  it('draws the layer and memory charts with the marks each promises', async () => {
    const data = reportFromOutDir(out, ['test']);
    expect(data.layers!.rows.length).toBeGreaterThan(10);
    expect(data.memory!.arenaBytes).toBeGreaterThanOrEqual(data.memory!.lowerBound);
    // The arena picture is the planner's solution: no two buffers live at the same step share a byte.
    const b = data.memory!.buffers;
    for (const x of b) {
      expect(x.offset + x.bytes).toBeLessThanOrEqual(data.memory!.arenaBytes);
      for (const y of b) {
        if (x === y || x.last < y.first || y.last < x.first) continue;
        expect(x.offset + x.bytes <= y.offset || y.offset + y.bytes <= x.offset, `${x.name} and ${y.name}`).toBe(true);
      }
    }
    const charts = chartsFor(data);
    expect(charts.map((c) => c.id)).toEqual(['layer-weight-bytes', 'layer-macs', 'memory-arena', 'memory-live']);
    for (const c of charts) {
      const svg = await renderSvg(c);
      for (const m of c.marks) expect(svg, `${c.id} draws ${m}`).toMatch(new RegExp(`<g class="mark-${m} role-mark[^"]*"[^>]*><(path|line|text)`));
    }
  }, 120_000);

  it('is self-contained and the same bytes for the same inputs', async () => {
    const a = join(tmp, 'a.html');
    const b = join(tmp, 'b.html');
    const data = reportFromOutDir(out, ['test']);
    await writeReport(a, data);
    await writeReport(b, reportFromOutDir(out, ['test']));
    const html = readFileSync(a, 'utf8');
    expect(html).toBe(readFileSync(b, 'utf8'));
    expect(html).not.toMatch(/<script|<link|<img|@import|src=|url\(/i);
    // The only URLs are the SVG namespace names (not fetched).
    const urls = [...html.matchAll(/https?:\/\/[^"'\s)]+/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']));
  }, 120_000);

  it('refuses a directory without tinym2.json (exit 2), naming it', () => {
    expect(() => reportFromOutDir(tmp, [])).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringMatching(/has no tinym2\.json.*compile the model into it again/) }));
  });

  it('leaves out a verify.json measured on other sources, and says so', async () => {
    const stale: VerifyArtifact = {
      digest: 'not these sources',
      board: 'mps2-an386',
      data: 'test.npz',
      rows: 1,
      instructionsPerInference: 1,
      layers: null,
      profiledRows: null,
      profiledInference: null,
      modelBytes: { text: 1, rodata: 1, data: 0, weights: 1 },
      outputs: [],
      confusion: [],
    };
    writeFileSync(join(out, VERIFY_ARTIFACT), JSON.stringify(stale));
    try {
      const data = reportFromOutDir(out, ['test']);
      expect(data.accuracy).toBeUndefined();
      expect(data.memory!.flash).toBeUndefined();
      expect(data.provenance.join('\n')).toMatch(/measured on other sources.*run 'tinym2 verify' again/);
    } finally {
      rmSync(join(out, VERIFY_ARTIFACT));
    }
  }, 120_000);
});
