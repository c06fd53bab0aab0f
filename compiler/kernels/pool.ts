// maxpool and avgpool (2-D windows, 1-D as H = 1): input and output share scale and zero point.
import { activationRange, clamp } from '../quant/fixedpoint.ts';
import type { QOpBase, QTensor } from '../quant/qgraph.ts';
import { packedIO } from '../quant/act-storage.ts';
import { commentText } from '../codegen/names.ts';
import { divRound, list, size, storageRange, type KernelDef } from './kernel.ts';

export interface QPoolOp extends QOpBase {
  op: 'maxpool' | 'avgpool';
  kernel: [number, number];
  stride: [number, number];
  pad: [number, number, number, number];
  /** avgpool: divisor per output position follows ARITHMETIC.md (countIncludePad rule). */
  countIncludePad: boolean;
}


/** Max over the valid window positions (padding ignored). In and out share scale and zero point. */
export function maxPool(op: QPoolOp, x: Int8Array, inT: QTensor, outT: QTensor): Int8Array {
  const [IH, IW, C] = inT.shape;
  const [OH, OW] = outT.shape;
  const out = new Int8Array(size(outT));
  for (let oh = 0; oh < OH; oh++) {
    for (let ow = 0; ow < OW; ow++) {
      const h0 = oh * op.stride[0] - op.pad[0];
      const w0 = ow * op.stride[1] - op.pad[1];
      for (let c = 0; c < C; c++) {
        let m = -129;
        for (let ih = Math.max(h0, 0); ih < Math.min(h0 + op.kernel[0], IH); ih++) {
          for (let iw = Math.max(w0, 0); iw < Math.min(w0 + op.kernel[1], IW); iw++) {
            const v = x[(ih * IW + iw) * C + c];
            if (v > m) m = v;
          }
        }
        out[(oh * OW + ow) * C + c] = m === -129 ? inT.zeroPoint : m;
      }
    }
  }
  return out;
}

/**
 * acc = sum over valid positions of (q - zp); n counts window positions inside [-pad_begin, in + pad_end)
 * per axis when countIncludePad, else inside [0, in); out = clamp(zp + divRound(acc, n)).
 */
export function avgPool(op: QPoolOp, x: Int8Array, inT: QTensor, outT: QTensor): Int8Array {
  const [IH, IW, C] = inT.shape;
  const [OH, OW] = outT.shape;
  const zp = inT.zeroPoint;
  const [lo, hi] = storageRange(outT);
  const out = new Int8Array(size(outT));
  for (let oh = 0; oh < OH; oh++) {
    for (let ow = 0; ow < OW; ow++) {
      const h0 = oh * op.stride[0] - op.pad[0];
      const w0 = ow * op.stride[1] - op.pad[1];
      const hs = Math.max(h0, 0), he = Math.min(h0 + op.kernel[0], IH);
      const ws = Math.max(w0, 0), we = Math.min(w0 + op.kernel[1], IW);
      let n: number;
      if (op.countIncludePad) {
        const nh = Math.min(h0 + op.kernel[0], IH + op.pad[2]) - Math.max(h0, -op.pad[0]);
        const nw = Math.min(w0 + op.kernel[1], IW + op.pad[3]) - Math.max(w0, -op.pad[1]);
        n = nh * nw;
      } else {
        n = (he - hs) * (we - ws);
      }
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let ih = hs; ih < he; ih++) for (let iw = ws; iw < we; iw++) acc += x[(ih * IW + iw) * C + c] - zp;
        out[(oh * OW + ow) * C + c] = n > 0 ? clamp(zp + divRound(acc, n), lo, hi) : zp;
      }
    }
  }
  return out;
}

function poolKernel(kind: 'maxpool' | 'avgpool'): KernelDef<QPoolOp> {
  return {
    emulate: (op, [x], [inT], outT) => (kind === 'maxpool' ? maxPool : avgPool)(op, x, inT, outT),
    validate(op, [x], out, v) {
      v.sameParams(x, out);
      const [IH, IW, C] = x.shape;
      const [OH, OW, OC] = out.shape;
      if (OC !== C) v.bad('pooling changes the channel count');
      if (!v.extentOk(OH, IH, op.kernel[0], op.stride[0], 1, op.pad[0], op.pad[2]) || !v.extentOk(OW, IW, op.kernel[1], op.stride[1], 1, op.pad[1], op.pad[3])) v.bad('output extent does not follow from the window');
    },
    emitC(op, e) {
      const inT = e.q.tensors.get(op.inputs[0])!;
      const [actMin, actMax] = activationRange(e.outT.bits);
      const p = [
        `${inT.shape.join(', ')}`,
        `${e.outT.shape[0]}, ${e.outT.shape[1]}`,
        `${op.kernel[0]}, ${op.kernel[1]}`,
        `${op.stride[0]}, ${op.stride[1]}`,
        `${op.pad.join(', ')}`,
        `${op.countIncludePad ? 1 : 0}`,
        `${e.outT.zeroPoint}`,
        `${actMin}, ${actMax}`,
      ];
      e.param(
        `/* ${commentText(op.name)}: in [h, w, c], out h/w, kernel, stride, pad top/left/bottom/right, count_include_pad, zero point, clamp */\n` +
          `static const tm2_pool_params ${e.id} = {\n  ${p.join(',\n  ')}\n};`,
      );
      const io = packedIO(e.q, op).flags;
      if (io) {
        const sc = e.memory.scratch[e.index];
        e.statement(`${e.comment}\n  tm2_pool_s4a(${kind === 'maxpool' ? 1 : 0}, &${e.id}, ${e.at(op.inputs[0])}, ${e.at(op.output)}, ${io}, ${sc ? `A + ${sc.offset}` : 'NULL'});`);
        e.selfCheck(`  if (tm2_pool_s4a_scratch_size(&${e.id}, ${io}) > ${sc ? sc.bytes : 0}u) bad++;`);
        return;
      }
      e.statement(`${e.comment}\n  tm2_${op.op}_s8(&${e.id}, ${e.at(op.inputs[0])}, ${e.at(op.output)});`);
    },
    scratchBytes: () => 0,
    inPlace: false,
    runOps(op, [x], [inT], outT) {
      const [lo, hi] = activationRange(outT.bits);
      const head = [...inT.shape, outT.shape[0], outT.shape[1], ...op.kernel, ...op.stride, ...op.pad, op.countIncludePad ? 1 : 0, inT.zeroPoint, lo, hi];
      return `${kind} ${head.join(' ')} ${list(x)}`;
    },
  };
}

export const maxpoolKernel = poolKernel('maxpool');
export const avgpoolKernel = poolKernel('avgpool');
