// `tinym2 dynafuse model.onnx --calib calib.npz [--fusion fusion.json]`: profiles a late-fusion model for
// DynaFuse (profile.ts: resilience per head, noise-estimator calibration, energy per window, with branch
// instructions measured under QEMU by measure.ts) and writes the tables as C (emit.ts) + profile.json.
// The output directory appears whole or not at all.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { DynafuseJson } from '../cli/json-output.ts';
import type { Args } from '../cli/options.ts';
import { makeTempDir } from '../cache.ts';
import { cIdentifier } from '../codegen/names.ts';
import { haveTool } from '../codegen/hostcheck.ts';
import { EXIT_BAD_INPUT, TinyM2Error } from '../errors.ts';
import { loadOnnx } from '../onnx/import.ts';
import { calibrateGraph, loadDataSet } from '../quant/evaluate.ts';
import { quantizeGraph } from '../quant/lower.ts';
import { loadBoard } from '../target/boards.ts';
import { loadFusionConfig } from './config.ts';
import { emitDynaFuseC } from './emit.ts';
import { measureOpInstructions, measureRoutineInstructions, type RoutineInstructions } from './measure.ts';
import { opsFor, profileDynaFuse, type InstructionSource } from './profile.ts';
import { progress } from '../progress.ts';

/**
 * Fallback when QEMU is not available: instructions per MAC of the dsa-har torso branch (INT8, runtime-c
 * kernels, Cortex-M4, gcc -O3), measured with the per-layer QEMU profile: 267,741 instructions / 119,792 MACs.
 */
export const FALLBACK_INSTRUCTIONS_PER_MAC = 2.235;

const MARKER = '.tinym2-dynafuse';

