// `tinym2 plan model.onnx --calib calib.npz [...]`: mixed-precision planning (TinyM²Net / HAWQ-v3).
// Per-layer sensitivity on held-out rows (compiler/sensitivity/criteria.ts, --sensitivity) -> Omega at
// 4 and 8 bits -> ILP under the flash / BOPS / RAM / instruction budgets -> plan.json, with accuracies
// in the integer emulator when --test is given.
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { progress as progressOn, textProgress } from '../progress.ts';
import type { PlanJson } from '../cli/json-output.ts';
import type { Args } from '../cli/options.ts';
import { TinyM2Error } from '../errors.ts';
import type { Graph } from '../ir.ts';
import { analyzeLayers } from '../ilp/from-graph.ts';
import {
  DEFAULT_FLASH_FRACTION,
  checkBudgets,
  defaultFlashBudget,
  labelsForEveryHead,
  measureSensitivity,
  modelCosts,
  planFromSensitivity,
  refineByAccuracy,
  type Budgets,
  type ModelCosts,
  type PlanResult,
} from '../ilp/planner.ts';
import { loadOnnx } from '../onnx/import.ts';
import { calibrateOnSet, evaluatePlan, loadDataSet, type DataSet } from '../quant/evaluate.ts';
import { uniformPlan, type PrecisionPlan } from '../quant/plan.ts';
import { DEFAULT_TRACE_OPTIONS } from '../sensitivity/hutchinson.ts';
import { CRITERION_NAMES, isCriterion } from '../sensitivity/criteria.ts';
import { countLayerInstructions } from '../ilp/latency.ts';
import { ensureCacheDir, makeTempDir } from '../cache.ts';
import { loadBoard } from '../target/boards.ts';
import { instructionsWithin } from '../target/power.ts';
import { layerSection, memorySection, planSection } from '../report/gather.ts';

/** Flash kept for code (kernels, generated network code, startup, libc) when the budget comes from a board. */
export const CODE_RESERVE_BYTES = 64 * 1024;

/** Sizes are parsed by the CLI (compiler/cli/values.ts); re-exported for the planner's callers. */
export { parseSize } from '../cli/values.ts';

interface BoardBudget {
  name: string;
  flashBytes?: number;
  ramBytes?: number;
}

/** The weight and arena budgets of a board file (schema-checked by compiler/target/boards.ts). */
export function boardBudget(name: string): BoardBudget {
  const mem = loadBoard(name).memory;
  const out: BoardBudget = { name };
  if (mem.flash?.bytes) out.flashBytes = Math.max(0, mem.flash.bytes - CODE_RESERVE_BYTES);
  if (mem.ram.bytes) out.ramBytes = Math.max(0, mem.ram.bytes - mem.stackBytes - mem.heapBytes);
  return out;
}

function kb(n: number): string {
  return n >= 10240 ? `${(n / 1024).toFixed(1)} KB` : `${n} B`;
}

function fmtOmega(x: number): string {
  return x === 0 ? '0' : x.toExponential(2);
}

function table(rows: string[][], rightFrom: number): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c >= rightFrom ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n');
}

interface AccuracyRow {
  name: string;
  weightBytes: number;
  /** Top-1 per output; null where the test rows have no labels for that output. */
  accuracy: Record<string, number | null>;
}

const nullIfNaN = (r: Record<string, number>): Record<string, number | null> => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number.isNaN(v) ? null : v]));

function measureAccuracy(graph: Graph, costs: ModelCosts, calib: DataSet, test: DataSet, plan: PrecisionPlan, perChannelInputs: boolean, progress: (s: string) => void): AccuracyRow[] {
  progress('calibrating activation ranges');
  const calibration = calibrateOnSet(graph, calib);
  const names = analyzeLayers(graph).map((l) => l.name);
  const rows: AccuracyRow[] = [];
  let fp32: Record<string, number> | undefined;
  for (const [name, p] of [
    ['INT8', uniformPlan(plan.model, names, 8)],
    ['INT4', uniformPlan(plan.model, names, 4)],
    ['mixed (plan)', plan],
  ] as const) {
    progress(`emulating ${name} on ${test.rows.length} test rows`);
    const ev = evaluatePlan(graph, calib, test, p, {}, calibration, { perChannelInputs });
    fp32 ??= ev.floatAccuracyPerOutput;
    rows.push({ name, weightBytes: ev.weightBytes, accuracy: nullIfNaN(ev.accuracyPerOutput) });
  }
  return [{ name: 'FP32', weightBytes: costs.fp32Bytes, accuracy: nullIfNaN(fp32!) }, ...rows];
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new TinyM2Error(`cannot write ${file}: ${(e as Error).message}`);
  }
}

