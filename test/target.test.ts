// Firmware builds and runs on the QEMU boards (Cortex-M4 and M7 in qemu-system-arm, the rpi4 stand-in in
// qemu-aarch64 user mode): semihosting output, exit codes, faults, time limits, and instruction counts that
// are linear in the loop length and identical from run to run. Plus the clear errors for a missing tool,
// a program that does not fit, and a compile error.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TinyM2Error } from '../compiler/errors.ts';
import { loadBoard } from '../compiler/target/boards.ts';
import { buildFirmware, bytesOfSources } from '../compiler/target/build.ts';
import { readElf, symbolAddress } from '../compiler/target/elf.ts';
import { HARNESS_DIR } from '../compiler/target/paths.ts';
import { runFirmware, FIRMWARE_FAULT_EXIT } from '../compiler/target/run.ts';
import { requireTool } from '../compiler/target/tools.ts';
import { mixInstructions } from '../compiler/target/mix.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tm2-target-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const SELFTEST = path.join(HARNESS_DIR, 'count_selftest.c');

function writeSource(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

async function caught(p: Promise<unknown>): Promise<TinyM2Error> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(TinyM2Error);
    return err as TinyM2Error;
  }
  throw new Error('expected a TinyM2Error');
}

describe.each(['mps2-an386', 'mps2-an500', 'rpi4'])('%s', (boardName) => {
  const board = loadBoard(boardName);

  async function selftest(n: number, exitCode = 0) {
    const built = await buildFirmware({
      board,
      sources: [SELFTEST],
      defines: { TM2_LOOP_N: n, TM2_EXIT_CODE: exitCode },
      outDir: path.join(tmp, boardName),
      name: `selftest-${n}`,
    });
    return { built, run: await runFirmware(built.elf, board, { timeoutMs: 60_000 }) };
  }

  it('prints through stdio, propagates the exit code, counts instructions linearly and repeatably', async () => {
    const a = await selftest(100, 7);
    const b = await selftest(200);
    const c = await selftest(400);
    expect(a.run.stdout).toContain('tm2 selftest: N=100');
    expect(a.run.stdout).toMatch(/result \d+ float 6/); // 1.5f * 4.0f: the FPU (or soft float) works
    expect(a.run.exitCode).toBe(7);
    expect(b.run.exitCode).toBe(0);
    for (const r of [a.run, b.run, c.run]) {
      expect(r.regions).toHaveLength(4);
      expect(r.regions[0]).toBe(1); // empty region: just the call of tm2_count_end
      expect(new Set(r.regions.slice(1)).size).toBe(1); // the same call, counted three times
      expect(r.totalInstructions).toBeGreaterThan(r.regions[1]! * 3);
    }
    // count(N) = fixed + per_iteration * N, exactly
    const [ca, cb, cc] = [a.run.regions[1]!, b.run.regions[1]!, c.run.regions[1]!];
    const perIteration = (cb - ca) / 100;
    expect(Number.isInteger(perIteration)).toBe(true);
    expect(perIteration).toBeGreaterThanOrEqual(3);
    expect(perIteration).toBeLessThan(20);
    expect(cc - cb).toBe(perIteration * 200);
    // exactly the same counts when the same ELF runs again, also with the instruction mix on
    const again = await runFirmware(c.built.elf, board, { instructionMix: true, profileFunctions: true });
    expect(again.regions).toEqual(c.run.regions);
    expect(again.totalInstructions).toBe(c.run.totalInstructions);
    // the mix classifies every counted instruction: the empty region is the call of tm2_count_end, and the
    // loop does one volatile store and one (backward) branch per iteration
    const mix = again.mix!;
    expect(mix).toHaveLength(4);
    expect(mixInstructions(mix[0]!)).toBe(1);
    expect(mix[0]!.branch).toBe(1);
    expect(mixInstructions(mix[1]!)).toBe(again.regions[1]);
    expect(mix[1]!.store).toBeGreaterThanOrEqual(400);
    expect(mix[1]!.store).toBeLessThan(420);
    expect(mix[1]!.branch).toBeGreaterThanOrEqual(400);
    expect(mix[1]!.alu).toBeGreaterThan(400);
    // the per-function profile splits exactly the counted instructions; the loop function has almost all
    const fns = again.functions!;
    expect(fns.reduce((n, f) => n + f.instructions, 0)).toBe(again.regions.reduce((n, x) => n + x, 0));
    expect(fns[0]!.name).toMatch(/^mix/);
    expect(fns[0]!.instructions).toBeGreaterThan(0.95 * (again.regions[1]! * 3));
  });

  it('reports flash and RAM from the ELF', async () => {
    const { built } = await selftest(50);
    const s = built.sizes;
    expect(s.flashBytes).toBe(s.textBytes + s.rodataBytes + s.dataBytes);
    expect(s.ramBytes).toBe(s.dataBytes + s.bssBytes + s.heapBytes + s.stackBytes);
    expect(s.heapBytes).toBe(board.memory.heapBytes);
    expect(s.stackBytes).toBe(board.memory.stackBytes);
    expect(s.textBytes).toBeGreaterThan(1000);
    if (board.memory.flash) expect(s.flashBytes).toBeLessThan(board.memory.flash.bytes);
  });
});

