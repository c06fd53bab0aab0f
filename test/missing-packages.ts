// Prints, one per line, the Debian packages that test/install-deps.sh must install on this machine: whatever
// the boards' toolchains and runners, the host compiler and the test suite need and is missing, checked by the
// file that is needed (compiler/target/requirements.ts). `--check` exits 1 instead when anything is missing,
// naming each file (install-deps.sh runs it after apt-get, so an incomplete package list fails loudly).
import { TEST_REQUIREMENTS } from '../compiler/target/requirements.ts';
import { checkAllBoards, checkRequirements, missingPackages } from '../compiler/target/toolchain.ts';

const { boards, host } = checkAllBoards();
const results = [...boards.flatMap((b) => [...b.build, ...b.run]), ...host, ...checkRequirements(TEST_REQUIREMENTS, { cc: 'gcc', cflags: [], ldflags: [] })];
if (process.argv.includes('--check')) {
  const missing = results.filter((r) => !r.ok);
  for (const r of missing) console.error(`tinym2: still missing after install: ${r.requirement.name} (${r.requirement.why}; package ${r.requirement.package}): ${r.detail}`);
  process.exitCode = missing.length ? 1 : 0;
} else {
  for (const p of missingPackages(results)) console.log(p);
}
