// Board descriptions (boards/<name>.json): loaded, checked against boards/board.schema.json (compiler/json-schema.ts),
// and cross-checked for what a schema cannot say (file name = board name, power sources referenced).
// A bad board file is one TinyM2Error that names the file and the field.
import fs from 'node:fs';
import path from 'node:path';
import { TinyM2Error, EXIT_BAD_INPUT } from '../errors.ts';
import { checkAgainstSchema } from '../json-schema.ts';
import { BOARDS_DIR } from './paths.ts';

/** A published, measured or estimated number, with where it comes from. */
export interface Figure {
  value: number;
  min?: number;
  max?: number;
  basis: 'datasheet' | 'paper' | 'measured' | 'estimate';
  source?: string;
  note: string;
}

export interface MemoryRegion {
  origin?: number;
  bytes: number;
}

export type RunSpec =
  | { kind: 'qemu-system-arm'; machine: string }
  | { kind: 'qemu-aarch64'; cpu?: string }
  | { kind: 'none'; reason: string };

export interface Board {
  name: string;
  description: string;
  core: 'cortex-m4' | 'cortex-m7' | 'cortex-m33' | 'cortex-m55' | 'cortex-a72';
  arch: 'armv7e-m' | 'armv8-m.main' | 'armv8.1-m.main' | 'armv8-a';
  features: { fpu: string; dsp: boolean; simd: 'none' | 'dsp-simd32' | 'mve' | 'neon' };
  clockHz: number;
  memory: { flash?: MemoryRegion; ram: MemoryRegion; stackBytes: number; heapBytes: number };
  toolchain: { kind: 'arm-none-eabi' | 'aarch64-linux-gnu'; cc: string; cflags: string[]; ldflags: string[] };
  run: RunSpec;
  remote?: { kind: 'ssh'; powerSensorGlob?: string };
  power: {
    activePowerW: Figure;
    cpi: Figure;
    /** Cycles per instruction class (see the count plugin's mix=1); replaces the flat CPI when a mix is known. */
    cycles?: { perClass: Record<'alu' | 'load' | 'store' | 'mul' | 'div' | 'branch' | 'fp' | 'regs', number>; basis: Figure['basis']; source?: string; note: string };
    sources: Array<{ id: string; title: string; url?: string; section?: string }>;
  };
  /** The file it was loaded from (not part of the JSON). */
  file: string;
}

const SCHEMA_FILE = path.join(BOARDS_DIR, 'board.schema.json');

/** Names of the boards shipped in boards/ (sorted). */
export function listBoards(dir: string = BOARDS_DIR): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'board.schema.json')
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/** Loads a board by name (boards/<name>.json) or by path to a .json file. */
export function loadBoard(nameOrFile: string): Board {
  const isFile = nameOrFile.endsWith('.json') || nameOrFile.includes('/');
  const file = isFile ? path.resolve(nameOrFile) : path.join(BOARDS_DIR, `${nameOrFile}.json`);
  if (!fs.existsSync(file)) {
    throw new TinyM2Error(
      isFile
        ? `board file ${file} does not exist`
        : `unknown board '${nameOrFile}'; known boards: ${listBoards().join(', ')} (or give a path to a board .json file)`,
      { exitCode: EXIT_BAD_INPUT, details: { board: nameOrFile } },
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new TinyM2Error(`board file ${file} is not valid JSON: ${(err as Error).message}`, {
      exitCode: EXIT_BAD_INPUT,
      details: { file },
    });
  }
  return checkBoard(data, file);
}

/** Validates parsed board JSON; `file` is only used in messages and to check the name. */
export function checkBoard(data: unknown, file: string): Board {
  checkAgainstSchema(data, SCHEMA_FILE, `board file ${file}`, file);
  const board = { ...(data as Omit<Board, 'file'>), file };
  const fail = (field: string, what: string): never => {
    throw new TinyM2Error(`board file ${file} is invalid: ${field} ${what}`, {
      exitCode: EXIT_BAD_INPUT,
      details: { file, field },
    });
  };
  const base = path.basename(file, '.json');
  if (board.name !== base) fail('/name', `is '${board.name}' but the file is ${base}.json; they must match`);
  if (board.toolchain.kind === 'arm-none-eabi') {
    if (!board.memory.flash || board.memory.flash.origin === undefined) fail('/memory/flash/origin', 'is required for bare-metal boards');
    if (board.memory.ram.origin === undefined) fail('/memory/ram/origin', 'is required for bare-metal boards');
  }
  if (board.run.kind === 'qemu-system-arm' && board.toolchain.kind !== 'arm-none-eabi')
    fail('/run/kind', 'qemu-system-arm needs the arm-none-eabi toolchain');
  if (board.run.kind === 'qemu-aarch64' && board.toolchain.kind !== 'aarch64-linux-gnu')
    fail('/run/kind', 'qemu-aarch64 needs the aarch64-linux-gnu toolchain');
  const ids = new Set(board.power.sources.map((s) => s.id));
  const cycles = board.power.cycles;
  if (cycles?.source !== undefined && !ids.has(cycles.source))
    fail('/power/cycles/source', `names '${cycles.source}', which is not an id in /power/sources`);
  for (const key of ['activePowerW', 'cpi'] as const) {
    const fig = board.power[key];
    if (fig.source !== undefined && !ids.has(fig.source))
      fail(`/power/${key}/source`, `names '${fig.source}', which is not an id in /power/sources`);
    if (fig.basis !== 'estimate' && fig.source === undefined)
      fail(`/power/${key}/source`, `is required when basis is '${fig.basis}' (cite where the number comes from)`);
    if (fig.min !== undefined && fig.min > fig.value) fail(`/power/${key}/min`, 'is larger than value');
    if (fig.max !== undefined && fig.max < fig.value) fail(`/power/${key}/max`, 'is smaller than value');
  }
  return board;
}

