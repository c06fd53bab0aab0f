// tinym2's LSTM kernel against CMSIS-NN's arm_lstm_unidirectional_s8, side by side in one QEMU run:
// one firmware per board holds both, built with the board's compiler and flags (compiler/target/build.ts),
// each call bracketed by the instruction-count markers. Same shape and the same float layer (seeded
// random weights of a trained-like size, 1/sqrt(hidden)), quantized by each side's own rules: tinym2's
// lowering (compiler/kernels/rnn.ts: per-row weight scales, 64-bit gate sums) and TensorFlow Lite's for
// CMSIS-NN (per-tensor weight scale per gate, int16 gates, cell state Q4.11, effective biases).
// The firmware also checks tinym2's output against the integer emulator (bit for bit) and prints a
// GRU and an INT4-weight LSTM of the same shape for reference (CMSIS-NN has neither).
//
//   nice npx tsx benchmarks/lstm-vs-cmsis-nn.ts [--hidden 64] [--input 32] [--steps 50] [--board mps2-an386 ...] [--json] [--write]
//
// --write puts the table into runtime-c/README.md between the lstm-vs-cmsis-nn markers.
// CMSIS-NN comes from ../shared/anchors/cmsis-nn (benchmark-only input); without it this says so and exits 0.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  emulateRnn, lowerRnn, packRnnWeights, RNN_GATES, rnnScratchBytes, type FloatRnn, type QRnnParams, type RnnKind,
} from '../compiler/kernels/rnn.ts';
import { encodeMultiplier } from '../compiler/quant/fixedpoint.ts';
import type { Bits } from '../compiler/quant/qgraph.ts';
import { quantizeWeightsPerChannel } from '../compiler/quant/weights.ts';
import { rnnForward } from '../compiler/ops/recurrent.ts';
import { mulberry32 } from '../compiler/random.ts';
import { loadBoard } from '../compiler/target/boards.ts';
import { buildFirmware } from '../compiler/target/build.ts';
import { runFirmware } from '../compiler/target/run.ts';
import { lowerPriority } from './low-priority.ts';
import { CMSIS_NN_DIR } from './vs-cmsis-nn.ts';

const ROOT = resolve(import.meta.dirname, '..');

export interface LstmBenchResult {
  board: string;
  shape: { hidden: number; input: number; steps: number };
  macs: number;
  tinym2: number;
  cmsis: number;
  ratio: number;
  tinym2Int4: number;
  tinym2Gru: number;
}

function randomLayer(kind: RnnKind, steps: number, inSize: number, hidden: number, seed: number): FloatRnn {
  const u = mulberry32(seed);
  const G = RNN_GATES[kind], s = 1 / Math.sqrt(hidden);
  const arr = (n: number, a: number) => Float32Array.from({ length: n }, () => (u() * 2 - 1) * a);
  return { kind, steps, inSize, hidden, w: arr(G * hidden * inSize, s), r: arr(G * hidden * hidden, s), wb: arr(G * hidden, s), rb: arr(G * hidden, s) };
}

const cArray = (type: string, name: string, a: ArrayLike<number | bigint>) =>
  `static const ${type} ${name}[${Math.max(1, a.length)}] = {${Array.from(a, (v) => (typeof v === 'bigint' ? `${v}LL` : String(v))).join(',') || '0'}};`;

/** tinym2's parameters as C: the weights, the arrays and a tm2_rnn_params named `name`. */
function tinym2C(p: QRnnParams, name: string): string {
  return [
    cArray('int8_t', `${name}_w`, packRnnWeights(p)),
    cArray('int64_t', `${name}_bias`, p.gateBias),
    cArray('int32_t', `${name}_mult`, p.gateMultiplier),
    cArray('int32_t', `${name}_shift`, p.gateShift),
    `static const tm2_rnn_params ${name} = {${p.steps}, ${p.inSize}, ${p.hidden}, ${p.inZp}, ${p.outZp}, ${p.actMin}, ${p.actMax}, ${p.outMultiplier}, ${p.outShift}, ${p.cellFrac}, ${p.lastOnly ? 1 : 0}, ${name}_bias, ${name}_mult, ${name}_shift};`,
  ].join('\n');
}

