// Progress for logs (compiler/progress.ts): a line when a stage starts, at most one line per interval
// while it runs, one when it ends; nothing with --quiet.
import { expect, it } from 'vitest';
import { logLines, progress } from '../compiler/progress.ts';

it('writes a stage line, rate-limited counts and an end line', () => {
  const out: string[] = [];
  let t = 0;
  const p = logLines({ write: (s: string) => out.push(s) }, 5000, () => t);
  p.stage('verify: firmware builds', 4);
  for (let k = 1; k <= 4; k++) {
    t += 3000; // a line at most every 5 s: after steps 2 and 4
    p.update(k);
  }
  p.end();
  expect(out).toEqual(['verify: firmware builds (4)...\n', 'verify: firmware builds: 2/4\n', 'verify: firmware builds: 4/4\n', 'verify: firmware builds: done 4/4 in 12.0 s\n']);
});

it('--quiet writes nothing, and a stream that is not a terminal gets lines, not a bar', () => {
  const out: string[] = [];
  const stream = { isTTY: false, write: (s: string) => out.push(s) } as unknown as NodeJS.WriteStream;
  const quiet = progress({ quiet: true, stream });
  quiet.stage('x', 1);
  quiet.update(1);
  quiet.end();
  expect(out).toEqual([]);
  const logs = progress({ stream });
  logs.stage('x', 1);
  logs.end();
  expect(out[0]).toBe('x (1)...\n');
});
