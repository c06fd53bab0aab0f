// The ssh runner (real boards) with a stand-in transport: `ssh` and `scp` on PATH are tiny scripts that run
// the remote command on this machine, the way OpenSSH hands it to the remote shell. The program is a host
// build of the self-test with -DTM2_REGION_TIMING, and the "hwmon sensor" is a file with a power reading.
// This checks everything SshRunner does except the network.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadBoard } from '../compiler/target/boards.ts';
import { BOARDS_DIR, HARNESS_DIR } from '../compiler/target/paths.ts';
import { runFirmware } from '../compiler/target/run.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tm2-ssh-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

it('copies the program, runs it remotely, reads region times and the power sensor, and cleans up', async () => {
  const bin = path.join(tmp, 'bin');
  fs.mkdirSync(bin);
  // ssh [-o opt]... host command...: the remote shell runs the joined command words.
  fs.writeFileSync(path.join(bin, 'ssh'), '#!/bin/sh\nwhile [ "$1" = -o ]; do shift 2; done\nshift\nexec sh -c "$*"\n', { mode: 0o755 });
  // scp [-q] [-o opt]... file host:path
  fs.writeFileSync(
    path.join(bin, 'scp'),
    '#!/bin/sh\n[ "$1" = -q ] && shift\nwhile [ "$1" = -o ]; do shift 2; done\ncp "$1" "${2#*:}"\n',
    { mode: 0o755 },
  );
  const sensor = path.join(tmp, 'power1_input');
  fs.writeFileSync(sensor, '2500000\n'); // microwatts
  const boardJson = JSON.parse(fs.readFileSync(path.join(BOARDS_DIR, 'rpi4.json'), 'utf8'));
  boardJson.remote.powerSensorGlob = sensor;
  fs.writeFileSync(path.join(tmp, 'rpi4.json'), JSON.stringify(boardJson));
  const board = loadBoard(path.join(tmp, 'rpi4.json'));

  const program = path.join(tmp, 'selftest');
  execFileSync('gcc', ['-O2', '-DTM2_REGION_TIMING', '-DTM2_LOOP_N=200000', '-DTM2_EXIT_CODE=5', `-I${HARNESS_DIR}`,
    path.join(HARNESS_DIR, 'count_selftest.c'), path.join(HARNESS_DIR, 'tm2_count.c'), '-o', program]);
  // SshRunner's remote files are /tmp/tm2-<12 hex digits>[.power]
  const remoteFiles = (): string[] => fs.readdirSync('/tmp').filter((f) => /^tm2-[0-9a-f]{12}(\.power)?$/.test(f));
  const before = new Set(remoteFiles());

  const run = await runFirmware(program, board, { ssh: 'pi@raspberrypi', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  expect(run.runner).toBe('ssh');
  expect(run.exitCode).toBe(5);
  expect(run.stdout).toContain('tm2 selftest: N=200000');
  expect(run.regionSeconds).toHaveLength(4);
  for (const s of run.regionSeconds!) expect(s).toBeGreaterThan(0);
  expect(run.regionSeconds![1]!).toBeGreaterThan(run.regionSeconds![0]!); // a 200k-iteration loop vs nothing
  expect(run.averagePowerW).toBeCloseTo(2.5, 6);
  expect(run.stderr).not.toMatch(/tm2_region_ns|tm2_power_uw/); // parsed out
  expect(run.regions).toEqual([]); // no instruction counts on real hardware
  const after = remoteFiles().filter((f) => !before.has(f));
  expect(after).toEqual([]); // the copied binary and the power log were removed
});

it('refuses boards that cannot be driven over ssh', async () => {
  await expect(runFirmware('/nonexistent', loadBoard('mps2-an386'), { ssh: 'pi@host' })).rejects.toThrow(
    /board mps2-an386 cannot be driven over ssh/,
  );
});
