// `tinym2 doctor [--board NAME] [--json]`: is this machine ready to build and run each board's programs?
// Checks every requirement of compiler/target/requirements.ts the way a build would (headers and libraries
// with the board's own compiler and flags) and prints the one apt-get line that fixes what is missing.
import type { DoctorJson } from '../cli/json-output.ts';
import type { Args } from '../cli/options.ts';
import { EXIT_TOOL_MISSING } from '../errors.ts';
import { listBoards, loadBoard } from '../target/boards.ts';
import { checkBoardTools, checkHostTools, missingPackages, type CheckResult } from '../target/toolchain.ts';

export async function execute(o: Args<'doctor'>): Promise<number> {
  const names = o.board ? [o.board] : listBoards();
  const boards = names.map((n) => checkBoardTools(loadBoard(n)));
  const host = checkHostTools();
  const all = [...boards.flatMap((b) => [...b.build, ...b.run]), ...host];
  const packages = missingPackages(all);
  const ok = packages.length === 0;
  const row = (r: CheckResult) => ({ kind: r.requirement.kind, name: r.requirement.name, ok: r.ok, package: r.requirement.package, detail: r.detail });
  if (o.json) {
    console.log(JSON.stringify({
      ok,
      boards: boards.map((b) => ({ board: b.board, build: b.build.map(row), run: b.run.map(row) })),
      host: host.map(row),
      missingPackages: packages,
    } satisfies DoctorJson, null, 2));
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