export async function execute(o: Args<'plan'>): Promise<number> {
  const json = o.json;
  // Status lines on stderr (a live bar on a terminal, a line every ~5 s in CI logs); stdout stays for --json.
  const status = textProgress(progressOn({ quiet: o.quiet }));
  const progress = status.say;
  const endProgress = status.end;

  const criterion = o.sensitivity;
  if (!isCriterion(criterion)) throw new TinyM2Error(`--sensitivity '${criterion}': use one of ${CRITERION_NAMES.join(', ')}`);
  const modelPath = o.positional;
  const outFile = resolve(o.out);
  const budgets: Budgets = {};
  const notes: string[] = [];
  if (o.board) {
    const b = boardBudget(o.board);
    if (b.flashBytes !== undefined) {
      budgets.flashBytes = b.flashBytes;
      notes.push(`flash budget from board ${b.name}: its flash minus a ${CODE_RESERVE_BYTES / 1024} KB code reserve = ${b.flashBytes} bytes`);
    }
    if (b.ramBytes !== undefined) {
      budgets.ramBytes = b.ramBytes;
      notes.push(`RAM budget from board ${b.name}: its RAM minus stack and heap = ${b.ramBytes} bytes`);
    }
  }
  if (o.flash !== undefined) budgets.flashBytes = o.flash;
  if (o.ram !== undefined) budgets.ramBytes = o.ram;
  if (o.bops !== undefined) budgets.bops = o.bops;
  // How the compiled model will store 4-bit activations: the RAM constraint and the instruction counts follow it.
  budgets.int4Activations = o.int4Activations;
  const wantsInstructions = o.instructions !== undefined || o.latencyMs !== undefined;
  const traceOptions = { maxIterations: Math.max(o.iterations, 2), batchSize: o.batch, seed: o.seed };

  const graph = loadOnnx(modelPath, o);
  const modelName = basename(modelPath);
  const calibSet = labelsForEveryHead(graph, loadDataSet(graph, o.calib, Infinity, o));
  const calib = calibSet.set;
  if (calibSet.expanded.length) {
    notes.push(`'labels' also label ${calibSet.expanded.join(', ')} (same shape as ${graph.outputs[0].name}): cross-entropy and accuracy for every head`);
  }
  if (calib.rows.length === 0) throw new TinyM2Error(`${o.calib} has no rows`);
  const test = o.test ? labelsForEveryHead(graph, loadDataSet(graph, o.test, Infinity, o)).set : undefined;
  if (analyzeLayers(graph).length === 0) throw new TinyM2Error(`${modelName} has no Conv or Dense layer: there is nothing to plan`);

  const costs = modelCosts(graph);
  checkBudgets(graph, budgets, !o.untied, modelName);
  const sensFile = o.sensitivityData ?? o.calib;
  const sensSet = labelsForEveryHead(graph, loadDataSet(graph, sensFile, o.rows ?? Infinity)).set;
  if (sensSet.rows.length === 0) throw new TinyM2Error(`${sensFile} has no rows`);

  // Instruction counts before the sensitivity: an impossible limit fails fast (exit 3 in the solver check).
  if (wantsInstructions) {
    const board = loadBoard(o.board ?? 'mps2-an386');
    if (o.instructions !== undefined) budgets.instructions = Math.floor(o.instructions);
    if (o.latencyMs !== undefined) {
      const fromLatency = instructionsWithin(board, o.latencyMs / 1000);
      notes.push(`--latency-ms ${o.latencyMs} on ${board.name}: ${fromLatency} instructions at ${board.clockHz / 1e6} MHz and CPI ${board.power.cpi.value} (${board.power.cpi.basis})`);
      budgets.instructions = Math.min(budgets.instructions ?? Infinity, fromLatency);
    }
    const work = makeTempDir('latency');
    try {
      budgets.instructionCounts = await countLayerInstructions(graph, analyzeLayers(graph), calibrateOnSet(graph, calib), board, calib.rows.slice(0, 1), {
        cacheDir: ensureCacheDir('latency'),
        workDir: work,
        lowerOptions: { perChannelInputs: !o.perTensorInputs, int4Activations: o.int4Activations },
        onProgress: progress,
      });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    endProgress();
  }

  const sens = measureSensitivity(graph, calib, sensSet, criterion, {
    untied: o.untied,
    traceOptions: { ...traceOptions, minIterations: Math.min(DEFAULT_TRACE_OPTIONS.minIterations, traceOptions.maxIterations) },
    lowerOptions: { perChannelInputs: !o.perTensorInputs },
    onProgress: progress,
  });
  endProgress();

  const fp32 = costs.fp32Bytes;
  if (budgets.flashBytes === undefined && budgets.bops === undefined && budgets.ramBytes === undefined && budgets.instructions === undefined) {
    const d = defaultFlashBudget(graph);
    budgets.flashBytes = d.bytes;
    notes.push(d.note);
  }

  progress('ILP: choosing bits per layer under the budgets');
  let result: PlanResult = planFromSensitivity(graph, sens, budgets, !o.untied, modelName);
  endProgress();
  if (o.search !== undefined) {
    // The ILP plans of the criterion and of trace-free (no measurement: weight error alone) are the search's starts.
    const free = criterion === 'trace-free' ? result : planFromSensitivity(graph, measureSensitivity(graph, calib, sensSet, 'trace-free'), budgets, true, modelName);
    const chosen = refineByAccuracy(graph, calib, sensSet, [result, free], {
      evaluations: o.search,
      seed: o.seed,
      lowerOptions: { perChannelInputs: !o.perTensorInputs },
      onProgress: progress,
    });
    endProgress();
    result = planFromSensitivity(graph, sens, budgets, true, modelName, chosen);
  }
  if (costs.otherWeightBytes > 0) {
    notes.push(`${costs.otherWeightBytes} weight bytes of unfolded BatchNorm / per-channel affine ops are INT8 in every plan and count against the flash budget`);
  }
  notes.push(...result.notes, ...result.solve.notes);
  // plan.json records the storage its RAM and instruction figures assume (compile --plan follows it).
  const plan: PrecisionPlan = { ...result.plan, int4Activations: o.int4Activations };
  const perChannelInputs = !o.perTensorInputs;
  const accuracy = test ? measureAccuracy(graph, costs, calib, test, result.plan, perChannelInputs, progress) : undefined;
  endProgress();

  // The plan and the evidence behind it (read by 'tinym2 report' through the tinym2.json compile writes).
  const evidence = planSection(sens.criterion, result.layers);
  if (o.report && test) {
    const [{ planCurve }, { loadBoard }, { haveTool }, { makeTempDir }] = await Promise.all([
      import('../report/plan-curve.ts'),
      import('../target/boards.ts'),
      import('../codegen/hostcheck.ts'),
      import('../cache.ts'),
    ]);
    // Instructions per plan on the --board when QEMU runs it, else on the default Cortex-M4 board.
    const given = o.board ? loadBoard(o.board) : undefined;
    const board = given?.run.kind === 'qemu-system-arm' ? given : loadBoard('mps2-an386');
    const counting = haveTool(board.toolchain.cc) && haveTool('qemu-system-arm');
    const workDir = makeTempDir('tm2-plan-curve');
    try {
      evidence.curve = await planCurve({
        graph, sens, chosen: result, budgets, tied: !o.untied, modelName, calib, test, perChannelInputs,
        calibration: calibrateOnSet(graph, calib),
        onProgress: (k, n) => progress(`accuracy curve: plan ${k}/${n} in the integer emulator${counting ? ` and under QEMU (${board.name})` : ''}`),
        ...(counting ? { instructions: { board, workDir } } : {}),
      });
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
    if (counting) evidence.board = board.name;
    endProgress();
  }
  writeAtomically(outFile, `${JSON.stringify({ ...plan, evidence }, null, 2)}\n`);
  if (o.report) {
    const [{ writeReport }, { generateModel, modelNameFromFile }, { quantizeGraph }] = await Promise.all([
      import('../report/write.ts'),
      import('../codegen/generate.ts'),
      import('../quant/lower.ts'),
    ]);
    // The planned model as compile would generate it: its layers and arena, before any firmware exists.
    const q = quantizeGraph(graph, calibrateOnSet(graph, calib), plan, { perChannelInputs, int4Activations: o.int4Activations });
    const model = generateModel(q, { name: modelNameFromFile(modelPath), source: modelName, precision: 'mixed (plan)' });
    await writeReport(o.report, {
      model: model.name,
      source: modelName,
      precision: `mixed precision planned by tinym2 plan (${o.untied ? 'untied' : 'tied'} weight/activation bits)`,
      provenance: [`tinym2 plan ${modelName} --calib ${o.calib}${o.test ? ` --test ${o.test}` : ''}`, ...notes],
      layers: layerSection(model),
      memory: memorySection(model, q.ops.length),
      plan: evidence,
    });
  }

  const t = result.totals;
  if (json) {
    console.log(
      JSON.stringify(
        {
          ok: true,
          model: modelName,
          out: outFile,
          report: o.report ?? null,
          plan,
          tied: !o.untied,
          perChannelInputs,
          int4Activations: o.int4Activations,
          budgets,
          totals: t,
          layers: result.layers,
          sensitivity: {
            criterion: sens.criterion,
            method: sens.method,
            data: sensFile,
            rows: sens.rows,
            converged: sens.converged,
            seconds: sens.seconds,
            ...(sens.traces ? { iterations: sens.traces.iterations, batchSize: sens.traces.batchSize, loss: sens.traces.loss } : {}),
          },
          solve: { method: result.solve.method, provenOptimal: result.solve.provenOptimal, seconds: result.solve.seconds },
          ...(result.search ? { search: result.search } : {}),
          accuracy,
          notes,
        } satisfies PlanJson,
        null,
        2,
      ),
    );
    return 0;
  }

  // Omega of the weights (the paper's term) and of the output activations, at 4 and 8 bits.
  const rows = [['layer', 'op', 'W/A bits', 'sensitivity', '±', 'ΩW@4', 'ΩW@8', 'ΩA@4', 'ΩA@8', 'bytes', 'BOPS', 'MACs']];
  for (const l of result.layers) {
    rows.push([
      l.name,
      l.op,
      `${l.weightBits}/${l.activationBits}`,
      fmtOmega(l.sensitivity.value),
      `${((100 * l.sensitivity.stdErr) / Math.max(Math.abs(l.sensitivity.value), 1e-300)).toFixed(0)}%`,
      fmtOmega(l.omegaWeights[4]),
      fmtOmega(l.omegaWeights[8]),
      fmtOmega(l.omegaActivations[4]),
      fmtOmega(l.omegaActivations[8]),
      String(l.bytes),
      String(l.bops),
      String(l.macs),
    ]);
  }
  const traceNote =
    `sensitivity: what ${sens.criterion} measured for 4 bits over 8, ± its relative standard error; ΩW, ΩA: weight / output-activation terms (the ILP minimises their sum)`;
  const pct = (n: number) => `${((100 * n) / fp32).toFixed(1)}% of FP32`;
  const lines = [
    `${modelName}: ${result.layers.length} weighted layers, ${t.macs} MACs; ${o.untied ? 'untied' : 'tied'} weight/activation bits`,
    `sensitivity (${sens.criterion}): ${sens.method}, on ${sensFile}, ${sens.seconds.toFixed(1)} s`,
    '',
    table(rows, 3),
    traceNote,
    '',
    `weight bytes: plan ${t.weightBytes} (${pct(t.weightBytes)}); FP32 ${fp32}, INT8 ${t.int8WeightBytes} (${pct(t.int8WeightBytes)}), INT4 ${t.int4WeightBytes} (${pct(t.int4WeightBytes)})`,
    `BOPS: plan ${t.bops} (${((100 * t.bops) / t.int8Bops).toFixed(1)}% of INT8 ${t.int8Bops})`,
    ...(t.instructions
      ? [`instructions per inference on ${t.instructions.board} (counted per layer under QEMU): plan ${t.instructions.plan}; INT8 ${t.instructions.int8}, INT4 ${t.instructions.int4}`]
      : []),
    `peak activation bytes (lower bound of the arena): ${t.peakActivationBytes}`,
    `budgets: ${[
      budgets.flashBytes !== undefined ? `flash ${budgets.flashBytes} (${kb(budgets.flashBytes)})` : '',
      budgets.bops !== undefined ? `BOPS ${budgets.bops}` : '',
      budgets.ramBytes !== undefined ? `RAM ${budgets.ramBytes} (${kb(budgets.ramBytes)})` : '',
      budgets.instructions !== undefined ? `instructions ${budgets.instructions}` : '',
    ].filter(Boolean).join(', ')}`,
    `solver: ${result.solve.method === 'lp' ? 'javascript-lp-solver' : 'branch and bound'}, ${result.solve.provenOptimal ? 'proven optimal' : 'optimality not proven'} (${(1000 * (result.solve.seconds.lp + result.solve.seconds.check)).toFixed(0)} ms)`,
  ];
  if (accuracy) {
    const outputs = Object.keys(accuracy[0].accuracy).filter((k) => accuracy[0].accuracy[k] !== null);
    const accRows = [['model', 'weight bytes', ...outputs.map((k) => `accuracy ${k}`)]];
    for (const a of accuracy) accRows.push([a.name, String(a.weightBytes), ...outputs.map((k) => `${(100 * a.accuracy[k]!).toFixed(2)}%`)]);
    lines.push('', `accuracy on ${o.test} (integer emulator; FP32 is the float reference):`, table(accRows, 1));
  }
  for (const n of notes) lines.push(`note: ${n}`);
  lines.push('', `wrote ${outFile}${o.report ? ` and ${o.report}` : ''}`);
  console.log(lines.join('\n'));
  return 0;
}
