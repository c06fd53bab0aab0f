// Structural checks of a QGraph against the contract in qgraph.ts and runtime-c/ARITHMETIC.md:
// what the emulator and the C kernels silently assume. Returns a list of problems (empty = valid);
// the lowering tests run it on every model, and the code generator may call it before emitting C.
import type { QGraph, QOp, QTensor, Requant } from './qgraph.ts';

export function validateQGraph(q: QGraph): string[] {
  const problems: string[] = [];
  const bad = (op: QOp | undefined, msg: string) => problems.push(op ? `${op.op} '${op.name}' -> ${op.output}: ${msg}` : msg);
  const defined = new Set<string>(q.inputs);
  const size = (t: QTensor) => t.shape[0] * t.shape[1] * t.shape[2];

  for (const [name, t] of q.tensors) {
    if (t.name !== name) bad(undefined, `tensor key ${name} holds a tensor named ${t.name}`);
    if (!(t.scale > 0) || !Number.isFinite(t.scale)) bad(undefined, `tensor ${name} has scale ${t.scale}`);
    const [lo, hi] = t.bits === 8 ? [-128, 127] : [-8, 7];
    if (!Number.isInteger(t.zeroPoint) || t.zeroPoint < lo || t.zeroPoint > hi) bad(undefined, `tensor ${name} (INT${t.bits}) has zero point ${t.zeroPoint}`);
    if (t.shape.some((d) => !Number.isInteger(d) || d < 1)) bad(undefined, `tensor ${name} has shape [${t.shape}]`);
  }
  for (const name of [...q.inputs, ...q.outputs]) {
    if (!q.tensors.has(name)) bad(undefined, `graph input/output ${name} has no tensor`);
    if (!q.io[name]) bad(undefined, `graph input/output ${name} has no io entry`);
  }

  const checkRequant = (op: QOp, r: Requant, n: number, what: string) => {
    if (r.multiplier.length !== n || r.shift.length !== n) bad(op, `${what} has ${r.multiplier.length} multipliers / ${r.shift.length} shifts for ${n} channels`);
    for (let i = 0; i < r.multiplier.length; i++) {
      const m = r.multiplier[i], s = r.shift[i];
      if (m !== 0 && (m < 2 ** 30 || m >= 2 ** 31)) bad(op, `${what}[${i}] multiplier ${m} is outside [2^30, 2^31)`);
      if (31 - s < 1 || 31 - s > 62) bad(op, `${what}[${i}] shift ${s} gives r = ${31 - s} outside [1, 62]`);
    }
  };
  const checkClamp = (op: QOp & { actMin: number; actMax: number }, out: QTensor) => {
    const [lo, hi] = out.bits === 8 ? [-128, 127] : [-8, 7];
    if (op.actMin < lo || op.actMax > hi || op.actMin > op.actMax) bad(op, `clamp [${op.actMin}, ${op.actMax}] is not inside the INT${out.bits} range`);
  };
  const sameParams = (op: QOp, a: QTensor, b: QTensor) => {
    if (a.scale !== b.scale || a.zeroPoint !== b.zeroPoint) bad(op, `${a.name} and ${b.name} must share scale and zero point (${a.scale}/${a.zeroPoint} vs ${b.scale}/${b.zeroPoint})`);
  };
  /** Output extent of a window op along one axis, ONNX floor mode, or the ceil-mode one. */
  const extentOk = (out: number, inp: number, k: number, s: number, d: number, p0: number, p1: number) => {
    const span = inp + p0 + p1 - d * (k - 1) - 1;
    return out === Math.floor(span / s) + 1 || out === Math.ceil(span / s) + 1;
  };

  for (const op of q.ops) {
    const ins = op.inputs.map((n) => q.tensors.get(n));
    const out = q.tensors.get(op.output);
    for (const [i, n] of op.inputs.entries()) {
      if (!ins[i]) bad(op, `input ${n} has no tensor`);
      else if (!defined.has(n)) bad(op, `reads ${n} before any op writes it`);
    }
    if (!out) { bad(op, 'output has no tensor'); continue; }
    if (defined.has(op.output)) bad(op, `writes ${op.output}, which is already written`);
    defined.add(op.output);
    if (ins.some((t) => !t)) continue;
    const x = ins[0]!;
    const [IH, IW, C] = x.shape;
    const [OH, OW, OC] = out.shape;
    switch (op.op) {
      case 'conv': case 'depthwise': case 'pointwise': case 'dense': {
        const [KH, KW] = op.kernel;
        const perOut = op.op === 'dense' ? size(x) : op.op === 'pointwise' ? C : op.op === 'depthwise' ? KH * KW : KH * KW * (C / op.groups);
        if (op.weights.length !== OC * perOut) bad(op, `${op.weights.length} weights, expected ${OC} x ${perOut}`);
        const wmax = op.weightBits === 8 ? 127 : 7;
        for (const w of op.weights) if (w < -wmax || w > wmax) { bad(op, `weight ${w} outside the INT${op.weightBits} range`); break; }
        if (op.bias.length !== OC || op.weightScale.length !== OC) bad(op, `bias / weight scales are not one per output channel`);
        // int32 accumulator: |bias| + K * max|x - zp| * max|w| must stay below 2^31.
        const worstSum = perOut * 255 * wmax;
        for (let o = 0; o < op.bias.length; o++) if (Math.abs(op.bias[o]) + worstSum >= 2 ** 31) { bad(op, `channel ${o}: bias ${op.bias[o]} plus ${perOut} products can overflow int32`); break; }
        checkRequant(op, op.requant, OC, 'requant');
        checkClamp(op, out);
        if (op.op === 'dense' && (OH !== 1 || OW !== 1)) bad(op, `dense output is [${out.shape}], expected [1, 1, C]`);
        if (op.op === 'pointwise' && (OH !== IH || OW !== IW || KH !== 1 || KW !== 1 || op.pad.some((p) => p !== 0) || op.stride[0] !== 1 || op.stride[1] !== 1)) bad(op, 'pointwise must be 1x1, stride 1, unpadded, same H and W');
        if (op.op === 'depthwise' && OC !== C * op.channelMultiplier) bad(op, `depthwise with ${C} input channels and multiplier ${op.channelMultiplier} has ${OC} outputs`);
        if (op.op === 'conv' && (C % op.groups !== 0 || OC % op.groups !== 0)) bad(op, `${op.groups} groups do not divide ${C} -> ${OC} channels`);
        if (op.op === 'conv' || op.op === 'depthwise') {
          if (!extentOk(OH, IH, KH, op.stride[0], op.dilation[0], op.pad[0], op.pad[2]) || !extentOk(OW, IW, KW, op.stride[1], op.dilation[1], op.pad[1], op.pad[3])) {
            bad(op, `output [${OH}, ${OW}] does not follow from input [${IH}, ${IW}], kernel, stride, dilation and padding`);
          }
        }
        break;
      }
      case 'maxpool': case 'avgpool':
        sameParams(op, x, out);
        if (OC !== C) bad(op, 'pooling changes the channel count');
        if (!extentOk(OH, IH, op.kernel[0], op.stride[0], 1, op.pad[0], op.pad[2]) || !extentOk(OW, IW, op.kernel[1], op.stride[1], 1, op.pad[1], op.pad[3])) bad(op, 'output extent does not follow from the window');
        break;
      case 'gap':
        sameParams(op, x, out);
        if (OH !== 1 || OW !== 1 || OC !== C) bad(op, `global average pool output is [${out.shape}]`);
        break;
      case 'add': case 'mul': {
        const b = ins[1]!;
        if (size(x) !== size(out) || size(b) !== size(out)) bad(op, 'operands and output differ in size');
        checkClamp(op, out);
        if (op.op === 'add') {
          checkRequant(op, op.inputRequant[0], 1, 'input a requant');
          checkRequant(op, op.inputRequant[1], 1, 'input b requant');
          checkRequant(op, op.outputRequant, 1, 'output requant');
        } else checkRequant(op, op.requant, 1, 'requant');
        break;
      }
      case 'lut':
        if (op.table.length !== 256) bad(op, `table has ${op.table.length} entries`);
        if (size(x) !== size(out)) bad(op, 'input and output differ in size');
        break;
      case 'softmax':
        if (op.expTable.length !== 256) bad(op, `exp table has ${op.expTable.length} entries`);
        if (out.scale !== 1 / 256 || out.zeroPoint !== -128) bad(op, `output must have scale 1/256 and zero point -128`);
        if (size(x) !== size(out) || OC !== C) bad(op, 'input and output shapes differ');
        break;
      case 'concat': {
        let total = 0;
        for (const t of ins) {
          sameParams(op, t!, out);
          total += t!.shape[op.axis];
          for (let a = 0; a < 3; a++) if (a !== op.axis && t!.shape[a] !== out.shape[a]) bad(op, `input ${t!.name} [${t!.shape}] does not fit output [${out.shape}] on axis ${a}`);
        }
        if (total !== out.shape[op.axis]) bad(op, `inputs add up to ${total} on axis ${op.axis}, output has ${out.shape[op.axis]}`);
        break;
      }
      case 'pad':
        sameParams(op, x, out);
        if (OH !== IH + op.pad[0] + op.pad[2] || OW !== IW + op.pad[1] + op.pad[3] || OC !== C) bad(op, 'output shape does not follow from the padding');
        break;
      case 'reshape':
        sameParams(op, x, out);
        if (size(x) !== size(out)) bad(op, 'reshape changes the element count');
        break;
      case 'permute': {
        sameParams(op, x, out);
        const p = op.perm ?? [0, 1, 2];
        if ([...p].sort().join() !== '0,1,2' || out.shape.some((d, i) => d !== x.shape[p[i]])) bad(op, `perm [${p}] does not map [${x.shape}] to [${out.shape}]`);
        break;
      }
    }
  }
  for (const o of q.outputs) if (!defined.has(o)) bad(undefined, `graph output ${o} is never written`);
  return problems;
}
