// `tinym2 <command> [options]`: parses with yargs from the option table (compiler/cli/parser.ts), runs
// the command's module, and turns every failure into an exit code with one line on stderr (or a JSON
// error object on stdout with --json):
//   1 verification mismatch, 2 bad input, 3 does not fit, 4 tool missing (TinyM2Error, the user's to fix),
//   70 internal error (a bug of tinym2: EX_SOFTWARE of sysexits.h), stack trace only with --debug.
import type { ErrorJson } from './cli/json-output.ts';
import { COMMANDS } from './cli/commands.ts';
import { parse } from './cli/parser.ts';
import { EXIT_INTERNAL, TinyM2Error } from './errors.ts';

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const debug = argv.includes('--debug');
  const command = argv.find((a) => a in COMMANDS);
  const prefix = command ? `tinym2 ${command}` : 'tinym2';
  if (argv.length === 0) {
    console.error(`${prefix}: give a command (tinym2 --help lists them)`);
    return 2;
  }
  try {
    return await runCommand(argv);
  } catch (err) {
    if (err instanceof TinyM2Error) {
      if (json) console.log(JSON.stringify({ ...err.details, ok: false, error: err.message, exitCode: err.exitCode } satisfies ErrorJson, null, 2));
      else console.error(`${prefix}: error: ${err.message}`);
      return err.exitCode;
    }
    return internalError(err, { prefix, json, debug });
  }
}

/** Parses and runs one command line; yargs prints help / version / completion text to stdout. Throws what the command throws. */
export async function runCommand(argv: string[]): Promise<number> {
  const parsed = await parse(argv);
  if (parsed.kind === 'output') return parsed.exitCode;
  // One call per command keeps the argument types paired with their module (no cast).
  switch (parsed.command) {
    case 'inspect': return (await COMMANDS.inspect.load()).execute(parsed.args);
    case 'run': return (await COMMANDS.run.load()).execute(parsed.args);
    case 'plan': return (await COMMANDS.plan.load()).execute(parsed.args);
    case 'compile': return (await COMMANDS.compile.load()).execute(parsed.args);
    case 'verify': return (await COMMANDS.verify.load()).execute(parsed.args);
    case 'dynafuse': return (await COMMANDS.dynafuse.load()).execute(parsed.args);
    case 'report': return (await COMMANDS.report.load()).execute(parsed.args);
    case 'doctor': return (await COMMANDS.doctor.load()).execute(parsed.args);
    case 'schema': return (await COMMANDS.schema.load()).execute(parsed.args);
  }
}

/** A bug of tinym2, not the user's input: one line asking for a report; the stack only with --debug. */
export function internalError(err: unknown, o: { prefix: string; json: boolean; debug: boolean }): number {
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const line = `internal error (${what.split('\n')[0]}): this is a bug in tinym2; please report it with this command line and the output of 'tinym2 --version'` +
    (o.debug ? '' : ' (--debug prints the stack trace)');
  if (o.json) console.log(JSON.stringify({ ok: false, error: line, exitCode: EXIT_INTERNAL, internal: true } satisfies ErrorJson, null, 2));
  else console.error(`${o.prefix}: ${line}`);
  if (o.debug && err instanceof Error && err.stack) console.error(err.stack);
  return EXIT_INTERNAL;
}
