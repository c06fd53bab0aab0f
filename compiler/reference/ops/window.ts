// Sliding-window geometry shared by Conv and the pools: a 1-D op is run as a 2-D op with H = 1.

export interface WindowParams {
  kernel: number[];
  strides: number[];
  /** ONNX order [begin_0, begin_1, ..., end_0, end_1, ...]. */
  pads: number[];
  dilations: number[];
}

/** 2-D view of a 1-D or 2-D window: [H, W] kernel, strides, dilations and (top, left, bottom, right) pads. */
export interface Window2d {
  kh: number; kw: number;
  sh: number; sw: number;
  dh: number; dw: number;
  padTop: number; padLeft: number; padBottom: number; padRight: number;
}

export function window2d(p: WindowParams): Window2d {
  if (p.kernel.length === 1) {
    return { kh: 1, kw: p.kernel[0], sh: 1, sw: p.strides[0], dh: 1, dw: p.dilations[0], padTop: 0, padLeft: p.pads[0], padBottom: 0, padRight: p.pads[1] };
  }
  return {
    kh: p.kernel[0], kw: p.kernel[1], sh: p.strides[0], sw: p.strides[1], dh: p.dilations[0], dw: p.dilations[1],
    padTop: p.pads[0], padLeft: p.pads[1], padBottom: p.pads[2], padRight: p.pads[3],
  };
}

/** [N, C, H, W] of an (N,C,L) or (N,C,H,W) shape. */
export function nchw(shape: readonly number[]): [number, number, number, number] {
  return shape.length === 3 ? [shape[0], shape[1], 1, shape[2]] : [shape[0], shape[1], shape[2], shape[3]];
}
