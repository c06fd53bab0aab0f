// The packed-INT4-activation entry points of runtime-c (tm2.h "Packed INT4 activations",
// runtime-c/src/s4_act.c): their scratch sizes, mirrored here for the arena plan and checked equal
// to the C tm2_*_s4a_scratch_size by test/scratch-sizes.test.ts, and the C kind constants.
// Which tensors are packed is compiler/quant/act-storage.ts's rule.
import type { QConvOp } from './conv.ts';
import type { QPoolOp } from './pool.ts';
import type { QTensor } from '../quant/qgraph.ts';
import type { EmitContext } from './kernel.ts';

export const IN_PACKED = 1;
export const OUT_PACKED = 2;
/** TM2_S4A_CHUNK: values per chunk of the elementwise wrapper. */
export const CHUNK = 64;
/** TM2_S4A_BAND_COLS: output columns per band when the output has one row. */
const BAND_COLS = 8;

export const CONV_KIND: Record<'conv' | 'depthwise' | 'pointwise' | 'dense', string> = {
  conv: 'TM2_S4A_CONV', depthwise: 'TM2_S4A_DEPTHWISE', pointwise: 'TM2_S4A_POINTWISE', dense: 'TM2_S4A_DENSE',
};

const align4 = (n: number) => (n + 3) & ~3;

/** s4a_axis: the input span [lo, lo + len) a band of n outputs from o0 reads. */
function span(o0: number, n: number, s: number, pad: number, taps: number, inp: number): number {
  const start = o0 * s - pad, end = (o0 + n - 1) * s - pad + taps;
  const lo = Math.min(Math.max(start, 0), inp);
  return Math.max(Math.min(end, inp) - lo, 0);
}

function maxSpan(out: number, band: number, s: number, pad: number, taps: number, inp: number): number {
  let m = 0;
  for (let o0 = 0; o0 < out; o0 += band) m = Math.max(m, span(o0, Math.min(band, out - o0), s, pad, taps, inp));
  return m;
}

/** s4a_window_plan: bytes of the unpacked input window and of one band's output. */
function windowBytes(
  inShape: [number, number, number], outShape: [number, number, number], taps: [number, number], stride: [number, number],
  pad: [number, number], io: number,
): { win: number; out: number } {
  const [ih, iw, ci] = inShape, [oh, ow, co] = outShape;
  if (oh > 1) {
    const rows = maxSpan(oh, 1, stride[0], pad[0], taps[0], ih);
    return { win: io & IN_PACKED ? rows * iw * ci : 0, out: io & OUT_PACKED ? ow * co : 0 };
  }
  const rows = maxSpan(1, 1, stride[0], pad[0], taps[0], ih);
  const cols = maxSpan(ow, BAND_COLS, stride[1], pad[1], taps[1], iw);
  return { win: io & IN_PACKED || rows > 1 ? rows * cols * ci : 0, out: io & OUT_PACKED ? Math.min(ow, BAND_COLS) * co : 0 };
}

/** tm2_conv_s4a_scratch_size: the kernel's own scratch, the input window, one band's output (one-row bands: the minimum; tm2_conv_s4a widens its bands into whatever the arena grants beyond it, ModelMemory.scratch[].granted). */
export function convS4aScratch(op: QConvOp, inT: QTensor, outT: QTensor, kernelScratch: number, io: number): number {
  let w: { win: number; out: number };
  if (op.op === 'dense') w = { win: io & IN_PACKED ? size(inT) : 0, out: io & OUT_PACKED ? outT.shape[2] : 0 };
  else if (op.op === 'pointwise') w = windowBytes(inT.shape, outT.shape, [1, 1], [1, 1], [0, 0], io);
  else {
    const taps: [number, number] = [(op.kernel[0] - 1) * op.dilation[0] + 1, (op.kernel[1] - 1) * op.dilation[1] + 1];
    w = windowBytes(inT.shape, outT.shape, taps, op.stride, [op.pad[0], op.pad[1]], io);
  }
  return align4(kernelScratch) + align4(w.win) + w.out;
}

/** tm2_pool_s4a_scratch_size: c int32 accumulators, one input and one output pixel. */
export function poolS4aScratch(op: QPoolOp, inT: QTensor): number {
  void op;
  return 4 * inT.shape[2] + 2 * align4(inT.shape[2]);
}

/** tm2_elementwise_s4a_scratch_size. */
export function elementwiseS4aScratch(n: number): number {
  return 3 * align4(Math.min(n, CHUNK));
}

function size(t: QTensor): number {
  return t.shape[0] * t.shape[1] * t.shape[2];
}

/**
 * Emits an add / mul / lut call through tm2_elementwise_s4a when one of its tensors is packed;
 * false (nothing emitted) otherwise. `params` is the C expression of the kernel's parameters.
 */
export function emitElementwiseS4a(e: EmitContext, kind: string, params: string, inputs: string[], output: string, io: { flags: number; ins: boolean[]; out: boolean }): boolean {
  if (!io.flags) return false;
  const sc = e.memory.scratch[e.index];
  const n = size(e.outT);
  const b = inputs.length > 1 ? `${e.at(inputs[1])}, ${io.ins[1] ? 1 : 0}` : 'NULL, 0';
  e.statement(`${e.comment}\n  tm2_elementwise_s4a(${kind}, ${params}, ${n}, ${e.at(inputs[0])}, ${io.ins[0] ? 1 : 0}, ${b}, ${e.at(output)}, ${io.out ? 1 : 0}, ${sc ? `A + ${sc.offset}` : 'NULL'});`);
  e.selfCheck(`  if (tm2_elementwise_s4a_scratch_size(${n}) > ${sc ? sc.bytes : 0}u) bad++;`);
  return true;
}
