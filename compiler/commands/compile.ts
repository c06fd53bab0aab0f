// `tinym2 compile model.onnx --calib calib.npz [...] -o out/`: ONNX -> quantized, lowered graph ->
// C99 sources a firmware engineer drops into a project (compiler/codegen/), with sizes and a
// per-layer table. Precision comes from a plan file, a flash budget (the mixed-precision planner),
// or a uniform choice. The output directory appears whole or not at all.
import { resolveBlocks } from '../admn/blocks.ts';
import { admnDeclarations, admnLowerOptions } from '../admn/pipeline.ts';
import { readFileSync, rmSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { makeTempDir } from '../cache.ts';
import { progress, textProgress, type Progress } from '../progress.ts';
import type { CompileJson } from '../cli/json-output.ts';
import type { Args } from '../cli/options.ts';
import { EXIT_BUDGET, EXIT_VERIFY_FAILED, TinyM2Error } from '../errors.ts';
import type { Graph } from '../ir.ts';
import { isWeighted } from '../ops/registry.ts';
import { generateModel, modelNameFromFile, runtimeFiles, type GeneratedModel } from '../codegen/generate.ts';
import { checkOnHost } from '../codegen/hostcheck.ts';
import { MANIFEST_FILE, QGRAPH_FILE, sha256File, type Manifest } from '../codegen/manifest.ts';
import { writeOutputDir } from '../codegen/output.ts';
import { harnessSource, type HarnessResult } from '../codegen/testvectors.ts';
import { cIdentifier } from '../codegen/names.ts';
import { loadOnnx } from '../onnx/import.ts';
import { calibrateGraph, loadDataSet, uniform, type DataSet } from '../quant/evaluate.ts';
import { quantizeGraph } from '../quant/lower.ts';
import { qgraphToJson } from '../quant/qgraph-json.ts';
import { loadPlan, type PrecisionPlan } from '../quant/plan.ts';
import type { PlanResult } from '../ilp/planner.ts';
import { planSection } from '../report/gather.ts';
import type { Int4Activations, QGraph } from '../quant/qgraph.ts';
import { int4BytesPerElement } from '../quant/act-storage.ts';
import { loadBoard, type Board } from '../target/boards.ts';
import { CODE_RESERVE_BYTES } from './plan.ts';

/** The plan with the sensitivity behind it, as 'tinym2 plan' writes plan.json: tinym2.json keeps it for 'tinym2 report'. */
function withEvidence(result: PlanResult): PrecisionPlan {
  return { ...result.plan, evidence: planSection(result.layers[0]?.sensitivity.criterion ?? 'none', result.layers) } as PrecisionPlan;
}

/** Runs the mixed-precision planner (Hessian sensitivity + ILP), as `tinym2 plan` does. */
async function planMixed(graph: Graph, calib: DataSet, flashBytes: number | undefined, board: Board | undefined, modelName: string, steps: Progress): Promise<{ plan: PrecisionPlan; note: string }> {
  let planner: typeof import('../ilp/planner.ts');
  try {
    planner = await import('../ilp/planner.ts');
  } catch (e) {
    throw new TinyM2Error(`mixed precision needs the planner (compiler/ilp), which failed to load: ${(e as Error).message}; use --precision int8 or int4`);
  }
  const budgets: { flashBytes?: number; ramBytes?: number } = {};
  let note: string;
  // The ILP is quick on the examples (milliseconds) but grows with the layer count: a stage line keeps CI logs honest.
  const solve = (sens: ReturnType<typeof planner.measureSensitivity>) => {
    steps.stage('ILP: choosing bits per layer under the budget', 0);
    const result = planner.planFromSensitivity(graph, sens, budgets, true, modelName);
    steps.end();
    return result;
  };
  const measure = () => {
    const status = textProgress(steps);
    const sens = planner.measureSensitivity(graph, calib, calib, undefined, { onProgress: status.say });
    status.end();
    return sens;
  };
  if (flashBytes !== undefined) {
    budgets.flashBytes = flashBytes;
    note = `mixed precision for a weight budget of ${flashBytes} bytes (--flash)`;
  } else if (board?.memory.flash) {
    budgets.flashBytes = Math.max(0, board.memory.flash.bytes - CODE_RESERVE_BYTES);
    note = `mixed precision for board ${board.name}: weights within its flash minus a ${CODE_RESERVE_BYTES / 1024} KB code reserve (${budgets.flashBytes} bytes)`;
  } else {
    // The paper's target, as `tinym2 plan` sets it: 20% of the FP32 weight bytes, or all-INT4 when
    // that is more (per-channel bias and requantization data make small models miss 20%).
    const { evaluateAssignment, uniformAssignment } = await import('../ilp/problem.ts');
    const sens = measure();
    const target = Math.floor(planner.DEFAULT_FLASH_FRACTION * planner.fp32WeightBytes(sens.layers));
    const probe = planner.buildProblem(graph, sens, {}, true);
    const int4 = evaluateAssignment(probe, uniformAssignment(probe, 4)).weightBytes;
    budgets.flashBytes = Math.max(target, int4);
    note =
      target >= int4
        ? `mixed precision for the paper's target: ${planner.DEFAULT_FLASH_FRACTION * 100}% of the FP32 weight bytes (${target} bytes)`
        : `mixed precision: the paper's target (${planner.DEFAULT_FLASH_FRACTION * 100}% of FP32 weight bytes, ${target}) is below all-INT4 (${int4} bytes), so the budget is all-INT4`;
    return { plan: withEvidence(solve(sens)), note };
  }
  planner.checkBudgets(graph, budgets, true, modelName);
  const sens = measure();
  return { plan: withEvidence(solve(sens)), note };
}

/** Refuses (exit 3) a model whose weights or arena do not fit the board. */
function checkFits(model: GeneratedModel, board: Board, modelFile: string): void {
  const ram = board.memory.ram.bytes - board.memory.stackBytes - board.memory.heapBytes;
  if (model.arenaBytes > ram) {
    throw new TinyM2Error(
      `${modelFile} needs a ${model.arenaBytes}-byte arena, but board ${board.name} has ${ram} bytes of RAM after stack and heap: ` +
        `use a smaller model or input, or a board with more RAM`,
      { exitCode: EXIT_BUDGET, details: { board: board.name, arenaBytes: model.arenaBytes, ramBytes: ram } },
    );
  }
  if (board.memory.flash) {
    const flash = board.memory.flash.bytes - CODE_RESERVE_BYTES;
    if (model.weightBytes > flash) {
      throw new TinyM2Error(
        `${modelFile} has ${model.weightBytes} bytes of weights, but board ${board.name} has ${flash} bytes of flash after a ${CODE_RESERVE_BYTES / 1024} KB code reserve: ` +
          `try --precision int4, or --flash ${flash} for mixed precision`,
        { exitCode: EXIT_BUDGET, details: { board: board.name, weightBytes: model.weightBytes, flashBytes: flash } },
      );
    }
  }
}

/**
 * The same budgets as checkFits, from shapes alone, before any data is read or calibrated: the
 * weights at `minWeightBits` (4 when the planner may still choose INT4) and the largest activation
 * at one byte per value (half for inner tensors when INT4 is possible and --int4-activations is
 * packed) are lower bounds of what the generated model needs. A model that cannot fit
 * is refused in milliseconds instead of after calibrating a 2^30-row activation.
 */
function checkFitsFromShapes(graph: Graph, board: Board, modelFile: string, minWeightBits: 4 | 8, int4Activations: Int4Activations): void {
  let weights = 0;
  for (const n of graph.nodes) if (isWeighted(n)) weights += graph.constants.get(n.weight)!.data.length;
  const weightBytes = Math.ceil((weights * minWeightBits) / 8);
  // Graph inputs and outputs are one byte per value; inner tensors may be packed INT4 (half) when
  // the plan may choose 4 bits and they are stored packed (compiler/quant/act-storage.ts).
  const inner = minWeightBits === 8 ? 1 : int4BytesPerElement(int4Activations);
  const io = new Set([...graph.inputs, ...graph.outputs].map((t) => t.name));
  let largest = 0, largestName = '';
  for (const t of graph.tensors.values()) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const size = io.has(t.name) ? n : Math.ceil(n * inner);
    if (size > largest) { largest = size; largestName = t.name; }
  }
  const ram = board.memory.ram.bytes - board.memory.stackBytes - board.memory.heapBytes;
  if (largest > ram) {
    throw new TinyM2Error(
      `${modelFile} needs at least a ${largest}-byte arena (activation '${largestName}' alone, counted from the shapes), but board ${board.name} has ${ram} bytes of RAM after stack and heap: ` +
        'use a smaller model or input, or a board with more RAM',
      { exitCode: EXIT_BUDGET, details: { board: board.name, tensor: largestName, bytes: largest, ramBytes: ram } },
    );
  }
  if (board.memory.flash && weightBytes > board.memory.flash.bytes - CODE_RESERVE_BYTES) {
    const flash = board.memory.flash.bytes - CODE_RESERVE_BYTES;
    throw new TinyM2Error(
      `${modelFile} has at least ${weightBytes} bytes of weights (${weights} weights at INT${minWeightBits}, counted from the shapes), but board ${board.name} has ${flash} bytes of flash after a ${CODE_RESERVE_BYTES / 1024} KB code reserve: ` +
        (minWeightBits === 8 ? 'try --precision int4 or mixed precision' : 'use a smaller model or a board with more flash'),
      { exitCode: EXIT_BUDGET, details: { board: board.name, weightBytes, flashBytes: flash } },
    );
  }
}