describe('bare-metal behaviour', () => {
  const board = loadBoard('mps2-an386');

  it('puts constants in flash and buffers in RAM, byte for byte', async () => {
    const src = writeSource(
      'sizes.c',
      `#include <stdint.h>
       #ifdef BIG
       const uint8_t table[10000] = {1, 2, 3};
       uint8_t arena[20000];
       #else
       const uint8_t table[1] = {1};
       uint8_t arena[4];
       #endif
       volatile uint32_t pick = 1;
       int main(void) { arena[pick] = table[pick]; return arena[pick] + table[0]; }`,
    );
    const small = await buildFirmware({ board, sources: [src], outDir: path.join(tmp, 'sizes'), name: 'small' });
    const big = await buildFirmware({ board, sources: [src], defines: { BIG: true }, outDir: path.join(tmp, 'sizes'), name: 'big' });
    expect(big.sizes.rodataBytes - small.sizes.rodataBytes).toBeGreaterThanOrEqual(9999);
    expect(big.sizes.rodataBytes - small.sizes.rodataBytes).toBeLessThan(10008);
    expect(big.sizes.bssBytes - small.sizes.bssBytes).toBeGreaterThanOrEqual(19996);
    expect(big.sizes.bssBytes - small.sizes.bssBytes).toBeLessThan(20004);
    // the linker map attributes those bytes to the source they came from
    const own = bytesOfSources(big, [src]);
    expect(own.rodata).toBeGreaterThanOrEqual(10000);
    expect(own.rodata).toBeLessThan(10100);
    expect(own.bss).toBeGreaterThanOrEqual(20000);
    expect(own.bss).toBeLessThan(20100);
    expect(own.text).toBeGreaterThan(0);
    expect(own.text).toBeLessThan(200);
    expect(own.flash).toBe(own.text + own.rodata + own.data);
    expect(big.sizes.flashBytes).toBeGreaterThan(own.flash + 10000); // newlib and start-up are the rest
    const run = await runFirmware(big.elf, board);
    expect(run.exitCode).toBe(3); // arena[1] = table[1] = 2, + table[0] = 1
    // markers are not referenced here, so --gc-sections drops them and only the total is counted
    expect(symbolAddress(readElf(big.elf), 'tm2_count_begin')).toBeUndefined();
    expect(run.regions).toEqual([]);
    expect(run.totalInstructions).toBeGreaterThan(100);
  });

  it('measures the peak stack depth inside regions', async () => {
    const src = writeSource(
      'deep.c',
      `#include "tm2_count.h"
       volatile int sink;
       __attribute__((noinline)) int deep(int d) {
         volatile char buf[256];
         buf[0] = (char)d; buf[255] = (char)d;
         return d ? deep(d - 1) + buf[0] : buf[255];
       }
       int main(void) { tm2_count_begin(); sink = deep(DEPTH); tm2_count_end(); return 0; }`,
    );
    const peak = async (depth: number) => {
      const built = await buildFirmware({ board, sources: [src], defines: { DEPTH: depth }, outDir: path.join(tmp, 'deep'), name: `deep${depth}` });
      return (await runFirmware(built.elf, board, { measureStack: true })).stackPeakBytes!;
    };
    const [p4, p8] = [await peak(4), await peak(8)];
    expect(p4).toBeGreaterThan(5 * 256);
    expect(p8 - p4).toBeGreaterThanOrEqual(4 * 256); // four more frames of at least 256 bytes
    expect(p8 - p4).toBeLessThan(4 * 300);
  });

  it('turns a fault into a message and exit code 125 instead of a hang', async () => {
    const src = writeSource(
      'fault.c',
      `#include <stdint.h>
       int main(void) { return *(volatile uint32_t *)0xF0000000u; }`,
    );
    const built = await buildFirmware({ board, sources: [src], outDir: path.join(tmp, 'fault') });
    const run = await runFirmware(built.elf, board, { timeoutMs: 30_000 });
    expect(run.exitCode).toBe(FIRMWARE_FAULT_EXIT);
    expect(run.stderr).toMatch(/tm2: fault: (HardFault|BusFault)/);
  });

  it('stops firmware that never ends, with a clear error', async () => {
    const src = writeSource('hang.c', `#include <stdio.h>\nint main(void) { puts("spinning"); for (;;) {} }`);
    const built = await buildFirmware({ board, sources: [src], outDir: path.join(tmp, 'hang') });
    const err = await caught(runFirmware(built.elf, board, { timeoutMs: 1500 }));
    expect(err.exitCode).toBe(1);
    expect(err.message).toMatch(/did not finish within 2 s/);
    expect(err.message).toContain('spinning');
  });

  it('reports a QEMU that cannot start (here: an unknown machine) as an error, not as a firmware exit code', async () => {
    const built = await buildFirmware({ board, sources: [SELFTEST], outDir: path.join(tmp, 'badmachine') });
    const wrong = { ...board, run: { kind: 'qemu-system-arm' as const, machine: 'mps2-an999' } };
    const err = await caught(runFirmware(built.elf, wrong));
    expect(err.exitCode).toBe(1);
    expect(err.message).toMatch(/qemu-system-arm -M mps2-an999 could not run firmware for mps2-an386: qemu-system-arm: unsupported machine type/);
  });

  it('rejects a program that does not fit the board, saying by how much (exit 3), and leaves no ELF', async () => {
    const src = writeSource('toobig.c', `#include <stdint.h>\nuint8_t arena[300 * 1024];\nint main(void) { return arena[7]; }`);
    const outDir = path.join(tmp, 'toobig');
    const err = await caught(buildFirmware({ board: 'nrf52840-dk', sources: [src], outDir }));
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(/does not fit board nrf52840-dk: RAM overflowed by \d+ bytes \(RAM is 262144 bytes\)/);
    expect(fs.readdirSync(outDir)).toEqual([]); // no ELF, map, objects or linker script left
    // the same program fits the 4 MB MPS2 board
    await buildFirmware({ board, sources: [src], outDir: path.join(tmp, 'fits') });
  });

  it('builds for boards that only size-check here, and refuses to run them', async () => {
    for (const name of ['nrf52840-dk', 'stm32f746-disco']) {
      const b = loadBoard(name);
      const built = await buildFirmware({ board: b, sources: [SELFTEST], outDir: path.join(tmp, name) });
      expect(built.sizes.flashBytes).toBeLessThan(b.memory.flash!.bytes);
      expect(built.sizes.ramBytes).toBeLessThan(b.memory.ram.bytes);
      const err = await caught(runFirmware(built.elf, b));
      expect(err.message).toMatch(new RegExp(`board ${name} cannot run here: QEMU`));
    }
  });

  it('reuses cached objects only while the source and every header it includes are unchanged', async () => {
    const dir = path.join(tmp, 'cache');
    fs.mkdirSync(dir, { recursive: true });
    const header = path.join(dir, 'value.h');
    const src = path.join(dir, 'cached.c');
    fs.writeFileSync(src, '#include "value.h"\nint main(void) { return VALUE; }\n');
    const build = async (value: number) => {
      fs.writeFileSync(header, `#define VALUE ${value}\n`);
      const built = await buildFirmware({ board, sources: [src], includeDirs: [dir], outDir: path.join(dir, 'fw') });
      return (await runFirmware(built.elf, board)).exitCode;
    };
    expect(await build(11)).toBe(11);
    expect(await build(11)).toBe(11); // from the cache
    expect(await build(12)).toBe(12); // the header changed: recompiled
    fs.writeFileSync(src, '#include "value.h"\nint main(void) { return VALUE + 1; }\n');
    const built = await buildFirmware({ board, sources: [src], includeDirs: [dir], outDir: path.join(dir, 'fw') });
    expect((await runFirmware(built.elf, board)).exitCode).toBe(13); // the source changed
  });

  it('reports a compile error with the compiler message and no output file', async () => {
    const src = writeSource('broken.c', 'int main(void) { return undefined_thing; }\n');
    const outDir = path.join(tmp, 'broken');
    const err = await caught(buildFirmware({ board, sources: [src], outDir }));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/compiling firmware for mps2-an386 failed:\n[\s\S]*undefined_thing. undeclared/);
    expect(fs.readdirSync(outDir)).toEqual([]);
  });
});

