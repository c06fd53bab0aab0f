// `tinym2 doctor [--board NAME] [--json]`: is this machine ready to build and run each board's programs?
// Checks every requirement of compiler/target/requirements.ts the way a build would (headers and libraries
// with the board's own compiler and flags) and prints the one apt-get line that fixes what is missing.
import { parseArgs } from 'node:util';
import { TinyM2Error, EXIT_TOOL_MISSING } from '../errors.ts';
import { listBoards, loadBoard } from '../target/boards.ts';
import { checkBoardTools, checkHostTools, missingPackages, type CheckResult } from '../target/toolchain.ts';

export const summary = 'check that the compilers, C libraries and emulators each board needs are installed';

const HELP = `usage: tinym2 doctor [--board NAME] [--json]

Checks, for every board (or the one named), what building and running its programs needs: the compiler,
the C library headers and libraries it must find with the board's own flags, and the emulator; plus the
host compiler (QEMU instruction-count plugin, compile --check). Missing pieces are named with the Debian
package that provides them and one apt-get line.

  --board NAME   ${listBoards().join(', ')} (default: all)
  --json         {"ok", "boards": [{"board", "build", "run"}], "host", "missingPackages"}

Exit codes: 0 everything is there, 4 something is missing.`;

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { board: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    throw new TinyM2Error(`${(e as Error).message} (see tinym2 doctor --help)`);
  }
  if (parsed.values.help) {
    console.log(HELP);
    return 0;
  }
  const names = parsed.values.board ? [parsed.values.board] : listBoards();
  const boards = names.map((n) => checkBoardTools(loadBoard(n)));
  const host = checkHostTools();
  const all = [...boards.flatMap((b) => [...b.build, ...b.run]), ...host];
  const packages = missingPackages(all);
  const ok = packages.length === 0;
  const row = (r: CheckResult) => ({ kind: r.requirement.kind, name: r.requirement.name, ok: r.ok, package: r.requirement.package, detail: r.detail });
  if (parsed.values.json) {
    console.log(JSON.stringify({
      ok,
      boards: boards.map((b) => ({ board: b.board, build: b.build.map(row), run: b.run.map(row) })),
      host: host.map(row),
      missingPackages: packages,
    }, null, 2));
  } else {
    const lines: string[] = [];
    const section = (title: string, results: CheckResult[]): void => {
      const missing = results.filter((r) => !r.ok);
      lines.push(`${missing.length ? 'MISSING' : 'ok     '} ${title}${missing.length ? `: ${missing.map((r) => `${r.requirement.name} (${r.requirement.package})`).join(', ')}` : ''}`);
    };
    for (const b of boards) {
      section(`${b.board}: build (${b.build[0]!.requirement.name} + ${b.build.length - 1} headers/libraries)`, b.build);
      if (b.run.length) section(`${b.board}: run (${b.run.map((r) => r.requirement.name).join(', ')})`, b.run);
    }
    section(`host: gcc + ${host.length - 1} headers`, host);
    lines.push(ok ? 'everything each board needs is installed' : `install what is missing with: sudo apt-get install ${packages.join(' ')}`);
    console.log(lines.join('\n'));
  }
  return ok ? 0 : EXIT_TOOL_MISSING;
}
