// ReduceMean / ReduceMax over any subset of the [H, W, C] axes (runtime-c/src/reduce.c).
// A reduced axis keeps extent 1. Mean: acc = sum(q - inZp) over the n reduced values,
// out = clamp(outZp + rq(acc, M, s)) with real multiplier inScale / (n * outScale).
// Max: the maximum; in and out share scale and zero point.
import type { QOpBase, QTensor } from '../quant/qgraph.ts';
import { list, type KernelDef } from './kernel.ts';
import { clamp, requantRaw } from '../quant/fixedpoint.ts';
import type { Dims3 } from './slice.ts';

export interface ReduceParams {
  kind: 'mean' | 'max';
  /** Bit a set = axis a of [H, W, C] reduced (the C field `axes`). */
  axes: number;
  inZp: number;
  outZp: number;
  /** Mean only. */
  multiplier: number;
  shift: number;
  actMin: number;
  actMax: number;
}

/** Output shape: reduced axes become 1. */
export function reducedShape(shape: Dims3, axes: number): Dims3 {
  return shape.map((d, a) => ((axes >> a) & 1 ? 1 : d)) as Dims3;
}

export function emulateReduce(p: ReduceParams, x: Int8Array, inShape: Dims3): Int8Array {
  const [, W, C] = inShape;
  const oe = reducedShape(inShape, p.axes);
  const wn = inShape.map((d, a) => ((p.axes >> a) & 1 ? d : 1));
  const n = wn[0] * wn[1] * wn[2];
  const sh = W * C, sw = C;
  const out = new Int8Array(oe[0] * oe[1] * oe[2]);
  let k = 0;
  for (let o0 = 0; o0 < oe[0]; o0++) {
    for (let o1 = 0; o1 < oe[1]; o1++) {
      for (let o2 = 0; o2 < oe[2]; o2++) {
        const base = o0 * sh + o1 * sw + o2;
        let acc = 0, m = -128;
        for (let w0 = 0; w0 < wn[0]; w0++) {
          for (let w1 = 0; w1 < wn[1]; w1++) {
            const b = base + w0 * sh + w1 * sw;
            for (let w2 = 0; w2 < wn[2]; w2++) {
              const v = x[b + w2];
              acc += v;
              if (v > m) m = v;
            }
          }
        }
        out[k++] = p.kind === 'max' ? m : clamp(requantRaw(acc - p.inZp * n, p.multiplier, p.shift) + p.outZp, p.actMin, p.actMax);
      }
    }
  }
  return out;
}

// ---- the QGraph op and its KernelDefs -------------------------------------------------------

/** ReduceMean / ReduceMax over the [H, W, C] axes in the mask `axes`; mean requantizes (multiplier, shift). */
export interface QReduceOp extends QOpBase {
  op: 'reduce_mean' | 'reduce_max';
  axes: number;
  multiplier: number;
  shift: number;
  actMin: number;
  actMax: number;
}

function params(op: QReduceOp, inT: QTensor, outT: QTensor): ReduceParams {
  return { kind: op.op === 'reduce_mean' ? 'mean' : 'max', axes: op.axes, inZp: inT.zeroPoint, outZp: outT.zeroPoint, multiplier: op.multiplier, shift: op.shift, actMin: op.actMin, actMax: op.actMax };
}

function reduceKernel(kind: 'mean' | 'max'): KernelDef<QReduceOp> {
  return {
    emulate: (op, [x], [inT], outT) => emulateReduce(params(op, inT, outT), x, inT.shape),
    validate(op, [x], out, v) {
      if (op.axes < 1 || op.axes > 7) v.bad(`axes mask ${op.axes} is not in 1..7`);
      if (reducedShape(x.shape, op.axes).join() !== out.shape.join()) v.bad(`output [${out.shape}] is not [${x.shape}] reduced over mask ${op.axes}`);
      if (kind === 'max') v.sameParams(x, out);
      else {
        v.checkRequant({ multiplier: Int32Array.of(op.multiplier), shift: Int32Array.of(op.shift) }, 1, 'reduce-mean multiplier');
        v.checkClamp(op, out);
      }
    },
    emitC(op, e) {
      const inT = e.q.tensors.get(op.inputs[0])!;
      e.param(`static const tm2_reduce_params ${e.id} = {${[...inT.shape, op.axes, inT.zeroPoint, e.outT.zeroPoint, op.multiplier, op.shift, op.actMin, op.actMax].join(', ')}};`);
      e.statement(`${e.comment}\n  tm2_reduce_${kind}_s8(&${e.id}, ${e.at(op.inputs[0])}, ${e.at(op.output)});`);
    },
    scratchBytes: () => 0,
    inPlace: false,
    runOps: (op, [x], [inT], outT) => `reduce_${kind} ${[...inT.shape, op.axes, inT.zeroPoint, outT.zeroPoint, op.multiplier, op.shift, op.actMin, op.actMax].join(' ')} ${list(x)}`,
  };
}

export const reduceMeanKernel = reduceKernel('mean');
export const reduceMaxKernel = reduceKernel('max');
