#!/usr/bin/env node
// Entry point of the `tinym2` command.
//  - Installed package (no compiler/ sources shipped): runs the compiled JavaScript in dist/ (`npm run build`,
//    run by `prepack`), so a command starts without a TypeScript toolchain.
//  - Development checkout (compiler/cli.ts is here): runs the sources through tsx (a dev dependency), so an
//    edit takes effect at once and a fresh clone needs no build step (test/run-all.sh, examples/demo.sh).
//    TINYM2_USE_DIST=1 runs dist/ from a checkout instead (the startup benchmark does; build first).
import { existsSync } from 'node:fs';

const sources = new URL('../compiler/cli.ts', import.meta.url);
const useSources = existsSync(sources) && process.env.TINYM2_USE_DIST !== '1';
let main;
if (useSources) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(sources.href));
} else if (existsSync(new URL('../dist/cli.js', import.meta.url))) {
  ({ main } = await import('../dist/cli.js'));
} else {
  console.error("tinym2: dist/ is missing: run 'npm run build' first");
  process.exit(70);
}
process.exitCode = await main(process.argv.slice(2));