function table(rows: string[][], rightFrom: number): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c >= rightFrom ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n');
}

/**
 * The in-memory part of `tinym2 compile`: calibrate on `rows`, lower with `plan`, generate the C
 * sources (and the test harness for `testRows`), and check the board's budgets. Writes nothing.
 */
export function compileGraph(
  graph: Graph,
  rows: DataSet['rows'],
  plan: PrecisionPlan,
  options: { name: string; source: string; precision: string; perChannelInputs: boolean; int4Activations?: Int4Activations; testRows?: DataSet['rows']; board?: Board; steps?: Progress },
): { q: QGraph; model: GeneratedModel } {
  options.steps?.stage('calibrating activation ranges', rows.length);
  const calibration = calibrateGraph(graph, rows, {}, (done) => options.steps?.update(done));
  options.steps?.end();
  // ADMN models (blocks declared in the ONNX metadata) get one quantization per residual stream and run_layers.
  const admnDecls = admnDeclarations(graph);
  const q: QGraph = quantizeGraph(graph, calibration, plan, admnLowerOptions(admnDecls, { perChannelInputs: options.perChannelInputs, int4Activations: options.int4Activations }));
  const admn = admnDecls ? resolveBlocks(q, admnDecls) : undefined;
  const model = generateModel(q, { name: options.name, source: options.source, precision: options.precision, ...(admn ? { admn } : {}) });
  if (options.board) checkFits(model, options.board, options.source);
  if (options.testRows) model.files.set(`${options.name}_test.c`, harnessSource(q, model, options.testRows));
  return { q, model };
}

