// Generated C of a quantized graph run on a board under QEMU with its test-vector harness: builds the
// model, its weights and the runtime it ships into firmware, runs it, and expects every output bit-exact
// with the emulator (the harness compares against vectors computed by the emulator).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { GeneratedModel } from '../../compiler/codegen/generate.ts';
import { writeOutputDir } from '../../compiler/codegen/output.ts';
import { harnessSource, parseHarnessOutput } from '../../compiler/codegen/testvectors.ts';
import type { DataSet } from '../../compiler/quant/evaluate.ts';
import type { QGraph } from '../../compiler/quant/qgraph.ts';
import { loadBoard } from '../../compiler/target/boards.ts';
import { buildFirmware } from '../../compiler/target/build.ts';
import { runFirmware } from '../../compiler/target/run.ts';

/** `model` (generated from `q` as C model `name`) with `rows` as test vectors, built and run in `work`. */
export async function expectBitExactOnBoard(q: QGraph, model: GeneratedModel, name: string, rows: DataSet['rows'], work: string, boardName = 'mps2-an386'): Promise<void> {
  model.files.set(`${name}_test.c`, harnessSource(q, model, rows));
  const out = join(work, name);
  writeOutputDir(out, model.files);
  const board = loadBoard(boardName);
  const runtime = readdirSync(join(out, 'runtime/src')).filter((f) => f.endsWith('.c')).map((f) => join(out, 'runtime/src', f));
  const fw = await buildFirmware({
    board,
    sources: [join(out, `${name}_test.c`), join(out, `${name}.c`), join(out, `${name}_weights.c`), ...runtime],
    includeDirs: [out, join(out, 'runtime/include'), join(out, 'runtime/src')],
    defines: { TM2_SELF_CHECK: true },
    outDir: join(work, `fw-${name}`),
    extraCflags: ['-Wall', '-Wextra', '-Werror'],
  });
  const r = await runFirmware(fw.elf, board);
  expect(parseHarnessOutput(r.stdout)).toMatchObject({ rows: rows.length, mismatches: 0, quantizeMismatches: 0, scratchErrors: 0 });
  expect(r.exitCode).toBe(0);
}
