// Shape inference for IR nodes. The importer uses it on every node it creates, and later passes
// can call `inferOutputShape` again after rewriting a node. Problems are thrown as ShapeError
// (a plain message); the caller adds file and node context.
import type { Graph, Node, PoolNode, ConvNode } from '../ir.ts';
import { tensorSize } from '../ir.ts';

export class ShapeError extends Error {}

function check(cond: boolean, msg: string): asserts cond {
  if (!cond) throw new ShapeError(msg);
}

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

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

function spatialOutput(inShape: readonly number[], node: ConvNode | PoolNode, channels: number, ceilMode: boolean): number[] {
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
 * Output shape of `node` given the shapes of its activation inputs (in order) and the graph's
 * constants (weights are read from `constants`).
 */
export function inferOutputShape(
  node: Node,
  inShapes: readonly (readonly number[])[],
  constants: Graph['constants'],
): number[] {
  const constShape = (name: string): number[] => {
    const c = constants.get(name);
    check(c !== undefined, `constant '${name}' is missing`);
    return c.shape;
  };
  const x = inShapes[0];
  switch (node.op) {
    case 'Conv': {
      const w = constShape(node.weight);
      const r = x.length - 2;
      check(w.length === x.length, `weight ${fmt(w)} has rank ${w.length}, input ${fmt(x)} has rank ${x.length}`);
      check(x[1] % node.group === 0 && w[0] % node.group === 0, `input channels ${x[1]} and output channels ${w[0]} must both divide by group ${node.group}`);
      check(w[1] === x[1] / node.group, `weight ${fmt(w)} expects ${w[1] * node.group} input channels (group ${node.group}), input ${fmt(x)} has ${x[1]}`);
      check(node.kernel.join() === w.slice(2).join(), `kernel_shape ${fmt(node.kernel)} differs from weight ${fmt(w)}`);
      if (node.bias) check(tensorSize(constShape(node.bias)) === w[0], `bias has ${tensorSize(constShape(node.bias))} values for ${w[0]} output channels`);
      check(node.pads.length === 2 * r && node.strides.length === r && node.dilations.length === r, 'pads / strides / dilations do not match the kernel rank');
      return spatialOutput(x, node, w[0], false);
    }
    case 'Dense': {
      const w = constShape(node.weight);
      check(w.length === 2, `weight must be 2-D [out, in], got ${fmt(w)}`);
      check(x[x.length - 1] === w[1], `input ${fmt(x)} has ${x[x.length - 1]} features, weight ${fmt(w)} expects ${w[1]}`);
      if (node.bias) check(tensorSize(constShape(node.bias)) === w[0], `bias has ${tensorSize(constShape(node.bias))} values for ${w[0]} outputs`);
      return [...x.slice(0, -1), w[0]];
    }
    case 'ScaleShift': {
      check(x.length >= 2, `input ${fmt(x)} has no channel axis`);
      check(tensorSize(constShape(node.scale)) === x[1] && tensorSize(constShape(node.shift)) === x[1], `scale / shift sizes do not match ${x[1]} channels of input ${fmt(x)}`);
      return [...x];
    }
    case 'Relu': case 'Clip': case 'LeakyRelu': case 'Sigmoid':
      return [...x];
    case 'MaxPool': case 'AveragePool': {
      check(node.pads.length === 2 * node.kernel.length, 'pads do not match the kernel rank');
      for (let i = 0; i < node.kernel.length; i++) {
        check(node.pads[i] < node.kernel[i] && node.pads[node.kernel.length + i] < node.kernel[i], `pads ${fmt(node.pads)} must be smaller than kernel ${fmt(node.kernel)}`);
      }
      return spatialOutput(x, node, x[1], node.ceilMode);
    }
    case 'GlobalAveragePool':
      check(x.length >= 3, `expects (N,C,...) input, got ${fmt(x)}`);
      return [x[0], x[1], ...x.slice(2).map(() => 1)];
    case 'Pad': {
      check(node.pads.length === 2 * x.length, `pads ${fmt(node.pads)} need ${2 * x.length} values for input ${fmt(x)}`);
      check(node.pads.every((p) => p >= 0), `negative pads ${fmt(node.pads)} (cropping) are not supported`);
      return x.map((d, i) => d + node.pads[i] + node.pads[x.length + i]);
    }
    case 'Reshape':
      check(tensorSize(node.shape) === tensorSize(x), `cannot reshape ${fmt(x)} (${tensorSize(x)} values) to ${fmt(node.shape)}`);
      return [...node.shape];
    case 'Transpose': {
      const sorted = [...node.perm].sort((a, b) => a - b);
      check(node.perm.length === x.length && sorted.every((p, i) => p === i), `perm ${fmt(node.perm)} is not a permutation of ${x.length} axes`);
      return node.perm.map((p) => x[p]);
    }
    case 'Concat': {
      const axis = node.axis;
      check(axis >= 0 && axis < x.length, `axis ${axis} out of range for rank ${x.length}`);
      const out = [...x];
      for (let k = 1; k < inShapes.length; k++) {
        const s = inShapes[k];
        check(s.length === x.length && s.every((d, i) => i === axis || d === x[i]), `inputs ${inShapes.map(fmt).join(' and ')} differ outside axis ${axis}`);
        out[axis] += s[axis];
      }
      return out;
    }
    case 'Add': case 'Sub': case 'Mul': {
      const other = node.constant !== undefined ? constShape(node.constant) : inShapes[1];
      check(other !== undefined, 'needs two operands');
      const out = broadcastShapes(x, other);
      // The result must keep the activation's shape: a constant may not grow it (no batch of outputs).
      if (node.constant !== undefined) check(out.join() === x.join(), `constant ${fmt(other)} would broadcast the activation ${fmt(x)} to ${fmt(out)}`);
      return out;
    }
    case 'Softmax':
      check(node.axis >= 0 && node.axis < x.length, `axis ${node.axis} out of range for rank ${x.length}`);
      return [...x];
  }
}
