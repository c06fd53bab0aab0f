// `tinym2 compile` through the real entry point (node bin/tinym2.js): what it writes, --json, the
// host check, mixed precision through the planner, CMake, determinism, and clean refusals (exit code,
// one message naming the file / budget, no output directory left behind).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { haveTool } from '../compiler/codegen/hostcheck.ts';
import { REPO_ROOT } from './helpers/models.ts';
import { expectJsonOutput } from './helpers/json-output.ts';

const dir = mkdtempSync(join(tmpdir(), 'tm2-compile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tinym2(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'tinym2.js'), ...args], { encoding: 'utf8', cwd: REPO_ROOT });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const SENSOR = join(REPO_ROOT, 'test/models/sensor1d.onnx');
const SENSOR_NPZ = join(REPO_ROOT, 'test/models/sensor1d.npz');
const AV = join(REPO_ROOT, 'examples/av-digits/model.onnx');
const AV_CALIB = join(REPO_ROOT, 'examples/av-digits/calib.npz');
const AV_TEST = join(REPO_ROOT, 'examples/av-digits/test.npz');

function listFiles(root: string, sub = ''): string[] {
  return readdirSync(join(root, sub), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(root, join(sub, e.name)) : [join(sub, e.name)],
  ).sort();
}

/** A board file that passes the schema, with the given flash and RAM. */
function boardWith(name: string, flashBytes: number, ramBytes: number): string {
  const board = JSON.parse(readFileSync(join(REPO_ROOT, 'boards/mps2-an386.json'), 'utf8'));
  board.name = name;
  board.memory.flash.bytes = flashBytes;
  board.memory.ram.bytes = ramBytes;
  board.memory.stackBytes = 1024;
  board.memory.heapBytes = 0;
  delete board.$schema;
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(board));
  return file;
}

describe('tinym2 compile', () => {
  it('writes the sources, reports sizes as JSON, and the host check runs bit-exact (av-digits example)', () => {
    const out = join(dir, 'av');
    const r = tinym2('compile', AV, '--calib', AV_CALIB, '--test', AV_TEST, '--vectors', '4', '--check', '-o', out, '--board', 'mps2-an386', '--json');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const j = expectJsonOutput('compile', r.stdout) as any;
    expect(j).toMatchObject({ ok: true, name: 'av_digits', precision: 'INT8', board: 'mps2-an386', testRows: 4 });
    expect(j.check).toEqual({ rows: 4, mismatches: 0, quantizeMismatches: 0, scratchErrors: 0 });
    expect(j.arenaBytes).toBeGreaterThanOrEqual(j.arenaLowerBound);
    expect(j.arenaBytes).toBeLessThan(j.unsharedActivationBytes);
    expect(j.macs).toBe(j.layers.reduce((s: number, l: { macs: number }) => s + l.macs, 0));
    expect(j.weightBytes).toBe(j.layers.reduce((s: number, l: { weightBytes: number }) => s + l.weightBytes, 0));
    const files = listFiles(out);
    for (const f of ['av_digits.h', 'av_digits.c', 'av_digits_weights.c', 'av_digits_test.c', 'CMakeLists.txt', 'library.json', 'README.md', 'runtime/include/tm2.h', 'runtime/src/conv.c']) {
      expect(files).toContain(f);
    }
    expect(files.some((f) => f.endsWith('_ref.c'))).toBe(false);
    expect(JSON.parse(readFileSync(join(out, 'library.json'), 'utf8')).name).toBe('tm2_av_digits');
    const h = readFileSync(join(out, 'av_digits.h'), 'utf8');
    expect(h).toContain(`#define TM2_AV_DIGITS_ARENA_BYTES ${j.arenaBytes}`);
    expect(h).toContain('int8_t image[TM2_AV_DIGITS_IMAGE_SIZE];');
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain(`${j.arenaBytes} bytes`);
  }, 120_000);

  it('prints a per-layer table with weight bytes, arena and lower bound, MACs', () => {
    const r = tinym2('compile', SENSOR, '--calib', SENSOR_NPZ, '--precision', 'int4', '-o', join(dir, 'table'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\/imu\/imu\.0\/Conv\s+conv\s+\[1,64,8\]\s+4\/4\s+arena\+\d+/);
    expect(r.stdout).toMatch(/\/imu\/imu\.7\/Gemm .* out\.imu_logits /);
    expect(r.stdout).toMatch(/weights: \d+ bytes/);
    expect(r.stdout).toMatch(/arena: +\d+ bytes \(lower bound \d+/);
    expect(r.stdout).toMatch(/MACs: +15776 per inference/);
  }, 60_000);

  it('is deterministic: two runs give the same bytes in every file', () => {
    const a = join(dir, 'det-a'), b = join(dir, 'det-b');
    for (const out of [a, b]) expect(tinym2('compile', SENSOR, '--calib', SENSOR_NPZ, '--test', SENSOR_NPZ, '--name', 'sensor', '-o', out).code).toBe(0);
    const files = listFiles(a);
    expect(listFiles(b)).toEqual(files);
    for (const f of files) expect(readFileSync(join(b, f)).equals(readFileSync(join(a, f))), f).toBe(true);
  }, 60_000);

  it('mixed precision under a flash budget goes through the planner and stays bit-exact', () => {
    const r = tinym2('compile', SENSOR, '--calib', SENSOR_NPZ, '--flash', '1200', '--test', SENSOR_NPZ, '--check', '-o', join(dir, 'mixed'), '--json');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const j = JSON.parse(r.stdout);
    // stderr is not a terminal here: one line per stage (and its end), for CI logs; stdout holds only the JSON.
    expect(r.stderr).toMatch(/^calibrating activation ranges \(\d+\)\.\.\.$/m);
    expect(r.stderr).toMatch(/^ILP: choosing bits per layer under the budget: done/m);
    const bits = j.layers.filter((l: { bits: string }) => !l.bits.startsWith('-')).map((l: { bits: string }) => l.bits);
    expect(bits).toContain('4/4');
    expect(bits).toContain('8/8');
    expect(j.check.mismatches).toBe(0);
  }, 120_000);

  it('--precision mixed with no budget: the paper target, or all-INT4 when the target is below it', () => {
    const gv = join(REPO_ROOT, 'test/models/gemm_variants.onnx');
    const r = tinym2('compile', gv, '--calib', gv.replace(/\.onnx$/, '.npz'), '--precision', 'mixed', '-o', join(dir, 'gv-mixed'), '--json');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.notes.join(' ')).toMatch(/is below all-INT4 \(\d+ bytes\), so the budget is all-INT4/);
    expect(Object.values(j.plan.layers).every((l) => (l as { weightBits: number }).weightBits === 4)).toBe(true);
  }, 120_000);

  it('takes a plan file', () => {
    const plan = join(dir, 'plan.json');
    writeFileSync(plan, JSON.stringify({
      model: 'sensor1d.onnx',
      layers: { '/imu/imu.0/Conv': { weightBits: 4, activationBits: 8 }, '/imu/imu.3/Conv': { weightBits: 8, activationBits: 4 }, '/imu/imu.7/Gemm': { weightBits: 4, activationBits: 4 }, '/env/env.0/Conv': { weightBits: 8, activationBits: 8 }, '/env/env.4/Gemm': { weightBits: 8, activationBits: 8 } },
    }));
    const r = tinym2('compile', SENSOR, '--calib', SENSOR_NPZ, '--plan', plan, '--test', SENSOR_NPZ, '--check', '-o', join(dir, 'planned'), '--json');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.layers[0].bits).toBe('4/8');
    expect(j.check.mismatches).toBe(0);
  }, 60_000);

  it('quantizes raw-unit inputs per channel by default, per tensor with --per-tensor-inputs, and records which in tinym2.json (dsa-har)', () => {
    const model = join(REPO_ROOT, 'examples/dsa-har/model.onnx');
    const calib = join(REPO_ROOT, 'examples/dsa-har/calib.npz');
    const test = join(REPO_ROOT, 'examples/dsa-har/test.npz');
    for (const perTensor of [false, true]) {
      const out = join(dir, perTensor ? 'har-per-tensor' : 'har');
      const r = tinym2('compile', model, '--calib', calib, '--test', test, '--vectors', '6', '--check', '-o', out, '--json', ...(perTensor ? ['--per-tensor-inputs'] : []));
      expect(r.code, r.stderr + r.stdout).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.check).toEqual({ rows: 6, mismatches: 0, quantizeMismatches: 0, scratchErrors: 0 });
      expect(j.perChannelInputs).toBe(!perTensor);
      // The five body-part inputs (9 channels each) are read by unpadded convs.
      expect(j.inputs).toHaveLength(5);
      for (const i of j.inputs) {
        if (perTensor) expect(i.channelAffine).toBeUndefined();
        else expect({ scale: i.channelAffine.scale.length, offset: i.channelAffine.offset.length, s: i.scale, zp: i.zeroPoint }).toEqual({ scale: 9, offset: 9, s: 1, zp: 0 });
      }
      expect(JSON.parse(readFileSync(join(out, 'tinym2.json'), 'utf8')).perChannelInputs).toBe(!perTensor);
      const header = readFileSync(join(out, 'dsa_har.h'), 'utf8');
      expect(header.includes('_PER_CHANNEL 1')).toBe(!perTensor);
    }
  }, 120_000);

  it.skipIf(!haveTool('cmake') || !haveTool('gcc'))('the generated CMakeLists.txt builds the library and the harness', () => {
    const out = join(dir, 'cm');
    expect(tinym2('compile', SENSOR, '--calib', SENSOR_NPZ, '--test', SENSOR_NPZ, '--vectors', '2', '-o', out).code).toBe(0);
    const build = join(dir, 'cm-build');
    mkdirSync(build);
    const cfg = spawnSync('cmake', ['-S', out, '-B', build, '-DCMAKE_C_FLAGS=-Wall -Wextra -Werror -pedantic'], { encoding: 'utf8' });
    expect(cfg.status, cfg.stderr).toBe(0);
    const b = spawnSync('cmake', ['--build', build, '-j', '1'], { encoding: 'utf8' });
    expect(b.status, b.stdout + b.stderr).toBe(0);
    expect(existsSync(join(build, 'libtm2_sensor1d.a'))).toBe(true);
    const run = spawnSync(join(build, 'tm2_sensor1d_test'), [], { encoding: 'utf8' });
    expect(run.stdout).toContain('tm2_result rows=2 mismatches=0 quantize_mismatches=0 scratch_errors=0');
    expect(run.status).toBe(0);
  }, 120_000);
});

