// Progress for logs (compiler/progress.ts): a line when a stage starts, at most one line per interval
// while it runs, one when it ends; nothing with --quiet.
import { expect, it } from 'vitest';
import { logLines, progress, textProgress } from '../compiler/progress.ts';

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

it('textProgress turns status texts into stages with counts', () => {
  const out: string[] = [];
  let t = 0;
  const status = textProgress(logLines({ write: (s: string) => out.push(s) }, 5000, () => t));
  status.say('calibrating activation ranges');
  t += 1000;
  status.say('Gauss-Newton traces: row 1/40');
  t += 6000;
  status.say('Gauss-Newton traces: row 30/40');
  status.say('ILP: choosing bits per layer under the budgets');
  status.end();
  expect(out).toEqual([
    'calibrating activation ranges...\n',
    'calibrating activation ranges: done 0 in 1.0 s\n',
    'Gauss-Newton traces (40)...\n',
    'Gauss-Newton traces: 30/40 row 30/40\n',
    'Gauss-Newton traces: done 30/40 in 6.0 s\n',
    'ILP...\n',
    'ILP: done 0 in 0.0 s\n',
  ]);
});
