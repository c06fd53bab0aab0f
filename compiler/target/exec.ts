// Runs an external program with a time limit and collects its output. One place for spawn details
// (no shell, output size cap, kill on timeout) so builders and runners behave the same.
import { spawn } from 'node:child_process';
import type { Env } from './tools.ts';

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit status; null when killed by a signal (including our timeout). */
  code: number | null;
  timedOut: boolean;
  seconds: number;
}

const MAX_OUTPUT = 64 * 1024 * 1024;

export function execTool(
  file: string,
  args: string[],
  options: { env?: Env; cwd?: string; timeoutMs?: number; stdin?: string | Buffer } = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let timedOut = false;
    const keep = (chunks: Buffer[], chunk: Buffer): void => {
      outBytes += chunk.length;
      if (outBytes <= MAX_OUTPUT) chunks.push(chunk);
    };
    child.stdout.on('data', (c: Buffer) => keep(out, c));
    child.stderr.on('data', (c: Buffer) => keep(err, c));
    const timer =
      options.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, options.timeoutMs)
        : undefined;
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code,
        timedOut,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
      });
    });
    child.stdin.on('error', () => {}); // the program may exit without reading its input
    child.stdin.end(options.stdin ?? '');
  });
}
