// Progress of long steps on stderr (stdout stays clean for --json): a live bar (cli-progress) on a
// terminal; elsewhere (CI logs, pipes) one line when a stage starts and at most one line every ~5 s
// while it runs, plus one when it ends. --quiet silences it.
import cliProgress from 'cli-progress';

export interface Progress {
  /** Starts a stage of `total` steps (0 when the count is unknown). */
  stage(name: string, total: number): void;
  /** Marks `done` steps of the current stage as finished, with an optional detail. */
  update(done: number, detail?: string): void;
  /** Ends the current stage. */
  end(): void;
}

export interface ProgressOptions {
  quiet?: boolean;
  /** Write to this stream (default process.stderr). */
  stream?: NodeJS.WriteStream;
  /** Seconds between lines when the stream is not a terminal (default 5). */
  everySeconds?: number;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

const silent: Progress = { stage() {}, update() {}, end() {} };

export function progress(o: ProgressOptions = {}): Progress {
  if (o.quiet) return silent;
  const stream = o.stream ?? process.stderr;
  return stream.isTTY ? liveBar(stream) : logLines(stream, (o.everySeconds ?? 5) * 1000, o.now ?? Date.now);
}

function liveBar(stream: NodeJS.WriteStream): Progress {
  let bar: cliProgress.SingleBar | undefined;
  return {
    stage(name, total) {
      bar?.stop();
      bar = new cliProgress.SingleBar({ stream, format: `${name} [{bar}] {value}/{total} {detail}`, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
      bar.start(Math.max(total, 1), 0, { detail: '' });
    },
    update(done, detail = '') {
      bar?.update(done, { detail });
    },
    end() {
      bar?.stop();
      bar = undefined;
    },
  };
}

/** Plain lines for logs: the stage, then its count at most every `everyMs`, then its end with the time it took. */
export function logLines(stream: { write(s: string): unknown }, everyMs: number, now: () => number): Progress {
  let name = '';
  let total = 0;
  let started = 0;
  let last = 0;
  let done = 0;
  const count = () => (total > 0 ? `${done}/${total}` : `${done}`);
  return {
    stage(n, t) {
      [name, total, started, last, done] = [n, t, now(), now(), 0];
      stream.write(`${name}${total > 0 ? ` (${total})` : ''}...\n`);
    },
    update(d, detail) {
      done = d;
      if (now() - last >= everyMs) {
        last = now();
        stream.write(`${name}: ${count()}${detail ? ` ${detail}` : ''}\n`);
      }
    },
    end() {
      if (name) stream.write(`${name}: done ${count()} in ${((now() - started) / 1000).toFixed(1)} s\n`);
      name = '';
    },
  };
}

/**
 * Adapts the one-line status texts the planner and sensitivity code emit ("Gauss-Newton traces: row 3/40",
 * "calibrating activation ranges") to stages: the text before the first ':' names the stage (a new name
 * starts a new stage), the first "k/n" in it is the count.
 */
export function textProgress(p: Progress): { say(text: string): void; end(): void } {
  let current: string | undefined;
  return {
    say(text) {
      const colon = text.indexOf(': ');
      const name = colon > 0 ? text.slice(0, colon) : text;
      const detail = colon > 0 ? text.slice(colon + 2) : '';
      const count = /(\d+)\/(\d+)/.exec(detail);
      if (name !== current) {
        if (current !== undefined) p.end();
        current = name;
        p.stage(name, count ? Number(count[2]) : 0);
      }
      p.update(count ? Number(count[1]) : 0, detail);
    },
    end() {
      if (current !== undefined) p.end();
      current = undefined;
    },
  };
}
