// The command line itself (compiler/cli.ts, compiler/cli/): help and --version from the table, strict
// parsing with suggestions, one-line usage errors (exit 2), exit 70 for internal errors, completion,
// and the table's defaults checked equal to the constants they describe.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from './helpers/run-cli.ts';
import { COMMANDS } from '../compiler/cli/commands.ts';
import { COMMAND_NAMES, OPTIONS, POSITIONALS, optionsOf } from '../compiler/cli/options.ts';
import { closest } from '../compiler/cli/suggest.ts';
import { CODE_RESERVE_BYTES } from '../compiler/commands/plan.ts';
import { FALLBACK_INSTRUCTIONS_PER_MAC } from '../compiler/dynafuse/command.ts';
import { EXIT_INTERNAL } from '../compiler/errors.ts';
import { CRITERION_NAMES } from '../compiler/sensitivity/criterion-names.ts';
import { DEFAULT_TRACE_OPTIONS } from '../compiler/sensitivity/hutchinson.ts';
import { REPO_ROOT } from './helpers/models.ts';

/** Runs main() in this process, capturing what it prints. */
const cli = (...args: string[]) => runCli(args);

const MODEL = join(REPO_ROOT, 'test/models/sensor1d.onnx');
afterEach(() => vi.restoreAllMocks());

describe('help and version', () => {
  it('--version prints the package version', async () => {
    const r = await cli('--version');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version);
  });

  it('--help lists every command with its summary, and completion', async () => {
    const r = await cli('--help');
    expect(r.code).toBe(0);
    for (const c of COMMAND_NAMES) expect(r.stdout).toContain(POSITIONALS[c] ? `tinym2 ${c} <${POSITIONALS[c]}>` : `tinym2 ${c}`);
    expect(r.stdout).toContain('tinym2 completion');
  });

  it("each command's help lists exactly its options from the table, with defaults and choices", async () => {
    for (const c of COMMAND_NAMES) {
      const r = await cli(c, '--help');
      expect(r.code, c).toBe(0);
      for (const name of Object.keys(OPTIONS)) {
        const line = new RegExp(`^\\s+(-\\w, )?--${name}\\s`, 'm'); // an option line of the help
        if (optionsOf(c).some(([n]) => n === name)) expect(r.stdout, `${c} --${name}`).toMatch(line);
        else expect(r.stdout, `${c} must not list --${name}`).not.toMatch(line);
      }
    }
    const plan = (await cli('plan', '--help')).stdout;
    expect(plan).toMatch(/--iterations[\s\S]*default:\s+48/);
    // Every criterion of the registry, in its order (yargs wraps the list, hence \s+).
    expect(plan).toMatch(new RegExp(`--sensitivity[\\s\\S]*one\\s+of:\\s+${CRITERION_NAMES.join(',\\s+')}`));
    expect((await cli('verify', '--help')).stdout).toMatch(/--board[\s\S]*default:\s+mps2-an386/);
  });

  it('no command: exit 2', async () => {
    const r = await cli();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/give a command/);
  });
});

describe('usage errors: exit 2, one line, no usage text', () => {
  const cases: Array<[string[], RegExp]> = [
    [['plan', MODEL, '--calibb', 'x.npz'], /unknown option --calibb \(did you mean --calib\?\)/],
    [['compil', MODEL], /unknown command 'compil': did you mean compile\?/],
    [['plan', MODEL], /--calib FILE is required: calibration rows/],
    [['inspect'], /missing the model argument/],
    [['inspect', MODEL, 'extra'], /unexpected argument: extra/],
    [['compile', MODEL, '--calib', 'c.npz', '--precision', 'int2'], /--precision 'int2' is not one of int8, int4, mixed/],
    [['verify', 'out', '--data', 'd.npz', '--precision', 'mixed'], /--precision 'mixed' is not one of int8, int4/],
    [['compile', MODEL, '--calib', 'c.npz', '--flash', 'lots'], /--flash 'lots' is not a size/],
    [['plan', MODEL, '--calib', 'c.npz', '--iterations', '0'], /--iterations '0' must be a positive whole number/],
    [['compile', MODEL, '--calib', 'c.npz', '--plan', 'p.json', '--precision', 'int8'], /--precision and --plan cannot be given together/],
    [['compile', MODEL, '--calib', 'c.npz', '--vectors', '3'], /--vectors needs --test/],
    [['compile', MODEL, '--calib'], /--calib needs a value/],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), async () => {
      const r = await cli(...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    });
  }

  it('with --json the error is a JSON object on stdout', async () => {
    const r = await cli('plan', MODEL, '--calibb', 'x', '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, exitCode: 2, error: expect.stringMatching(/did you mean --calib/) });
  });
});

describe('-o', () => {
  it('is --out on every command that writes a file or directory', () => {
    for (const c of ['run', 'plan', 'compile', 'dynafuse'] as const) expect(optionsOf(c).map(([n]) => n), c).toContain('out');
    expect(OPTIONS.out.alias).toBe('o');
  });
});

describe('internal errors', () => {
  it('exit 70 with one line asking for a report; the stack only with --debug', async () => {
    // A bug inside a command (here injected into the real command table): not a TinyM2Error.
    vi.spyOn(COMMANDS.inspect, 'load').mockResolvedValue({ execute: async () => { throw new TypeError("Cannot read properties of undefined (reading 'shape')"); } });
    const r = await cli('inspect', MODEL);
    expect(r.code).toBe(EXIT_INTERNAL);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/internal error \(TypeError: Cannot read properties.*\): this is a bug in tinym2; please report it/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const d = await cli('inspect', MODEL, '--debug');
    expect(d.code).toBe(EXIT_INTERNAL);
    expect(d.stderr).toMatch(/\n\s+at /);
    const j = await cli('inspect', MODEL, '--json');
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, internal: true, exitCode: 70 });
  });
});

describe('completion', () => {
  it('prints a shell script, and completes commands and options', async () => {
    expect((await cli('completion')).stdout).toMatch(/tinym2 --get-yargs-completions/);
    expect((await cli('--get-yargs-completions', 'tinym2', 'comp')).stdout.split('\n')).toEqual(expect.arrayContaining(['compile', 'completion']));
    expect((await cli('--get-yargs-completions', 'tinym2', 'compile', 'm.onnx', '--')).stdout.split('\n')).toEqual(expect.arrayContaining(['--calib', '--precision', '--out']));
  });
});

describe('the table says what the code does', () => {
  it('defaults and figures in help equal the constants they describe', () => {
    expect(OPTIONS.iterations.default).toBe(DEFAULT_TRACE_OPTIONS.maxIterations);
    expect(OPTIONS.batch.default).toBe(DEFAULT_TRACE_OPTIONS.batchSize);
    expect(OPTIONS.seed.default).toBe(DEFAULT_TRACE_OPTIONS.seed);
    expect(OPTIONS.board.commands.plan.describe).toContain(`${CODE_RESERVE_BYTES / 1024} KB code reserve`);
    expect(OPTIONS.board.commands.compile.describe).toContain(`${CODE_RESERVE_BYTES / 1024} KB code reserve`);
    expect(OPTIONS.qemu.describe).toContain(`${FALLBACK_INSTRUCTIONS_PER_MAC} instructions per MAC`);
  });

  it('suggests the closest option only when it is close', () => {
    expect(closest('calibb', ['calib', 'data'])).toBe('calib');
    expect(closest('precison', ['precision', 'plan'])).toBe('precision');
    expect(closest('zzzz', ['calib', 'data'])).toBeUndefined();
  });
});
