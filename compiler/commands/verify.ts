// `tinym2 verify out/ --board mps2-an386 --data test.npz`: builds the generated model in out/ into
// firmware for the board together with a test-vector harness (compiler/codegen/testvectors.ts), runs it
// (QEMU here, or a real board with --ssh), and reports:
//   - bit-exact agreement of every output with the TypeScript integer emulator (the contract),
//   - top-1 accuracy against the labels and top-1 agreement with the float model,
//   - instructions per inference (QEMU plugin), flash and RAM of the model inside the firmware image,
//   - estimated latency and energy from the board power models (labelled as estimates).
// Exits 1 on any mismatch.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { makeTempDir } from '../cache.ts';
import { progress } from '../progress.ts';
import type { VerifyJson } from '../cli/json-output.ts';
import type { Args } from '../cli/options.ts';
import type { InputLimits } from '../limits.ts';
import { generateModel, type GeneratedModel } from '../codegen/generate.ts';
import { MANIFEST_FILE, sha256File, type Manifest } from '../codegen/manifest.ts';
import { computeTestVectors, harnessSource, layerProfile, parseHarnessOutput } from '../codegen/testvectors.ts';
import { EXIT_BAD_INPUT, EXIT_VERIFY_FAILED, TinyM2Error } from '../errors.ts';
import { tensorSize, type Graph } from '../ir.ts';
import { loadOnnx } from '../onnx/import.ts';
import { calibrateGraph, loadDataSet, uniform, type DataSet } from '../quant/evaluate.ts';
import { quantizeGraph } from '../quant/lower.ts';
import { checkPlan, loadPlan, type PrecisionPlan } from '../quant/plan.ts';
import type { Int4Activations, QGraph } from '../quant/qgraph.ts';
import { qgraphFromJson } from '../quant/qgraph-json.ts';
import { runFloat } from '../reference/interpreter.ts';
import { listBoards, loadBoard, type Board } from '../target/boards.ts';
import { buildFirmware, bytesOfSources } from '../target/build.ts';
import { argmax, compareOutputs, type Comparison, type RowOutputs } from '../target/compare.ts';
import type { ElfSizes } from '../target/elf.ts';
import { accuracyGates, expectGate, type ExpectReport, type GateCheck } from '../target/gates.ts';
import { toJUnitXml, type JUnitCase } from '../target/junit.ts';
import { estimateInference, formatEstimate, type InferenceEstimate } from '../target/power.ts';
import { MIX_CLASSES, meanMix, mixInstructions, type InstructionMix } from '../target/mix.ts';
import { runFirmware, type RunResult } from '../target/run.ts';
import { PROFILE_ROWS, writeVerifyArtifact } from '../report/artifacts.ts';
import type { ConfusionMatrix } from '../report/data.ts';

/** Firmware test vectors above this many bytes are split over several builds (flash of the QEMU boards is 4 MB). */
const VECTOR_BYTES_PER_BUILD = 3 * 1024 * 1024;

export interface Recipe {
  model: string;
  calib: string;
  /** A plan file, or the plan itself (tinym2.json written by 'tinym2 compile' holds the plan it used). */
  plan?: string | PrecisionPlan;
  precision?: 'int8' | 'int4';
  /** Graph inputs quantized per channel where they can be (quantizeGraph's default), or per tensor. */
  perChannelInputs?: boolean;
  /** How 4-bit activations are stored (QGraph.int4Activations); absent = packed. */
  int4Activations?: Int4Activations;
}

interface Options {
  outDir: string;
  data: string;
  board: string;
  recipe: Partial<Recipe>;
  rows?: number;
  junit?: string;
  timeoutMs: number;
  ssh?: string;
  keep?: string;
  profileLayers: boolean;
  report?: string;
  json: boolean;
  quiet: boolean;
  gates: { minAccuracy?: number; maxDrop?: number; expect?: string; atol?: number; rtol: number };
  /** Caps on the model and data files (--max-*). */
  limits: Partial<InputLimits>;
}

/** The parsed command line in the shape the steps below use. */
function optionsFrom(a: Args<'verify'>): Options {
  return {
    outDir: a.positional,
    data: a.data,
    board: a.board,
    recipe: { model: a.model, calib: a.calib, plan: a.plan, precision: a.precision, ...(a.perTensorInputs ? { perChannelInputs: false } : {}), ...(a.int4Activations ? { int4Activations: a.int4Activations } : {}) },
    rows: a.rows,
    junit: a.junit,
    timeoutMs: a.timeout * 1000,
    ssh: a.ssh,
    keep: a.keep,
    profileLayers: a.profileLayers,
    report: a.report,
    json: a.json,
    quiet: a.quiet,
    gates: { minAccuracy: a.minAccuracy, maxDrop: a.maxDrop, expect: a.expect, atol: a.atol, rtol: a.rtol },
    limits: a,
  };
}

