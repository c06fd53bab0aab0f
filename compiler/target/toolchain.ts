// Checks the requirements of compiler/target/requirements.ts on this machine: headers and libraries are probed
// with the board's own compiler and flags. A missing one is reported before a build as exit 4 naming the
// Debian package, never as a compiler error halfway through.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { TinyM2Error, EXIT_TOOL_MISSING } from '../errors.ts';
import { listBoards, loadBoard, type Board } from './boards.ts';
import { RUNNER_REQUIREMENTS, TOOLCHAIN_REQUIREMENTS, type Requirement, type ToolchainKind } from './requirements.ts';
import { findTool, type Env } from './tools.ts';

export interface CheckResult {
  requirement: Requirement;
  ok: boolean;
  /** Where it was found (a path), or why it counts as missing. */
  detail: string;
}

export interface ToolchainProbe {
  /** The compiler command and flags the headers (cflags) and libraries (cflags + ldflags) are probed with. */
  cc: string;
  cflags: string[];
  ldflags: string[];
}

/**
 * Checks a list of requirements. Headers and libraries are probed with `probe` (the compiler of the same list,
 * with the board's flags); when that compiler is missing they count as missing too, since they cannot build
 * anything without it.
 */
export function checkRequirements(requirements: readonly Requirement[], probe: ToolchainProbe | null, env: Env = process.env): CheckResult[] {
  const ccPath = probe ? findTool(probe.cc, env) : null;
  // All headers in one preprocessor run; one run per header only when that fails, to name the missing ones.
  const headers = requirements.filter((r) => r.kind === 'header').map((r) => r.name);
  const allHeadersFound = ccPath !== null && probe !== null && headers.length > 0 && preprocess(ccPath, probe, headers, env).ok;
  return requirements.map((requirement): CheckResult => {
    switch (requirement.kind) {
      case 'command': {
        const found = findTool(requirement.name, env);
        return { requirement, ok: found !== null, detail: found ?? 'not on PATH' };
      }
      case 'file':
        return { requirement, ok: fs.existsSync(requirement.name), detail: requirement.name };
      case 'header': {
        if (!ccPath || !probe) return { requirement, ok: false, detail: `cannot be checked without ${probe?.cc ?? 'a compiler'}` };
        if (allHeadersFound) return { requirement, ok: true, detail: `found by ${probe.cc}` };
        const r = preprocess(ccPath, probe, [requirement.name], env);
        return { requirement, ok: r.ok, detail: r.ok ? `found by ${probe.cc}` : r.error };
      }
      case 'library': {
        if (!ccPath || !probe) return { requirement, ok: false, detail: `cannot be checked without ${probe?.cc ?? 'a compiler'}` };
        const r = spawnSync(ccPath, [...probe.cflags, ...probe.ldflags, `-print-file-name=${requirement.name}`], { env, encoding: 'utf8', timeout: 30_000 });
        const file = (r.stdout ?? '').trim();
        // The driver prints the bare name back when it does not find the file.
        const ok = r.status === 0 && file.startsWith('/') && fs.existsSync(file);
        return { requirement, ok, detail: ok ? file : `${probe.cc} does not find ${requirement.name}` };
      }
    }
  });
}

