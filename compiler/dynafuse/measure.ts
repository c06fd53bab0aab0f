// Instruction counts for DynaFuse, measured under QEMU with the count plugin:
//   - per branch: the generated model (compiler/codegen) built with TM2_PROFILE_LAYERS runs the whole
//     graph with one count region per op; a branch's instructions are the sum over the ops its head
//     needs (profile.ts opsFor). The generated code cannot run one branch alone yet, so this is the
//     branch's share of a whole-graph run (the same kernel calls a branch-only run would make).
//   - the run-time routine itself: noise estimate per modality, decide, fuse, on the generated tables.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateModel } from '../codegen/generate.ts';
import { writeOutputDir } from '../codegen/output.ts';
import { harnessSource, layerProfile, parseHarnessOutput } from '../codegen/testvectors.ts';
import type { QGraph } from '../quant/qgraph.ts';
import { quantizeInput } from '../quant/io.ts';
import type { Board } from '../target/boards.ts';
import { buildFirmware } from '../target/build.ts';
import { runFirmware } from '../target/run.ts';
import type { DynaFuseProfile } from './profile.ts';
import { emitDynaFuseC } from './emit.ts';

const DYNAFUSE_DIR = fileURLToPath(new URL('../../runtime-c/dynafuse', import.meta.url));

/** q's generated model with a test harness of `rows`, built for the board on demand: count regions per inference, or per op with `profile`. */
function modelFirmware(q: QGraph, rows: Array<Record<string, Float32Array>>, board: Board, workDir: string): (profile: boolean) => Promise<number[]> {
  const model = generateModel(q, { name: 'dfm', source: 'model.onnx', precision: 'INT8' });
  model.files.set('dfm_test.c', harnessSource(q, model, rows));
  const out = join(workDir, 'model');
  writeOutputDir(out, model.files);
  const runtime = readdirSync(join(out, 'runtime/src')).filter((f) => f.endsWith('.c')).map((f) => join(out, 'runtime/src', f));
  const sources = [join(out, 'dfm_test.c'), join(out, 'dfm.c'), join(out, 'dfm_weights.c'), ...runtime];
  const includeDirs = [out, join(out, 'runtime/include'), join(out, 'runtime/src')];
  return async (profile: boolean) => {
    const fw = await buildFirmware({
      board, sources, includeDirs, outDir: join(workDir, profile ? 'fw-layers' : 'fw'),
      defines: { TM2_SELF_CHECK: true, TM2_COUNT_MARKERS: true, ...(profile ? { TM2_PROFILE_LAYERS: true } : {}) },
    });
    const r = await runFirmware(fw.elf, board);
    const res = parseHarnessOutput(r.stdout);
    if (r.exitCode !== 0 || res.mismatches !== 0) throw new Error(`internal: the profiled model firmware failed (exit ${r.exitCode}, ${res.mismatches} mismatches)`);
    return r.regions;
  };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Mean instructions of each op of q over `rows` (QEMU, the board's flags), and of the whole inference. */
export async function measureOpInstructions(q: QGraph, rows: Array<Record<string, Float32Array>>, board: Board, workDir: string): Promise<{ perOp: number[]; inference: number }> {
  const regions = modelFirmware(q, rows, board, workDir);
  const whole = await regions(false);
  const perOp = layerProfile(await regions(true), q.ops.length);
  return { perOp, inference: mean(whole) };
}

/** Mean instructions of a whole inference of q over `rows` (QEMU, the board's flags). */
export async function measureInferenceInstructions(q: QGraph, rows: Array<Record<string, Float32Array>>, board: Board, workDir: string): Promise<number> {
  return mean(await modelFirmware(q, rows, board, workDir)(false));
}

export interface RoutineInstructions {
  /** tm2_dynafuse_noise_s8 on each modality's window. */
  noise: number[];
  decide: number;
  fuse: number;
  /** What the firmware computed, one line of integers: sigma[n] mode mask use_fused acc[n] weight[n] energy probs[classes] class. */
  outputs: number[];
}

/** The synthetic logits the routine firmware fuses: head i (i = n is the fused head), class c. */
export function routineLogits(i: number, c: number): number {
  return ((c * 37 + i * 11) % 256) - 128;
}

/** Q15 weights the routine firmware fuses every head with (sum 32768). */
export function routineWeights(n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i === 0 ? 32768 - (n - 1) * Math.floor(32768 / n) : Math.floor(32768 / n)));
}

/**
 * Instructions of the run-time routine on the generated tables: the noise estimate of each modality's
 * quantized window of `row`, one decide (high-accuracy mode, so every head is fused unless the fused
 * head is used), one fuse of `heads` (int8 logits per modality and of the fused head).
 */