/** The generated model's name: OUT_DIR holds <name>.h, <name>.c and <name>_weights.c. */
function modelNameIn(outDir: string): string {
  if (!fs.existsSync(outDir) || !fs.statSync(outDir).isDirectory()) {
    throw new TinyM2Error(`${outDir} is not a directory: give the output directory of 'tinym2 compile'`, { exitCode: EXIT_BAD_INPUT });
  }
  const names = fs
    .readdirSync(outDir)
    .filter((f) => f.endsWith('_weights.c'))
    .map((f) => f.slice(0, -'_weights.c'.length))
    .filter((n) => fs.existsSync(path.join(outDir, `${n}.c`)) && fs.existsSync(path.join(outDir, `${n}.h`)));
  if (names.length !== 1) {
    throw new TinyM2Error(
      names.length === 0
        ? `${outDir} has no generated model (<name>.h, <name>.c, <name>_weights.c): run 'tinym2 compile ... -o ${outDir}' first`
        : `${outDir} holds several models (${names.join(', ')}); give one output directory per model`,
      { exitCode: EXIT_BAD_INPUT },
    );
  }
  return names[0]!;
}

/** How OUT_DIR was made: OUT_DIR/tinym2.json if present (paths relative to OUT_DIR), else the command line. */
function resolveRecipe(outDir: string, given: Partial<Recipe>): Recipe {
  const manifest = path.join(outDir, 'tinym2.json');
  let fromFile: Partial<Recipe> = {};
  if (fs.existsSync(manifest)) {
    try {
      const m = JSON.parse(fs.readFileSync(manifest, 'utf8')) as Partial<Recipe> & { precision?: string };
      const rel = (p: string | undefined): string | undefined => (p === undefined ? undefined : path.resolve(outDir, p));
      const precision = m.precision?.toLowerCase();
      fromFile = {
        model: rel(m.model),
        calib: rel(m.calib),
        plan: typeof m.plan === 'string' ? rel(m.plan) : m.plan,
        precision: precision === 'int8' || precision === 'int4' ? precision : undefined,
        // A tinym2.json without the field was written before per-channel inputs became the default.
        perChannelInputs: m.perChannelInputs === true,
        int4Activations: m.int4Activations === 'bytes' ? 'bytes' : undefined,
      };
    } catch (e) {
      throw new TinyM2Error(`${manifest} is not valid JSON: ${(e as Error).message}`, { exitCode: EXIT_BAD_INPUT });
    }
  }
  const model = given.model ?? fromFile.model;
  const calib = given.calib ?? fromFile.calib;
  if (!model || !calib) {
    throw new TinyM2Error(
      `verify needs to know how ${outDir} was made: pass --model model.onnx --calib calib.npz (and the --plan or --precision ` +
        `'tinym2 compile' was given), or put them in ${manifest}`,
      { exitCode: EXIT_BAD_INPUT },
    );
  }
  const plan = given.plan ?? (given.precision ? undefined : fromFile.plan);
  const precision = given.precision ?? (given.plan ? undefined : fromFile.precision);
  const perChannelInputs = given.perChannelInputs ?? fromFile.perChannelInputs ?? true;
  // tinym2.json records bytes only (absent = packed); without it, a plan file's storage is what compile followed.
  const int4Activations = given.int4Activations ?? (fs.existsSync(manifest) ? fromFile.int4Activations : planStorage(plan)) ?? 'packed';
  return { model, calib, plan, precision, perChannelInputs, int4Activations };
}

/** The storage a plan records (plan.json's int4Activations), read leniently: loadPlan checks the file later. */
function planStorage(plan: Recipe['plan']): Int4Activations | undefined {
  let p: unknown = plan;
  if (typeof plan === 'string') {
    try {
      p = JSON.parse(fs.readFileSync(plan, 'utf8'));
    } catch {
      return undefined;
    }
  }
  const s = (p as { int4Activations?: unknown } | undefined)?.int4Activations;
  return s === 'bytes' || s === 'packed' ? s : undefined;
}

/** The quantized graph rebuilt from the model and calibration rows (the command line, or tinym2.json without qgraph.json). */
function rebuild(outDir: string, given: Partial<Recipe>, limits: Partial<InputLimits>): Compiled {
  const { q, graph, recipe } = rebuildModel(outDir, given, limits);
  return { q, io: graph, float: graph, modelPath: recipe.model, source: 'model and calibration', notes: [] };
}

/** What verify computes its expectations from, and the float model when it has the one compiled. */
interface Compiled {
  q: QGraph;
  /** The model's inputs and outputs (for reading data sets and labels): the float graph, or from tinym2.json. */
  io: Graph;
  float: Graph | undefined;
  modelPath: string;
  source: 'qgraph.json' | 'model and calibration';
  notes: string[];
}

/**
 * The quantized graph compile stored in OUT_DIR (qgraph.json), when the command line does not ask to rebuild
 * it from a model: the folder then verifies wherever it is. The float model (for agreement and the drop) is
 * used only if found where tinym2.json says and with the hash compiled.
 */
