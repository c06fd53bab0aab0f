// Writes a generated model into its output directory all at once: everything goes to a temporary
// directory next to it first and is renamed into place at the end, so a failure (or a kill) never
// leaves a half-written model behind. An existing output directory is replaced as a whole, but
// only if it looks like one tinym2 wrote (it will not delete an unrelated folder).
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { TinyM2Error } from '../errors.ts';
import { RUNTIME_DIR, runtimeFiles } from './generate.ts';

/** Marker file that says "tinym2 wrote this directory". */
export const MARKER = '.tinym2';

export function writeOutputDir(outDir: string, files: Map<string, string>): string[] {
  const target = resolve(outDir);
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new TinyM2Error(`output ${outDir} exists and is not a directory`);
    const entries = readdirSync(target);
    if (entries.length > 0 && !entries.includes(MARKER)) {
      throw new TinyM2Error(`output directory ${outDir} is not empty and was not written by tinym2: choose another -o or empty it`);
    }
  }
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  const tmp = join(parent, `.${basename(target)}.tmp-${process.pid}`);
  const old = join(parent, `.${basename(target)}.old-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  const written: string[] = [];
  try {
    mkdirSync(tmp);
    for (const [name, text] of files) {
      mkdirSync(dirname(join(tmp, name)), { recursive: true });
      writeFileSync(join(tmp, name), text);
      written.push(name);
    }
    for (const f of runtimeFiles()) {
      const dst = join(tmp, 'runtime', f);
      mkdirSync(dirname(dst), { recursive: true });
      copyFileSync(join(RUNTIME_DIR, f), dst);
      written.push(`runtime/${f}`);
    }
    writeFileSync(join(tmp, MARKER), 'written by tinym2 compile; the whole directory is replaced on the next compile\n');
    if (existsSync(target)) renameSync(target, old);
    renameSync(tmp, target);
    rmSync(old, { recursive: true, force: true });
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(old) && !existsSync(target)) renameSync(old, target);
    if (e instanceof TinyM2Error) throw e;
    throw new TinyM2Error(`cannot write ${outDir}: ${(e as Error).message}`);
  }
  return written;
}
