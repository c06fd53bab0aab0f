// `tinym2 dynafuse` end to end (without QEMU, few rows): files written, --json report, and a bad config
// leaves no output directory behind.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { expectJsonOutput } from './helpers/json-output.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'tm2-dynafuse-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function tinym2(args: string[]) {
  return spawnSync('node', [join(ROOT, 'bin', 'tinym2.js'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
}

describe('tinym2 dynafuse', () => {
  it('writes the C tables and profile.json; --json reports the profile', () => {
    const out = join(work, 'dsa');
    const r = tinym2(['dynafuse', 'examples/dsa-har/model.onnx', '--calib', 'examples/dsa-har/calib.npz', '--rows', '24', '--no-qemu', '--name', 'dsa_har', '-o', out, '--json', '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = expectJsonOutput('dynafuse', r.stdout) as any;
    expect(report.ok).toBe(true);
    expect(report.rows).toBe(24);
    expect(report.modalities.map((m: { name: string }) => m.name)).toEqual(['torso', 'right_arm', 'left_arm', 'right_leg', 'left_leg']);
    expect(report.instructionBasis).toMatch(/^estimate/);
    expect(report.files.sort()).toEqual(['dsa_har_dynafuse.c', 'dsa_har_dynafuse.h', 'profile.json']);
    const c = readFileSync(join(out, 'dsa_har_dynafuse.c'), 'utf8');
    expect(c).toContain('const tm2_dynafuse_model tm2_dsa_har_dynafuse = {');
    expect(JSON.parse(readFileSync(join(out, 'profile.json'), 'utf8')).tables.modalities[0].expTable.length).toBe(256);
  }, 240_000);

  it('a config that does not match the model is one error naming the field, and nothing is written', () => {
    const bad = join(work, 'bad.json');
    const cfg = JSON.parse(readFileSync(join(ROOT, 'examples/dsa-har/fusion.json'), 'utf8'));
    cfg.modalities[4].head = 'left_leg_output';
    writeFileSync(bad, JSON.stringify(cfg));
    const out = join(work, 'never');
    const r = tinym2(['dynafuse', 'examples/dsa-har/model.onnx', '--calib', 'examples/dsa-har/calib.npz', '--fusion', bad, '--no-qemu', '-o', out]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain("/modalities/4/head 'left_leg_output' is not an output");
    expect(existsSync(out)).toBe(false);
  });
});
