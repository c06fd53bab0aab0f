// Where the board files, start-up code and harness sources live (build products: compiler/cache.ts).
// Resolved from this module's location so commands work from any working directory.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BOARDS_DIR = path.join(REPO_ROOT, 'boards');
export const HARNESS_DIR = path.join(BOARDS_DIR, 'harness');
export const CORTEX_M_STARTUP_DIR = path.join(BOARDS_DIR, 'startup', 'cortex-m');
export const PLUGIN_SOURCE = path.join(BOARDS_DIR, 'qemu-plugin', 'tm2_insn_count.c');
