// The DynaFuse fusion config: the shipped example loads against its model; every kind of mistake is one
// TinyM2Error naming the file and the field.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadFusionConfig } from '../compiler/dynafuse/config.ts';
import { TinyM2Error } from '../compiler/errors.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLE = join(ROOT, 'examples', 'dsa-har', 'fusion.json');
const graph = loadOnnx(join(ROOT, 'examples', 'dsa-har', 'model.onnx'));
const dir = mkdtempSync(join(tmpdir(), 'tm2-fusion-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function withEdit(edit: (c: any) => void): string {
  const c = JSON.parse(readFileSync(EXAMPLE, 'utf8'));
  edit(c);
  const file = join(dir, `f${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(c));
  return file;
}

function errorOf(file: string): TinyM2Error {
  try {
    loadFusionConfig(file, graph);
  } catch (e) {
    expect(e).toBeInstanceOf(TinyM2Error);
    return e as TinyM2Error;
  }
  throw new Error('expected a TinyM2Error');
}

describe('fusion config', () => {
  it('loads the dsa-har example against its model', () => {
    const c = loadFusionConfig(EXAMPLE, graph);
    expect(c.modalities.map((m) => m.input)).toEqual(['torso', 'right_arm', 'left_arm', 'right_leg', 'left_leg']);
    expect(c.fusedHead).toBe('fused_logits');
    expect(c.threshold).toBe(0.8);
    expect(c.noiseSigmas).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2]);
  });

  it('fills defaults (threshold 0.8, sigma 0..2 step 0.25, nominal, battery 20/50)', () => {
    const c = loadFusionConfig(withEdit((x) => { delete x.threshold; delete x.noiseSigmas; delete x.modes; }), graph);
    expect(c.threshold).toBe(0.8);
    expect(c.noiseSigmas.length).toBe(9);
    expect(c.modes).toEqual({ default: 'nominal', batteryEnergySavingBelow: 20, batteryNominalBelow: 50 });
    expect(c.allSelected).toBe('dynamic-weights');
  });

  it('takes the fused-head rule when asked and refuses an unknown one', () => {
    expect(loadFusionConfig(withEdit((x) => { x.allSelected = 'fused-head'; }), graph).allSelected).toBe('fused-head');
    expect(errorOf(withEdit((x) => { x.allSelected = 'fused'; })).message).toContain('/allSelected must be one of dynamic-weights, fused-head');
  });

  it('names the field of a schema error', () => {
    const e = errorOf(withEdit((x) => { x.modalities[1].sensor.samplingRate = 25; }));
    expect(e.message).toContain('/modalities/1/sensor');
    expect(e.message).toContain("unknown field 'samplingRate'");
    expect(e.exitCode).toBe(2);
    expect(errorOf(withEdit((x) => { delete x.modalities[0].head; })).message).toContain("/modalities/0 is missing field 'head'");
    expect(errorOf(withEdit((x) => { x.threshold = 1.5; })).message).toContain('/threshold');
  });

  it('checks the graph: inputs, heads, channels, fused head', () => {
    expect(errorOf(withEdit((x) => { x.modalities[2].input = 'left_hand'; })).message).toMatch(/\/modalities\/2\/input 'left_hand' is not an input of .*model\.onnx/);
    expect(errorOf(withEdit((x) => { x.modalities[0].head = 'torso'; })).message).toContain('/modalities/0/head');
    expect(errorOf(withEdit((x) => { x.modalities[0].sensor.channels = 6; })).message).toContain('has 9 channels');
    expect(errorOf(withEdit((x) => { x.fusedHead = 'logits'; })).message).toContain('/fusedHead');
  });

  it('checks what the schema cannot: sigma grid, energy derivation, duplicate names', () => {
    expect(errorOf(withEdit((x) => { x.noiseSigmas = [0.5, 1]; })).message).toContain('/noiseSigmas/0 must be 0');
    expect(errorOf(withEdit((x) => { x.noiseSigmas = [0, 1, 1]; })).message).toContain('/noiseSigmas/2');
    expect(errorOf(withEdit((x) => { x.modalities[3].sensor.energyPerSampleJ = 1e-3; })).message).toContain('/modalities/3/sensor/energyPerSampleJ');
    expect(errorOf(withEdit((x) => { x.modalities[1].name = 'torso'; })).message).toContain("'torso' is used twice");
  });
});