function fromStoredGraph(outDir: string, given: Partial<Recipe>, limits: Partial<InputLimits>): Compiled | null {
  if (given.model || given.calib || given.plan || given.precision || given.perChannelInputs !== undefined || given.int4Activations !== undefined) return null;
  const file = path.join(outDir, MANIFEST_FILE);
  if (!fs.existsSync(file)) return null;
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  } catch (e) {
    throw new TinyM2Error(`${file} is not valid JSON: ${(e as Error).message}`, { exitCode: EXIT_BAD_INPUT });
  }
  if (!m.qgraph || !m.inputs || !m.outputs) return null; // written before qgraph.json existed
  const qfile = path.join(outDir, m.qgraph);
  let q: QGraph;
  try {
    q = qgraphFromJson(fs.readFileSync(qfile, 'utf8'));
  } catch (e) {
    throw new TinyM2Error(`${qfile}: ${(e as Error).message}`, { exitCode: EXIT_BAD_INPUT });
  }
  const modelPath = path.resolve(outDir, m.model);
  const notes: string[] = [];
  let float: Graph | undefined;
  if (!fs.existsSync(modelPath)) {
    notes.push(`the float model ${modelPath} is not there (the folder has moved?): expectations come from ${m.qgraph}; no comparison with the float model`);
  } else if (m.modelSha256 && sha256File(modelPath) !== m.modelSha256) {
    notes.push(`${modelPath} is not the model compiled (its sha256 differs): expectations come from ${m.qgraph}; no comparison with the float model`);
  } else {
    float = loadOnnx(modelPath, limits);
  }
  const io: Graph = float ?? { name: m.name ?? 'model', file: modelPath, opset: 0, inputs: m.inputs, outputs: m.outputs, nodes: [], tensors: new Map(), constants: new Map() };
  return { q, io, float, modelPath, source: 'qgraph.json', notes };
}

/** C source text without comments and blank space, to compare generated files whatever their header says. */
function codeOnly(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '').replace(/\s+/g, ' ').trim();
}

/** Files of OUT_DIR whose code differs from what the generator produces for the recipe (stale or edited). */
function differingSources(outDir: string, model: GeneratedModel): string[] {
  const differing: string[] = [];
  for (const [file, text] of model.files) {
    if (!file.endsWith('.c') && !file.endsWith('.h')) continue;
    const onDisk = path.join(outDir, file);
    if (!fs.existsSync(onDisk) || codeOnly(fs.readFileSync(onDisk, 'utf8')) !== codeOnly(text)) differing.push(file);
  }
  return differing;
}

/** What OUT_DIR was compiled from, rebuilt: the same quantized graph and generated model 'tinym2 compile' made. */
export interface RebuiltModel {
  outDir: string;
  name: string;
  recipe: Recipe;
  graph: Graph;
  plan: PrecisionPlan;
  q: QGraph;
  model: GeneratedModel;
}

/** Rebuilds OUT_DIR's model from its recipe (tinym2.json, or the options given): verify's expectations and the report's figures come from it. */
export function rebuildModel(outDirGiven: string, given: Partial<Recipe> = {}, limits: Partial<InputLimits> = {}): RebuiltModel {
  const outDir = path.resolve(outDirGiven);
  const name = modelNameIn(outDir);
  const recipe = resolveRecipe(outDir, given);
  const graph = loadOnnx(recipe.model, limits);
  const calib = loadDataSet(graph, recipe.calib, Infinity, limits);
  if (calib.rows.length === 0) throw new TinyM2Error(`${recipe.calib} has no rows`, { exitCode: EXIT_BAD_INPUT });
  const plan =
    typeof recipe.plan === 'string'
      ? loadPlan(recipe.plan, graph)
      : recipe.plan !== undefined
        ? checkPlan(recipe.plan, `${path.join(outDir, 'tinym2.json')} (plan)`, graph)
        : uniform(graph, recipe.precision === 'int4' ? 4 : 8);
  const q = quantizeGraph(graph, calibrateGraph(graph, calib.rows), plan, { perChannelInputs: recipe.perChannelInputs, int4Activations: recipe.int4Activations });
  const model = generateModel(q, { name, source: path.basename(recipe.model), precision: recipe.plan ? 'plan' : (recipe.precision ?? 'int8').toUpperCase() });
  return { outDir, name, recipe, graph, plan, q, model };
}

/** Fingerprint of OUT_DIR's generated C as it is on disk (code only): a verify result belongs to these sources. */
export function sourcesDigest(outDir: string, model: GeneratedModel): string {
  const h = createHash('sha256');
  for (const file of [...model.files.keys()].filter((f) => f.endsWith('.c') || f.endsWith('.h')).sort()) {
    const onDisk = path.join(outDir, file);
    h.update(`${file}\0${fs.existsSync(onDisk) ? codeOnly(fs.readFileSync(onDisk, 'utf8')) : ''}\0`);
  }
  return h.digest('hex');
}

/** Labels for one output: `labels_<output>`, else `labels` when the output has as many classes as the first. */
function labelsFor(set: DataSet, graph: Graph, output: string): Int32Array | undefined {
  const own = set.labels.get(`labels_${output}`);
  if (own) return own;
  const classes = (name: string): number => tensorSize(graph.outputs.find((o) => o.name === name)!.shape);
  return classes(output) === classes(graph.outputs[0]!.name) ? set.labels.get('labels') : undefined;
}

