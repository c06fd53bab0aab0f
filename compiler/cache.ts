// Where tinym2 keeps what it can rebuild (compiled objects, the QEMU plugin) and its temporary build
// folders: never inside the installed package, which may be read-only (a CI image, a shared install).
//   TINYM2_CACHE_DIR, else $XDG_CACHE_HOME/tinym2, else ~/.cache/tinym2 (the XDG base directory default).
// Read at each call, so a test or a CI job can point it elsewhere.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT_BAD_INPUT, TinyM2Error } from './errors.ts';

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TINYM2_CACHE_DIR) return path.resolve(env.TINYM2_CACHE_DIR);
  if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)) return path.join(env.XDG_CACHE_HOME, 'tinym2');
  return path.join(os.homedir(), '.cache', 'tinym2');
}

/** cacheDir()/sub, created; a cache that cannot be created is one clear error naming the variable to set. */
export function ensureCacheDir(...sub: string[]): string {
  const dir = path.join(cacheDir(), ...sub);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new TinyM2Error(
      `cannot create the cache folder ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): set TINYM2_CACHE_DIR to a writable folder`,
      { exitCode: EXIT_BAD_INPUT },
    );
  }
  return dir;
}

/** A new private temporary folder under cacheDir()/tmp (the caller removes it). */
export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(ensureCacheDir('tmp'), `${prefix}-`));
}
