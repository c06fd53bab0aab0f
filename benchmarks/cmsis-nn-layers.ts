// CMSIS-NN's calls for the layers of a QGraph, as one C source: the benchmark half of vs-cmsis-nn.ts.
//
// For every op CMSIS-NN has a kernel for, the source calls that kernel on the same shapes, with the
// weights, biases and requantization arrays of the generated model (the symbols tm2_<name>_l<i>_* of
// <name>_weights.c: CMSIS-NN reads the same layouts: OHWI conv weights, [KH][KW][Cout] depthwise,
// [Cout][Cin] dense, INT4 packed low nibble first) and brackets the call with tm2_count_begin()/_end().
// Before each region it prints "cmsis <op index>" so the driver can pair the counts with the ops.
// Activations are seeded random int8 (instruction counts of these kernels hardly depend on values).
//
// Kernels chosen as TensorFlow Lite Micro's CMSIS-NN port would: the _wrapper_ entry points (which pick
// 1x1, 1xN, 3x3 depthwise fast paths themselves), arm_convolve_s8 for grouped convs, per-channel fully
// connected for INT8 and per-tensor for INT4 (CMSIS-NN has no per-channel INT4 one; same inner loop).
// Ops without a CMSIS-NN counterpart (lut, reshape, concat, pad, permute) are left out and reported so.
import type { GeneratedModel } from '../compiler/codegen/generate.ts';
import { shapeOf } from '../compiler/codegen/layers.ts';
import { activationRange } from '../compiler/quant/fixedpoint.ts';
import type { QGraph, QOp, QSoftmaxOp } from '../compiler/quant/qgraph.ts';

/** Bytes of the static work buffer the CMSIS-NN calls share (checked against each *_get_buffer_size at run time). */
const SCRATCH_BYTES = 65536;

/** The CMSIS-NN kernel that stands for op `op`, or null when CMSIS-NN has none. */
export function cmsisKernel(q: QGraph, op: QOp): string | null {
  switch (op.op) {
    case 'conv':
      if (op.groups > 1) return op.weightBits === 4 ? null : 'arm_convolve_s8';
      return op.weightBits === 4 ? 'arm_convolve_wrapper_s4' : 'arm_convolve_wrapper_s8';
    case 'pointwise':
      return op.weightBits === 4 ? 'arm_convolve_wrapper_s4' : 'arm_convolve_wrapper_s8';
    case 'depthwise':
      return op.weightBits === 4 ? 'arm_depthwise_conv_wrapper_s4' : 'arm_depthwise_conv_wrapper_s8';
    case 'dense':
      return op.weightBits === 4 ? 'arm_fully_connected_s4' : 'arm_fully_connected_per_channel_s8';
    case 'maxpool':
      return 'arm_max_pool_s8';
    case 'avgpool':
    case 'gap':
      return 'arm_avgpool_s8';
    case 'add':
      return 'arm_elementwise_add_s8';
    case 'mul':
      return 'arm_elementwise_mul_s8';
    case 'softmax':
      return shapeOf(q, op.inputs[0]).bits === 8 ? 'arm_softmax_s8' : null;
    default:
      return null;
  }
}

/**
 * TensorFlow Lite's softmax parameters for an input scale (beta 1): multiplier and left shift of
 * beta * scale * 2^(31 - 5), and diff_min = -CalculateInputRadius(5, shift) (tensorflow/lite/kernels/
 * internal/quantization_util.cc), as TFLM hands them to arm_softmax_s8.
 */
export function tfliteSoftmaxParams(inputScale: number): { mult: number; shift: number; diffMin: number } {
  const bits = 5;
  const real = Math.min(inputScale * 2 ** (31 - bits), 2 ** 31 - 1);
  let shift = Math.ceil(Math.log2(real));
  if (2 ** shift === real) shift += 1; // frexp: mantissa in [0.5, 1)
  let mult = Math.round((real / 2 ** shift) * 2 ** 31);
  if (mult === 2 ** 31) {
    mult /= 2;
    shift += 1;
  }
  const radius = Math.floor(((2 ** bits - 1) * 2 ** (31 - bits)) / 2 ** shift);
  return { mult, shift, diffMin: -radius };
}

const dims = (n: number, h: number, w: number, c: number) => `{${n}, ${h}, ${w}, ${c}}`;

