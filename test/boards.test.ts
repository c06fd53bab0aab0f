// Board files: every shipped board passes the schema and the cross-checks, carries the figures the
// issue asks for, and bad board files are rejected with one message naming the file and the field.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TinyM2Error } from '../compiler/errors.ts';
import { checkBoard, listBoards, loadBoard } from '../compiler/target/boards.ts';
import { linkerScriptFor } from '../compiler/target/build.ts';
import { estimateInference, formatEstimate, withUnit } from '../compiler/target/power.ts';
import { BOARDS_DIR } from '../compiler/target/paths.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tm2-boards-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function goodBoardJson(): Record<string, any> {
  return JSON.parse(fs.readFileSync(path.join(BOARDS_DIR, 'nrf52840-dk.json'), 'utf8'));
}

/** Writes `data` as <name>.json in a temp dir and returns the error loading it throws. */
function loadError(name: string, data: unknown, raw?: string): TinyM2Error {
  const file = path.join(tmp, `${name}.json`);
  fs.writeFileSync(file, raw ?? JSON.stringify(data));
  try {
    loadBoard(file);
  } catch (err) {
    expect(err).toBeInstanceOf(TinyM2Error);
    return err as TinyM2Error;
  }
  throw new Error(`board file ${file} was accepted`);
}

describe('shipped boards', () => {
  it('lists at least the five boards of the issue and all of them load', () => {
    const names = listBoards();
    for (const n of ['mps2-an386', 'mps2-an500', 'nrf52840-dk', 'stm32f746-disco', 'rpi4']) expect(names).toContain(n);
    for (const n of names) expect(loadBoard(n).name).toBe(n);
  });

  it('has the sizes and clocks of the real boards', () => {
    const nrf = loadBoard('nrf52840-dk');
    expect([nrf.core, nrf.clockHz, nrf.memory.flash!.bytes, nrf.memory.ram.bytes]).toEqual(['cortex-m4', 64e6, 1 << 20, 256 << 10]);
    expect(nrf.features).toMatchObject({ fpu: 'fpv4-sp-d16', dsp: true });
    const stm = loadBoard('stm32f746-disco');
    expect([stm.core, stm.clockHz, stm.memory.flash!.bytes, stm.memory.ram.bytes, stm.memory.flash!.origin]).toEqual([
      'cortex-m7', 216e6, 1 << 20, 320 << 10, 0x08000000,
    ]);
    expect(loadBoard('mps2-an386').run).toEqual({ kind: 'qemu-system-arm', machine: 'mps2-an386' });
    expect(loadBoard('mps2-an500').run).toEqual({ kind: 'qemu-system-arm', machine: 'mps2-an500' });
    const rpi = loadBoard('rpi4');
    expect(rpi.run.kind).toBe('qemu-aarch64');
    expect(rpi.toolchain.cflags).toEqual(expect.arrayContaining(['-O3', '-mcpu=cortex-a72']));
    expect(rpi.toolchain.ldflags).toContain('-static');
    expect([rpi.power.activePowerW.min, rpi.power.activePowerW.max]).toEqual([0.798, 0.959]);
  });

  it('cites a source for every figure that is not an estimate, and every source has a title', () => {
    for (const n of listBoards()) {
      const b = loadBoard(n);
      const ids = new Set(b.power.sources.map((s) => s.id));
      for (const fig of [b.power.activePowerW, b.power.cpi]) {
        expect(fig.note.length).toBeGreaterThan(10);
        if (fig.basis !== 'estimate') expect(ids.has(fig.source!)).toBe(true);
      }
      for (const s of b.power.sources) expect(s.title.length).toBeGreaterThan(5);
    }
    // The nRF52840 run power is the datasheet's: 3.3 mA at 3.0 V.
    expect(loadBoard('nrf52840-dk').power.activePowerW).toMatchObject({ value: 0.0099, basis: 'datasheet' });
  });

  it('turns instructions into latency and energy with the board model, labelled as an estimate', () => {
    const b = loadBoard('nrf52840-dk');
    const e = estimateInference(b, 6_400_000);
    expect(e.latencySeconds).toBeCloseTo((6_400_000 * 1.3) / 64e6, 12);
    expect(e.energyJoules).toBeCloseTo(0.0099 * e.latencySeconds, 15);
    expect(e.label).toBe('estimate'); // CPI is an assumption
    expect(e.energyPerInstructionJoules * 6_400_000).toBeCloseTo(e.energyJoules, 15);
    const r = estimateInference(loadBoard('rpi4'), 1e6);
    expect(r.energyJoulesRange![0]).toBeLessThan(r.energyJoulesRange![1]);
    expect(formatEstimate(e)).toBe('130 ms, 1.29 mJ at 64 MHz (estimate: CPI 1.3 estimate, power 9.90 mW datasheet)');
    // with an instruction mix, the board's per-class cycle model gives the CPI
    const mix = { alu: 500, load: 200, store: 100, mul: 100, div: 0, branch: 100, fp: 0, regs: 40 };
    const m = estimateInference(b, 1000, mix);
    expect(m.cpiModel).toBe('instruction-mix');
    expect(m.cpi).toBeCloseTo((500 * 1 + 200 * 1.5 + 100 * 1.5 + 100 * 1 + 100 * 2.5 + 40 * 1) / 1000, 12);
    expect(m.latencySeconds).toBeCloseTo((1000 * m.cpi) / 64e6, 15);
    expect(estimateInference(loadBoard('rpi4'), 1000, mix).cpiModel).toBe('flat'); // no cycle model: flat CPI
    expect(withUnit(3740e-6, 'J')).toBe('3.74 mJ');
    expect(withUnit(0.0000016, 's')).toBe('1.60 us');
  });

  it('generates the linker script from the board memory map', () => {
    const ld = linkerScriptFor(loadBoard('stm32f746-disco'));
    expect(ld).toMatch(/FLASH \(rx\)\s*: ORIGIN = 0x08000000, LENGTH = 1048576/);
    expect(ld).toMatch(/RAM\s+\(rwx\) : ORIGIN = 0x20000000, LENGTH = 327680/);
    expect(ld).not.toMatch(/@[A-Z_]+@/);
    expect(() => linkerScriptFor(loadBoard('rpi4'))).toThrow(TinyM2Error);
  });
});