export async function measureRoutineInstructions(p: DynaFuseProfile, q: QGraph, row: Record<string, Float32Array>, board: Board, workDir: string): Promise<RoutineInstructions> {
  mkdirSync(workDir, { recursive: true });
  const files = emitDynaFuseC(p, 'dfm');
  for (const [f, text] of files) writeFileSync(join(workDir, f), text);
  const t = p.tables;
  const windows = p.modalities.map((m) => quantizeInput(q, m.input, row[m.input]));
  const main = [
    '#include <stdio.h>',
    '#include "dfm_dynafuse.h"',
    '#include "tm2_count.h"',
    ...windows.map((w, i) => `static const int8_t window${i}[${w.length}] = {${Array.from(w).join(',')}};`),
    `static const int8_t *const windows[${windows.length}] = {${windows.map((_, i) => `window${i}`).join(', ')}};`,
    `static int8_t logits[${t.modalities.length + 1}][${t.classes}];`,
    'int main(void) {',
    '  tm2_dynafuse_request req;',
    '  tm2_dynafuse_decision d;',
    `  const int8_t *heads[${t.modalities.length}];`,
    `  int32_t probs[${t.classes}], cls, i;`,
    '  {',
    '    int32_t c, h;',
    `    for (h = 0; h <= ${t.modalities.length}; h++)`,
    `      for (c = 0; c < ${t.classes}; c++) logits[h][c] = (int8_t)((c * 37 + h * 11) % 256 - 128); /* routineLogits */`,
    '  }',
    `  for (i = 0; i < ${t.modalities.length}; i++) {`,
    '    heads[i] = logits[i];',
    '    tm2_count_begin();',
    '    req.sigma_q12[i] = tm2_dynafuse_noise_s8(&tm2_dfm_dynafuse.modalities[i], windows[i]);',
    '    tm2_count_end();',
    '  }',
    '  req.battery_pct = -1;',
    '  req.forced_mode = TM2_DYNAFUSE_NOMINAL;',
    '  tm2_count_begin();',
    '  tm2_dynafuse_decide(&tm2_dfm_dynafuse, &req, &d);',
    '  tm2_count_end();',
    `  for (i = 0; i < ${t.modalities.length}; i++) printf("%ld ", (long)req.sigma_q12[i]);`,
    '  printf("%d %lu %d", d.mode, (unsigned long)d.mask, d.use_fused);',
    `  for (i = 0; i < ${t.modalities.length}; i++) printf(" %ld", (long)d.acc_q15[i]);`,
    `  for (i = 0; i < ${t.modalities.length}; i++) printf(" %ld", (long)d.weight_q15[i]);`,
    '  printf(" %lu", (unsigned long)d.energy_nj);',
    `  d.mask = ${(2 ** t.modalities.length - 1) >>> 0}u; d.use_fused = 0; /* fuse every head: the most work fuse can do */`,
    `  for (i = 0; i < ${t.modalities.length}; i++) d.weight_q15[i] = i == 0 ? 32768 - ${t.modalities.length - 1} * (32768 / ${t.modalities.length}) : 32768 / ${t.modalities.length};`,
    '  tm2_count_begin();',
    `  cls = tm2_dynafuse_fuse(&tm2_dfm_dynafuse, &d, heads, logits[${t.modalities.length}], probs);`,
    '  tm2_count_end();',
    `  for (i = 0; i < ${t.classes}; i++) printf(" %ld", (long)probs[i]);`,
    '  printf(" %ld\\n", (long)cls);',
    '  return 0;',
    '}',
    '',
  ].join('\n');
  writeFileSync(join(workDir, 'routine_main.c'), main);
  const fw = await buildFirmware({
    board, outDir: join(workDir, 'fw'), includeDirs: [workDir, DYNAFUSE_DIR],
    sources: [join(workDir, 'routine_main.c'), join(workDir, 'dfm_dynafuse.c'), join(DYNAFUSE_DIR, 'tm2_dynafuse.c')],
    defines: { TM2_COUNT_MARKERS: true }, extraCflags: ['-std=c99', '-Wall', '-Wextra', '-Werror', '-pedantic'],
  });
  const r = await runFirmware(fw.elf, board);
  const n = t.modalities.length;
  if (r.exitCode !== 0 || r.regions.length !== n + 2) throw new Error(`internal: routine firmware failed (exit ${r.exitCode}, ${r.regions.length} regions): ${r.stderr}`);
  const line = r.stdout.split('\n').find((l) => /^-?\d/.test(l.trim()));
  return { noise: r.regions.slice(0, n), decide: r.regions[n], fuse: r.regions[n + 1], outputs: (line ?? '').trim().split(/\s+/).map(Number) };
}