/** One op's CMSIS-NN call (declarations, buffer check, counted call), or null when CMSIS-NN has none. */
function callFor(q: QGraph, op: QOp, i: number, prefix: string): string | null {
  const kernel = cmsisKernel(q, op);
  if (!kernel) return null;
  const out = shapeOf(q, op.output);
  const inT = shapeOf(q, op.inputs[0]);
  const [ih, iw, ic] = inT.shape;
  const [oh, ow, oc] = out.shape;
  const L = `${prefix}_l${i}`;
  const lines: string[] = [];
  let call: string;
  let need = '0';
  if (op.op === 'conv' || op.op === 'pointwise' || op.op === 'depthwise' || op.op === 'dense') {
    lines.push(`cmsis_nn_per_channel_quant_params qp = {(int32_t *)${L}_mult, (int32_t *)${L}_shift};`);
    lines.push(`cmsis_nn_dims id = ${dims(1, ih, iw, ic)}, bd = ${dims(1, 1, 1, oc)}, od = ${dims(1, oh, ow, oc)};`);
    const act = `{${op.actMin}, ${op.actMax}}`;
    if (op.op === 'depthwise') {
      lines.push(`cmsis_nn_dims fd = ${dims(1, op.kernel[0], op.kernel[1], oc)};`);
      lines.push(`cmsis_nn_dw_conv_params cp = {${-inT.zeroPoint}, ${out.zeroPoint}, ${op.channelMultiplier}, {${op.stride[1]}, ${op.stride[0]}}, {${op.pad[1]}, ${op.pad[0]}}, {${op.dilation[1]}, ${op.dilation[0]}}, ${act}};`);
      need = `${kernel}_get_buffer_size(&cp, &id, &fd, &od)`;
    } else if (op.op === 'dense') {
      const k = ih * iw * ic;
      lines.push(`cmsis_nn_dims fd = ${dims(k, 1, 1, oc)};`);
      lines.push(`cmsis_nn_fc_params cp = {${-inT.zeroPoint}, 0, ${out.zeroPoint}, ${act}};`);
      if (op.weightBits === 4) lines.push(`cmsis_nn_per_tensor_quant_params tp = {${L}_mult[0], ${L}_shift[0]};`);
      need = `arm_fully_connected_s8_get_buffer_size(&fd)`;
      // id as [N = 1, 1, 1, K]: CMSIS-NN takes the flat input of K values per batch.
      lines[1] = `cmsis_nn_dims id = ${dims(1, 1, 1, k)}, bd = ${dims(1, 1, 1, oc)}, od = ${dims(1, 1, 1, oc)};`;
    } else {
      const [kh, kw] = op.op === 'pointwise' ? [1, 1] : op.kernel;
      const cin = op.op === 'conv' ? ic / op.groups : ic;
      lines.push(`cmsis_nn_dims fd = ${dims(oc, kh, kw, cin)};`);
      const [sh, sw] = op.op === 'pointwise' ? [1, 1] : op.stride;
      const [pt, pl] = op.op === 'pointwise' ? [0, 0] : op.pad;
      const [dh, dw] = op.op === 'pointwise' ? [1, 1] : op.dilation;
      lines.push(`cmsis_nn_conv_params cp = {${-inT.zeroPoint}, ${out.zeroPoint}, {${sw}, ${sh}}, {${pl}, ${pt}}, {${dw}, ${dh}}, ${act}};`);
      need = kernel === 'arm_convolve_s8' ? 'arm_convolve_s8_get_buffer_size(&id, &fd)' : `${kernel}_get_buffer_size(&cp, &id, &fd, &od)`;
    }
    const quant = op.op === 'dense' && op.weightBits === 4 ? '&tp' : '&qp';
    // arm_convolve_s8 (grouped convs) also takes upscale dims (transposed convolution); NULL is a plain convolution.
    const upscale = kernel === 'arm_convolve_s8' ? 'NULL, ' : '';
    call = `${kernel}(&ctx, &cp, ${quant}, &id, in_a, &fd, ${L}_w, &bd, ${L}_bias, ${upscale}&od, out_buf)`;
  } else if (op.op === 'maxpool' || op.op === 'avgpool' || op.op === 'gap') {
    const [lo, hi] = activationRange(out.bits);
    const [kh, kw] = op.op === 'gap' ? [ih, iw] : op.kernel;
    const [sh, sw] = op.op === 'gap' ? [1, 1] : op.stride;
    const [pt, pl] = op.op === 'gap' ? [0, 0] : op.pad;
    lines.push(`cmsis_nn_dims id = ${dims(1, ih, iw, ic)}, fd = ${dims(1, kh, kw, 1)}, od = ${dims(1, oh, ow, oc)};`);
    lines.push(`cmsis_nn_pool_params cp = {{${sw}, ${sh}}, {${pl}, ${pt}}, {${lo}, ${hi}}};`);
    if (kernel === 'arm_avgpool_s8') need = `arm_avgpool_s8_get_buffer_size(${ow}, ${ic})`;
    call = `${kernel}(&ctx, &cp, &id, in_a, &fd, &od, out_buf)`;
  } else if (op.op === 'add') {
    const a = shapeOf(q, op.inputs[0]), b = shapeOf(q, op.inputs[1]);
    const [ra, rb] = op.inputRequant;
    const size = oh * ow * oc;
    call = `arm_elementwise_add_s8(in_a, in_b, ${-a.zeroPoint}, ${ra.multiplier[0]}, ${ra.shift[0]}, ${-b.zeroPoint}, ${rb.multiplier[0]}, ${rb.shift[0]}, ${op.leftShift}, out_buf, ${out.zeroPoint}, ${op.outputRequant.multiplier[0]}, ${op.outputRequant.shift[0]}, ${op.actMin}, ${op.actMax}, ${size})`;
  } else if (op.op === 'mul') {
    const a = shapeOf(q, op.inputs[0]), b = shapeOf(q, op.inputs[1]);
    call = `arm_elementwise_mul_s8(in_a, in_b, ${-a.zeroPoint}, ${-b.zeroPoint}, out_buf, ${out.zeroPoint}, ${op.requant.multiplier[0]}, ${op.requant.shift[0]}, ${op.actMin}, ${op.actMax}, ${oh * ow * oc})`;
  } else {
    const s = tfliteSoftmaxParams(inT.scale);
    call = `(arm_softmax_s8(in_a, ${oh * ow}, ${oc}, ${s.mult}, ${s.shift}, ${s.diffMin}, out_buf), ARM_CMSIS_NN_SUCCESS)`;
    void (op as QSoftmaxOp);
  }
  return [
    `  { /* ${i}: ${op.op} -> [${out.shape.join(', ')}], ${kernel} */`,
    ...lines.map((l) => `    ${l}`),
    `    const int32_t need = ${need};`,
    `    if (need > (int32_t)sizeof scratch) { printf("cmsis_scratch ${i} %ld\\n", (long)need); failures++; }`,
    `    else {`,
    `      arm_cmsis_nn_status st;`,
    `      printf("cmsis ${i}\\n");`,
    `      tm2_count_begin();`,
    `      st = ${call};`,
    `      tm2_count_end();`,
    `      if (st != ARM_CMSIS_NN_SUCCESS) { printf("cmsis_error ${i} %d\\n", (int)st); failures++; }`,
    `    }`,
    `  }`,
  ].join('\n');
}