describe('bad board files', () => {
  it('names the file and the missing field', () => {
    const data = goodBoardJson();
    delete data.clockHz;
    const err = loadError('nrf52840-dk', data);
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(path.join(tmp, 'nrf52840-dk.json'));
    expect(err.message).toContain("missing field 'clockHz'");
  });

  it('names a field of the wrong type or value', () => {
    const data = goodBoardJson();
    data.memory.ram.bytes = 'lots';
    data.features.fpu = 'fpv9';
    const err = loadError('nrf52840-dk', data);
    expect(err.message).toContain('/memory/ram/bytes');
    expect(err.message).toContain('/features/fpu');
  });

  it('rejects unknown fields, so typos do not pass silently', () => {
    const data = goodBoardJson();
    data.clockMHz = 64;
    expect(loadError('nrf52840-dk', data).message).toContain("unknown field 'clockMHz'");
  });

  it('requires the board name to match the file name', () => {
    expect(loadError('my-board', goodBoardJson()).message).toMatch(/\/name is 'nrf52840-dk' but the file is my-board\.json/);
  });

  it('requires a cited source for published figures', () => {
    const data = goodBoardJson();
    data.power.activePowerW.source = 'no-such-source';
    expect(loadError('nrf52840-dk', data).message).toContain('/power/activePowerW/source');
    delete data.power.activePowerW.source;
    expect(loadError('nrf52840-dk', data).message).toMatch(/source is required when basis is 'datasheet'/);
  });

  it('requires memory origins on bare-metal boards', () => {
    const data = goodBoardJson();
    delete data.memory.flash.origin;
    expect(loadError('nrf52840-dk', data).message).toContain('/memory/flash/origin');
  });

  it('reports invalid JSON and unknown board names clearly', () => {
    expect(loadError('broken', null, '{ "name": ').message).toMatch(/broken\.json is not valid JSON/);
    expect(() => loadBoard('no-such-board')).toThrow(/unknown board 'no-such-board'; known boards: .*mps2-an386/);
  });

  it('accepts the same data through checkBoard', () => {
    expect(checkBoard(goodBoardJson(), '/somewhere/nrf52840-dk.json').clockHz).toBe(64e6);
  });
});