interface ChunkRun {
  rows: number[];
  run: RunResult;
  sizes: ElfSizes;
  model: ReturnType<typeof bytesOfSources>;
}

/** Builds and runs the harness for the given rows (one firmware). */
async function runChunk(
  o: Options,
  board: Board,
  outDir: string,
  name: string,
  q: QGraph,
  model: GeneratedModel,
  set: DataSet,
  rows: number[],
  buildDir: string,
  index: number,
  profileLayers = false,
): Promise<ChunkRun> {
  const dir = path.join(buildDir, profileLayers ? 'layers' : `part${index}`);
  fs.mkdirSync(dir, { recursive: true });
  const harness = path.join(dir, `${name}_test.c`);
  fs.writeFileSync(harness, harnessSource(q, model, rows.map((r) => set.rows[r]!)));
  const runtimeSrc = path.join(outDir, 'runtime', 'src');
  const runtime = fs.existsSync(runtimeSrc)
    ? fs.readdirSync(runtimeSrc).filter((f) => f.endsWith('.c')).sort().map((f) => path.join(runtimeSrc, f))
    : [];
  const modelSources = [path.join(outDir, `${name}.c`), path.join(outDir, `${name}_weights.c`), ...runtime];
  const built = await buildFirmware({
    board,
    sources: [harness, ...modelSources],
    includeDirs: [outDir, path.join(outDir, 'runtime', 'include'), runtimeSrc],
    defines: {
      TM2_SELF_CHECK: true,
      TM2_COUNT_MARKERS: true,
      ...(o.ssh ? { TM2_REGION_TIMING: true } : {}),
      // One count region per op instead of per inference (templates/c/model.c.hbs): whatever kernels run.
      ...(profileLayers ? { TM2_PROFILE_LAYERS: true } : {}),
    },
    outDir: dir,
    name,
  });
  const run = await runFirmware(built.elf, board, {
    timeoutMs: o.timeoutMs,
    ssh: o.ssh,
    instructionMix: !o.ssh && !profileLayers,
    profileFunctions: !o.ssh && !profileLayers,
    measureStack: !o.ssh && !profileLayers && board.toolchain.kind === 'arm-none-eabi',
  });
  return { rows, run, sizes: built.sizes, model: bytesOfSources(built, modelSources) };
}

/** Rows per firmware build so that the embedded test vectors stay well inside the board's flash. */
function rowsPerBuild(model: GeneratedModel, board: Board): number {
  const perRow = model.inputs.reduce((n, io) => n + io.size * 5, 0) + model.outputs.reduce((n, io) => n + io.size, 0);
  // Leave a quarter of the flash for the model, the runtime and libc.
  const budget = board.memory.flash ? Math.min(VECTOR_BYTES_PER_BUILD, board.memory.flash.bytes * 0.7) : 8 * VECTOR_BYTES_PER_BUILD;
  return Math.max(1, Math.floor(budget / Math.max(1, perRow)));
}

/** Boards to estimate latency and energy for: the one that ran, then the real boards with the same core. */
function estimateBoards(board: Board): Board[] {
  const same = listBoards()
    .map((n) => loadBoard(n))
    .filter((b) => b.name !== board.name && b.core === board.core && b.run.kind === 'none');
  return [board, ...same];
}

