// The test-vector harness: a C file with a main() that runs a generated model on N input rows
// and compares every output with what the TypeScript integer emulator computed for those rows.
//
// Each row holds the float input (ONNX layout) and the emulator's int8 quantization of it; the
// harness checks the generated quantize helpers against the latter, runs the model on the int8
// rows between tm2_count_begin() / tm2_count_end() (one pair per inference, for the QEMU
// instruction counter), and prints one line per output of each row:
//
//   out <row> <output field> <mismatches> : v0 v1 ...        (device values, API = ONNX order)
//
// then `tm2_result rows=<n> mismatches=<m> quantize_mismatches=<k> scratch_errors=<e>` and
// returns 0 only when everything matched. parseHarnessOutput() reads that text back.
//
// Build it with the model's sources and -DTM2_SELF_CHECK; define TM2_COUNT_MARKERS and add
// boards/harness/tm2_count.c to use the real markers (compiler/target/build.ts adds the file).
// With -DTM2_PROFILE_LAYERS as well, the generated model brackets each op instead: the regions are
// then rows x ops counts, op by op (layerProfile() folds them).
import { emulate } from '../quant/emulator.ts';
import { quantizeInput } from '../quant/io.ts';
import type { QGraph } from '../quant/qgraph.ts';
import { cFloat, intRows } from './cformat.ts';
import type { GeneratedModel, IoInfo } from './generate.ts';

/** Memory order (channels-last) -> ONNX order for one graph input / output. */
export function toOnnxOrder(q: QGraph, io: IoInfo, data: Int8Array): Int8Array {
  if (io.layout === 'flat') return data.slice();
  const [H, W, C] = q.tensors.get(io.tensor)!.shape;
  const out = new Int8Array(data.length);
  for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) out[(c * H + h) * W + w] = data[(h * W + w) * C + c];
  return out;
}

export interface TestVectors {
  /** Per row, per input field: int8 in ONNX order. */
  inputs: Array<Record<string, Int8Array>>;
  /** Per row, per output field: the emulator's int8 outputs in ONNX order (what the API returns). */
  expected: Array<Record<string, Int8Array>>;
}

/** Quantizes the float rows and runs the emulator on them. `rows` are keyed by ONNX input name, ONNX layout. */
export function computeTestVectors(q: QGraph, model: GeneratedModel, rows: Array<Record<string, Float32Array>>): TestVectors {
  const inputs: TestVectors['inputs'] = [];
  const expected: TestVectors['expected'] = [];
  for (const row of rows) {
    const qin: Record<string, Int8Array> = {};
    const apiIn: Record<string, Int8Array> = {};
    for (const io of model.inputs) {
      qin[io.tensor] = quantizeInput(q, io.tensor, row[io.tensor]);
      apiIn[io.field] = toOnnxOrder(q, io, qin[io.tensor]);
    }
    const values = emulate(q, qin);
    const exp: Record<string, Int8Array> = {};
    for (const io of model.outputs) exp[io.field] = toOnnxOrder(q, io, values.get(io.tensor)!);
    inputs.push(apiIn);
    expected.push(exp);
  }
  return { inputs, expected };
}

function floatRows(values: Float32Array, perLine = 8): string {
  const lines: string[] = [];
  for (let i = 0; i < values.length; i += perLine) {
    lines.push('    ' + Array.from(values.subarray(i, Math.min(values.length, i + perLine)), cFloat).join(', '));
  }
  return lines.join(',\n');
}