export async function execute(o: Args<'compile'>): Promise<number> {
  const modelPath = o.positional;
  const graph = loadOnnx(modelPath, o);
  const modelFile = basename(modelPath);
  const name = o.name !== undefined ? cIdentifier(o.name) : modelNameFromFile(modelPath);
  if (o.name !== undefined && o.name !== name) throw new TinyM2Error(`--name '${o.name}' is not a C identifier: use e.g. '${name}'`);
  const outDir = o.out ?? `out/${name}`;
  const board = o.board ? loadBoard(o.board) : undefined;
  const planFile = o.plan ? loadPlan(o.plan, graph) : undefined;
  // The storage the plan's RAM and instruction figures assume, unless the command line says otherwise.
  const int4Activations: Int4Activations = o.int4Activations ?? planFile?.int4Activations ?? 'packed';
  if (board) checkFitsFromShapes(graph, board, modelFile, o.precision === 'int8' || (!o.precision && !o.plan && !o.flash) ? 8 : 4, int4Activations);
  const calib = loadDataSet(graph, o.calib, Infinity, o);
  if (calib.rows.length === 0) throw new TinyM2Error(`${o.calib} has no rows`);
  const vectors = o.vectors ?? 8;
  const testSet = o.test ? loadDataSet(graph, o.test, vectors, o) : undefined;
  if (testSet && testSet.rows.length === 0) throw new TinyM2Error(`${o.test} has no rows`);

  const notes: string[] = [...(graph.notes ?? [])];
  const steps = progress({ quiet: o.quiet });
  let plan: PrecisionPlan;
  let precision: string;
  if (o.plan && planFile) {
    plan = planFile;
    if (o.int4Activations && planFile.int4Activations && o.int4Activations !== planFile.int4Activations) {
      notes.push(`--int4-activations ${o.int4Activations}, but ${basename(o.plan)} was planned for ${planFile.int4Activations}: its RAM and instruction figures assumed that storage`);
    }
    precision = `mixed precision from ${basename(o.plan)}`;
  } else if (o.flash !== undefined || o.precision === 'mixed') {
    const flash = o.flash;
    const r = await planMixed(graph, calib, flash, board, modelFile, steps);
    plan = r.plan;
    notes.push(r.note);
    precision = flash !== undefined ? `mixed precision, weights within ${flash} bytes` : 'mixed precision';
  } else {
    const bits = o.precision === 'int4' ? 4 : 8;
    plan = uniform(graph, bits);
    precision = `INT${bits}`;
  }

  const perChannelInputs = !o.perTensorInputs;
  const { q, model } = compileGraph(graph, calib.rows, plan, { name, source: modelFile, precision, perChannelInputs, int4Activations, testRows: testSet?.rows, board, steps });
  // How this directory was made (paths relative to it), and the quantized graph itself (qgraph.json), so that
  // `tinym2 verify OUT_DIR --data test.npz` computes its expectations from what was compiled even when the folder
  // has moved away from the model (read by compiler/commands/verify.ts). The model's hash tells verify whether
  // the model it finds is the one compiled, for the comparison with the float model.
  const fromOut = (file: string) => relative(resolve(outDir), resolve(file));
  model.files.set(QGRAPH_FILE, `${qgraphToJson(q)}\n`);
  const manifest: Manifest = {
    model: fromOut(modelPath), modelSha256: sha256File(modelPath), calib: fromOut(o.calib), name, precision, perChannelInputs, ...(int4Activations === 'bytes' ? { int4Activations } : {}), plan,
    qgraph: QGRAPH_FILE, inputs: graph.inputs, outputs: graph.outputs,
  };
  model.files.set(MANIFEST_FILE, `${JSON.stringify(manifest, null, 2)}\n`);
  const written = writeOutputDir(outDir, model.files);
  let check: HarnessResult | undefined;
  if (o.check) {
    const buildDir = makeTempDir('tm2-check');
    try {
      check = checkOnHost(outDir, name, { buildDir, runtimeSources: runtimeFiles().filter((f) => f.endsWith('.c')) });
    } finally {
      rmSync(buildDir, { recursive: true, force: true });
    }
  }
  const checkFailed = check !== undefined && (check.mismatches > 0 || check.quantizeMismatches > 0 || check.scratchErrors > 0);
  if (o.report) {
    // Loaded only here: the charting library is not needed by a plain compile.
    const [{ reportFromModel }, { writeReport }] = await Promise.all([import('../report/outdir.ts'), import('../report/write.ts')]);
    const recipe = { model: modelPath, calib: o.calib, plan, perChannelInputs, int4Activations };
    const data = reportFromModel({ outDir: resolve(outDir), name, recipe, graph, plan, q, model }, [`tinym2 compile ${modelFile} --calib ${basename(o.calib)}`, ...notes]);
    await writeReport(o.report, data);
  }

  const layerRows = model.layers.map((l) => ({
    index: l.index,
    name: l.name,
    kind: l.kind,
    output: l.output,
    bits: l.weightBits ? `${l.weightBits}/${l.activationBits}` : `-/${l.activationBits}`,
    weightBytes: l.weightBytes,
    macs: l.macs,
    writes: l.writes,
  }));
  if (o.json) {
    console.log(
      JSON.stringify(
        {
          ok: true,
          model: modelFile,
          name,
          out: outDir,
          precision,
          plan,
          board: board?.name,
          weightBytes: model.weightBytes,
          arenaBytes: model.arenaBytes,
          arenaLowerBound: model.lowerBound,
          unsharedActivationBytes: model.memory.unsharedBytes,
          macs: model.macs,
          perChannelInputs,
          int4Activations,
          inputs: model.inputs.map((i) => ({ name: i.tensor, field: i.field, onnxShape: i.onnxShape, scale: i.scale, zeroPoint: i.zeroPoint, bits: i.bits, ...(i.channelAffine ? { channelAffine: i.channelAffine } : {}) })),
          outputs: model.outputs.map((i) => ({ name: i.tensor, field: i.field, onnxShape: i.onnxShape, scale: i.scale, zeroPoint: i.zeroPoint, bits: i.bits })),
          layers: layerRows,
          files: written,
          report: o.report ?? null,
          testRows: testSet?.rows.length ?? 0,
          check: check && { rows: check.rows, mismatches: check.mismatches, quantizeMismatches: check.quantizeMismatches, scratchErrors: check.scratchErrors },
          notes,
        } satisfies CompileJson,
        null,
        2,
      ),
    );
    return checkFailed ? EXIT_VERIFY_FAILED : 0;
  }
  const rows = [['#', 'layer', 'kernel', 'out [H,W,C]', 'W/A bits', 'writes', 'weight bytes', 'MACs']];
  for (const l of layerRows) rows.push([String(l.index), l.name, l.kind, `[${l.output.join(',')}]`, l.bits, l.writes, String(l.weightBytes), String(l.macs)]);
  const lines = [
    `${modelFile} -> ${outDir} (tm2_${name}_run, ${precision})`,
    '',
    table(rows, 6),
    '',
    `weights: ${model.weightBytes} bytes (const)`,
    `arena:   ${model.arenaBytes} bytes (lower bound ${model.lowerBound}; ${model.memory.unsharedBytes} without sharing)`,
    `MACs:    ${model.macs} per inference`,
  ];
  // A recurrent layer's state (16-bit cell / hidden state and its input column) lives in the arena for its whole sequence.
  const state = model.memory.buffers.filter((b) => b.name.startsWith('state#'));
  if (state.length > 0) lines.splice(lines.length - 1, 0, `         of which ${state.reduce((s, b) => s + b.bytes, 0)} bytes recurrent state (${state.map((b) => `${b.bytes} for ${q.ops[Number(b.name.slice(6))]?.name ?? b.name}`).join(', ')})`);
  if (board) lines.push(`fits board ${board.name}`);
  if (testSet) lines.push(`test harness: ${name}_test.c with ${testSet.rows.length} rows of ${basename(o.test!)}`);
  if (check) {
    lines.push(
      checkFailed
        ? `host check FAILED: ${check.mismatches} output values differ from the integer emulator, ${check.quantizeMismatches} quantized inputs differ, ${check.scratchErrors} kernels need more scratch than planned`
        : `host check: gcc -std=c99 -Wall -Wextra -Werror -pedantic, ${check.rows} rows bit-exact with the integer emulator`,
    );
  }
  for (const n of notes) lines.push(`note: ${n}`);
  lines.push(`wrote ${written.length} files`);
  console.log(lines.join('\n'));
  return checkFailed ? EXIT_VERIFY_FAILED : 0;
}
