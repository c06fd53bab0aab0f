// Discovers the ONNX models tests should cover: everything under test/models/ and examples/, so a
// newly added model is tested without editing any test.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

function walk(dir: string, out: string[]): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (entry.endsWith('.onnx')) out.push(p);
  }
}

/** Absolute paths of every .onnx under test/models/ and examples/, sorted. */
export function listOnnxModels(): string[] {
  const out: string[] = [];
  walk(join(REPO_ROOT, 'test', 'models'), out);
  walk(join(REPO_ROOT, 'examples'), out);
  return out.sort();
}

/** Path relative to the repository, for test names. */
export function repoRelative(p: string): string {
  return relative(REPO_ROOT, p);
}