export async function execute(args: Args<'verify'>): Promise<number> {
  const o = optionsFrom(args);
  const steps = progress({ quiet: o.quiet });
  const started = Date.now();
  const board = loadBoard(o.board);
  if (board.run.kind === 'none' && !o.ssh) {
    const proxy = listBoards().map((n) => loadBoard(n)).find((b) => b.core === board.core && b.run.kind !== 'none');
    throw new TinyM2Error(
      `board ${board.name} cannot run here (${board.run.reason})` +
        (proxy ? `; verify on ${proxy.name} (same ${board.core} core): its report includes ${board.name}'s estimates and whether the model fits it` : ''),
      { exitCode: EXIT_BAD_INPUT },
    );
  }
  const outDir = path.resolve(o.outDir);
  const name = modelNameIn(outDir);
  // The same quantized graph and generated model 'tinym2 compile' made: expectations come from it.
  const compiled = fromStoredGraph(outDir, o.recipe, o.limits) ?? rebuild(outDir, o.recipe, o.limits);
  const { q, io: graph, float: floatGraph } = compiled;
  const model = generateModel(q, { name, source: path.basename(compiled.modelPath), precision: 'as compiled' });
  const stale = differingSources(outDir, model);
  const set = loadDataSet(graph, o.data, o.rows ?? Infinity, o.limits);
  if (set.rows.length === 0) throw new TinyM2Error(`${o.data} has no rows`, { exitCode: EXIT_BAD_INPUT });

  // Build and run, in as many firmware images as the test vectors need.
  const buildDir = o.keep ? path.resolve(o.keep) : makeTempDir('tm2-verify');
  const chunks: ChunkRun[] = [];
  let layerRun: ChunkRun | undefined;
  try {
    const per = rowsPerBuild(model, board);
    const all = set.rows.map((_, r) => r);
    steps.stage(`verify: firmware builds and runs on ${board.name} (${set.rows.length} rows)`, Math.ceil(all.length / per));
    for (let start = 0, k = 0; start < all.length; start += per, k++) {
      chunks.push(await runChunk(o, board, outDir, name, q, model, set, all.slice(start, start + per), buildDir, k));
      steps.update(k + 1);
    }
    if (o.profileLayers) layerRun = await runChunk(o, board, outDir, name, q, model, set, all.slice(0, PROFILE_ROWS), buildDir, 0, true);
    steps.end();
  } finally {
    if (!o.keep) fs.rmSync(buildDir, { recursive: true, force: true });
  }

  // Device outputs vs the emulator, and top-1 scores.
  steps.stage(`verify: integer emulator on ${set.rows.length} rows`, 0);
  const vectors = computeTestVectors(q, model, set.rows);
  steps.end();
  const device: RowOutputs[] = [];
  let quantizeMismatches = 0;
  let scratchErrors = 0;
  const failures: string[] = [];
  for (const c of chunks) {
    let parsedRun;
    try {
      parsedRun = parseHarnessOutput(c.run.stdout);
    } catch (e) {
      const why = c.run.exitCode === 125 ? 'the firmware faulted' : `the firmware exited with ${c.run.exitCode}`;
      throw new TinyM2Error(`${why} before finishing rows ${c.rows[0]}..${c.rows[c.rows.length - 1]}: ${(e as Error).message}\n${c.run.stderr.trim()}`, {
        exitCode: EXIT_VERIFY_FAILED,
      });
    }
    c.rows.forEach((r, i) => (device[r] = parsedRun.outputs[i] ?? {}));
    quantizeMismatches += parsedRun.quantizeMismatches;
    scratchErrors += parsedRun.scratchErrors;
    if (c.run.exitCode !== 0 && parsedRun.mismatches === 0 && parsedRun.quantizeMismatches === 0 && parsedRun.scratchErrors === 0) {
      failures.push(`firmware exited with code ${c.run.exitCode}`);
    }
  }
  const floatTop1 = floatGraph
    ? set.rows.map((row) => {
        const outs = runFloat(floatGraph, row);
        return Object.fromEntries(model.outputs.map((io, k) => [io.field, argmax(outs.get(graph.outputs[k]!.name)!)]));
      })
    : undefined;
  const labels = Object.fromEntries(model.outputs.map((io, k) => [io.field, labelsFor(set, graph, graph.outputs[k]!.name)]));
  const comparison: Comparison = compareOutputs(device, vectors.expected, { labels, floatTop1 });
  const floatAccuracy = Object.fromEntries(
    model.outputs.map((io) => {
      const l = labels[io.field];
      return [io.field, l && floatTop1 ? floatTop1.filter((t, r) => t[io.field] === l[r]).length / set.rows.length : null];
    }),
  );
  // Top-1 of the emulator (what the firmware must compute) and the target's confusion matrix, per labelled output.
  const emulatorAccuracy = Object.fromEntries(
    model.outputs.map((io) => {
      const l = labels[io.field];
      return [io.field, l ? vectors.expected.filter((e, r) => argmax(e[io.field]!) === l[r]).length / set.rows.length : null];
    }),
  );
  const confusion: ConfusionMatrix[] = model.outputs.flatMap((io) => {
    const l = labels[io.field];
    if (!l) return [];
    const counts = Array.from({ length: io.size }, () => new Array<number>(io.size).fill(0));
    device.forEach((d, r) => {
      const label = l[r]!;
      if (d[io.field] && label >= 0 && label < io.size) counts[label]![argmax(d[io.field]!)]! += 1;
    });
    return [{ output: io.field, classes: io.size, counts }];
  });
  // Instructions per layer from the per-layer counting build (its outputs must be bit-exact too).
  let layers: Array<{ index: number; name: string; op: string; instructions: number }> | null = null;
  if (layerRun) {
    let parsedRun;
    try {
      parsedRun = parseHarnessOutput(layerRun.run.stdout);
    } catch (e) {
      throw new TinyM2Error(`the per-layer counting firmware failed (exit ${layerRun.run.exitCode}): ${(e as Error).message}\n${layerRun.run.stderr.trim()}`, { exitCode: EXIT_VERIFY_FAILED });
    }
    if (parsedRun.mismatches > 0) failures.push(`the per-layer counting build differs from the emulator in ${parsedRun.mismatches} rows`);
    const perOp = layerProfile(layerRun.run.regions, q.ops.length);
    layers = model.layers.map((l, i) => ({ index: l.index, name: l.name, op: l.kind, instructions: perOp[i]! }));
  }
  // The CI gates: accuracy floor, drop vs float, reference outputs (compiler/target/gates.ts).
  const scored = model.outputs.map((io) => ({ field: io.field, accuracy: comparison.outputs.find((x) => x.output === io.field)!.accuracy, floatAccuracy: floatAccuracy[io.field] }));
  const gates: GateCheck[] = accuracyGates(scored, o.gates);
  let expectReports: ExpectReport[] = [];
  if (o.gates.expect) {
    const quantized = model.outputs.map((io, k) => ({ name: graph.outputs[k]!.name, field: io.field, scale: io.scale, zeroPoint: io.zeroPoint }));
    const e = expectGate(o.gates.expect, device, quantized, { atol: o.gates.atol, rtol: o.gates.rtol });
    gates.push(...e.checks);
    expectReports = e.reports;
  }
  for (const g of gates) if (!g.ok) failures.push(g.message);
  if (!comparison.bitExact) failures.push(`${comparison.rows - Math.min(...comparison.outputs.map((s) => s.bitExactRows))} of ${comparison.rows} rows differ from the emulator`);
  if (quantizeMismatches) failures.push(`the generated quantize helpers differ from the emulator in ${quantizeMismatches} values`);
  if (scratchErrors) failures.push(`${scratchErrors} kernels need more scratch than the arena plan gave them`);
  if (failures.length > 0 && stale.length > 0) {
    failures.push(
      `${o.outDir} is probably stale or edited: ${stale.join(', ')} differ from what tinym2 generates now for this model and precision; ` +
        `recompile it (with the --plan / --precision compile was given) and verify again`,
    );
  }

  // Instructions, sizes, estimates.
  const instructions = chunks.flatMap((c) => c.run.regions);
  const perInference = instructions.length ? instructions.reduce((a, b) => a + b, 0) / instructions.length : null;
  const wallTimes = chunks.flatMap((c) => c.run.regionSeconds ?? []);
  const first = chunks[0]!;
  const mix = meanMix(chunks.flatMap((c) => c.run.mix ?? []));
  // Where the instructions of an inference go, per function (kernels, generated code), over all rows.
  const byFunction = new Map<string, number>();
  for (const c of chunks) for (const f of c.run.functions ?? []) byFunction.set(f.name, (byFunction.get(f.name) ?? 0) + f.instructions);
  const profileTotal = [...byFunction.values()].reduce((a, b) => a + b, 0);
  const functions = [...byFunction]
    .sort((a, b) => b[1] - a[1])
    .map(([fn, n]) => ({ name: fn, instructionsPerInference: n / set.rows.length, share: profileTotal ? n / profileTotal : 0 }));
  const estimates: InferenceEstimate[] =
    perInference !== null ? estimateBoards(board).map((b) => estimateInference(b, Math.round(perInference), mix)) : [];
  // Peak stack inside inferences (measured on bare-metal boards), over all firmware runs.
  const peaks = chunks.map((c) => c.run.stackPeakBytes).filter((p): p is number => typeof p === 'number');
  const stackPeakBytes = peaks.length ? Math.max(...peaks) : null;
  // Whether the model itself (code, weights, arena; not the test harness) fits each of those boards, with
  // the measured peak stack (or the board's stack reserve when not measured) on top of the model's RAM.
  const fits = estimateBoards(board).map((b) => ({
    board: b.name,
    flashBytes: b.memory.flash?.bytes ?? null,
    ramBytes: b.memory.ram.bytes,
    fits:
      (b.memory.flash === undefined || first.model.flash <= b.memory.flash.bytes) &&
      first.model.ram + (stackPeakBytes ?? b.memory.stackBytes) <= b.memory.ram.bytes,
  }));
  const seconds = (Date.now() - started) / 1000;

  const report = {
    ok: failures.length === 0,
    out: o.outDir,
    model: name,
    onnx: compiled.modelPath,
    expectationsFrom: compiled.source,
    notes: compiled.notes,
    board: board.name,
    runner: first.run.runner,
    data: o.data,
    rows: set.rows.length,
    firmwareBuilds: chunks.length,
    bitExact: comparison.bitExact,
    mismatches: comparison.mismatches,
    quantizeMismatches,
    scratchErrors,
    sourcesMatchGenerator: stale.length === 0,
    differingSources: stale,
    outputs: model.outputs.map((io, k) => {
      const s = comparison.outputs.find((x) => x.output === io.field)!;
      return {
        name: graph.outputs[k]!.name,
        field: io.field,
        bitExactRows: s.bitExactRows,
        accuracy: s.accuracy,
        floatAccuracy: floatAccuracy[io.field],
        agreementWithFloat: s.agreementWithFloat,
        emulatorAccuracy: emulatorAccuracy[io.field] ?? null,
      };
    }),
    layers,
    profiledRows: layerRun ? layerRun.rows.length : null,
    // Instructions per inference over the same rows as the per-layer build: the layers add up to a little less (copies, calls).
    profiledInference: layerRun && instructions.length >= layerRun.rows.length ? layerRun.rows.reduce((a, r) => a + instructions[r]!, 0) / layerRun.rows.length : null,
    confusion,
    instructionsPerInference: perInference === null ? null : { mean: perInference, min: Math.min(...instructions), max: Math.max(...instructions) },
    instructionMix: mix ?? null,
    functions,
    measuredSecondsPerInference: wallTimes.length ? wallTimes.reduce((a, b) => a + b, 0) / wallTimes.length : null,
    measuredPowerW: first.run.averagePowerW ?? null,
    modelBytes: {
      flash: first.model.flash,
      ram: first.model.ram,
      text: first.model.text,
      rodata: first.model.rodata,
      data: first.model.data,
      bss: first.model.bss,
      arena: model.arenaBytes,
      weights: model.weightBytes,
      stackPeak: stackPeakBytes,
    },
    firmwareBytes: first.sizes,
    estimates,
    fits,
    gates,
    expect: o.gates.expect ? { file: o.gates.expect, outputs: expectReports } : null,
    failures,
    report: o.report ?? null,
    seconds,
  };

  // What a later 'tinym2 report OUT_DIR' shows of this run.
  writeVerifyArtifact(outDir, {
    digest: sourcesDigest(outDir, model),
    board: board.name,
    data: o.data,
    rows: set.rows.length,
    instructionsPerInference: perInference,
    profiledInference: report.profiledInference,
    layers,
    profiledRows: report.profiledRows,
    modelBytes: { text: first.model.text, rodata: first.model.rodata, data: first.model.data, weights: model.weightBytes },
    outputs: report.outputs.map((x) => ({
      output: x.field,
      rows: set.rows.length,
      float: x.floatAccuracy,
      emulator: x.emulatorAccuracy,
      target: x.accuracy,
      agreementWithFloat: x.agreementWithFloat,
      bitExactRows: x.bitExactRows,
    })),
    confusion,
  });
  if (o.report) {
    // Loaded only here: the charting library is not needed by a plain verify.
    const [{ reportFromModel }, { writeReport }] = await Promise.all([import('../report/outdir.ts'), import('../report/write.ts')]);
    await writeReport(o.report, reportFromModel(rebuildModel(outDir, o.recipe), [`tinym2 verify ${o.outDir} --data ${o.data} --board ${board.name}`]));
  }
  if (o.junit) writeJUnit(o.junit, report, comparison, board, name, set.rows.length, seconds);
  if (o.json) {
    console.log(JSON.stringify(report satisfies VerifyJson, null, 2));
  } else {
    console.log(humanReport(report, estimates, comparison));
  }
  return failures.length === 0 ? 0 : EXIT_VERIFY_FAILED;
}