describe('tinym2 compile refuses cleanly', () => {
  it('a model whose weights do not fit the board flash: exit 3, names the board and the bytes, leaves nothing', () => {
    const out = join(dir, 'noflash');
    const board = boardWith('tiny-flash', 64 * 1024 + 4096, 1 << 20);
    const r = tinym2('compile', AV, '--calib', AV_CALIB, '--board', board, '-o', out);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/model\.onnx has (at least )?\d+ bytes of weights.*, but board tiny-flash has 4096 bytes of flash/);
    expect(r.stderr).toContain('--precision int4');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).some((f) => f.startsWith('.noflash'))).toBe(false);
  }, 60_000);

  it('a model whose arena does not fit the board RAM: exit 3', () => {
    const out = join(dir, 'noram');
    const board = boardWith('tiny-ram', 1 << 22, 1024 + 2000);
    const r = tinym2('compile', AV, '--calib', AV_CALIB, '--board', board, '-o', out, '--json');
    expect(r.code).toBe(3);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ ok: false, board: 'tiny-ram', ramBytes: 2000 });
    expect(j.error).toMatch(/needs (at least )?a \d+-byte arena.*, but board tiny-ram has 2000 bytes of RAM/);
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('a flash budget below all-INT4: exit 3 with the smallest budget that fits', () => {
    const r = tinym2('compile', SENSOR, '--calib', SENSOR_NPZ, '--flash', '100', '-o', join(dir, 'tiny'));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/at least \d+ bytes/);
    expect(existsSync(join(dir, 'tiny'))).toBe(false);
  }, 60_000);

  it('bad options and bad plans: exit 2, one line, no output', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--precision', 'int2'], /--precision 'int2' is not one of int8, int4, mixed/],
      [['--precision', 'int4', '--flash', '10KB'], /--flash and --precision cannot be given together/],
      [['--name', 'my-model'], /--name 'my-model' is not a C identifier: use e.g. 'my_model'/],
      [['--check'], /--check needs --test/],
      [['--name', 'tm2'], /the model name 'tm2' is the name of a runtime file/],
    ];
    for (const [args, message] of cases) {
      const out = join(dir, 'bad');
      const r = tinym2('compile', SENSOR, '--calib', SENSOR_NPZ, '-o', out, ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
    const plan = join(dir, 'other-plan.json');
    writeFileSync(plan, JSON.stringify({ model: 'x.onnx', layers: { conv_that_is_not_there: { weightBits: 4, activationBits: 4 } } }));
    const r = tinym2('compile', SENSOR, '--calib', SENSOR_NPZ, '--plan', plan, '-o', join(dir, 'bad'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("has layer 'conv_that_is_not_there', which");
    const noCalib = tinym2('compile', SENSOR, '-o', join(dir, 'bad'));
    expect(noCalib.code).toBe(2);
    expect(noCalib.stderr).toContain('--calib FILE is required');
  }, 60_000);

  it('writes into a directory of the user\'s only next to what is there, never over it', () => {
    const out = join(dir, 'shared-out');
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const r = tinym2('compile', SENSOR, '--calib', SENSOR_NPZ, '-o', out);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
    expect(existsSync(join(out, 'sensor1d.c'))).toBe(true);
    // Compiling again replaces what tinym2 put there (listed in .tinym2-files), and only that.
    expect(tinym2('compile', SENSOR, '--calib', SENSOR_NPZ, '--precision', 'int4', '-o', out).code).toBe(0);
    expect(readFileSync(join(out, 'sensor1d.c'), 'utf8')).toContain('(INT4)');
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
    // A file of the user's with a name tinym2 would write is never overwritten.
    const other = join(dir, 'other-out');
    mkdirSync(other);
    writeFileSync(join(other, 'README.md'), 'mine');
    const r2 = tinym2('compile', SENSOR, '--calib', SENSOR_NPZ, '-o', other);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/was not written by tinym2 and already has README\.md/);
    expect(readdirSync(other)).toEqual(['README.md']);
  }, 60_000);

  it('replaces a directory it wrote itself as a whole', () => {
    const out = join(dir, 'replaced');
    expect(tinym2('compile', SENSOR, '--calib', SENSOR_NPZ, '--name', 'first', '-o', out).code).toBe(0);
    expect(tinym2('compile', SENSOR, '--calib', SENSOR_NPZ, '--name', 'second', '-o', out).code).toBe(0);
    expect(existsSync(join(out, 'first.c'))).toBe(false);
    expect(existsSync(join(out, 'second.c'))).toBe(true);
  }, 60_000);
});
