// The README's "Use in CI" commands, run as written (with `npx tinym2` being this checkout's bin) on the
// av-digits example: compile, reference outputs from the float model, then verify as a gate with JUnit.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { readNpz, writeNpz } from '../compiler/data/npz.ts';
import { REPO_ROOT } from './helpers/models.ts';
import { readmeSnippet } from './helpers/readme.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tm2-readme-ci-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

it('compile, run -o reference.npz, verify --min-accuracy --max-drop --expect --junit: all pass', () => {
  const example = path.join(REPO_ROOT, 'examples', 'av-digits');
  fs.copyFileSync(path.join(example, 'model.onnx'), path.join(tmp, 'model.onnx'));
  fs.copyFileSync(path.join(example, 'calib.npz'), path.join(tmp, 'calib.npz'));
  // The first 40 test rows keep the QEMU run short.
  const test = readNpz(path.join(example, 'test.npz'));
  const rows = 40;
  writeNpz(
    path.join(tmp, 'test.npz'),
    Object.fromEntries([...test].map(([name, a]) => [name, { shape: [rows, ...a.shape.slice(1)], dtype: a.dtype, data: a.data.slice(0, (a.data.length / a.shape[0]!) * rows) }])),
  );
  const commands = readmeSnippet('Use in CI', 'sh').split('\n').filter((l) => l.startsWith('npx tinym2 '));
  expect(commands).toHaveLength(3);
  for (const line of commands) {
    const args = line.slice('npx tinym2 '.length).split(/\s+/);
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'tinym2.js'), ...args], {
      cwd: tmp,
      encoding: 'utf8',
      env: { ...process.env, TINYM2_CACHE_DIR: path.join(tmp, 'cache') },
      timeout: 600_000,
    });
    expect(r.status, `${line}\n${r.stdout}\n${r.stderr}`).toBe(0);
  }
  const junit = fs.readFileSync(path.join(tmp, 'verify.xml'), 'utf8');
  expect(junit).toContain('failures="0"');
  expect(junit).toMatch(/within tolerance of reference\.npz/);
}, 900_000);
