// Structural checks of a QGraph against the contract in qgraph.ts and runtime-c/ARITHMETIC.md:
// what the emulator and the C kernels silently assume. Returns a list of problems (empty = valid);
// the lowering tests run it on every model, and the code generator may call it before emitting C.
// What one kind of op needs is its KernelDef's validate (compiler/kernels/); this module checks
// what every graph needs (tensors, order of writes, inputs and outputs).
import { kernelOf } from '../kernels/registry.ts';
import type { Validator } from '../kernels/kernel.ts';
import type { QGraph, QOp, QTensor, Requant } from './qgraph.ts';

export function validateQGraph(q: QGraph): string[] {
  const problems: string[] = [];
  const bad = (op: QOp | undefined, msg: string) => problems.push(op ? `${op.op} '${op.name}' -> ${op.output}: ${msg}` : msg);
  const defined = new Set<string>(q.inputs);

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
  const validator = (op: QOp): Validator => ({
    bad: (msg) => bad(op, msg),
    checkRequant: (r, n, what) => checkRequant(op, r, n, what),
    checkClamp: (c, out) => {
      const [lo, hi] = out.bits === 8 ? [-128, 127] : [-8, 7];
      if (c.actMin < lo || c.actMax > hi || c.actMin > c.actMax) bad(op, `clamp [${c.actMin}, ${c.actMax}] is not inside the INT${out.bits} range`);
    },
    sameParams: (a, b) => {
      if (a.scale !== b.scale || a.zeroPoint !== b.zeroPoint) bad(op, `${a.name} and ${b.name} must share scale and zero point (${a.scale}/${a.zeroPoint} vs ${b.scale}/${b.zeroPoint})`);
    },
    extentOk: (out, inp, k, s, d, p0, p1) => {
      const span = inp + p0 + p1 - d * (k - 1) - 1;
      return out === Math.floor(span / s) + 1 || out === Math.ceil(span / s) + 1;
    },
  });

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
    kernelOf(op).validate(op, ins as QTensor[], out, validator(op));
  }
  for (const o of q.outputs) if (!defined.has(o)) bad(undefined, `graph output ${o} is never written`);
  return problems;
}
