// Runs firmware and collects its output, exit code and per-call instruction counts.
//
// Runners share one interface so the local QEMU path (the only one testable here) and a real board
// reached over ssh are interchangeable for `tinym2 verify`:
//   - QemuRunner: qemu-system-arm (bare-metal boards, semihosting I/O) or qemu-aarch64 user mode (rpi4),
//     both with the tm2_insn_count plugin, which counts instructions between tm2_count_begin()/_end().
//   - SshRunner: copies a Linux binary to user@host, runs it there, reads per-region wall time printed by
//     the harness (built with -DTM2_REGION_TIMING) and average power from a hwmon sensor if the board has one.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { makeTempDir } from '../cache.ts';
import { TinyM2Error, EXIT_BAD_INPUT, EXIT_VERIFY_FAILED } from '../errors.ts';
import type { Board } from './boards.ts';
import { readElf, symbolAddress, type ElfFile } from './elf.ts';
import { execTool, type ExecResult } from './exec.ts';
import { MIX_CLASSES, type InstructionMix } from './mix.ts';
import { ensureCountPlugin } from './plugin.ts';
import { requireTool, type Env } from './tools.ts';

export interface RunOptions {
  /** Wall-clock limit for one run (default 120 s). */
  timeoutMs?: number;
  env?: Env;
  /** Command-line arguments (Linux programs only). */
  args?: string[];
  /** Load the instruction-count plugin (default true). */
  countInstructions?: boolean;
  /** Also classify each region's instructions (loads, stores, multiplies, branches, ...) for cycle models. */
  instructionMix?: boolean;
  /** Also attribute the instructions inside regions to the functions of the ELF (a per-function profile). */
  profileFunctions?: boolean;
  /** Also measure the peak stack depth inside regions (bare-metal boards; a callback per store, slower). */
  measureStack?: boolean;
  /** user@host: run on a real board over ssh instead of locally. */
  ssh?: string;
}

export interface RunResult {
  board: string;
  runner: 'qemu-system-arm' | 'qemu-aarch64' | 'ssh';
  stdout: string;
  stderr: string;
  exitCode: number;
  /** Instructions executed between each tm2_count_begin()/tm2_count_end() pair, in call order. */
  regions: number[];
  /** Instructions executed by the whole program (QEMU only). */
  totalInstructions: number | null;
  /** Per region, its instruction mix (with `instructionMix`). */
  mix?: InstructionMix[];
  /** Deepest stack use inside regions, from the top of the stack (so the callers' frames are included), with `measureStack`. */
  stackPeakBytes?: number | null;
  /** Instructions inside all regions per function, largest first (with `profileFunctions`); "(unknown)" = outside every symbol. */
  functions?: Array<{ name: string; instructions: number }>;
  /** Wall time per region, measured on a real board. */
  regionSeconds?: number[];
  /** Average power read from the board's hwmon sensor during the run. */
  averagePowerW?: number;
  /** Wall time of the whole run on this machine. */
  seconds: number;
  warnings: string[];
}

export interface FirmwareRunner {
  run(elf: string, board: Board, options?: RunOptions): Promise<RunResult>;
}

/** Exit code the start-up code uses when the firmware takes a fault (HardFault, ...). */
export const FIRMWARE_FAULT_EXIT = 125;

export function runFirmware(elf: string, board: Board, options: RunOptions = {}): Promise<RunResult> {
  const runner: FirmwareRunner = options.ssh ? new SshRunner(options.ssh) : new QemuRunner();
  return runner.run(elf, board, options);
}

