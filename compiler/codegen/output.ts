// Writes a generated model into its output directory all at once: everything goes to a temporary
// directory next to it first and is renamed into place at the end, so a failure (or a kill) never
// leaves a half-written model behind. An output directory tinym2 wrote before is replaced as a
// whole; into a directory of the user's (e.g. a shared out/) the files are moved next to what is
// there, and only if none of their names is taken (it never deletes or overwrites the user's files).
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { TinyM2Error } from '../errors.ts';
import { RUNTIME_DIR, runtimeFiles } from './generate.ts';

/** Marker file that says "tinym2 wrote this directory". */
export const MARKER = '.tinym2';

/** In a directory of the user's: the entries tinym2 compiles put there (one name a line). */
export const MERGED = '.tinym2-files';

function mergedEntries(dir: string): Set<string> {
  const file = join(dir, MERGED);
  if (!existsSync(file)) return new Set();
  return new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean));
}

/**
 * A file whose bytes did not change keeps the modification time it had, so a build system (make, ninja:
 * cmake/Tinym2.cmake) does not recompile what a regeneration left as it was.
 */
function keepTimesOfUnchanged(previous: string, next: string, names: string[]): void {
  if (!existsSync(previous)) return;
  for (const name of names) {
    const before = join(previous, name);
    if (!existsSync(before)) continue;
    const after = join(next, name);
    const old = readFileSync(before);
    if (old.equals(readFileSync(after))) {
      const st = statSync(before);
      utimesSync(after, st.atime, st.mtime);
    }
  }
}

export function writeOutputDir(outDir: string, files: Map<string, string>): string[] {
  const target = resolve(outDir);
  let merge = false; // into an existing directory of the user's, next to what is there
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new TinyM2Error(`output ${outDir} exists and is not a directory`);
    const entries = readdirSync(target);
    if (entries.length > 0 && !entries.includes(MARKER)) {
      const ours = new Set([...files.keys(), 'runtime'].map((f) => f.split('/')[0]));
      const earlier = mergedEntries(target);
      const clash = entries.filter((e) => ours.has(e) && !earlier.has(e));
      if (clash.length) {
        throw new TinyM2Error(`output directory ${outDir} was not written by tinym2 and already has ${clash.join(', ')}: choose another -o or move them`);
      }
      merge = true;
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
    if (merge) {
      // Everything is written; moving the top-level entries in is a handful of renames. Entries an
      // earlier compile put here (listed in MERGED) are replaced; nothing else is touched.
      const entries = readdirSync(tmp);
      const listed = new Set([...mergedEntries(target), ...entries]);
      for (const e of entries) {
        rmSync(join(target, e), { recursive: true, force: true });
        renameSync(join(tmp, e), join(target, e));
      }
      writeFileSync(join(target, MERGED), `${[...listed].sort().join('\n')}\n`);
      rmSync(tmp, { recursive: true, force: true });
    } else {
      writeFileSync(join(tmp, MARKER), 'written by tinym2 compile; the whole directory is replaced on the next compile\n');
      keepTimesOfUnchanged(target, tmp, written);
      if (existsSync(target)) renameSync(target, old);
      renameSync(tmp, target);
      rmSync(old, { recursive: true, force: true });
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(old) && !existsSync(target)) renameSync(old, target);
    if (e instanceof TinyM2Error) throw e;
    throw new TinyM2Error(`cannot write ${outDir}: ${(e as Error).message}`);
  }
  return written;
}
