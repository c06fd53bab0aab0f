// Finds the external programs tinym2 drives (cross compilers, QEMU) and turns a missing one into one
// clear error that names the Debian package to install (exit code 4), instead of a spawn ENOENT.
import fs from 'node:fs';
import path from 'node:path';
import { TinyM2Error, EXIT_TOOL_MISSING } from '../errors.ts';
import { COMMAND_PACKAGES } from './requirements.ts';

export type Env = NodeJS.ProcessEnv;

/** Absolute path of `name` on the PATH of `env`, or null. */
export function findTool(name: string, env: Env = process.env): string | null {
  if (name.includes('/')) return isExecutable(name) ? name : null;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/** Like findTool, but a missing tool is a TinyM2Error (exit 4) saying why it is needed and how to get it. */
export function requireTool(name: string, purpose: string, env: Env = process.env): string {
  const found = findTool(name, env);
  if (found) return found;
  const pkg = COMMAND_PACKAGES[name];
  const install = pkg ? `install it with: sudo apt-get install ${pkg}` : 'install it and make sure it is on PATH';
  throw new TinyM2Error(`'${name}' was not found on PATH; it is needed ${purpose}; ${install}`, {
    exitCode: EXIT_TOOL_MISSING,
    details: { tool: name, package: pkg ?? null },
  });
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