/**
 * The C source that runs the generated model's test harness (built with entry `harnessEntry`, so
 * tinym2's per-layer regions come first) and then CMSIS-NN's kernel for every op that has one.
 * Prints "cmsis_done failures=N" last; exits with the harness's code, or 3 if a CMSIS-NN call failed.
 */
export function cmsisLayersSource(q: QGraph, model: GeneratedModel, harnessEntry: string): string {
  const prefix = `tm2_${model.name}`;
  const calls: string[] = [];
  const externs: string[] = [];
  let maxIn = 1, maxOut = 1;
  q.ops.forEach((op, i) => {
    const c = callFor(q, op, i, prefix);
    if (!c) return;
    calls.push(c);
    const size = (t: string) => shapeOf(q, t).shape.reduce((a, b) => a * b, 1);
    for (const x of op.inputs) maxIn = Math.max(maxIn, size(x));
    maxOut = Math.max(maxOut, size(op.output));
    if (op.op === 'conv' || op.op === 'pointwise' || op.op === 'depthwise' || op.op === 'dense') {
      const L = `${prefix}_l${i}`;
      externs.push(`extern const int8_t ${L}_w[];`, `extern const int32_t ${L}_bias[], ${L}_mult[], ${L}_shift[];`);
    }
  });
  return `/*
 * vs_cmsis.c - generated by benchmarks/vs-cmsis-nn.ts: runs ${model.name}'s test harness (tinym2's kernels, one
 * count region per layer) and then CMSIS-NN's kernels on the same layer shapes and weights, one region each.
 * Benchmark only: CMSIS-NN is never part of what tinym2 ships.
 */
#include <stdio.h>
#include <stdint.h>

#include "arm_nnfunctions.h"
#include "tm2_count.h"

int ${harnessEntry}(void);

${externs.join('\n')}

static int8_t in_a[${maxIn}], in_b[${maxIn}], out_buf[${maxOut}];
static int32_t scratch_words[${SCRATCH_BYTES / 4}];
#define scratch scratch_words

static void fill(int8_t *v, int32_t n, uint32_t seed) {
  int32_t i;
  for (i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    v[i] = (int8_t)(seed >> 24);
  }
}

int main(void) {
  int harness = ${harnessEntry}();
  int failures = 0;
  cmsis_nn_context ctx;
  ctx.buf = scratch_words;
  ctx.size = (int32_t)sizeof scratch_words;
  fill(in_a, ${maxIn}, 1u);
  fill(in_b, ${maxIn}, 2u);
${calls.join('\n')}
  printf("cmsis_done failures=%d\\n", failures);
  return failures ? 3 : harness;
}
`;
}
