// The shape of every command's `--json` output, as JSON schemas (TypeBox). One source: each command
// types the object it prints with the TypeScript type derived here (`satisfies CompileJson`), so tsc
// flags a field the schema lacks, and test/json-output.test.ts runs each command and validates what it
// printed against the same schema with ajv. `tinym2 schema <command>` prints a schema for users
// (CI scripts, dashboards) who parse the output.
//
// Conventions (checked by the test): keys are camelCase; every object printed by a command has `ok`;
// failures print the ErrorJson object instead (any command). Counts are numbers, absent values null.
// Nested records that carry many measured figures (a plan, a DynaFuse profile) are described by their
// main fields and allow more, so that a new figure does not break consumers.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { JsonOutputName } from './json-output-names.ts';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Shape = Type.Array(Type.Integer({ minimum: 0 }));
/** An object that names its main fields and may carry more. */
const Open = <P extends Parameters<typeof Type.Object>[0]>(p: P) => Type.Object(p, { additionalProperties: true });
/** A top-level object: exactly these fields. */
const Closed = <P extends Parameters<typeof Type.Object>[0]>(p: P, description: string) => Type.Object(p, { additionalProperties: false, description });

const Tensor = Type.Object({ name: Type.String(), shape: Shape, dtype: Type.String() }, { additionalProperties: false });
const Fraction = Type.Number({ minimum: 0, maximum: 1 });
const Quantized = Open({
  name: Type.String(),
  field: Type.String(),
  onnxShape: Shape,
  scale: Type.Number(),
  zeroPoint: Type.Integer(),
  bits: Type.Union([Type.Literal(4), Type.Literal(8)]),
});

export const ErrorJson = Type.Object(
  {
    ok: Type.Literal(false),
    error: Type.String({ description: 'one line: what is wrong, naming the file / node / budget, and what to do' }),
    exitCode: Type.Integer({ description: '1 mismatch or gate failed, 2 bad input, 3 does not fit, 4 tool missing, 70 internal error' }),
    internal: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: true, description: 'printed by any command with --json when it fails; more fields (file, node, problems) say where' },
);

export const InspectJson = Closed(
  {
    ok: Type.Literal(true),
    model: Type.String(),
    opset: Type.Integer(),
    inputs: Type.Array(Tensor),
    outputs: Type.Array(Tensor),
    layers: Type.Array(
      Type.Object(
        { name: Type.String(), op: Type.String(), source: Type.String(), inputs: Type.Array(Shape), outputs: Type.Array(Shape), params: Type.Integer(), macs: Type.Integer() },
        { additionalProperties: false },
      ),
    ),
    totals: Type.Object({ params: Type.Integer(), macs: Type.Integer() }, { additionalProperties: false }),
    notes: Type.Array(Type.String(), { description: 'what the import changed, e.g. a batch fixed at N > 1 compiled as batch 1' }),
  },
  'tinym2 inspect --json: the imported float graph',
);

export const RunJson = Closed(
  {
    ok: Type.Literal(true),
    model: Type.String(),
    data: Type.String(),
    rows: Type.Integer(),
    labels: Type.Boolean(),
    seconds: Type.Number(),
    outputs: Type.Array(
      Type.Object({ name: Type.String(), shape: Shape, accuracy: Type.Optional(Fraction), correct: Type.Optional(Type.Integer()) }, { additionalProperties: false }),
    ),
    out: Nullable(Type.String()),
  },
  'tinym2 run --json: the float reference on a data set',
);

