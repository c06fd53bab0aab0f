// The commands: what each is for, its positional argument, a longer description for its --help, and the
// module that runs it. Modules load lazily, so `tinym2 inspect` and `tinym2 --help` do not pay for QEMU
// or planner code. A `Record<CommandName, ...>`: a name in COMMAND_NAMES without an entry here fails tsc.
import type { Args, CommandName } from './options.ts';
import { JSON_OUTPUT_NAMES } from './json-output-names.ts';

export interface CommandModule<C extends CommandName> {
  /** Runs the command on parsed arguments; returns the exit code. Throws TinyM2Error for user errors. */
  execute(args: Args<C>): Promise<number>;
}

export interface CommandSpec<C extends CommandName> {
  summary: string;
  /** What the positional argument (named in options.ts POSITIONALS) is, for help; null for none. */
  positional: { describe: string } | null;
  /** Paragraphs printed under the usage line of `tinym2 <command> --help`. */
  description: string;
  load(): Promise<CommandModule<C>>;
}

export const COMMANDS: { [C in CommandName]: CommandSpec<C> } = {
  inspect: {
    summary: 'show the layers of an ONNX model: shapes, parameters, MACs',
    positional: { describe: 'the ONNX model' },
    description:
      'Imports the model as tinym2 compiles it (BatchNorm folded, Dropout removed, Gemm/MatMul as Dense) and prints one line per layer: ' +
      'op, input and output shapes, parameters and multiply-accumulates.',
    load: () => import('../commands/inspect.ts'),
  },
  run: {
    summary: 'run the float reference on a dataset (.npz), report accuracy, save outputs',
    positional: { describe: 'the ONNX model' },
    description:
      "Runs the float reference interpreter on every row of the dataset. With integer 'labels' in the data the argmax accuracy of every output is reported.",
    load: () => import('../commands/run.ts'),
  },
  plan: {
    summary: 'choose INT8/INT4 per layer from Hessian sensitivity under flash / BOPS / RAM budgets',
    positional: { describe: 'the ONNX model' },
    description:
      "Measures each Conv / Dense layer's sensitivity (Hessian trace of the loss on the calibration rows: cross-entropy on 'labels' when present, " +
      "else KL to the model's own outputs), then picks 4 or 8 bits per layer minimising the summed sensitivity Omega with an ILP. " +
      "With no budget at all the target is the paper's: 20% of the FP32 weight bytes. Exit codes: 2 bad input, 3 the budget cannot be met.",
    load: () => import('../commands/plan.ts'),
  },
  compile: {
    summary: 'generate C99 sources (model API, layer sequence, const weights, CMake, PlatformIO) for a model',
    positional: { describe: 'the ONNX model' },
    description:
      'Quantizes the model (activation ranges from the calibration rows) and writes C99 sources into the output directory: <name>.h (the API), ' +
      '<name>.c (one kernel call per layer, one static arena), <name>_weights.c (const weights), CMakeLists.txt, library.json (PlatformIO), ' +
      'README.md and the runtime-c kernels in runtime/. Exit codes: 2 bad input, 3 the model does not fit the board.',
    load: () => import('../commands/compile.ts'),
  },
  verify: {
    summary: 'run a compiled model on a board (QEMU) with test vectors: bit-exactness, accuracy, instructions, flash/RAM, energy',
    positional: { describe: "the output directory of 'tinym2 compile'" },
    description:
      'Builds the generated model into firmware for the board with a test-vector harness, runs it, and checks every output bit for bit against ' +
      'the TypeScript integer emulator. Reports top-1 accuracy against the labels, agreement with the float model, instructions per inference, ' +
      "the model's flash and RAM, and estimated latency and energy. How OUT_DIR was made is read from OUT_DIR/tinym2.json. " +
      'Exit codes: 0 all outputs bit-exact, 1 a mismatch (or the firmware failed), 2 bad input, 4 a tool is missing.',
    load: () => import('../commands/verify.ts'),
  },
  dynafuse: {
    summary: 'DynaFuse tables for a late-fusion model: per-head noise resilience, noise-estimator calibration, energy per branch (C + JSON)',
    positional: { describe: 'the late-fusion ONNX model' },
    description:
      "Profiles each modality head through the integer emulator (INT8): its top-1 accuracy with Gaussian noise of each sigma of the config's grid " +
      "added to that modality's input only; calibrates the run-time noise estimator; computes each branch's energy per window. " +
      'Writes <name>_dynafuse.c/.h (const tables for runtime-c/dynafuse) and profile.json.',
    load: () => import('../dynafuse/command.ts'),
  },
  report: {
    summary: 'write a self-contained HTML report (per-layer figures, memory, precision plan, accuracy) of a compiled model',
    positional: { describe: "the output directory of 'tinym2 compile'" },
    description:
      "Writes one HTML file that opens offline (no scripts, fonts or images from anywhere), its plots drawn by Vega-Lite when it is written: " +
      'layers (op, output shape, weight / activation bits, weight bytes, MACs; instructions per layer, MACs per instruction and share after ' +
      "verify ran its per-layer counting build); memory (each arena buffer's byte range while live, arena vs lower bound, flash split after verify); " +
      "the precision plan when compile used one from 'tinym2 plan'; accuracy (float vs emulator vs target, confusion matrix) after verify. Exit codes: 2 bad input.",
    load: () => import('../commands/report.ts'),
  },
  doctor: {
    summary: 'check that the compilers, C libraries and emulators each board needs are installed',
    positional: null,
    description:
      'Checks, for every board (or the one named), what building and running its programs needs: the compiler, the C library headers and ' +
      "libraries it must find with the board's own flags, and the emulator; plus the host compiler (QEMU instruction-count plugin, compile --check). " +
      'Missing pieces are named with the Debian package that provides them and one apt-get line. Exit codes: 0 everything is there, 4 something is missing.',
    load: () => import('../commands/doctor.ts'),
  },
  schema: {
    summary: "print the JSON schema of a command's --json output (or of the error object: 'error')",
    positional: { describe: `the command: ${JSON_OUTPUT_NAMES.join(', ')}` },
    description:
      'Prints a JSON Schema (draft-07) of what `tinym2 <command> --json` prints, for CI scripts and dashboards that parse it. ' +
      "Every command prints {\"ok\": false, \"error\": ..., \"exitCode\": ...} (schema 'error') when it fails. Exit codes: 2 unknown command.",
    load: () => import('../commands/schema.ts'),
  },
};
