// The toolchain requirement list (compiler/target/requirements.ts) is complete and enforced:
//   - every shipped board builds a program that includes every C header the list names, with exactly the
//     board's compiler and flags, and runs it where the board has an emulator;
//   - a toolchain whose C library cannot be found is exit 4 naming the Debian package, before any compile;
//   - `tinym2 doctor` reports the same;
//   - test/install-deps.sh, with nothing to install, exits 0 quickly and installs nothing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TinyM2Error, EXIT_TOOL_MISSING } from '../compiler/errors.ts';
import { checkBoard, listBoards, loadBoard } from '../compiler/target/boards.ts';
import { buildFirmware } from '../compiler/target/build.ts';
import { REPO_ROOT } from '../compiler/target/paths.ts';
import { COMMAND_PACKAGES, RUNNER_REQUIREMENTS, TOOLCHAIN_REQUIREMENTS } from '../compiler/target/requirements.ts';
import { runFirmware } from '../compiler/target/run.ts';
import { checkBoardTools } from '../compiler/target/toolchain.ts';
import { expectJsonOutput } from './helpers/json-output.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tm2-toolchain-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A program that includes every header the requirement list names for its toolchain, and uses stdio and libm. */
function minimalProgram(headers: string[]): string {
  const file = path.join(tmp, `minimal-${headers.length}.c`);
  fs.writeFileSync(file, [
    ...headers.map((h) => `#include <${h}>`),
    '#include "tm2_count.h"',
    'int main(void) {',
    '  volatile int32_t x = 41;',
    '  char buf[32];',
    '  tm2_count_begin();',
    '  x = x + 1;',
    '  tm2_count_end();',
    '  snprintf(buf, sizeof buf, "%" PRId32, (int32_t)x);',
    '  printf("minimal program: %s\\n", buf);',
    '  return strcmp(buf, "42") == 0 ? 0 : 1;',
    '}',
    '',
  ].join('\n'));
  return file;
}

describe.each(listBoards())('board %s', (name) => {
  const board = loadBoard(name);
  const headers = TOOLCHAIN_REQUIREMENTS[board.toolchain.kind].filter((r) => r.kind === 'header').map((r) => r.name);

  it('has everything its requirement list names (the install script installed it)', () => {
    const { build, run } = checkBoardTools(board);
    expect([...build, ...run].filter((r) => !r.ok).map((r) => `${r.requirement.name}: ${r.detail}`)).toEqual([]);
  });

  it('builds a program including every listed header with exactly its flags, and runs it where it can', async () => {
    const built = await buildFirmware({ board, sources: [minimalProgram(headers)], outDir: path.join(tmp, name), name: 'minimal', cache: false });
    expect(fs.existsSync(built.elf)).toBe(true);
    // The compile command is the board's compiler with the board's flags, in order.
    expect(built.commands[0]!.slice(1, 1 + board.toolchain.cflags.length)).toEqual(board.toolchain.cflags);
    expect(built.commands.at(-1)!.slice(-board.toolchain.ldflags.length)).toEqual(board.toolchain.ldflags);
    if (board.run.kind === 'none') return;
    const result = await runFirmware(built.elf, board, { timeoutMs: 60_000 });
    expect(result.stdout).toContain('minimal program: 42');
    expect(result.exitCode).toBe(0);
  });
});

describe('a missing C library', () => {
  // The rpi4 board with -nostdinc in its flags: its real compiler then finds no C headers, as on a machine
  // with gcc-aarch64-linux-gnu but without libc6-dev-arm64-cross (checked by hand by removing that package).
  const rpi4 = loadBoard('rpi4');
  const { file, ...data } = rpi4;
  const broken = checkBoard({ ...data, toolchain: { ...data.toolchain, cflags: [...data.toolchain.cflags, '-nostdinc'] } }, file);

  it('is exit 4 before any compile, naming the file and the Debian package', async () => {
    let error: unknown;
    try {
      await buildFirmware({ board: broken, sources: [minimalProgram(['stdio.h'])], outDir: path.join(tmp, 'broken'), cache: false });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TinyM2Error);
    const err = error as TinyM2Error;
    expect(err.exitCode).toBe(EXIT_TOOL_MISSING);
    expect(err.message).toContain('stdint.h');
    expect(err.message).toContain('sudo apt-get install libc6-dev-arm64-cross');
    expect(err.details.package).toBe('libc6-dev-arm64-cross');
    expect(fs.existsSync(path.join(tmp, 'broken', 'firmware'))).toBe(false);
  });

  it('is reported by the same check doctor runs', () => {
    const { build } = checkBoardTools(broken);
    expect(build[0]!.ok).toBe(true); // the compiler is there
    const missing = build.filter((r) => !r.ok);
    expect(missing.map((r) => r.requirement.kind)).toEqual(Array(missing.length).fill('header'));
    expect(missing.map((r) => r.requirement.name)).toEqual(TOOLCHAIN_REQUIREMENTS['aarch64-linux-gnu'].filter((r) => r.kind === 'header').map((r) => r.name));
    expect(new Set(missing.map((r) => r.requirement.package))).toEqual(new Set(['libc6-dev-arm64-cross']));
  });
});

describe('the requirement list', () => {
  it('names a package for every command a board or runner uses', () => {
    for (const name of listBoards()) {
      const board = loadBoard(name);
      expect(COMMAND_PACKAGES[board.toolchain.cc], board.toolchain.cc).toBeTruthy();
      if (board.run.kind !== 'none') expect(RUNNER_REQUIREMENTS[board.run.kind].length).toBeGreaterThan(0);
    }
  });
});

const cli = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'tinym2.js'), ...args], { encoding: 'utf8', env, timeout: 120_000 });

describe('tinym2 doctor', () => {
  it('reports every board ready on this machine (exit 0) with --json', () => {
    const r = cli(['doctor', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const report = expectJsonOutput('doctor', r.stdout) as any;
    expect(report.ok).toBe(true);
    expect(report.missingPackages).toEqual([]);
    expect(report.boards.map((b: { board: string }) => b.board)).toEqual(listBoards());
  });

  it('names the package and exits 4 when a tool is missing', () => {
    // A PATH with node only: no compilers, no QEMU.
    const bin = fs.mkdtempSync(path.join(tmp, 'bin-'));
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    const r = cli(['doctor', '--board', 'rpi4'], { ...process.env, PATH: bin });
    expect(r.status).toBe(EXIT_TOOL_MISSING);
    expect(r.stdout).toContain('sudo apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user gcc libc6-dev');
  });
});

describe('test/install-deps.sh', () => {
  it('with nothing to install, exits 0 quickly and installs nothing', () => {
    // CPU seconds of the script and everything it ran (bash's `times`), not wall time: the figure does not grow
    // when other work shares the machine. The check is npx + tsx and a few dozen compiler runs.
    const r = spawnSync('bash', ['-c', `bash ${JSON.stringify(path.join(REPO_ROOT, 'test', 'install-deps.sh'))} && times`], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('installing');
    const children = r.stdout.trim().split('\n').at(-1)!.trim().split(/\s+/).map((t) => {
      const m = /^(\d+)m([\d.]+)s$/.exec(t);
      return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
    });
    const cpuSeconds = children[0]! + children[1]!;
    expect(cpuSeconds).toBeGreaterThan(0);
    expect(cpuSeconds).toBeLessThan(15);
  });
});
