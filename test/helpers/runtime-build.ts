// Building runtime-c's kernels for a test: the sources, the strict flags, the Cortex-M4/M7 flags, and a
// compile step that fails the test with the compiler's message (test/runtime-c.test.ts, test/kernels-newops.test.ts).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const RT = join(ROOT, 'runtime-c');
export const SOURCES = readdirSync(join(RT, 'src'))
  .filter((f) => f.endsWith('.c'))
  .map((f) => join(RT, 'src', f));
export const STRICT = ['-std=c99', '-Wall', '-Wextra', '-Werror', '-pedantic'];
export const INCLUDES = [`-I${join(RT, 'include')}`, `-I${join(RT, 'src')}`];
export const M4 = ['-mcpu=cortex-m4', '-mthumb', '-mfloat-abi=hard', '-mfpu=fpv4-sp-d16'];
export const M7 = ['-mcpu=cortex-m7', '-mthumb', '-mfloat-abi=hard', '-mfpu=fpv5-d16'];

export function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

export function run(cmd: string, args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 300_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Compiles (and links unless -c is in flags); fails the test with the compiler's message. */
export function compile(cc: string, flags: string[], sources: string[], out: string): void {
  const r = run(cc, [...flags, ...INCLUDES, ...sources, '-o', out]);
  expect(r.stderr, `${cc} ${flags.join(' ')}`).toBe('');
  expect(r.status).toBe(0);
}
