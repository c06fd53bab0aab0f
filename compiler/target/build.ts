// Builds firmware for a board: the board's compiler and flags, tinym2's start-up code and linker script
// (bare-metal boards) and the instruction-count markers, into one ELF. A program that does not fit the
// board's flash or RAM is a budget error (exit 3) that says by how much; no partial ELF is left behind.
import fs from 'node:fs';
import path from 'node:path';
import { TinyM2Error, EXIT_BAD_INPUT, EXIT_BUDGET, EXIT_TOOL_MISSING } from '../errors.ts';
import { loadBoard, type Board } from './boards.ts';
import { elfSizes, type ElfSizes } from './elf.ts';
import { bytesByObject, type ContributedBytes } from './linkmap.ts';
import { objectCache } from './objcache.ts';
import { execTool } from './exec.ts';
import { CORTEX_M_STARTUP_DIR, HARNESS_DIR } from './paths.ts';
import { requireBoardToolchain } from './toolchain.ts';
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
  /** Reuse objects of unchanged sources from <cache>/objects (compiler/cache.ts) (default true; TM2_NO_BUILD_CACHE=1 disables). */
  cache?: boolean;
}

export interface BuildResult {
  elf: string;
  board: Board;
  /** The generated linker script (bare-metal boards). */
  linkerScript?: string;
  /** The linker map, from which objectBytes is read. */
  mapFile: string;
  /** The compile command of the first source and the link command, for reports and reproducing by hand. */
  commands: string[][];
  sizes: ElfSizes;
  /** Bytes each source (and each library archive member) placed in the image, from the linker map. */
  objectBytes: Map<string, ContributedBytes>;
  /** Compiler warnings, one entry per source that had any. */
  warnings: string[];
  seconds: number;
}

export async function buildFirmware(options: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  const board = typeof options.board === 'string' ? loadBoard(options.board) : options.board;
  const tc = board.toolchain;
  // Compiler, headers and libraries first: a missing package is exit 4 naming it, not a compiler error.
  requireBoardToolchain(board, options.env);
  const cc = requireTool(tc.cc, `to build firmware for board ${board.name}`, options.env);
  for (const src of options.sources) {
    if (!fs.existsSync(src)) throw new TinyM2Error(`source file ${src} does not exist`, { exitCode: EXIT_BAD_INPUT });
  }
  fs.mkdirSync(options.outDir, { recursive: true });
  const name = options.name ?? 'firmware';
  const elf = path.join(options.outDir, tc.kind === 'arm-none-eabi' ? `${name}.elf` : name);
  const mapFile = path.join(options.outDir, `${name}.map`);
  const objDir = path.join(options.outDir, `${name}.obj`);
  const cleanup = (): void => {
    for (const f of [elf, mapFile, objDir, path.join(options.outDir, `${name}.ld`)]) fs.rmSync(f, { recursive: true, force: true });
  };
  cleanup();
  fs.mkdirSync(objDir);

  const sources = [...options.sources, path.join(HARNESS_DIR, 'tm2_count.c')];
  if (tc.kind === 'arm-none-eabi') sources.push(path.join(CORTEX_M_STARTUP_DIR, 'startup.c'));
  const compileFlags = [
    ...tc.cflags,
    ...(options.extraCflags ?? []),
    ...defineFlags(options.defines),
    ...[HARNESS_DIR, ...(options.includeDirs ?? [])].map((d) => `-I${d}`),
  ];
  const objects = objectNames(sources, objDir);
  const timeoutMs = options.timeoutMs ?? 300_000;
  const commands: string[][] = [];
  const warnings: string[] = [];
  try {
    // One compiler process per source (two at a time: the machine has two cores), so that the linker map
    // attributes every byte to the source it came from.
    // Unchanged sources come from the object cache (compiler/target/objcache.ts).
    await inParallel(sources.map((src, i) => async () => {
      const object = objects[i]!;
      const command = [cc, ...compileFlags, '-c', src, '-o', object];
      if (i === 0) commands.push(command);
      const cache = options.cache === false ? null : objectCache(cc, compileFlags, src);
      const cachedWarnings = cache?.restore(object);
      if (cachedWarnings !== null && cachedWarnings !== undefined) {
        if (cachedWarnings) warnings.push(cachedWarnings);
        return;
      }
      const r = await execTool(cc, [...command.slice(1), '-MMD', '-MF', `${object}.d`], { env: options.env, timeoutMs });
      if (r.code !== 0) throw buildError(board, r.stderr || r.stdout, r.timedOut);
      if (r.stderr.trim()) warnings.push(r.stderr.trim());
      cache?.store(object, r.stderr.trim());
    }), 2);
    const linkArgs: string[] = [];
    if (tc.kind === 'arm-none-eabi') {
      const linkerScript = path.join(options.outDir, `${name}.ld`);
      fs.writeFileSync(linkerScript, linkerScriptFor(board));
      linkArgs.push('-T', linkerScript);
    }
    const link = [cc, ...tc.cflags, ...(options.extraCflags ?? []), ...objects, ...linkArgs, '-o', elf, `-Wl,-Map=${mapFile}`, ...tc.ldflags];
    commands.push(link);
    const r = await execTool(cc, link.slice(1), { env: options.env, timeoutMs });
    if (r.code !== 0) throw buildError(board, r.stderr || r.stdout, r.timedOut);
  } catch (err) {
    cleanup();
    throw err;
  }
  const byObject = bytesByObject(fs.readFileSync(mapFile, 'utf8'));
  const objectBytes = new Map<string, ContributedBytes>();
  sources.forEach((src, i) => objectBytes.set(src, byObject.get(objects[i]!) ?? { text: 0, rodata: 0, data: 0, bss: 0 }));
  for (const [obj, bytes] of byObject) if (!objects.includes(obj)) objectBytes.set(obj, bytes);
  return {
    elf,
    board,
    linkerScript: tc.kind === 'arm-none-eabi' ? path.join(options.outDir, `${name}.ld`) : undefined,
    mapFile,
    commands,
    sizes: elfSizes(elf, board),
    objectBytes,
    warnings,
    seconds: (Date.now() - started) / 1000,
  };
}

/** Sum of the bytes the given sources placed in the image: e.g. a model's own flash and RAM inside a test firmware. */
export function bytesOfSources(result: BuildResult, sources: string[]): ContributedBytes & { flash: number; ram: number } {
  const sum = { text: 0, rodata: 0, data: 0, bss: 0 };
  for (const src of sources) {
    const b = result.objectBytes.get(src);
    if (!b) throw new Error(`${src} was not part of the build of ${result.elf}`);
    sum.text += b.text;
    sum.rodata += b.rodata;
    sum.data += b.data;
    sum.bss += b.bss;
  }
  return { ...sum, flash: sum.text + sum.rodata + sum.data, ram: sum.data + sum.bss };
}

/** Object file paths in objDir named after each source, made unique when two sources share a base name. */
function objectNames(sources: string[], objDir: string): string[] {
  const used = new Set<string>();
  return sources.map((src) => {
    const base = path.basename(src).replace(/\.[^.]*$/, '');
    let candidate = `${base}.o`;
    for (let k = 2; used.has(candidate); k++) candidate = `${base}_${k}.o`;
    used.add(candidate);
    return path.join(objDir, candidate);
  });
}

async function inParallel(tasks: Array<() => Promise<void>>, width: number): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (next < tasks.length && failure === undefined) {
      const task = tasks[next++]!;
      try {
        await task();
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, tasks.length) }, worker));
  if (failure !== undefined) throw failure;
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
