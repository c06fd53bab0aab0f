// platformio/extra_script.py, the pre-build step of the PlatformIO library: PlatformIO itself is not
// installable here, so its logic runs under python3 against a stand-in for the SCons environment (what the
// script calls: GetProjectOption, subst). It generates lib/<name>/ with tinym2 when the inputs' bytes or
// options change, and does nothing when they did not (touching the model is not a change).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/models.ts';
import { readmeSnippet } from './helpers/readme.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tm2-pio-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const DRIVER = `
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("tinym2_extra_script", sys.argv[1])
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)   # outside SCons: defines the functions, runs nothing

class StandInEnv:
    """What extra_script.py uses of PlatformIO's SCons environment."""
    def __init__(self, project, options):
        self.project, self.options = project, options
    def GetProjectOption(self, name, default=None):
        return self.options.get(name, default)
    def subst(self, text):
        return text.replace("$PROJECT_DIR", self.project)

print(json.dumps({"ran": script.generate(StandInEnv(sys.argv[2], json.loads(sys.argv[3])))}))
`;

function generate(project: string, options: Record<string, string>): { ran: boolean; stdout: string; stderr: string; code: number } {
  const r = spawnSync('/usr/bin/python3', ['-c', DRIVER, path.join(REPO_ROOT, 'platformio', 'extra_script.py'), project, JSON.stringify(options)], {
    encoding: 'utf8',
    env: { ...process.env, TINYM2_CACHE_DIR: path.join(tmp, 'cache') },
    timeout: 300_000,
  });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return { ran: r.status === 0 ? JSON.parse(last).ran : false, stdout: r.stdout, stderr: r.stderr, code: r.status ?? -1 };
}

it('generates lib/<name>/ when the model or options change, and only then', () => {
  const project = path.join(tmp, 'project');
  fs.mkdirSync(path.join(project, 'models'), { recursive: true });
  fs.copyFileSync(path.join(REPO_ROOT, 'test/models/gemm_variants.onnx'), path.join(project, 'models/net.onnx'));
  fs.copyFileSync(path.join(REPO_ROOT, 'test/models/gemm_variants.npz'), path.join(project, 'models/calib.npz'));
  // The custom_tinym2_* lines of the README's platformio.ini; tinym2 runs from this checkout instead of npx.
  const ini = readmeSnippet('Use in PlatformIO', 'ini');
  const options: Record<string, string> = Object.fromEntries(
    [...ini.matchAll(/^(custom_tinym2_\w+)\s*=\s*(.+?)\s*$/gm)].map((m) => [m[1]!, m[2]!]),
  );
  expect(Object.keys(options)).toEqual(['custom_tinym2_model', 'custom_tinym2_calib', 'custom_tinym2_precision']);
  options.custom_tinym2_command = `${process.execPath} ${path.join(REPO_ROOT, 'bin', 'tinym2.js')}`;
  const first = generate(project, options);
  expect(first.code, first.stderr).toBe(0);
  expect(first.ran).toBe(true);
  const lib = path.join(project, 'lib', 'net');
  for (const f of ['net.c', 'net.h', 'net_weights.c', 'library.json']) expect(fs.existsSync(path.join(lib, f)), f).toBe(true);
  const mtime = fs.statSync(path.join(lib, 'net.c')).mtimeMs;

  expect(generate(project, options)).toMatchObject({ ran: false, stdout: expect.stringContaining('lib/net is up to date') });
  const later = new Date(Date.now() + 2000);
  fs.utimesSync(path.join(project, 'models/net.onnx'), later, later);
  expect(generate(project, options).ran).toBe(false);
  expect(fs.statSync(path.join(lib, 'net.c')).mtimeMs).toBe(mtime);

  const int4 = generate(project, { ...options, custom_tinym2_precision: 'int4' });
  expect(int4.ran).toBe(true);
  expect(fs.readFileSync(path.join(lib, 'tinym2.json'), 'utf8')).toContain('INT4');
}, 600_000);

it('the library is named and versioned as the package', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
  const lib = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'platformio', 'library.json'), 'utf8'));
  expect(lib).toMatchObject({ name: pkg.name, version: pkg.version, license: pkg.license, build: { extraScript: 'extra_script.py' } });
});
