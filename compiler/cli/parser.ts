// yargs, built from the option table (options.ts) and the command table (commands.ts): strict parsing
// with suggestions, --version, --help generated from the table (defaults, choices, required), a
// `completion` command. Returns either text to print (help, version, completions) or a command to run;
// a usage error is a TinyM2Error (exit 2) with one line, never the whole usage text.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Argv } from 'yargs';
import { EXIT_BAD_INPUT, TinyM2Error } from '../errors.ts';
import { COMMANDS } from './commands.ts';
import { COMMAND_NAMES, KIND_PARSERS, OPTIONS, POSITIONALS, optionsOf, type Args, type CommandName, type OptionSpec, type Use } from './options.ts';
import { closest } from './suggest.ts';

// The CommonJS build: its help wraps at word boundaries (wrap-ansi); the ES module build's cliui cuts words.
const yargs = createRequire(import.meta.url)('yargs') as typeof import('yargs').default;

export type Parsed =
  | { kind: 'output'; exitCode: number }
  | { [C in CommandName]: { kind: 'command'; command: C; args: Args<C> } }[CommandName];

const camel = (s: string): string => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function detail(use: Use): { required?: true; describe?: string; default?: string | number | boolean; choices?: readonly string[] } {
  return typeof use === 'string' ? (use === 'required' ? { required: true } : {}) : use;
}

/** The help line of an option for one command: its text, then value, choices, default, required. */
function helpText(spec: OptionSpec, use: Use): string {
  const d = detail(use);
  const choices = d.choices ?? spec.choices;
  const dflt = d.default ?? spec.default;
  const extras = [
    spec.kind !== 'boolean' && spec.value ? spec.value : '',
    choices ? `one of: ${choices.join(', ')}` : '',
    dflt !== undefined && !(spec.kind === 'boolean' && dflt === false) ? `default: ${dflt}` : '',
    d.required ? 'required' : '',
  ].filter(Boolean);
  return `${d.describe ?? spec.describe}${extras.length ? ` [${extras.join('; ')}]` : ''}`;
}

function addOptions(b: Argv, command: CommandName): Argv {
  const taken = optionsOf(command);
  for (const [name, use] of taken) {
    const spec: OptionSpec = OPTIONS[name];
    const d = detail(use);
    const parser = KIND_PARSERS[spec.kind];
    const flag = `--${name}`;
    b.option(name, {
      type: spec.kind === 'boolean' ? 'boolean' : 'string',
      alias: spec.alias,
      describe: helpText(spec, use),
      choices: d.choices ?? spec.choices,
      default: d.default ?? spec.default,
      demandOption: d.required === true,
      requiresArg: spec.kind !== 'boolean',
      group: spec.global ? 'Every command:' : 'Options:',
      coerce: parser
        ? (v: unknown) => (v === undefined || typeof v === 'number' ? v : (parser as (t: string, f: string) => unknown)(String(v), flag))
        : undefined,
    });
  }
  return b;
}

/** yargs 17.7 has usageConfiguration (hide-types: the table writes value, default and choices itself); its types lag. */
type WithUsageConfiguration = Argv & { usageConfiguration(config: { 'hide-types': boolean }): Argv };

function build(argv: string[]): Argv {
  const base = yargs(argv) as WithUsageConfiguration;
  const y = base
    .usageConfiguration({ 'hide-types': true })
    .scriptName('tinym2')
    .usage('usage: tinym2 <command> [options]\n\nEvery command takes --json for machine-readable output and --help for its options.')
    .strict()
    .recommendCommands()
    .demandCommand(1, 'give a command')
    .version(VERSION)
    .help()
    .alias('help', 'h')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .completion('completion', 'print a bash / zsh completion script (tinym2 completion >> ~/.bashrc)')
    .fail((msg: string | undefined, err: Error | undefined) => {
      // While the shell asks for completions, a half-typed command line is normal.
      if (argv.includes('--get-yargs-completions')) return;
      throw err instanceof TinyM2Error ? err : usageError(msg ?? err?.message ?? 'bad arguments', argv);
    });
  for (const command of COMMAND_NAMES) {
    const spec = COMMANDS[command];
    const name = POSITIONALS[command];
    const usage = name ? `${command} <${name}>` : command;
    y.command(usage, spec.summary, (b: Argv) => {
      b.usage(`usage: tinym2 ${usage} [options]\n\n${spec.description}`);
      if (name && spec.positional) b.positional(name, { type: 'string', describe: spec.positional.describe });
      return addOptions(b, command);
    });
  }
  return y;
}

/** Options given as --name (or --no-name) that the command does not take. */
function unknownOptions(command: CommandName, argv: string[]): string[] {
  const known = new Set<string>(['help', 'h', 'version']);
  for (const [name] of optionsOf(command)) {
    known.add(name);
    const alias = (OPTIONS[name] as OptionSpec).alias;
    if (alias) known.add(alias);
  }
  const unknown: string[] = [];
  for (const a of argv) {
    if (a === '--') break;
    const m = /^--?([^=]+)/.exec(a);
    if (!m || /^-\d/.test(a)) continue;
    const name = m[1].replace(/^no-/, '');
    if (!known.has(name) && !known.has(m[1])) unknown.push(m[1]);
  }
  return unknown;
}

