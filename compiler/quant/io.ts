// The boundary between float ONNX-layout data and the QGraph's int8 channels-last tensors:
// quantize graph inputs, dequantize graph outputs. The C API does the same at run time.
import { clamp, activationRange } from './fixedpoint.ts';
import type { QGraph, QTensor } from './qgraph.ts';
import { roundHalfAway } from './weights.ts';

function ioInfo(q: QGraph, name: string): { t: QTensor; layout: 'nchw' | 'ncl' | 'flat' } {
  const t = q.tensors.get(name);
  const io = q.io[name];
  if (!t || !io) throw new Error(`internal: ${name} is not a graph input or output of ${q.name}`);
  return { t, layout: io.layout };
}

/** Memory index (channels-last) -> ONNX flat index, for a tensor of the given layout. */
function onnxIndex(t: QTensor, layout: 'nchw' | 'ncl' | 'flat'): (m: number) => number {
  if (layout === 'flat') return (m) => m;
  const [H, W, C] = t.shape;
  return (m) => {
    const c = m % C;
    const hw = (m - c) / C;
    const w = hw % W;
    const h = (hw - w) / W;
    return (c * H + h) * W + w;
  };
}

/** real -> q = clamp(round(x / scale) + zp) in the tensor's bit range, reordered to channels-last. */
export function quantizeInput(q: QGraph, name: string, data: Float32Array): Int8Array {
  const { t, layout } = ioInfo(q, name);
  const n = t.shape[0] * t.shape[1] * t.shape[2];
  if (data.length !== n) throw new Error(`internal: input ${name} needs ${n} values, got ${data.length}`);
  const [lo, hi] = activationRange(t.bits);
  const idx = onnxIndex(t, layout);
  const out = new Int8Array(n);
  const affine = q.io[name].channelAffine;
  if (affine) {
    // Per channel: q = round((x - offset[c]) / scale[c]); the channel is the innermost memory axis.
    const C = t.shape[2];
    for (let m = 0; m < n; m++) out[m] = clamp(roundHalfAway((data[idx(m)] - affine.offset[m % C]) / affine.scale[m % C]), lo, hi);
    return out;
  }
  for (let m = 0; m < n; m++) out[m] = clamp(roundHalfAway(data[idx(m)] / t.scale) + t.zeroPoint, lo, hi);
  return out;
}

/** q -> real = scale * (q - zp), reordered back to the ONNX layout. */
export function dequantizeOutput(q: QGraph, name: string, data: Int8Array): Float32Array {
  const { t, layout } = ioInfo(q, name);
  const idx = onnxIndex(t, layout);
  const out = new Float32Array(data.length);
  for (let m = 0; m < data.length; m++) out[idx(m)] = t.scale * (data[m] - t.zeroPoint);
  return out;
}

/** Quantizes every graph input of one sample (keys: ONNX input names). */
export function quantizeInputs(q: QGraph, sample: Record<string, Float32Array>): Record<string, Int8Array> {
  const out: Record<string, Int8Array> = {};
  for (const name of q.inputs) {
    const data = sample[name];
    if (!data) throw new Error(`internal: sample has no input ${name}`);
    out[name] = quantizeInput(q, name, data);
  }
  return out;
}
