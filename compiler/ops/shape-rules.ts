// Shape arithmetic shared by the ops' shape rules. Problems are thrown as ShapeError (a plain
// message); the importer adds file and node context.

export class ShapeError extends Error {}

export function check(cond: boolean, msg: string): asserts cond {
  if (!cond) throw new ShapeError(msg);
}

export const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** numpy broadcasting of two shapes. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    check(x === y || x === 1 || y === 1, `shapes ${fmt(a)} and ${fmt(b)} do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Output length of a sliding window (Conv, pools), with PyTorch's / ONNX's ceil_mode rule. */
export function windowOutput(
  inLen: number, kernel: number, stride: number, dilation: number, padBegin: number, padEnd: number, ceilMode: boolean,
): number {
  const span = (kernel - 1) * dilation + 1;
  const room = inLen + padBegin + padEnd - span;
  check(room >= 0, `window of ${span} does not fit input length ${inLen} with pads ${padBegin}+${padEnd}`);
  let out = (ceilMode ? Math.ceil(room / stride) : Math.floor(room / stride)) + 1;
  // A window may not start inside the end padding (it would see no input).
  if (ceilMode && (out - 1) * stride >= inLen + padBegin) out -= 1;
  return out;
}

export interface WindowNode {
  kernel: number[];
  strides: number[];
  /** ONNX order [begin_0, begin_1, ..., end_0, end_1, ...]. */
  pads: number[];
  dilations: number[];
}

/** [N, channels, ...spatial outputs] of a Conv or pool. */
export function spatialOutput(inShape: readonly number[], node: WindowNode, channels: number, ceilMode: boolean): number[] {
  const r = inShape.length - 2;
  check(r === 1 || r === 2, `expects a 1-D (N,C,L) or 2-D (N,C,H,W) input, got ${fmt(inShape)}`);
  check(node.kernel.length === r, `kernel ${fmt(node.kernel)} does not match a ${r}-D input ${fmt(inShape)}`);
  const out = [inShape[0], channels];
  for (let i = 0; i < r; i++) {
    out.push(windowOutput(inShape[2 + i], node.kernel[i], node.strides[i], node.dilations[i], node.pads[i], node.pads[r + i], ceilMode));
  }
  return out;
}

/**
 * Spatial geometry of a 1-D or 2-D window op (Conv, pools) as 2-D: a 1-D op is H = 1.
 * Input [N, C, H, W] / [N, C, L]; ONNX pads [begin..., end...].
 */
export interface Window2d {
  n: number;
  c: number; h: number; w: number;
  oc: number; oh: number; ow: number;
  kh: number; kw: number;
  sh: number; sw: number;
  padTop: number; padLeft: number; padBottom: number; padRight: number;
  dh: number; dw: number;
}

export function window2d(inShape: readonly number[], outShape: readonly number[], p: WindowNode): Window2d {
  if (inShape.length === 3) {
    return {
      n: inShape[0], c: inShape[1], h: 1, w: inShape[2], oc: outShape[1], oh: 1, ow: outShape[2],
      kh: 1, kw: p.kernel[0], sh: 1, sw: p.strides[0] ?? 1,
      padTop: 0, padLeft: p.pads[0] ?? 0, padBottom: 0, padRight: p.pads[1] ?? 0,
      dh: 1, dw: p.dilations[0] ?? 1,
    };
  }
  if (inShape.length !== 4) throw new Error(`internal: window op on rank-${inShape.length} input`);
  return {
    n: inShape[0], c: inShape[1], h: inShape[2], w: inShape[3], oc: outShape[1], oh: outShape[2], ow: outShape[3],
    kh: p.kernel[0], kw: p.kernel[1], sh: p.strides[0] ?? 1, sw: p.strides[1] ?? 1,
    padTop: p.pads[0] ?? 0, padLeft: p.pads[1] ?? 0, padBottom: p.pads[2] ?? 0, padRight: p.pads[3] ?? 0,
    dh: p.dilations[0] ?? 1, dw: p.dilations[1] ?? 1,
  };
}
