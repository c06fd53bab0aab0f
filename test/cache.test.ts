// Where caches and temporary folders go (compiler/cache.ts): TINYM2_CACHE_DIR, else $XDG_CACHE_HOME/tinym2,
// else ~/.cache/tinym2; never the package folder; an unusable folder is one error naming the variable.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { cacheDir, ensureCacheDir, makeTempDir } from '../compiler/cache.ts';
import { TinyM2Error } from '../compiler/errors.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tm2-cache-test-'));
const saved = process.env.TINYM2_CACHE_DIR;
afterEach(() => {
  if (saved === undefined) delete process.env.TINYM2_CACHE_DIR;
  else process.env.TINYM2_CACHE_DIR = saved;
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

it('TINYM2_CACHE_DIR, then $XDG_CACHE_HOME/tinym2, then ~/.cache/tinym2', () => {
  expect(cacheDir({ TINYM2_CACHE_DIR: '/x/c', XDG_CACHE_HOME: '/y' })).toBe('/x/c');
  expect(cacheDir({ XDG_CACHE_HOME: '/y' })).toBe('/y/tinym2');
  // The XDG spec: a relative XDG_CACHE_HOME is invalid and ignored.
  expect(cacheDir({ XDG_CACHE_HOME: 'rel' })).toBe(path.join(os.homedir(), '.cache', 'tinym2'));
  expect(cacheDir({})).toBe(path.join(os.homedir(), '.cache', 'tinym2'));
});

it('makes temporary folders under the cache folder', () => {
  process.env.TINYM2_CACHE_DIR = path.join(tmp, 'cache');
  const d = makeTempDir('tm2-x');
  expect(path.dirname(d)).toBe(path.join(tmp, 'cache', 'tmp'));
  expect(fs.statSync(d).isDirectory()).toBe(true);
});

it('a cache folder that cannot be made is one TinyM2Error (exit 2) naming TINYM2_CACHE_DIR', () => {
  const file = path.join(tmp, 'a-file');
  fs.writeFileSync(file, '');
  process.env.TINYM2_CACHE_DIR = path.join(file, 'cache'); // below a regular file: ENOTDIR, also as root
  expect(() => ensureCacheDir('objects')).toThrow(TinyM2Error);
  expect(() => ensureCacheDir('objects')).toThrow(/cannot create the cache folder .*: set TINYM2_CACHE_DIR to a writable folder/);
});