/** `cc <cflags> -E` of a file that includes `headers`: does the compiler resolve them with these flags? */
function preprocess(ccPath: string, probe: ToolchainProbe, headers: string[], env: Env): { ok: boolean; error: string } {
  const r = spawnSync(ccPath, [...probe.cflags, '-E', '-x', 'c', '-o', '/dev/null', '-'], {
    input: headers.map((h) => `#include <${h}>\n`).join(''),
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { ok: r.status === 0, error: r.status === 0 ? '' : firstError(r.stderr) };
}

function firstError(stderr: string | null): string {
  const line = (stderr ?? '').split('\n').find((l) => /error/.test(l));
  return (line ?? (stderr ?? '').trim().split('\n')[0] ?? 'failed').trim();
}

export interface BoardCheck {
  board: string;
  build: CheckResult[];
  run: CheckResult[];
}

/** Everything building and running `board`'s programs needs, checked with exactly its compiler and flags. */
export function checkBoardTools(board: Board, env: Env = process.env): BoardCheck {
  const tc = board.toolchain;
  const requirements = TOOLCHAIN_REQUIREMENTS[tc.kind].map((r) => (r.kind === 'command' && r.name === defaultCc(tc.kind) ? { ...r, name: tc.cc } : r));
  // Exactly the board's flags: they pick the multilib, sysroot and specs the headers and libraries come from.
  const build = checkRequirements(requirements, { cc: tc.cc, cflags: tc.cflags, ldflags: tc.ldflags }, env);
  const run = board.run.kind === 'none' ? [] : checkRequirements(RUNNER_REQUIREMENTS[board.run.kind], null, env);
  return { board: board.name, build, run };
}

/** The host compiler and its C library (QEMU plugin, `compile --check`). */
export function checkHostTools(env: Env = process.env): CheckResult[] {
  return checkRequirements(TOOLCHAIN_REQUIREMENTS.host, { cc: 'gcc', cflags: [], ldflags: [] }, env);
}

function defaultCc(kind: ToolchainKind): string {
  return TOOLCHAIN_REQUIREMENTS[kind][0]!.name;
}

/** The Debian packages that would provide what is missing, in first-seen order, without repeats. */
export function missingPackages(results: readonly CheckResult[]): string[] {
  return [...new Set(results.filter((r) => !r.ok).map((r) => r.requirement.package))];
}

/** Every shipped board's build and run requirements plus the host's. */
export function checkAllBoards(env: Env = process.env): { boards: BoardCheck[]; host: CheckResult[] } {
  return { boards: listBoards().map((name) => checkBoardTools(loadBoard(name), env)), host: checkHostTools(env) };
}

const verified = new Set<string>();

/**
 * Before building for `board`: its compiler, headers and libraries must all be there. A missing one is exit 4
 * naming the file and the Debian package, instead of a compiler error. Checked once per compiler and flags
 * per process (a check is a few compiler runs).
 */
export function requireBoardToolchain(board: Board, env: Env = process.env): void {
  const key = JSON.stringify([board.toolchain.cc, board.toolchain.cflags, board.toolchain.ldflags, env.PATH ?? '']);
  if (verified.has(key)) return;
  const { build } = checkBoardTools(board, env);
  throwIfMissing(build, `to build firmware for board ${board.name}`, board.toolchain.cc);
  verified.add(key);
}

/** Before running the host compiler (QEMU plugin, self-check builds). */
export function requireHostToolchain(purpose: string, env: Env = process.env): void {
  const key = JSON.stringify(['host', env.PATH ?? '']);
  if (verified.has(key)) return;
  throwIfMissing(checkHostTools(env), purpose, 'gcc');
  verified.add(key);
}

function throwIfMissing(results: CheckResult[], purpose: string, cc: string): void {
  const missing = results.filter((r) => !r.ok);
  if (missing.length === 0) return;
  const packages = missingPackages(missing);
  const commands = missing.filter((r) => r.requirement.kind === 'command').map((r) => `'${r.requirement.name}'`);
  const files = missing.filter((r) => r.requirement.kind !== 'command').map((r) => r.requirement.name);
  const why = [...new Set(missing.filter((r) => r.requirement.kind !== 'command').map((r) => r.requirement.why))];
  const listed = files.length > 6 ? `${files.slice(0, 6).join(', ')} and ${files.length - 6} more` : files.join(', ');
  // With the compiler itself missing, the files it would find are named only by their package.
  const what = commands.length
    ? `${commands.join(', ')} was not found on PATH`
    : `${cc} does not find ${listed} (${why.join('; ')})`;
  throw new TinyM2Error(`${what}; it is needed ${purpose}; install it with: sudo apt-get install ${packages.join(' ')}`, {
    exitCode: EXIT_TOOL_MISSING,
    details: { missing: missing.map((r) => ({ kind: r.requirement.kind, name: r.requirement.name, detail: r.detail })), packages, package: packages[0] },
  });
}
