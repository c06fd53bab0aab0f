// The installable package, as a user gets it: `npm pack` (prepack builds dist/), the tarball's contents and
// size, then an install into an empty project whose node_modules is made read-only, and inspect, compile
// and verify run from there through the installed bin (compiled JavaScript, no tsx). Nothing may be
// written into the installed package: its files are listed with sizes and mtimes before and after (this
// also holds when the suite runs as root, for whom read-only permissions do not stop a write).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/models.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tm2-package-'));
const project = path.join(tmp, 'project');
const installed = path.join(project, 'node_modules', 'tinym2');
const cache = path.join(tmp, 'cache');
let tarball = '';
let files: string[] = [];

afterAll(() => {
  spawnSync('chmod', ['-R', 'u+w', tmp]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Every file below dir with its size and mtime: a write anywhere changes it. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = fs.lstatSync(p);
        out.push(`${path.relative(dir, p)} ${st.size} ${st.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

function tinym2(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(path.join(project, 'node_modules', '.bin', 'tinym2'), args, {
    cwd: project,
    encoding: 'utf8',
    env: { ...process.env, TINYM2_CACHE_DIR: cache },
    timeout: 600_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  tarball = path.join(tmp, packed[0].filename);
  files = packed[0].files.map((f: { path: string }) => f.path);
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'firmware-project', version: '1.0.0', private: true }));
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: project, stdio: 'ignore' });
  spawnSync('chmod', ['-R', 'a-w', path.join(project, 'node_modules')]);
}, 600_000);

describe('the package', () => {
  it('ships dist, bin, runtime-c, templates and boards, not sources, examples, tests or benchmarks, in under 2 MB', () => {
    expect(fs.statSync(tarball).size).toBeLessThan(2 * 1024 * 1024);
    for (const needed of ['bin/tinym2.js', 'dist/cli.js', 'dist/dynafuse/fusion.schema.json', 'runtime-c/include/tm2.h', 'templates/c/model.c.hbs', 'boards/mps2-an386.json']) {
      expect(files, needed).toContain(needed);
    }
    for (const prefix of ['compiler/', 'examples/', 'test/', 'benchmarks/', 'runtime-c/bench/']) {
      expect(files.filter((f) => f.startsWith(prefix)), prefix).toEqual([]);
    }
    // The installed package runs without TypeScript tooling.
    expect(fs.existsSync(path.join(project, 'node_modules', 'tsx'))).toBe(false);
  });

  it('runs inspect, compile and verify from a read-only install, writing only the output folder and the cache', () => {
    const before = snapshot(path.join(project, 'node_modules'));
    const model = path.join(REPO_ROOT, 'test/models/gemm_variants.onnx');
    const data = path.join(REPO_ROOT, 'test/models/gemm_variants.npz');

    expect(tinym2('--version').stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8')).version);
    const inspect = tinym2('inspect', model, '--json');
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout).layers.length).toBeGreaterThan(0);

    const compile = tinym2('compile', model, '--calib', data, '-o', 'out/gemm', '--json');
    expect(compile.code, compile.stderr).toBe(0);
    expect(fs.existsSync(path.join(project, 'out/gemm/gemm_variants.c'))).toBe(true);

    const verify = tinym2('verify', 'out/gemm', '--data', data, '--rows', '4', '--json');
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, bitExact: true, rows: 4 });
    // The QEMU plugin and compiled objects went to the cache folder.
    expect(fs.readdirSync(cache)).toEqual(expect.arrayContaining(['qemu-plugin']));

    expect(snapshot(path.join(project, 'node_modules'))).toEqual(before);
  }, 900_000);
});