describe('missing tools', () => {
  const noTools = { PATH: path.join(tmp, 'empty-bin') };
  fs.mkdirSync(noTools.PATH, { recursive: true });

  it.each([
    ['arm-none-eabi-gcc', 'gcc-arm-none-eabi'],
    ['qemu-system-arm', 'qemu-system-arm'],
    ['qemu-aarch64', 'qemu-user'],
    ['aarch64-linux-gnu-gcc', 'gcc-aarch64-linux-gnu'],
  ])('%s missing names the Debian package %s (exit 4)', (tool, pkg) => {
    let err: unknown;
    try {
      requireTool(tool, 'for this test', noTools);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TinyM2Error);
    expect((err as TinyM2Error).exitCode).toBe(4);
    expect((err as TinyM2Error).message).toContain(`'${tool}' was not found on PATH`);
    expect((err as TinyM2Error).message).toContain(`sudo apt-get install ${pkg}`);
  });

  it('building and running report the missing tool of the board', async () => {
    const b1 = await caught(buildFirmware({ board: 'mps2-an386', sources: [SELFTEST], outDir: path.join(tmp, 'nt1'), env: noTools }));
    expect(b1.exitCode).toBe(4);
    expect(b1.message).toMatch(/'arm-none-eabi-gcc' was not found on PATH; it is needed to build firmware for board mps2-an386; install it with: sudo apt-get install gcc-arm-none-eabi/);
    const b2 = await caught(buildFirmware({ board: 'rpi4', sources: [SELFTEST], outDir: path.join(tmp, 'nt2'), env: noTools }));
    expect(b2.message).toContain('gcc-aarch64-linux-gnu');
    const elf = path.join(tmp, 'whatever.elf');
    const r1 = await caught(runFirmware(elf, loadBoard('mps2-an500'), { env: noTools }));
    expect(r1.exitCode).toBe(4);
    expect(r1.message).toContain('apt-get install qemu-system-arm');
    const r2 = await caught(runFirmware(elf, loadBoard('rpi4'), { env: noTools }));
    expect(r2.message).toContain('apt-get install qemu-user');
  });
});

describe('object cache dependency files', () => {
  it('reads make-style dependency lists, continuation lines included', async () => {
    const { parseDepFile } = await import('../compiler/target/objcache.ts');
    expect(parseDepFile('/o/a.o: /s/a.c /s/a.h \\\n /inc/b.h\n/s/a.h:\n', '/s/a.c')).toEqual(['/s/a.h', '/inc/b.h']);
  });
});