/**
 * CMSIS-NN's parameters the way TensorFlow Lite Micro prepares them for the same float layer: per gate
 * int8 weights with one scale, gate outputs Q3.12, cell state Q4.11 (cell_scale_power -11), effective
 * biases = bias - zero point * row sums, hidden state as a zeroed variable buffer.
 */
function cmsisC(f: FloatRnn, xScale: number, xZp: number, hScale: number, hZp: number): string {
  const H = f.hidden, I = f.inSize;
  const lines: string[] = [];
  // CMSIS-NN struct members forget, input, cell, output; ONNX rows i, o, f, c.
  const onnxIndex = { input: 0, output: 1, forget: 2, cell: 3 } as const;
  const gateInit: Record<string, string> = {};
  for (const [gate, g] of Object.entries(onnxIndex)) {
    const rows = (src: Float32Array, n: number) => src.slice(g * H * n, (g + 1) * H * n);
    const w = rows(f.w, I), r = rows(f.r, H);
    const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const wq = quantizeWeightsPerChannel(w, 1, 8), rq = quantizeWeightsPerChannel(r, 1, 8);
    void maxAbs;
    const mi = encodeMultiplier(xScale * wq.scale[0] * 4096), mh = encodeMultiplier(hScale * rq.scale[0] * 4096);
    const effI = new Int32Array(H), effH = new Int32Array(H);
    for (let j = 0; j < H; j++) {
      let sw = 0, sr = 0;
      for (let k = 0; k < I; k++) sw += wq.q[j * I + k];
      for (let k = 0; k < H; k++) sr += rq.q[j * H + k];
      const b = f.wb[g * H + j] + f.rb[g * H + j];
      effI[j] = Math.round(b / (xScale * wq.scale[0])) - xZp * sw;
      effH[j] = -hZp * sr;
    }
    lines.push(cArray('int8_t', `c_${gate}_w`, wq.q), cArray('int8_t', `c_${gate}_r`, rq.q), cArray('int32_t', `c_${gate}_eb`, effI), cArray('int32_t', `c_${gate}_hb`, effH));
    gateInit[gate] = `{${mi.multiplier}, ${mi.shift}, c_${gate}_w, c_${gate}_eb, ${mh.multiplier}, ${mh.shift}, c_${gate}_r, c_${gate}_hb, NULL, ${gate === 'cell' ? 'ARM_TANH' : 'ARM_SIGMOID'}}`;
  }
  // forget (Q0.15) x cell (Q4.11) -> Q4.11: 2^-15; input (Q0.15) x cell gate (Q0.15) -> Q4.11: 2^-19;
  // output (Q0.15) x tanh(cell) (Q0.15) -> h: 2^-30 / s_h.
  const fc = encodeMultiplier(2 ** -15), ic = encodeMultiplier(2 ** -19), oc = encodeMultiplier(2 ** -30 / hScale);
  lines.push(`static const cmsis_nn_lstm_params cmsis_params = {1, 1, ${f.steps}, ${I}, ${H}, ${-xZp}, ${fc.multiplier}, ${fc.shift}, ${ic.multiplier}, ${ic.shift}, 32767, -11, ${oc.multiplier}, ${oc.shift}, ${hZp},
  ${gateInit.forget}, ${gateInit.input}, ${gateInit.cell}, ${gateInit.output}};`);
  return lines.join('\n');
}

