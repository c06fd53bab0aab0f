// Builds firmware for a board: the board's compiler and flags, tinym2's start-up code and linker script
// (bare-metal boards) and the instruction-count markers, into one ELF. A program that does not fit the
// board's flash or RAM is a budget error (exit 3) that says by how much; no partial ELF is left behind.
import fs from 'node:fs';
import path from 'node:path';
import { TinyM2Error, EXIT_BAD_INPUT, EXIT_BUDGET, EXIT_TOOL_MISSING } from '../errors.ts';
import { loadBoard, type Board } from './boards.ts';
import { elfSizes, type ElfSizes } from './elf.ts';
import { execTool } from './exec.ts';
import { CORTEX_M_STARTUP_DIR, HARNESS_DIR } from './paths.ts';
import { requireTool, type Env } from './tools.ts';

export interface BuildOptions {
  board: Board | string;
  /** C sources of the program (the one with main() included). */
  sources: string[];
  includeDirs?: string[];
  /** NAME -> value (true for a bare -DNAME), or ready "NAME=VALUE" strings. */
  defines?: Record<string, string | number | true> | string[];
  outDir: string;
  /** ELF file name without extension (default "firmware"). */
  name?: string;
  /** Extra compiler flags after the board's (e.g. -Wall, -DNDEBUG). */
  extraCflags?: string[];
  env?: Env;
  timeoutMs?: number;
}

export interface BuildResult {
  elf: string;
  board: Board;
  /** The generated linker script (bare-metal boards). */
  linkerScript?: string;
  /** The compiler command line, for reports and for reproducing the build by hand. */
  command: string[];
  sizes: ElfSizes;
  seconds: number;
}

export async function buildFirmware(options: BuildOptions): Promise<BuildResult> {
  const board = typeof options.board === 'string' ? loadBoard(options.board) : options.board;
  const tc = board.toolchain;
  const cc = requireTool(tc.cc, `to build firmware for board ${board.name}`, options.env);
  for (const src of options.sources) {
    if (!fs.existsSync(src)) throw new TinyM2Error(`source file ${src} does not exist`, { exitCode: EXIT_BAD_INPUT });
  }
  fs.mkdirSync(options.outDir, { recursive: true });
  const name = options.name ?? 'firmware';
  const elf = path.join(options.outDir, tc.kind === 'arm-none-eabi' ? `${name}.elf` : name);
  const created: string[] = [];

  const sources = [...options.sources, path.join(HARNESS_DIR, 'tm2_count.c')];
  const linkArgs: string[] = [];
  let linkerScript: string | undefined;
  if (tc.kind === 'arm-none-eabi') {
    sources.push(path.join(CORTEX_M_STARTUP_DIR, 'startup.c'));
    linkerScript = path.join(options.outDir, `${name}.ld`);
    fs.writeFileSync(linkerScript, linkerScriptFor(board));
    created.push(linkerScript);
    linkArgs.push('-T', linkerScript);
  }
  const command = [
    cc,
    ...tc.cflags,
    ...(options.extraCflags ?? []),
    ...defineFlags(options.defines),
    ...[HARNESS_DIR, ...(options.includeDirs ?? [])].map((d) => `-I${d}`),
    ...sources,
    ...linkArgs,
    '-o',
    elf,
    ...tc.ldflags,
  ];
  const result = await execTool(command[0]!, command.slice(1), { env: options.env, timeoutMs: options.timeoutMs ?? 300_000 });
  if (result.code !== 0) {
    for (const f of [elf, ...created]) fs.rmSync(f, { force: true });
    throw buildError(board, result.stderr || result.stdout, result.timedOut);
  }
  return { elf, board, linkerScript, command, sizes: elfSizes(elf, board), seconds: result.seconds };
}

/** The Cortex-M linker script for a board: its memory map plus the stack and heap reserves. */
export function linkerScriptFor(board: Board): string {
  const flash = board.memory.flash;
  const ram = board.memory.ram;
  if (!flash || flash.origin === undefined || ram.origin === undefined)
    throw new TinyM2Error(`board ${board.name} has no flash/RAM origin; it is not a bare-metal board`, { exitCode: EXIT_BAD_INPUT });
  const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
  const fields: Record<string, string> = {
    FLASH_ORIGIN: hex(flash.origin),
    FLASH_BYTES: String(flash.bytes),
    RAM_ORIGIN: hex(ram.origin),
    RAM_BYTES: String(ram.bytes),
    HEAP_BYTES: String(board.memory.heapBytes),
    STACK_BYTES: String(board.memory.stackBytes),
  };
  const template = fs.readFileSync(path.join(CORTEX_M_STARTUP_DIR, 'link.ld.in'), 'utf8');
  return template.replace(/@([A-Z_]+)@/g, (whole, key: string) => {
    const value = fields[key];
    if (value === undefined) throw new Error(`link.ld.in: unknown field ${whole}`);
    return value;
  });
}

function defineFlags(defines: BuildOptions['defines']): string[] {
  if (!defines) return [];
  if (Array.isArray(defines)) return defines.map((d) => `-D${d}`);
  return Object.entries(defines).map(([k, v]) => (v === true ? `-D${k}` : `-D${k}=${v}`));
}

function buildError(board: Board, output: string, timedOut: boolean): TinyM2Error {
  if (timedOut) return new TinyM2Error(`building firmware for ${board.name} timed out`, { exitCode: EXIT_BAD_INPUT });
  // ld: "region `FLASH' overflowed by 1234 bytes"
  const overflow = [...output.matchAll(/region [`']?(\w+)'? overflowed by (\d+) bytes/g)];
  if (overflow.length > 0) {
    const parts = overflow.map((m) => {
      const region = m[1]!;
      const capacity = region === 'FLASH' ? board.memory.flash?.bytes : board.memory.ram.bytes;
      return `${region} overflowed by ${m[2]} bytes (${region === 'FLASH' ? 'flash' : 'RAM'} is ${capacity} bytes)`;
    });
    return new TinyM2Error(
      `firmware does not fit board ${board.name}: ${parts.join('; ')}. ` +
        'Use a smaller precision plan or model, or a board with more memory.',
      { exitCode: EXIT_BUDGET, details: { board: board.name, overflow: overflow.map((m) => ({ region: m[1], bytes: Number(m[2]) })) } },
    );
  }
  if (/rdimon\.specs|cannot find -lrdimon|nano\.specs/.test(output)) {
    return new TinyM2Error(
      `the newlib C library for ${board.toolchain.cc} is missing; install it with: sudo apt-get install libnewlib-arm-none-eabi`,
      { exitCode: EXIT_TOOL_MISSING, details: { package: 'libnewlib-arm-none-eabi' } },
    );
  }
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const shown = lines.slice(0, 25).join('\n');
  return new TinyM2Error(`compiling firmware for ${board.name} failed:\n${shown}${lines.length > 25 ? `\n... (${lines.length - 25} more lines)` : ''}`, {
    exitCode: EXIT_BAD_INPUT,
    details: { board: board.name, compilerOutput: lines.slice(0, 200) },
  });
}