const Bits = Type.Union([Type.Literal(4), Type.Literal(8)]);
/** A precision plan as plan.json holds it (compiler/quant/plan.schema.json checks the file itself). */
const PrecisionPlan = Open({
  model: Type.String(),
  layers: Type.Record(Type.String(), Open({ weightBits: Bits, activationBits: Bits })),
  inputBits: Type.Optional(Type.Record(Type.String(), Bits)),
  int4Activations: Type.Optional(Type.Union([Type.Literal('packed'), Type.Literal('bytes')])),
});
const PlanLayer = Open({ name: Type.String() });
export const PlanJson = Closed(
  {
    ok: Type.Literal(true),
    model: Type.String(),
    out: Type.String(),
    report: Nullable(Type.String()),
    plan: PrecisionPlan,
    tied: Type.Boolean(),
    perChannelInputs: Type.Boolean(),
    int4Activations: Type.Union([Type.Literal('packed'), Type.Literal('bytes')]),
    budgets: Open({}),
    totals: Open({}),
    layers: Type.Array(PlanLayer),
    sensitivity: Type.Object(
      {
        criterion: Type.String(),
        method: Type.String(),
        data: Type.String(),
        rows: Type.Integer(),
        converged: Type.Boolean(),
        seconds: Type.Number(),
        iterations: Type.Optional(Type.Integer()),
        batchSize: Type.Optional(Type.Integer()),
        loss: Type.Optional(Type.String()),
      },
      { additionalProperties: false },
    ),
    solve: Type.Object(
      { method: Type.String(), provenOptimal: Type.Boolean(), seconds: Type.Object({ lp: Type.Number(), check: Type.Number() }, { additionalProperties: false }) },
      { additionalProperties: false },
    ),
    search: Type.Optional(
      Type.Object(
        {
          evaluations: Type.Integer({ description: 'distinct plans scored, the starts included' }),
          limit: Type.Integer({ description: '--search N' }),
          moves: Type.Integer({ description: 'moves kept (each measured strictly better)' }),
          localOptimum: Type.Boolean({ description: 'the last climb ended with no better neighbour (else at the limit)' }),
          seed: Type.Integer(),
          rows: Type.Integer({ description: 'sensitivity rows scored on' }),
          output: Type.String({ description: 'the output whose top-1 is scored (the last labelled one)' }),
          starts: Type.Array(Type.Object({ criterion: Type.String(), accuracy: Fraction }, { additionalProperties: false })),
          accuracy: Fraction,
          seconds: Type.Number(),
        },
        { additionalProperties: false, description: "--search: how the plan was found from the ILP's (solve is the ILP's answer)" },
      ),
    ),
    accuracy: Type.Optional(
      Type.Array(
        Type.Object(
          { name: Type.String({ description: 'fp32, int8, int4 or the plan' }), weightBytes: Type.Integer(), accuracy: Type.Record(Type.String(), Nullable(Fraction), { description: 'top-1 per output; null where the test rows have no labels for it' }) },
          { additionalProperties: false },
        ),
      ),
    ),
    notes: Type.Array(Type.String()),
  },
  'tinym2 plan --json: the chosen precision plan, its costs and the evidence for it',
);

export const CompileJson = Closed(
  {
    ok: Type.Literal(true),
    model: Type.String(),
    name: Type.String({ description: 'C identifier prefix of the generated model (tm2_<name>_...)' }),
    out: Type.String(),
    precision: Type.String(),
    plan: PrecisionPlan,
    board: Type.Optional(Type.String()),
    weightBytes: Type.Integer(),
    arenaBytes: Type.Integer(),
    arenaLowerBound: Type.Integer(),
    unsharedActivationBytes: Type.Integer(),
    macs: Type.Integer(),
    perChannelInputs: Type.Boolean(),
    int4Activations: Type.Union([Type.Literal('packed'), Type.Literal('bytes')]),
    inputs: Type.Array(Quantized),
    outputs: Type.Array(Quantized),
    layers: Type.Array(
      Type.Object(
        {
          index: Type.Integer(),
          name: Type.String(),
          kind: Type.String(),
          output: Type.Tuple([Type.Integer(), Type.Integer(), Type.Integer()], { description: '[H, W, C]' }),
          bits: Type.String({ description: "'<weight bits>/<activation bits>', '-' for no weights" }),
          weightBytes: Type.Integer(),
          macs: Type.Integer(),
          writes: Type.String(),
        },
        { additionalProperties: false },
      ),
    ),
    files: Type.Array(Type.String()),
    report: Nullable(Type.String()),
    testRows: Type.Integer(),
    check: Type.Optional(
      Type.Object({ rows: Type.Integer(), mismatches: Type.Integer(), quantizeMismatches: Type.Integer(), scratchErrors: Type.Integer() }, { additionalProperties: false }),
    ),
    notes: Type.Array(Type.String()),
  },
  'tinym2 compile --json: what was generated, its memory and per-layer precision',
);

const Output = Type.Object(
  {
    name: Type.String(),
    field: Type.String(),
    bitExactRows: Type.Integer(),
    accuracy: Nullable(Fraction),
    floatAccuracy: Nullable(Fraction),
    agreementWithFloat: Nullable(Fraction),
    emulatorAccuracy: Nullable(Fraction),
  },
  { additionalProperties: false },
);
export const VerifyJson = Closed(
  {
    ok: Type.Boolean({ description: 'false when any row differs from the emulator or a gate fails (exit 1)' }),
    out: Type.String(),
    model: Type.String(),
    onnx: Type.String(),
    expectationsFrom: Type.String(),
    notes: Type.Array(Type.String()),
    board: Type.String(),
    runner: Type.String(),
    data: Type.String(),
    rows: Type.Integer(),
    firmwareBuilds: Type.Integer(),
    bitExact: Type.Boolean(),
    mismatches: Type.Array(Open({ row: Type.Integer(), output: Type.String(), differing: Type.Integer() })),
    quantizeMismatches: Type.Integer(),
    scratchErrors: Type.Integer(),
    sourcesMatchGenerator: Type.Boolean(),
    differingSources: Type.Array(Type.String()),
    outputs: Type.Array(Output),
    layers: Nullable(Type.Array(Open({ index: Type.Integer(), name: Type.String(), op: Type.String(), instructions: Type.Number() }))),
    profiledRows: Nullable(Type.Integer()),
    profiledInference: Nullable(Type.Number()),
    confusion: Type.Unknown(),
    instructionsPerInference: Nullable(Type.Object({ mean: Type.Number(), min: Type.Number(), max: Type.Number() }, { additionalProperties: false })),
    instructionMix: Type.Unknown(),
    functions: Type.Array(Type.Object({ name: Type.String(), instructionsPerInference: Type.Number(), share: Fraction }, { additionalProperties: false })),
    measuredSecondsPerInference: Nullable(Type.Number()),
    measuredPowerW: Nullable(Type.Number()),
    modelBytes: Type.Object(
      {
        flash: Type.Integer(),
        ram: Type.Integer(),
        text: Type.Integer(),
        rodata: Type.Integer(),
        data: Type.Integer(),
        bss: Type.Integer(),
        arena: Type.Integer(),
        weights: Type.Integer(),
        stackPeak: Nullable(Type.Integer()),
      },
      { additionalProperties: false },
    ),
    firmwareBytes: Open({}),
    estimates: Type.Array(Open({})),
    fits: Type.Array(Type.Object({ board: Type.String(), flashBytes: Nullable(Type.Integer()), ramBytes: Type.Integer(), fits: Type.Boolean() }, { additionalProperties: false })),
    gates: Type.Array(Type.Object({ name: Type.String(), ok: Type.Boolean(), message: Type.String() }, { additionalProperties: false })),
    expect: Nullable(Open({ file: Type.String(), outputs: Type.Array(Open({})) })),
    failures: Type.Array(Type.String()),
    report: Nullable(Type.String()),
    seconds: Type.Number(),
  },
  'tinym2 verify --json: the generated C run on a board (QEMU or a device) against the integer emulator',
);

