// `tinym2 <command> [options]`: dispatches to compiler/commands/<command>.ts.
// Each command module exports `summary` (one line for help) and `run(argv)` returning an exit code.
import { TinyM2Error } from './errors.ts';

export interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

/** Command name -> module loader. Loaded lazily so `tinym2 inspect` does not pay for QEMU code. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  inspect: () => import('./commands/inspect.ts'),
  run: () => import('./commands/run.ts'),
  plan: () => import('./commands/plan.ts'),
  compile: () => import('./commands/compile.ts'),
  verify: () => import('./commands/verify.ts'),
  dynafuse: () => import('./dynafuse/command.ts'),
  report: () => import('./commands/report.ts'),
};

async function available(): Promise<Array<[string, Command]>> {
  const out: Array<[string, Command]> = [];
  for (const [name, load] of Object.entries(COMMANDS)) {
    try {
      out.push([name, await load()]);
    } catch {
      // A command whose module is not there yet is simply not listed.
    }
  }
  return out;
}

async function usage(): Promise<string> {
  const lines = ['usage: tinym2 <command> [options]', '', 'commands:'];
  for (const [name, cmd] of await available()) lines.push(`  ${name.padEnd(10)} ${cmd.summary}`);
  lines.push('', 'Every command takes --json for machine-readable output and --help for its options.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage());
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`tinym2: unknown command '${name}'\n\n${await usage()}`);
    return 2;
  }
  const json = rest.includes('--json');
  try {
    const cmd = await load();
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof TinyM2Error) {
      if (json) console.log(JSON.stringify({ ok: false, error: err.message, ...err.details }, null, 2));
      else console.error(`tinym2 ${name}: error: ${err.message}`);
      return err.exitCode;
    }
    throw err;
  }
}