/** One line naming what is wrong (yargs' message, reworded), with "did you mean" for a mistyped option or command. */
function usageError(message: string, argv: string[]): TinyM2Error {
  const command = argv.find((a): a is CommandName => (COMMAND_NAMES as readonly string[]).includes(a));
  let text = message.replace(/\s+/g, ' ').trim();
  const unknown = command ? unknownOptions(command, argv) : [];
  let m: RegExpExecArray | null;
  if (command && unknown.length) {
    // Reported first: a mistyped --calib otherwise shows up as "--calib is required".
    const known = optionsOf(command).map(([n]) => n);
    const hints = unknown.map((arg) => {
      const guess = closest(arg, known);
      return guess ? `--${arg} (did you mean --${guess}?)` : `--${arg}`;
    });
    text = `unknown option ${hints.join(', ')}`;
  } else if ((m = /^Unknown arguments?: (.+)$/.exec(text))) {
    text = `unexpected argument${m[1].includes(', ') ? 's' : ''}: ${m[1]}`;
  } else if (/^Not enough non-option arguments/.test(text) && command && POSITIONALS[command]) {
    text = `missing the ${POSITIONALS[command]} argument: ${COMMANDS[command].positional?.describe}`;
  } else if ((m = /^Missing required arguments?: (.+)$/.exec(text)) && command) {
    text = m[1].split(', ').map((name) => {
      const spec = OPTIONS[name as keyof typeof OPTIONS] as OptionSpec | undefined;
      const use = command && spec ? optionsOf(command).find(([n]) => n === name)?.[1] : undefined;
      return `--${name}${spec?.value ? ` ${spec.value}` : ''} is required${spec && use ? `: ${detail(use).describe ?? spec.describe}` : ''}`;
    }).join('; ');
  } else if ((m = /^Invalid values: Argument: (\S+), Given: (.+), Choices: (.+)$/.exec(text))) {
    text = `--${m[1]} ${m[2].replace(/"/g, "'")} is not one of ${m[3].replace(/"/g, '')}`;
  } else if ((m = /^Did you mean (\S+)\?$/.exec(text))) {
    text = `unknown command '${argv.find((a) => !a.startsWith('-'))}': did you mean ${m[1]}?`;
  } else if ((m = /^Unknown command: (.+)$/.exec(text)) || /^give a command/.test(text)) {
    text = m ? `unknown command '${m[1]}'` : 'give a command';
  } else if ((m = /^Not enough arguments following: (\S+)$/.exec(text))) {
    text = `--${m[1]} needs a value`;
  }
  const help = command ? `tinym2 ${command} --help` : 'tinym2 --help';
  return new TinyM2Error(`${text} (${help} lists the ${command ? 'options' : 'commands'})`, { exitCode: EXIT_BAD_INPUT });
}

/** The table's `conflicts` and `implies`, where the command takes both options. */
function checkCombinations(command: CommandName, raw: Record<string, unknown>, argv: string[]): void {
  const taken = new Set<string>(optionsOf(command).map(([n]) => n));
  // Given on the command line (a default does not count), and not --no-<name>.
  const given = (name: string): boolean => {
    const alias = (OPTIONS[name as keyof typeof OPTIONS] as OptionSpec | undefined)?.alias;
    const typed = argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`) || (alias !== undefined && a === `-${alias}`));
    return taken.has(name) && typed && raw[camel(name)] !== false;
  };
  for (const name of taken) {
    const spec: OptionSpec = OPTIONS[name as keyof typeof OPTIONS];
    if (!given(name)) continue;
    for (const other of spec.conflicts ?? []) {
      if (given(other)) throw usageError(`--${name} and --${other} cannot be given together: give one`, argv);
    }
    for (const other of spec.implies ?? []) {
      if (taken.has(other) && !given(other)) throw usageError(`--${name} needs --${other}`, argv);
    }
  }
}

/** The package version, read once from package.json (beside compiler/ and dist/ alike). */
export const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

/**
 * Parses one command line. Help, version and completion text yargs prints itself (console.log) and the
 * result is `output`; a usage error throws a TinyM2Error (exit 2).
 */
export async function parse(argv: string[]): Promise<Parsed> {
  let raw: { _: Array<string | number>; [key: string]: unknown };
  try {
    // Async: yargs answers the shell's completion requests (`tinym2 completion`'s script) asynchronously.
    raw = await build(argv).exitProcess(false).parseAsync();
  } catch (e) {
    throw e instanceof TinyM2Error ? e : usageError((e as Error).message, argv);
  }
  const command = raw._[0];
  const shown = raw.help === true || raw.version === true || 'getYargsCompletions' in raw || command === 'completion';
  if (shown || typeof command !== 'string' || !(command in COMMANDS)) return { kind: 'output', exitCode: 0 };
  const c = command as CommandName;
  const positional = POSITIONALS[c];
  const args: Record<string, unknown> = positional ? { positional: String(raw[positional]) } : {};
  for (const [name] of optionsOf(c)) {
    const spec: OptionSpec = OPTIONS[name];
    const value = raw[camel(name)];
    args[camel(name)] = spec.kind === 'boolean' ? Boolean(value) : value;
  }
  checkCombinations(c, raw, argv);
  return { kind: 'command', command: c, args } as Parsed;
}
