// A content-addressed cache of compiled objects, so that rebuilding firmware whose model and runtime
// sources did not change (verify runs, benchmarks, tests) only compiles what did. Like ccache's direct
// mode: the key is the compiler, its flags and the source text; an entry is valid only while every
// header the compiler reported (-MMD) still has the content it had. System headers are covered by the
// compiler's own identity (path, size, mtime).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir } from '../cache.ts';

export interface CachedCompile {
  /** Copies a cached object to `object` and returns the warnings it was compiled with, or null on a miss. */
  restore(object: string): string | null;
  /** Stores `object` (just compiled with -MMD -MF <object>.d) and its warnings. */
  store(object: string, warnings: string): void;
}

function hashFile(file: string): string | null {
  try {
    return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  } catch {
    return null;
  }
}

/** Dependencies from a make-style .d file ("obj.o: src.c a.h \\\n b.h"), without the source itself. */
export function parseDepFile(text: string, source: string): string[] {
  const body = text.replace(/\\\r?\n/g, ' ');
  const colon = body.indexOf(': ');
  const words = (colon >= 0 ? body.slice(colon + 2) : body).split(/(?<!\\)\s+/).filter(Boolean).map((w) => w.replace(/\\ /g, ' '));
  return words.filter((w) => !w.endsWith(':') && path.resolve(w) !== path.resolve(source));
}

export function objectCache(compiler: string, flags: string[], source: string): CachedCompile | null {
  const sourceHash = hashFile(source);
  if (!sourceHash || process.env.TM2_NO_BUILD_CACHE) return null;
  let compilerId: string;
  try {
    const real = fs.realpathSync(compiler);
    const st = fs.statSync(real);
    compilerId = `${real}:${st.size}:${st.mtimeMs}`;
  } catch {
    return null;
  }
  const key = crypto.createHash('sha256').update(JSON.stringify([compilerId, flags, path.resolve(source), sourceHash])).digest('hex');
  const dir = path.join(cacheDir(), 'objects', key.slice(0, 2), key);
  return {
    restore(object) {
      try {
        const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { deps: Record<string, string>; warnings: string };
        for (const [dep, hash] of Object.entries(meta.deps)) if (hashFile(dep) !== hash) return null;
        fs.copyFileSync(path.join(dir, 'object.o'), object);
        return meta.warnings;
      } catch {
        return null;
      }
    },
    store(object, warnings) {
      try {
        const depFile = `${object}.d`;
        const deps: Record<string, string> = {};
        for (const dep of parseDepFile(fs.readFileSync(depFile, 'utf8'), source)) {
          const h = hashFile(dep);
          if (h === null) return; // a header we cannot read again: do not cache
          deps[path.resolve(dep)] = h;
        }
        const tmp = `${dir}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
        fs.mkdirSync(tmp, { recursive: true });
        fs.copyFileSync(object, path.join(tmp, 'object.o'));
        fs.writeFileSync(path.join(tmp, 'meta.json'), JSON.stringify({ source: path.resolve(source), deps, warnings }));
        fs.rmSync(dir, { recursive: true, force: true });
        try {
          fs.renameSync(tmp, dir);
        } catch {
          fs.rmSync(tmp, { recursive: true, force: true }); // another process stored it first
        }
      } catch {
        // The cache is an optimisation: failing to store is not an error.
      }
    },
  };
}