/** The harness C source (<name>_test.c) for the given float rows (keyed by ONNX input name). */
export function harnessSource(q: QGraph, model: GeneratedModel, rows: Array<Record<string, Float32Array>>, options: { entry?: string } = {}): string {
  /** Name of the function that runs everything: main, or another name to link several harnesses into one program. */
  const entry = options.entry ?? 'main';
  const { inputs, expected } = computeTestVectors(q, model, rows);
  const p = `tm2_${model.name}`;
  const n = rows.length;
  const data: string[] = [];
  for (const io of model.inputs) {
    data.push(`/* input '${io.field}': float rows and the emulator's int8 quantization of them (ONNX order) */`);
    data.push(`static const float x_${io.field}[ROWS][${io.size}] = {\n${rows.map((r) => `  {\n${floatRows(r[io.tensor])}\n  }`).join(',\n')}\n};`);
    data.push(`static const int8_t q_${io.field}[ROWS][${io.size}] = {\n${inputs.map((r) => `  {\n${intRows(r[io.field], 20, '    ')}\n  }`).join(',\n')}\n};`);
  }
  for (const io of model.outputs) {
    data.push(`/* output '${io.field}': the emulator's int8 outputs (ONNX order) */`);
    data.push(`static const int8_t e_${io.field}[ROWS][${io.size}] = {\n${expected.map((r) => `  {\n${intRows(r[io.field], 20, '    ')}\n  }`).join(',\n')}\n};`);
  }
  const quantize = model.inputs
    .map((io) => `    ${p}_quantize_${io.field}(x_${io.field}[r], in.${io.field});\n    qbad += count_diff(in.${io.field}, q_${io.field}[r], ${io.size});\n    memcpy(in.${io.field}, q_${io.field}[r], ${io.size});`)
    .join('\n');
  const compare = model.outputs
    .map((io) => `    bad = count_diff(out.${io.field}, e_${io.field}[r], ${io.size});\n    mismatches += bad;\n    print_row(r, "${io.field}", bad, out.${io.field}, ${io.size});`)
    .join('\n');
  return `/*
 * ${model.name}_test.c - generated by tinym2: runs ${model.name} on ${n} test rows and compares with the
 * TypeScript integer emulator bit for bit. Build with ${model.name}.c, ${model.name}_weights.c, the runtime/src sources and
 * -DTM2_SELF_CHECK; add -DTM2_COUNT_MARKERS and boards/harness/tm2_count.c for instruction counting
 * (one region per inference; also -DTM2_PROFILE_LAYERS for one region per layer).
 */
#include <stdio.h>
#include <string.h>

#include "tm2.h"
#include "${model.name}.h"

/* One count region per inference; with TM2_PROFILE_LAYERS the model counts each layer instead. */
#if defined(TM2_COUNT_MARKERS) && !defined(TM2_PROFILE_LAYERS)
#include "tm2_count.h"
#define TM2_INFERENCE_BEGIN() tm2_count_begin()
#define TM2_INFERENCE_END() tm2_count_end()
#else
#define TM2_INFERENCE_BEGIN() ((void)0)
#define TM2_INFERENCE_END() ((void)0)
#endif

#ifdef TM2_SELF_CHECK
int ${p}_self_check(void);
#endif

#define ROWS ${n}

${data.join('\n\n')}

static int count_diff(const int8_t *a, const int8_t *b, int n) {
  int i, d = 0;
  for (i = 0; i < n; i++) d += a[i] != b[i];
  return d;
}

static void print_row(int r, const char *name, int bad, const int8_t *v, int n) {
  int i;
  printf("out %d %s %d :", r, name, bad);
  for (i = 0; i < n; i++) printf(" %d", (int)v[i]);
  printf("\\n");
}

${entry === 'main' ? '' : `int ${entry}(void);\n`}int ${entry}(void) {
  static ${p}_inputs in;
  static ${p}_outputs out;
  int r, bad, mismatches = 0, qbad = 0, scratch_errors = 0;
#ifdef TM2_SELF_CHECK
  scratch_errors = ${p}_self_check();
#endif
  for (r = 0; r < ROWS; r++) {
${quantize}
    TM2_INFERENCE_BEGIN();
    ${p}_run(&in, &out);
    TM2_INFERENCE_END();
${compare}
  }
  printf("tm2_result rows=%d mismatches=%d quantize_mismatches=%d scratch_errors=%d\\n", ROWS, mismatches, qbad, scratch_errors);
  return (mismatches || qbad || scratch_errors) ? 1 : 0;
}
`;
}

export interface HarnessResult {
  /** Per row, per output field: the device's int8 values (ONNX order). */
  outputs: Array<Record<string, Int8Array>>;
  rows: number;
  mismatches: number;
  quantizeMismatches: number;
  scratchErrors: number;
}

/** Reads what the harness printed; throws if the summary line is missing (the program did not finish). */
export function parseHarnessOutput(text: string): HarnessResult {
  const outputs: HarnessResult['outputs'] = [];
  let summary: RegExpExecArray | null = null;
  for (const line of text.split(/\r?\n/)) {
    const m = /^out (\d+) (\S+) (\d+) :(.*)$/.exec(line);
    if (m) {
      const r = Number(m[1]);
      outputs[r] ??= {};
      outputs[r][m[2]] = Int8Array.from(m[4].trim() === '' ? [] : m[4].trim().split(/\s+/).map(Number));
      continue;
    }
    const s = /^tm2_result rows=(\d+) mismatches=(\d+) quantize_mismatches=(\d+) scratch_errors=(\d+)/.exec(line);
    if (s) summary = s;
  }
  if (!summary) throw new Error('the test harness did not print its tm2_result line (it crashed or was cut short)');
  return {
    outputs,
    rows: Number(summary[1]),
    mismatches: Number(summary[2]),
    quantizeMismatches: Number(summary[3]),
    scratchErrors: Number(summary[4]),
  };
}

/** Per-layer instruction counts from a TM2_PROFILE_LAYERS run: the regions are rows x ops; returns the mean per op. */
export function layerProfile(regions: number[], ops: number): number[] {
  if (ops <= 0 || regions.length === 0 || regions.length % ops !== 0) {
    throw new Error(`internal: ${regions.length} count regions do not split into rows of ${ops} ops`);
  }
  const rows = regions.length / ops;
  const out = new Array<number>(ops).fill(0);
  regions.forEach((n, i) => (out[i % ops] += n / rows));
  return out;
}