/** Writes all files into a temporary sibling and renames it into place. */
function writeDir(outDir: string, files: Map<string, string>): void {
  const target = resolve(outDir);
  if (existsSync(target) && readdirSync(target).length > 0 && !existsSync(join(target, MARKER)))
    throw new TinyM2Error(`output directory ${outDir} exists and was not written by 'tinym2 dynafuse': choose another -o`, { exitCode: EXIT_BAD_INPUT });
  mkdirSync(dirname(target), { recursive: true });
  const tmp = mkdtempSync(join(dirname(target), `.${basename(target)}-`));
  try {
    for (const [name, text] of files) writeFileSync(join(tmp, name), text);
    writeFileSync(join(tmp, MARKER), '');
    rmSync(target, { recursive: true, force: true });
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

export async function execute(v: Args<'dynafuse'>): Promise<number> {
  const modelFile = v.positional;
  const graph = loadOnnx(modelFile, v);
  const fusionFile = v.fusion ?? join(dirname(modelFile), 'fusion.json');
  const config = loadFusionConfig(fusionFile, graph);
  const name = cIdentifier(v.name ?? basename(modelFile, '.onnx'));
  const board = loadBoard(v.board);
  const calib = loadDataSet(graph, v.calib, v.rows ?? Infinity, v);
  if (calib.rows.length === 0) throw new TinyM2Error(`${v.calib} has no rows`);
  if (!calib.labels.get('labels')) throw new TinyM2Error(`${v.calib} has no 'labels' array: the heads' accuracy needs labels`);
  const started = Date.now();
  const steps = progress({ quiet: v.quiet });
  steps.stage('calibrating activation ranges', calib.rows.length);
  const q = quantizeGraph(graph, calibrateGraph(graph, calib.rows, {}, (done) => steps.update(done)));
  steps.end();
  // Every head must read its own input only (a late-fusion model): otherwise noise on one modality would not be isolated.
  config.modalities.forEach((m, i) => {
    const head = q.outputs[graph.outputs.findIndex((o) => o.name === m.head)];
    const reads = new Set(opsFor(q, [head]).flatMap((k) => q.ops[k].inputs));
    const inputs = q.inputs.filter((x) => reads.has(x));
    if (inputs.length !== 1 || inputs[0] !== m.input)
      throw new TinyM2Error(`${fusionFile}: /modalities/${i}/head '${m.head}' depends on inputs ${inputs.join(', ')}, not only on '${m.input}': DynaFuse needs one head per modality`, { exitCode: EXIT_BAD_INPUT });
  });

  const qemu = v.qemu && board.run.kind === 'qemu-system-arm' && haveTool(board.toolchain.cc) && haveTool('qemu-system-arm');
  const work = makeTempDir('tm2-dynafuse');
  let instructions: InstructionSource;
  let inferenceInstructions: number | undefined;
  let routine: RoutineInstructions | undefined;
  try {
    if (qemu) {
      steps.stage(`DynaFuse: per-op instructions under QEMU (${board.name})`, 0);
      const m = await measureOpInstructions(q, calib.rows.slice(0, 2), board, work);
      steps.end();
      inferenceInstructions = m.inference;
      instructions = { perOp: m.perOp, instructionsPerMac: 0, basis: `measured: QEMU ${board.name} per-op profile of the whole graph (2 rows), summed over each branch's ops` };
    } else {
      instructions = { instructionsPerMac: FALLBACK_INSTRUCTIONS_PER_MAC, basis: `estimate: MACs x ${FALLBACK_INSTRUCTIONS_PER_MAC} instructions/MAC (measured on the dsa-har torso branch, Cortex-M4)` };
    }
    const profile = profileDynaFuse(graph, q, calib, config, { board, instructions, repeats: v.repeats, seed: v.seed, steps });
    if (qemu) {
      // The busiest window for the estimator: the calibration row with the most high-frequency content.
      steps.stage(`DynaFuse: the run-time routine's instructions under QEMU (${board.name})`, 0);
      routine = await measureRoutineInstructions(profile, q, calib.rows[calib.rows.length - 1], board, join(work, 'routine'));
      steps.end();
    }
    const files = emitDynaFuseC(profile, name);
    const report = {
      ...profile, tables: undefined,
      ok: true as const, model: modelFile, fusion: fusionFile, board: board.name, seconds: (Date.now() - started) / 1000,
      inferenceInstructions, routineInstructions: routine,
    };
    files.set('profile.json', JSON.stringify({ ...report, tables: { ...profile.tables, modalities: profile.tables.modalities.map((m) => ({ ...m, expTable: Array.from(m.expTable) })), fused: profile.tables.fused && { ...profile.tables.fused, expTable: Array.from(profile.tables.fused.expTable) } } }, null, 2) + '\n');
    const outDir = v.out ?? join('out', `${name}-dynafuse`);
    writeDir(outDir, files);
    if (v.report) {
      const [{ dynafuseSection }, { layerSection, memorySection }, { writeReport }, { generateModel }] = await Promise.all([
        import('../report/dynafuse.ts'),
        import('../report/gather.ts'),
        import('../report/write.ts'),
        import('../codegen/generate.ts'),
      ]);
      const model = generateModel(q, { name, source: basename(modelFile), precision: 'INT8' });
      await writeReport(v.report, {
        model: name,
        source: basename(modelFile),
        precision: 'INT8 (as DynaFuse profiles it)',
        provenance: [`tinym2 dynafuse ${basename(modelFile)} --fusion ${basename(fusionFile)}: ${calib.rows.length} calibration rows on ${board.name}`, `instructions: ${instructions.basis}`],
        layers: layerSection(model, instructions.perOp ? { board: board.name, perOp: instructions.perOp, inference: inferenceInstructions ?? null } : undefined),
        memory: memorySection(model, q.ops.length),
        dynafuse: dynafuseSection(profile),
      });
    }
    if (v.json) {
      console.log(JSON.stringify({ ...report, out: outDir, files: [...files.keys()], report: v.report ?? null } satisfies DynafuseJson, null, 2));
      return 0;
    }
    console.log(`DynaFuse profile of ${modelFile} (${calib.rows.length} calibration rows, sigma ${config.noiseSigmas.join(' ')}):`);
    for (const m of profile.modalities) {
      console.log(`  ${m.name.padEnd(10)} accuracy ${m.accuracy.map((a) => (100 * a).toFixed(0).padStart(3)).join(' ')} %;` +
        ` ${Math.round(m.instructions)} instructions, ${(m.computeEnergyJ * 1e6).toFixed(1)} uJ compute + ${(m.sensingEnergyJ * 1e3).toFixed(2)} mJ sensing`);
    }
    if (profile.fused) console.log(`  fused head ${profile.fused.head}: accuracy ${(100 * profile.fused.accuracy).toFixed(1)} % clean, +${Math.round(profile.fused.extraInstructions)} instructions`);
    if (routine) console.log(`  run-time routine on ${board.name}: noise estimate ${routine.noise.join('/')} , decide ${routine.decide}, fuse ${routine.fuse} instructions`);
    console.log(`  instructions: ${instructions.basis}`);
    console.log(`wrote ${outDir}/: ${[...files.keys()].join(', ')}`);
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