type Report = {
  ok: boolean;
  model: string;
  out: string;
  board: string;
  runner: string;
  data: string;
  rows: number;
  firmwareBuilds: number;
  differingSources: string[];
  outputs: Array<{ name: string; field: string; bitExactRows: number; accuracy: number | null; floatAccuracy: number | null; agreementWithFloat: number | null }>;
  instructionsPerInference: { mean: number; min: number; max: number } | null;
  instructionMix: InstructionMix | null;
  functions: Array<{ name: string; instructionsPerInference: number; share: number }>;
  layers: Array<{ index: number; name: string; op: string; instructions: number }> | null;
  profiledRows: number | null;
  measuredSecondsPerInference: number | null;
  measuredPowerW: number | null;
  modelBytes: { flash: number; ram: number; text: number; rodata: number; data: number; bss: number; arena: number; weights: number; stackPeak: number | null };
  firmwareBytes: ElfSizes;
  fits: Array<{ board: string; flashBytes: number | null; ramBytes: number; fits: boolean }>;
  gates: GateCheck[];
  notes: string[];
  failures: string[];
  seconds: number;
};

const pct = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`);
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

function humanReport(r: Report, estimates: InferenceEstimate[], c: Comparison): string {
  const lines = [`verify ${r.model} (${r.out}) on ${r.board} via ${r.runner}: ${r.rows} rows of ${r.data}` + (r.firmwareBuilds > 1 ? ` in ${r.firmwareBuilds} firmware builds` : '')];
  for (const o of r.outputs) {
    lines.push(
      `  ${o.field}: bit-exact ${o.bitExactRows}/${r.rows} rows vs the emulator; top-1 ${pct(o.accuracy)} vs labels (float model ${pct(o.floatAccuracy)}); ` +
        `top-1 agreement with float ${pct(o.agreementWithFloat)}`,
    );
  }
  for (const m of c.mismatches.slice(0, 5)) {
    lines.push(`    row ${m.row} ${m.output}: ${m.differing} values differ, e.g. [${m.indices.join(', ')}] device [${m.device.join(', ')}] emulator [${m.expected.join(', ')}]`);
  }
  const ipi = r.instructionsPerInference;
  if (ipi) lines.push(`  instructions per inference: ${int(ipi.mean)}${ipi.min !== ipi.max ? ` (min ${int(ipi.min)}, max ${int(ipi.max)})` : ''}`);
  if (r.instructionMix) {
    const total = mixInstructions(r.instructionMix);
    const share = MIX_CLASSES.filter((c) => c !== 'regs' && r.instructionMix![c] > 0).map((c) => `${c} ${((r.instructionMix![c] / total) * 100).toFixed(1)}%`);
    lines.push(`  instruction mix: ${share.join(', ')}`);
  }
  if (r.functions.length) {
    const top = r.functions.slice(0, 6).map((f) => `${f.name} ${(f.share * 100).toFixed(1)}%`);
    lines.push(`  where they go: ${top.join(', ')}${r.functions.length > 6 ? `, ${r.functions.length - 6} more` : ''}`);
  }
  if (r.layers) {
    const total = r.layers.reduce((a, l) => a + l.instructions, 0);
    const top = [...r.layers].sort((a, b) => b.instructions - a.instructions).slice(0, 6).map((l) => `${l.name} (${l.op}) ${((100 * l.instructions) / total).toFixed(1)}%`);
    lines.push(`  per layer (${r.profiledRows} rows, per-layer counting build): ${top.join(', ')}${r.layers.length > 6 ? `, ${r.layers.length - 6} more` : ''}`);
  }
  if (r.measuredSecondsPerInference !== null) lines.push(`  measured: ${(r.measuredSecondsPerInference * 1e3).toFixed(3)} ms per inference`);
  if (r.measuredPowerW !== null) lines.push(`  measured power: ${(r.measuredPowerW * 1e3).toFixed(1)} mW`);
  const b = r.modelBytes;
  lines.push(
    `  model in the firmware: flash ${int(b.flash)} bytes (code ${int(b.text)}, const ${int(b.rodata)}, data ${int(b.data)}), ` +
      `RAM ${int(b.ram)} bytes (arena ${int(b.arena)}) + ` +
      (b.stackPeak === null ? 'stack (not measured here)' : `stack ${int(b.stackPeak)} bytes at its deepest (measured; the caller's frames included)`),
  );
  lines.push(`  whole test firmware: flash ${int(r.firmwareBytes.flashBytes)} bytes, RAM ${int(r.firmwareBytes.ramBytes)} bytes (with test vectors, libc, stack and heap reserves)`);
  for (const e of estimates) {
    const f = r.fits.find((x) => x.board === e.board);
    const room = f ? `; model ${f.fits ? 'fits' : 'does NOT fit'} (flash ${f.flashBytes === null ? '-' : int(f.flashBytes)}, RAM ${int(f.ramBytes)})` : '';
    lines.push(`  ${e.board}: ${formatEstimate(e)}${room}`);
  }
  for (const n of r.notes) lines.push(`  note: ${n}`);
  for (const g of r.gates) lines.push(`  ${g.ok ? 'ok  ' : 'FAIL'} ${g.message}`);
  if (r.differingSources.length && r.failures.length === 0) {
    lines.push(`  note: ${r.differingSources.join(', ')} differ from what tinym2 generates for this model and precision (edited or stale), yet all outputs match`);
  }
  lines.push(r.failures.length === 0 ? `OK: bit-exact on all ${r.rows} rows${r.gates.length ? `, ${r.gates.length} gates passed` : ""} (${r.seconds.toFixed(1)} s)` : `FAILED: ${r.failures.join('; ')}`);
  return lines.join('\n');
}