function firmwareSource(lstm: QRnnParams, lstm4: QRnnParams, gru: QRnnParams, f: FloatRnn, x: Int8Array, expected: Int8Array, q: { xScale: number; xZp: number; hScale: number; hZp: number }): string {
  const H = f.hidden, T = f.steps;
  const scratch = Math.ceil(rnnScratchBytes(lstm) / 4);
  return `/* lstm_vs_cmsis.c - generated by benchmarks/lstm-vs-cmsis-nn.ts (benchmark only). */
#include <stdio.h>
#include <string.h>
#include "tm2.h"
#include "arm_nnfunctions.h"
#include "tm2_count.h"

${cArray('int8_t', 'x', x)}
${cArray('int8_t', 'expected', expected)}
${tinym2C(lstm, 'lstm8')}
${tinym2C(lstm4, 'lstm4')}
${tinym2C(gru, 'gru8')}
${cmsisC(f, q.xScale, q.xZp, q.hScale, q.hZp)}

static int8_t out[${T * H}];
static uint32_t scratch[${scratch}];
static int16_t temp1[${H}], temp2[${H}], cell[${H}];
static int8_t hidden[${H}];

int main(void) {
  int ok;
  cmsis_nn_lstm_context ctx;
  arm_cmsis_nn_status st;
  printf("region tinym2-lstm-s8\\n");
  tm2_count_begin();
  tm2_lstm_s8(&lstm8, x, lstm8_w, out, scratch);
  tm2_count_end();
  ok = memcmp(out, expected, sizeof out) == 0;
  printf("tinym2 output %s the emulator\\n", ok ? "equals" : "DIFFERS FROM");
  printf("region tinym2-lstm-s4\\n");
  tm2_count_begin();
  tm2_lstm_s4(&lstm4, x, lstm4_w, out, scratch);
  tm2_count_end();
  printf("region tinym2-gru-s8\\n");
  tm2_count_begin();
  tm2_gru_s8(&gru8, x, gru8_w, out, scratch);
  tm2_count_end();
  memset(cell, 0, sizeof cell);
  memset(hidden, (int8_t)${q.hZp}, sizeof hidden);
  ctx.temp1 = temp1;
  ctx.temp2 = temp2;
  ctx.cell_state = cell;
  ctx.hidden_state = hidden;
  printf("region cmsis-lstm-s8\\n");
  tm2_count_begin();
  st = arm_lstm_unidirectional_s8(x, out, &cmsis_params, &ctx);
  tm2_count_end();
  printf("cmsis status %d\\n", (int)st);
  return ok && st == ARM_CMSIS_NN_SUCCESS ? 0 : 1;
}
`;
}

function cmsisSources(): string[] {
  const src = join(CMSIS_NN_DIR, 'Source');
  const out: string[] = [];
  for (const d of readdirSync(src).sort()) {
    const dir = join(src, d);
    if (!statSync(dir).isDirectory()) continue;
    for (const f of readdirSync(dir).sort()) if (f.endsWith('.c') && !/_f16|_f32|flt/.test(f)) out.push(join(dir, f));
  }
  return out;
}

