// The one table of command-line options. Each entry says what the option holds, which commands take
// it (required or optional, with a command's own wording, default or choices where they differ), and
// its help text; compiler/cli/parser.ts builds yargs from it, and `Args<'plan'>` types what a command
// receives. Adding an option is one entry here; `tsc` then shows every command that must read it.
import { PROFILE_ROWS } from '../report/artifacts.ts';
import { parseCount, parseNumberIn, parsePositiveInt, parseSize } from './values.ts';
import { CRITERION_NAMES, DEFAULT_CRITERION } from '../sensitivity/criterion-names.ts';
import { INT4_ACTIVATION_STORAGE } from '../quant/qgraph.ts';

/** The commands, in the order help lists them (their modules: compiler/cli/commands.ts). */
export const COMMAND_NAMES = ['inspect', 'run', 'plan', 'compile', 'verify', 'dynafuse', 'report', 'doctor', 'schema'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

/** Each command's one positional argument (its name in usage), or null for none. */
export const POSITIONALS = {
  inspect: 'model',
  run: 'model',
  plan: 'model',
  compile: 'model',
  verify: 'outDir',
  dynafuse: 'model',
  report: 'outDir',
  doctor: null,
  schema: 'command',
} as const satisfies Record<CommandName, string | null>;

/** What an option holds: the kinds map to TypeScript types (KindValue) and to parsers (KIND_PARSERS). */
export type Kind = 'string' | 'boolean' | 'size' | 'count' | 'positive-int' | 'int' | 'fraction' | 'percent' | 'non-negative';
interface KindValue {
  string: string;
  boolean: boolean;
  size: number;
  count: number;
  'positive-int': number;
  int: number;
  fraction: number;
  percent: number;
  'non-negative': number;
}

/** How one command takes an option: required / optional, or with its own wording, default or choices. */
export type Use =
  | 'required'
  | 'optional'
  | { required?: true; describe?: string; default?: string | number | boolean; choices?: readonly string[] };

export interface OptionSpec {
  kind: Kind;
  describe: string;
  /** Placeholder for the value in help (FILE, DIR, SIZE, N). */
  value?: string;
  alias?: string;
  default?: string | number | boolean;
  choices?: readonly string[];
  /** Options that must not be given together with this one (where a command takes both). */
  conflicts?: readonly string[];
  /** Options this one needs (where a command takes both). */
  implies?: readonly string[];
  /** Every command takes it. */
  global?: true;
  commands?: Partial<Record<CommandName, Use>>;
}

const BOTH: Use = 'optional';
/** The commands that read models and data sets, and so take the input caps. */
const LIMITED = { inspect: BOTH, run: BOTH, plan: BOTH, compile: BOTH, verify: BOTH, dynafuse: BOTH } as const;

export const OPTIONS = {
  // Every command.
  json: { kind: 'boolean', global: true, describe: 'machine-readable output on stdout (errors too: {"ok": false, "error": ...})' },
  quiet: { kind: 'boolean', global: true, describe: 'no progress on stderr' },
  debug: { kind: 'boolean', global: true, describe: 'on an internal error, print the stack trace' },

  // Data and models.
  calib: {
    kind: 'string', value: 'FILE', describe: 'calibration rows (.npz): one float32 array per graph input, batch first, optional labels',
    commands: { plan: 'required', compile: 'required', dynafuse: 'required', verify: { describe: "the calibration rows 'tinym2 compile' used (when OUT_DIR has no tinym2.json)" } },
  },
  data: {
    kind: 'string', value: 'FILE', describe: 'input rows (.npz): one array per graph input, batch first, optional int labels',
    commands: { run: 'required', verify: { required: true, describe: 'test rows (.npz) to run on the board; the firmware test vectors come from it' } },
  },
  test: {
    kind: 'string', value: 'FILE', describe: 'test rows (.npz)',
    commands: {
      plan: { describe: 'test rows (.npz) to measure accuracy on: FP32, uniform INT8, uniform INT4 and the plan (integer emulator)' },
      compile: { describe: "also write <name>_test.c: rows of FILE with the integer emulator's expected outputs" },
    },
  },
  model: {
    kind: 'string', value: 'FILE', describe: 'the ONNX model',
    commands: { verify: { describe: "the ONNX model 'tinym2 compile' was given (when OUT_DIR has no tinym2.json)" } },
  },
  fusion: { kind: 'string', value: 'FILE', describe: 'fusion config (default: fusion.json beside the model)', commands: { dynafuse: BOTH } },
  rows: {
    kind: 'positive-int', value: 'N', describe: 'use the first N rows of the data',
    commands: {
      plan: { describe: 'sensitivity rows used (default: all)' },
      verify: { describe: 'use the first N rows of the data (default: all)' },
      dynafuse: { describe: 'first N calibration rows only' },
    },
  },

  // Target and budgets.
  board: {
    kind: 'string', value: 'NAME', describe: 'a board of boards/ (or a path to a board .json)',
    commands: {
      plan: { describe: 'take budgets from the board: flash minus a 64 KB code reserve, RAM minus stack and heap' },
      compile: { describe: 'check the result fits the board (flash minus a 64 KB code reserve, RAM minus stack and heap); exit 3 if not' },
      verify: { default: 'mps2-an386', describe: 'the board to build for and run on' },
      dynafuse: { default: 'mps2-an386', describe: 'power model and QEMU target' },
      doctor: { describe: 'check only this board (default: every board)' },
    },
  },
  flash: {
    kind: 'size', value: 'SIZE', describe: 'weight bytes budget (160KB, 1MB, 40000; KB = 1024 bytes)',
    conflicts: ['plan', 'precision'],
    commands: { plan: BOTH, compile: { describe: 'mixed precision: the planner picks INT8/INT4 per layer so weights fit SIZE (160KB, 1MB)' } },
  },
  ram: { kind: 'size', value: 'SIZE', describe: 'peak activation bytes budget', commands: { plan: BOTH } },
  bops: { kind: 'count', value: 'N', describe: 'limit on the sum of MACs x weight bits x input activation bits', commands: { plan: BOTH } },
  instructions: {
    kind: 'count', value: 'N',
    describe: 'limit on instructions per inference on the board (--board, default mps2-an386): each layer counted under QEMU at INT8 and INT4, cached per shape',
    commands: { plan: BOTH },
  },
  'latency-ms': { kind: 'count', value: 'T', describe: "latency limit in ms: T x the board's clock / its CPI instructions", commands: { plan: BOTH } },
  precision: {
    kind: 'string', value: 'P', describe: 'uniform precision', choices: ['int8', 'int4', 'mixed'], conflicts: ['plan'],
    commands: {
      compile: { describe: 'int8 (default), int4, or mixed (the planner; budget from --board or 20% of FP32)' },
      verify: { choices: ['int8', 'int4'], describe: "the precision 'tinym2 compile' was given (for mixed: its --plan file)" },
    },
  },
  plan: {
    kind: 'string', value: 'FILE', describe: "per-layer bits from 'tinym2 plan' (plan.json)",
    commands: { compile: BOTH, verify: { describe: "the plan 'tinym2 compile' was given (when OUT_DIR has no tinym2.json)" } },
  },
  untied: { kind: 'boolean', describe: 'choose weight and activation bits separately (default: one choice sets both)', commands: { plan: BOTH } },
  'per-tensor-inputs': {
    kind: 'boolean', describe: 'one scale and zero point per graph input (default: per channel where the input allows it)',
    commands: { plan: BOTH, compile: BOTH, verify: BOTH },
  },
  'int4-activations': {
    kind: 'string', value: 'S', choices: INT4_ACTIVATION_STORAGE,
    describe: 'how 4-bit activations are stored: packed (two per byte: about half the arena, slower kernels) or bytes (one per byte as INT8: faster, INT8-sized arena)',
    commands: {
      plan: { default: 'packed', describe: 'how the compiled model will store 4-bit activations: --ram counts packed at half a byte per value, bytes at one' },
      compile: { describe: 'how 4-bit activations are stored: packed (two per byte: about half the arena, slower kernels) or bytes (one per byte as INT8: faster, INT8-sized arena); default: as the --plan file records, else packed' },
      verify: { describe: "rebuild with this storage of 4-bit activations (default: as qgraph.json says, else packed)" },
    },
  },

  // Sensitivity.
  iterations: { kind: 'positive-int', value: 'N', default: 48, describe: 'at most N Hutchinson iterations (stops earlier when stable)', commands: { plan: BOTH } },
  batch: { kind: 'positive-int', value: 'N', default: 32, describe: 'calibration rows per Hutchinson iteration', commands: { plan: BOTH } },
  seed: { kind: 'int', value: 'N', default: 1, describe: 'random seed', commands: { plan: { describe: 'seed of the random probe vectors and of the order --search tries plans in' }, dynafuse: { describe: 'noise seed' } } },
  sensitivity: {
    kind: 'string', value: 'NAME', default: DEFAULT_CRITERION, choices: CRITERION_NAMES,
    describe: 'per-layer criterion: kl (output KL of each layer alone at 4 bits, integer emulator), accuracy (its top-1 drop), ' +
      "hessian (HAWQ-V3 Omega: Gauss-Newton where exact, else Hutchinson), gauss-newton, hutchinson, trace-free (Omega with traces = 1)",
    commands: { plan: BOTH },
  },
  search: {
    kind: 'positive-int', value: 'N', conflicts: ['untied'],
    describe: "then refine the ILP's plan by measured top-1 on the sensitivity rows (integer emulator): from the ILP plans of --sensitivity and trace-free, " +
      'move one layer, or swap two, between 4 and 8 bits within every budget while it measures better; at most N plans scored. The plan is never less accurate on those rows than the ILP\'s',
    commands: { plan: BOTH },
  },
  'sensitivity-data': {
    kind: 'string', value: 'FILE', describe: 'rows (.npz) to measure sensitivity on, held out from training (default: the --calib rows)',
    commands: { plan: BOTH },
  },

  // What is written.
  out: {
    kind: 'string', alias: 'o', value: 'PATH', describe: 'where to write',
    commands: {
      run: { describe: 'write the outputs as .npz, named as the model outputs, batch first' },
      plan: { default: 'plan.json', describe: 'where to write the plan' },
      compile: { describe: 'output directory, one per model (default out/<name>); a directory tinym2 made is replaced whole' },
      dynafuse: { describe: 'output directory (default out/<name>-dynafuse); replaced whole if tinym2 wrote it' },
      report: { describe: 'where to write the HTML report (default OUT_DIR/report.html)' },
    },
  },
  report: {
    kind: 'string', value: 'FILE', describe: "also write a self-contained HTML report with plots (see 'tinym2 report')",
    commands: {
      compile: { describe: "also write an HTML report: layers, arena plan, precision plan ('tinym2 report OUT_DIR' makes it again later, with what verify measured)" },
      verify: { describe: 'also write an HTML report: layers (with instructions per layer after --profile-layers), memory and flash, accuracy' },
      plan: { describe: 'also write an HTML report: sensitivity, Omega, bits chosen, the planned layers and arena; with --test, accuracy vs weight bytes, vs instructions (each plan run under QEMU when it is installed) and vs BOPS over flash budgets' },
      dynafuse: { describe: 'also write an HTML report: resilience curves, noise-estimator calibration, branches per mode, energy per branch, the layers' },
    },
  },
  name: { kind: 'string', value: 'NAME', describe: 'C name of the model (default: from the file name); functions are tm2_<name>_*', commands: { compile: BOTH, dynafuse: BOTH } },
  vectors: { kind: 'positive-int', value: 'N', implies: ['test'], describe: 'rows in the test harness (default 8)', commands: { compile: BOTH } },
  check: {
    kind: 'boolean', implies: ['test'], describe: "build the harness with the host gcc (strict C99), run it: outputs must equal the emulator's (exit 1 if not)",
    commands: { compile: BOTH },
  },
  junit: { kind: 'string', value: 'FILE', describe: 'also write a JUnit XML report (one test case per row and per check)', commands: { verify: BOTH } },
  'profile-layers': {
    kind: 'boolean', conflicts: ['ssh'],
    describe: `also build the model with one count region per layer (-DTM2_PROFILE_LAYERS) and run it on the first ${PROFILE_ROWS} rows: instructions per layer (QEMU only)`,
    commands: { verify: BOTH },
  },
  keep: { kind: 'string', value: 'DIR', describe: 'keep the firmware build (sources, objects, ELF, map) in DIR', commands: { verify: BOTH } },

  // Gates of verify (compiler/target/gates.ts).
  'min-accuracy': { kind: 'percent', value: 'P', describe: 'fail (exit 1) when an output\'s top-1 vs the labels is below P percent', commands: { verify: BOTH } },
  'max-drop': { kind: 'percent', value: 'POINTS', describe: "fail (exit 1) when an output's top-1 is more than POINTS percentage points below the float model's", commands: { verify: BOTH } },
  expect: {
    kind: 'string', value: 'FILE', describe: "reference outputs (.npz, one array per model output, batch first, e.g. from 'tinym2 run -o'): the dequantized device outputs must be within --atol + --rtol x |reference|",
    commands: { verify: BOTH },
  },
  atol: { kind: 'non-negative', value: 'X', implies: ['expect'], describe: "absolute tolerance for --expect (default: 5% of each reference output's range)", commands: { verify: BOTH } },
  rtol: { kind: 'non-negative', value: 'X', default: 0, implies: ['expect'], describe: 'relative tolerance for --expect', commands: { verify: BOTH } },

  // Caps on untrusted input files (compiler/limits.ts holds the defaults and what each means).
  'max-model-bytes': { kind: 'size', value: 'SIZE', describe: 'largest ONNX file read (default 256MB)', commands: LIMITED },
  'max-nodes': { kind: 'positive-int', value: 'N', describe: 'most nodes in an ONNX graph (default 100000)', commands: LIMITED },
  'max-tensor-elements': { kind: 'positive-int', value: 'N', describe: 'most elements of one tensor: initializer, folded constant or activation (default 4194304)', commands: LIMITED },
  'max-tensor-bytes': { kind: 'size', value: 'SIZE', describe: 'most bytes of all constants of a model together (default 64MB)', commands: LIMITED },
  'max-data-bytes': { kind: 'size', value: 'SIZE', describe: 'most bytes of one .npz data set once decompressed (default 1024MB)', commands: LIMITED },
  'max-macs': { kind: 'count', value: 'N', describe: 'most multiply-accumulates of one inference (default 500000000)', commands: LIMITED },

  // Running.
  timeout: { kind: 'positive-int', value: 'SECONDS', default: 600, describe: 'wall-clock limit per firmware run', commands: { verify: BOTH } },
  ssh: { kind: 'string', value: 'USER@HOST', describe: 'run on a real Linux board instead of QEMU (no instruction counts; wall times)', commands: { verify: BOTH } },
  repeats: { kind: 'positive-int', value: 'N', default: 1, describe: 'noise draws per row and sigma', commands: { dynafuse: BOTH } },
  qemu: {
    kind: 'boolean', default: true, describe: 'measure branch instructions under QEMU (--no-qemu: 2.235 instructions per MAC, measured on dsa-har)',
    commands: { dynafuse: BOTH },
  },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

/** Turns a string value into the option's type; throws an Error naming the option when it is not one. */
export const KIND_PARSERS: { [K in Kind]?: (text: string, flag: string) => KindValue[K] } = {
  size: parseSize,
  count: parseCount,
  'positive-int': parsePositiveInt,
  int: (text, flag) => {
    const v = Number(text);
    if (String(text).trim() === '' || !Number.isInteger(v) || v < 0) throw new Error(`${flag} '${text}' must be a whole number >= 0`);
    return v;
  },
  fraction: (text, flag) => parseNumberIn(text, flag, 0, 1),
  percent: (text, flag) => parseNumberIn(text, flag, 0, 100),
  'non-negative': (text, flag) => parseNumberIn(text, flag, 0, Number.MAX_VALUE),
};

/** The commands that take an option, and how. */
export function usesOf(name: OptionName): Array<[CommandName, Use]> {
  const spec: OptionSpec = OPTIONS[name];
  if (spec.global) return COMMAND_NAMES.map((c) => [c, 'optional']);
  return Object.entries(spec.commands ?? {}) as Array<[CommandName, Use]>;
}

/** The options a command takes, with how it takes each. */
export function optionsOf(command: CommandName): Array<[OptionName, Use]> {
  const out: Array<[OptionName, Use]> = [];
  for (const name of Object.keys(OPTIONS) as OptionName[]) {
    const use = usesOf(name).find(([c]) => c === command);
    if (use) out.push([name, use[1]]);
  }
  return out;
}

// ---- Types of parsed arguments, derived from the table. ----

type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
type Options = typeof OPTIONS;
type UseOf<K extends OptionName, C extends CommandName> = Options[K] extends { global: true }
  ? 'optional'
  : Options[K] extends { commands: infer U }
    ? C extends keyof U
      ? U[C]
      : never
    : never;
type Takes<K extends OptionName, C extends CommandName> = [UseOf<K, C>] extends [never] ? false : true;
type ValueOf<K extends OptionName, C extends CommandName> = UseOf<K, C> extends { choices: readonly (infer V)[] }
  ? V
  : Options[K] extends { choices: readonly (infer V)[] }
    ? V
    : KindValue[Options[K]['kind']];
type Always<K extends OptionName, C extends CommandName> = UseOf<K, C> extends 'required' | { required: true } | { default: unknown }
  ? true
  : Options[K] extends { default: unknown } | { kind: 'boolean' }
    ? true
    : false;

/** What command C receives: its options (camelCase), undefined where optional without a default, and its positional. */
export type Args<C extends CommandName> = {
  [K in OptionName as Takes<K, C> extends true ? Camel<K> : never]: Always<K, C> extends true ? ValueOf<K, C> : ValueOf<K, C> | undefined;
} & ((typeof POSITIONALS)[C] extends string ? { positional: string } : unknown);