function writeJUnit(file: string, r: Report, c: Comparison, board: Board, name: string, rows: number, seconds: number): void {
  const classname = `${name}.${board.name}`;
  const cases: JUnitCase[] = [];
  for (let row = 0; row < rows; row++) {
    const bad = c.mismatches.filter((m) => m.row === row);
    const truncated = !c.bitExact && c.mismatches.length >= 20 && bad.length === 0 && row > c.mismatches[c.mismatches.length - 1]!.row;
    cases.push({
      classname,
      name: `row ${row} bit-exact`,
      failure: bad.length
        ? { message: bad.map((m) => `${m.output}: ${m.differing} values differ`).join('; '), details: JSON.stringify(bad) }
        : truncated
          ? { message: 'not checked in detail (mismatch list truncated)' }
          : undefined,
    });
  }
  const check = (label: string, failed: string | undefined, output?: string): void => {
    cases.push({ classname, name: label, failure: failed ? { message: failed } : undefined, output });
  };
  check('quantize helpers match the emulator', r.failures.find((f) => f.includes('quantize')));
  check('kernel scratch fits the arena plan', r.failures.find((f) => f.includes('scratch')));
  check('firmware exit code', r.failures.find((f) => f.startsWith('firmware exited')));
  for (const o of r.outputs) {
    check(`${o.field} top-1`, undefined, `accuracy ${pct(o.accuracy)} (float ${pct(o.floatAccuracy)}), agreement with float ${pct(o.agreementWithFloat)}`);
  }
  for (const g of r.gates) check(g.name, g.ok ? undefined : g.message, g.message);
  if (r.instructionsPerInference) check('instructions per inference', undefined, String(Math.round(r.instructionsPerInference.mean)));
  const xml = toJUnitXml(
    [
      {
        name: `${name} on ${board.name}`,
        seconds,
        properties: {
          board: board.name,
          rows,
          'flash.model.bytes': r.modelBytes.flash,
          'ram.model.bytes': r.modelBytes.ram,
          ...(r.instructionsPerInference ? { 'instructions.per.inference': Math.round(r.instructionsPerInference.mean) } : {}),
        },
        cases,
      },
    ],
    'tinym2 verify',
  );
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, xml);
  fs.renameSync(tmp, file);
}