export class QemuRunner implements FirmwareRunner {
  async run(elf: string, board: Board, options: RunOptions = {}): Promise<RunResult> {
    const spec = board.run;
    if (spec.kind === 'none') {
      throw new TinyM2Error(`board ${board.name} cannot run here: ${spec.reason}`, {
        exitCode: EXIT_BAD_INPUT,
        details: { board: board.name },
      });
    }
    const qemu = requireTool(spec.kind, `to run firmware for board ${board.name}`, options.env);
    if (!fs.existsSync(elf)) throw new TinyM2Error(`firmware ${elf} does not exist`, { exitCode: EXIT_BAD_INPUT });
    const count = options.countInstructions ?? true;
    const tmp = makeTempDir('tm2-run');
    try {
      const countsFile = path.join(tmp, 'counts.txt');
      const pluginArgs: string[] = [];
      let functionRanges: FunctionRange[] = [];
      let stackTop: number | undefined;
      if (count) {
        const lib = await ensureCountPlugin(options.env);
        const image = readElf(elf);
        const begin = symbolAddress(image, 'tm2_count_begin');
        const end = symbolAddress(image, 'tm2_count_end');
        const markers = begin !== undefined && end !== undefined ? `,begin=0x${begin.toString(16)},end=0x${end.toString(16)}` : '';
        let profile = '';
        if (options.profileFunctions) {
          functionRanges = functionTable(image);
          const file = path.join(tmp, 'functions.txt');
          fs.writeFileSync(file, functionRanges.map((f) => `${f.start.toString(16)} ${f.end.toString(16)}\n`).join(''));
          profile = `,funcs=${file}`;
        }
        let stack = '';
        const stackLimit = symbolAddress(image, '__stack_limit__');
        stackTop = symbolAddress(image, '__stack_top__');
        if (options.measureStack && stackLimit !== undefined && stackTop !== undefined) {
          stack = `,stack=0x${stackLimit.toString(16)}:0x${stackTop.toString(16)}`;
        }
        pluginArgs.push('-plugin', `${lib}${markers}${options.instructionMix ? ',mix=1' : ''}${profile}${stack},out=${countsFile}`);
      }
      const args =
        spec.kind === 'qemu-system-arm'
          ? ['-M', spec.machine, '-nographic', '-monitor', 'none', '-serial', 'none',
             '-semihosting-config', 'enable=on,target=native', ...pluginArgs, '-kernel', elf]
          : [...(spec.cpu ? ['-cpu', spec.cpu] : []), ...pluginArgs, elf, ...(options.args ?? [])];
      const timeoutMs = options.timeoutMs ?? 120_000;
      const result = await execTool(qemu, args, { env: options.env, timeoutMs });
      const counts = fs.existsSync(countsFile) ? parseCounts(fs.readFileSync(countsFile, 'utf8')) : undefined;
      const invocation = spec.kind === 'qemu-system-arm' ? `${spec.kind} -M ${spec.machine}` : spec.kind;
      checkFinished(result, board, spec.kind, invocation, timeoutMs, (counts?.total ?? null) === null);
      return {
        board: board.name,
        runner: spec.kind,
        stdout: result.stdout,
        stderr: result.stderr,
        exitCode: result.code!,
        regions: counts?.regions ?? [],
        totalInstructions: counts?.total ?? null,
        ...(options.instructionMix ? { mix: counts?.mix ?? [] } : {}),
        ...(options.measureStack
          ? { stackPeakBytes: counts?.stackLow !== undefined && stackTop !== undefined ? stackTop - counts.stackLow : null }
          : {}),
        ...(options.profileFunctions
          ? {
              functions: [...(counts?.functions ?? new Map<number, number>())]
                .map(([i, n]) => ({ name: i < 0 ? '(unknown)' : functionRanges[i]?.name ?? '(unknown)', instructions: n }))
                .sort((a, b) => b.instructions - a.instructions),
            }
          : {}),
        seconds: result.seconds,
        warnings: counts?.warnings ?? [],
      };
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
}

interface FunctionRange {
  name: string;
  start: number;
  end: number;
}

/** Functions of an ELF as sorted, non-overlapping address ranges (Thumb bit cleared); aliases keep the first name. */
export function functionTable(elf: ElfFile): FunctionRange[] {
  const thumb = elf.bits === 32;
  const funcs = elf.symbols
    .filter((s) => s.type === 2 && s.size > 0)
    .map((s) => {
      const start = thumb ? s.value & ~1 : s.value;
      return { name: s.name, start, end: start + s.size };
    })
    .sort((a, b) => a.start - b.start || a.name.localeCompare(b.name));
  const out: FunctionRange[] = [];
  for (const f of funcs) {
    const last = out[out.length - 1];
    if (last && f.start < last.end) continue; // alias or overlap
    out.push(f);
  }
  return out;
}

/** Parses the plugin's output: `region <i> <n>`, `mix <i> alu=<n> ...`, `func <i>|- <n>`, `total <n>`, `warning ...`. */
export function parseCounts(text: string): {
  regions: number[];
  mix: InstructionMix[];
  functions: Map<number, number>;
  stackLow?: number;
  total: number | null;
  warnings: string[];
} {
  const regions: number[] = [];
  const mix: InstructionMix[] = [];
  const functions = new Map<number, number>();
  const warnings: string[] = [];
  let total: number | null = null;
  let stackLow: number | undefined;
  for (const line of text.split('\n')) {
    const [tag, a, b, ...rest] = line.trim().split(/\s+/);
    if (tag === 'stack_low' && a !== undefined) stackLow = Number(a);
    if (tag === 'region' && a !== undefined && b !== undefined) regions[Number(a)] = Number(b);
    else if (tag === 'mix' && a !== undefined) {
      const m = Object.fromEntries(MIX_CLASSES.map((c) => [c, 0])) as InstructionMix;
      for (const kv of [b, ...rest]) {
        const [k, v] = (kv ?? '').split('=');
        if (k && (MIX_CLASSES as readonly string[]).includes(k)) m[k as keyof InstructionMix] = Number(v);
      }
      mix[Number(a)] = m;
    } else if (tag === 'func' && a !== undefined && b !== undefined) functions.set(a === '-' ? -1 : Number(a), Number(b));
    else if (tag === 'total' && a !== undefined) total = Number(a);
    else if (tag === 'warning') warnings.push(line.trim().slice('warning '.length));
  }
  return { regions, mix, functions, stackLow, total, warnings };
}

/** Throws unless the program ran to its end. `noTotal`: the plugin wrote no total (not loaded, or QEMU never started the guest). */
function checkFinished(result: ExecResult, board: Board, tool: string, invocation: string, timeoutMs: number, noTotal: boolean): void {
  const tail = (s: string): string => s.trim().split('\n').slice(-5).join('\n');
  if (result.timedOut) {
    throw new TinyM2Error(
      `firmware on ${board.name} did not finish within ${(timeoutMs / 1000).toFixed(0)} s and was stopped` +
        (result.stdout.trim() ? `; its last output was:\n${tail(result.stdout)}` : ' (it printed nothing)'),
      { exitCode: EXIT_VERIFY_FAILED, details: { board: board.name, timeout: true } },
    );
  }
  if (result.code === null) {
    throw new TinyM2Error(`${tool} was killed by a signal while running firmware for ${board.name}`, {
      exitCode: EXIT_VERIFY_FAILED,
    });
  }
  // QEMU's own failures (bad machine, plugin not loadable) print "<tool>: ..." and never reach the guest,
  // so the plugin never writes its total.
  if (noTotal && result.code !== 0 && new RegExp(`^${tool}: `, 'm').test(result.stderr)) {
    throw new TinyM2Error(`${invocation} could not run firmware for ${board.name}: ${tail(result.stderr)}`, {
      exitCode: EXIT_VERIFY_FAILED,
    });
  }
}

export class SshRunner implements FirmwareRunner {
  constructor(readonly target: string) {}

  async run(elf: string, board: Board, options: RunOptions = {}): Promise<RunResult> {
    if (board.toolchain.kind !== 'aarch64-linux-gnu' || board.remote?.kind !== 'ssh') {
      throw new TinyM2Error(`board ${board.name} cannot be driven over ssh (only Linux boards with a "remote" entry can)`, {
        exitCode: EXIT_BAD_INPUT,
      });
    }
    const ssh = requireTool('ssh', `to run firmware on ${this.target}`, options.env);
    const scp = requireTool('scp', `to copy firmware to ${this.target}`, options.env);
    const remote = `/tmp/tm2-${crypto.randomBytes(6).toString('hex')}`;
    const timeoutMs = options.timeoutMs ?? 120_000;
    const copy = await execTool(scp, ['-q', '-o', 'BatchMode=yes', elf, `${this.target}:${remote}`], { env: options.env, timeoutMs });
    if (copy.code !== 0) {
      throw new TinyM2Error(`copying ${elf} to ${this.target} failed: ${copy.stderr.trim()}`, { exitCode: EXIT_VERIFY_FAILED });
    }
    const quoted = [remote, ...(options.args ?? [])].map(shellQuote).join(' ');
    const sensor = board.remote.powerSensorGlob;
    // Samples the hwmon power sensor (microwatts) every 50 ms while the program runs, then prints the mean.
    // A run shorter than the sampler's start-up gets one sample right after it ends instead of none.
    const sample = `for f in ${sensor}; do [ -r "$f" ] && cat "$f"; break; done`;
    const script = [
      `chmod +x ${remote}`,
      sensor ? `( while :; do ${sample}; sleep 0.05; done ) > ${remote}.power 2>/dev/null & sampler=$!` : 'sampler=',
      `${quoted}; rc=$?`,
      '[ -n "$sampler" ] && kill $sampler 2>/dev/null && wait $sampler 2>/dev/null',
      sensor ? `[ -s ${remote}.power ] || ${sample} >> ${remote}.power 2>/dev/null` : ':',
      sensor ? `awk '{s+=$1;n++} END {if (n) printf "tm2_power_uw %f\\n", s/n}' ${remote}.power >&2` : ':',
      `rm -f ${remote} ${remote}.power`,
      'exit $rc',
    ].join('\n');
    const result = await execTool(ssh, ['-o', 'BatchMode=yes', this.target, 'sh', '-c', shellQuote(script)], {
      env: options.env,
      timeoutMs,
    });
    if (result.timedOut) {
      throw new TinyM2Error(`firmware on ${this.target} did not finish within ${timeoutMs / 1000} s`, { exitCode: EXIT_VERIFY_FAILED });
    }
    const regionSeconds: number[] = [];
    let averagePowerW: number | undefined;
    const stderr: string[] = [];
    for (const line of result.stderr.split('\n')) {
      const m = /^tm2_region_ns (\d+) (\d+)$/.exec(line.trim());
      const p = /^tm2_power_uw ([\d.]+)$/.exec(line.trim());
      if (m) regionSeconds[Number(m[1])] = Number(m[2]) / 1e9;
      else if (p) averagePowerW = Number(p[1]) / 1e6;
      else stderr.push(line);
    }
    return {
      board: board.name,
      runner: 'ssh',
      stdout: result.stdout,
      stderr: stderr.join('\n'),
      exitCode: result.code ?? -1,
      regions: [],
      totalInstructions: null,
      regionSeconds,
      averagePowerW,
      seconds: result.seconds,
      warnings: ['instruction counts are not available on a real board; regionSeconds are measured wall times'],
    };
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