export const DynafuseJson = Type.Object(
  {
    ok: Type.Literal(true),
    model: Type.String(),
    fusion: Type.String(),
    board: Type.String(),
    seconds: Type.Number(),
    rows: Type.Integer(),
    repeats: Type.Integer(),
    sigmas: Type.Array(Type.Number()),
    classes: Type.Integer(),
    modalities: Type.Array(Open({ name: Type.String(), accuracy: Type.Array(Fraction), instructions: Type.Number() })),
    fused: Type.Optional(Open({ head: Type.String(), accuracy: Fraction })),
    energyPerInstructionJ: Type.Number(),
    instructionBasis: Type.String(),
    inferenceInstructions: Type.Optional(Type.Number()),
    routineInstructions: Type.Optional(Open({})),
    out: Type.String(),
    files: Type.Array(Type.String()),
    report: Nullable(Type.String()),
  },
  { additionalProperties: true, description: 'tinym2 dynafuse --json: the DynaFuse profile (per modality accuracy, cost, noise tables) and the files written' },
);

export const ReportJson = Closed(
  {
    ok: Type.Literal(true),
    out: Type.String(),
    report: Type.String(),
    bytes: Type.Integer(),
    sections: Type.Array(Type.String()),
    charts: Type.Array(Type.String()),
    notes: Type.Array(Type.String()),
  },
  'tinym2 report --json: the HTML report written from an output folder',
);

const Check = Type.Object(
  { kind: Type.String(), name: Type.String(), ok: Type.Boolean(), package: Type.String(), detail: Type.Optional(Type.String()) },
  { additionalProperties: false },
);
export const DoctorJson = Closed(
  {
    ok: Type.Boolean(),
    boards: Type.Array(Type.Object({ board: Type.String(), build: Type.Array(Check), run: Type.Array(Check) }, { additionalProperties: false })),
    host: Type.Array(Check),
    missingPackages: Type.Array(Type.String()),
  },
  'tinym2 doctor --json: which tools and headers each board needs and which are missing',
);

/** Every command that prints JSON, with its schema. A command added to the CLI without one is a tsc error in parser.ts's table. */
export const JSON_OUTPUT = {
  inspect: InspectJson,
  run: RunJson,
  plan: PlanJson,
  compile: CompileJson,
  verify: VerifyJson,
  dynafuse: DynafuseJson,
  report: ReportJson,
  doctor: DoctorJson,
  error: ErrorJson,
} as const satisfies Record<JsonOutputName, TSchema>;

export type InspectJson = Static<typeof InspectJson>;
export type RunJson = Static<typeof RunJson>;
export type PlanJson = Static<typeof PlanJson>;
export type CompileJson = Static<typeof CompileJson>;
export type VerifyJson = Static<typeof VerifyJson>;
export type DynafuseJson = Static<typeof DynafuseJson>;
export type ReportJson = Static<typeof ReportJson>;
export type DoctorJson = Static<typeof DoctorJson>;
export type ErrorJson = Static<typeof ErrorJson>;

/** The schema as a standalone JSON Schema document (draft 2020-12 keywords TypeBox emits, plus $schema and $id). */
export function jsonSchemaDocument(command: keyof typeof JSON_OUTPUT): Record<string, unknown> {
  return { $schema: 'http://json-schema.org/draft-07/schema#', $id: `tinym2/${command}.schema.json`, ...JSON.parse(JSON.stringify(JSON_OUTPUT[command])) };
}