export async function benchLstm(board: string, hidden = 64, input = 32, steps = 50): Promise<LstmBenchResult> {
  const f = randomLayer('lstm', steps, input, hidden, 2026);
  const fg = randomLayer('gru', steps, input, hidden, 2027);
  const u = mulberry32(99);
  const xf = Float32Array.from({ length: steps * input }, () => (u() * 2 - 1) * 2);
  const q = { xScale: 4 / 255, xZp: 0, hScale: 2 / 255, hZp: 0 };
  const cells = { value: 0 };
  rnnForward(f, xf, steps, undefined, undefined, cells);
  const ranges = { inScale: q.xScale, inZp: q.xZp, outScale: q.hScale, outZp: q.hZp, cellMaxAbs: cells.value };
  const lower = (layer: FloatRnn, bits: Bits) => lowerRnn(layer, ranges, bits, `${layer.kind} benchmark`);
  const lstm = lower(f, 8), lstm4 = lower(f, 4), gru = lower(fg, 8);
  const x = Int8Array.from(xf, (v) => Math.max(-128, Math.min(127, Math.round(v / q.xScale) + q.xZp)));
  const expected = emulateRnn(lstm, x);
  const work = mkdtempSync(join(tmpdir(), 'tm2-lstm-bench-'));
  try {
    const main = join(work, 'lstm_vs_cmsis.c');
    writeFileSync(main, firmwareSource(lstm, lstm4, gru, f, x, expected, q));
    const rt = join(ROOT, 'runtime-c');
    const runtime = readdirSync(join(rt, 'src')).filter((n) => n.endsWith('.c')).map((n) => join(rt, 'src', n));
    const b = loadBoard(board);
    const fw = await buildFirmware({
      board: b, sources: [main, ...runtime, ...cmsisSources()], outDir: join(work, 'fw'), name: 'lstm',
      includeDirs: [join(rt, 'include'), join(rt, 'src'), join(CMSIS_NN_DIR, 'Include')],
    });
    const r = await runFirmware(fw.elf, b, { timeoutMs: 600_000 });
    if (r.exitCode !== 0) throw new Error(`lstm benchmark on ${board}: exit ${r.exitCode}\n${r.stdout}`);
    const labels = r.stdout.split('\n').filter((l) => l.startsWith('region ')).map((l) => l.slice(7));
    if (labels.length !== r.regions.length) throw new Error(`${labels.length} labels but ${r.regions.length} counted regions`);
    const count = (label: string) => r.regions[labels.indexOf(label)]!;
    const macs = steps * 4 * hidden * (input + hidden);
    const tinym2 = count('tinym2-lstm-s8'), cmsis = count('cmsis-lstm-s8');
    return { board, shape: { hidden, input, steps }, macs, tinym2, cmsis, ratio: tinym2 / cmsis, tinym2Int4: count('tinym2-lstm-s4'), tinym2Gru: count('tinym2-gru-s8') };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const BEGIN = '<!-- lstm-vs-cmsis-nn: begin (generated by benchmarks/lstm-vs-cmsis-nn.ts --write; do not edit) -->';
const END = '<!-- lstm-vs-cmsis-nn: end -->';

function markdown(results: LstmBenchResult[]): string {
  const fmt = (n: number) => n.toLocaleString('en-US');
  const rows = results.map((r) => {
    const { hidden, input, steps } = r.shape;
    return `| ${hidden} hidden, ${input} input, ${steps} steps, ${r.board} | ${fmt(r.tinym2)} (${(r.macs / r.tinym2).toFixed(2)} MAC/instr) | ${fmt(r.cmsis)} | ${r.ratio.toFixed(2)} | ${fmt(r.tinym2Int4)} | ${fmt(r.tinym2Gru)} |`;
  });
  return ['| LSTM, INT8 | tinym2 `tm2_lstm_s8` | CMSIS-NN `arm_lstm_unidirectional_s8` (same run) | ratio | tinym2 LSTM, INT4 weights | tinym2 GRU, INT8 |', '|---|---:|---:|---:|---:|---:|', ...rows].join('\n');
}

function writeReadme(results: LstmBenchResult[]): void {
  const file = join(ROOT, 'runtime-c', 'README.md');
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(BEGIN), b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`runtime-c/README.md has no lstm-vs-cmsis-nn markers (${BEGIN} ... ${END})`);
  writeFileSync(file, `${text.slice(0, a + BEGIN.length)}\n${markdown(results)}\n${text.slice(b)}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      hidden: { type: 'string', default: '64' }, input: { type: 'string', default: '32' }, steps: { type: 'string', default: '50' },
      board: { type: 'string', multiple: true }, json: { type: 'boolean', default: false }, write: { type: 'boolean', default: false },
    },
  });
  if (!existsSync(join(CMSIS_NN_DIR, 'Include', 'arm_nnfunctions.h'))) {
    process.stdout.write(`lstm-vs-cmsis-nn: skipped: CMSIS-NN sources not found at ${CMSIS_NN_DIR} (../shared/anchors/cmsis-nn, a benchmark-only input)\n`);
    return;
  }
  lowerPriority();
  const results: LstmBenchResult[] = [];
  for (const board of values.board ?? ['mps2-an386']) {
    results.push(await benchLstm(board, Number(values.hidden), Number(values.input), Number(values.steps)));
  }
  if (values.write) writeReadme(results);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(results, null, 1)}\n`);
    return;
  }
  const fmt = (n: number) => n.toLocaleString('en-US');
  for (const r of results) {
    const { hidden, input, steps } = r.shape;
    process.stdout.write(`LSTM ${hidden} hidden, ${input} input, ${steps} steps (${fmt(r.macs)} MACs), INT8, ${r.board}, instructions counted by QEMU:\n`);
    process.stdout.write(`  tinym2 tm2_lstm_s8                 ${fmt(r.tinym2).padStart(12)}  (${(r.macs / r.tinym2).toFixed(2)} MAC/instr)\n`);
    process.stdout.write(`  CMSIS-NN arm_lstm_unidirectional_s8 ${fmt(r.cmsis).padStart(11)}  (${(r.macs / r.cmsis).toFixed(2)} MAC/instr)\n`);
    process.stdout.write(`  ratio tinym2 / CMSIS-NN            ${r.ratio.toFixed(3).padStart(12)}\n`);
    process.stdout.write(`  (no CMSIS-NN counterpart) tinym2 LSTM INT4 weights ${fmt(r.tinym2Int4)}, GRU INT8 ${fmt(r.tinym2Gru)} (${fmt((r.macs * 3) / 4)} MACs)\n`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) await main();
