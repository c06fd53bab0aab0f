// The ONNX importers: each IR op's own (OpDef.importers in compiler/ops/), plus the ops that
// produce no IR node (Identity-like pass-throughs) and the Constant node's value.
import type { ImportContext, SourceNode } from './context.ts';
import { makeConstant } from './fold.ts';
import { decodeTensor, toNumber, type TensorProto } from './proto.ts';
import type { Importer } from '../ops/op.ts';
import { OPS } from '../ops/registry.ts';

export { FLOAT_MAX } from '../ops/onnx-attrs.ts';

const passThrough: Importer = (ctx: ImportContext, node: SourceNode) => {
  if (node.op === 'Cast' && node.attrs.int('to', 1) !== 1) ctx.fail(node, 'Cast of an activation to a non-float type is not supported');
  ctx.activation(node, 0);
  ctx.alias(node.outputs[0], node.inputs[0]);
};

/** ONNX op type -> importer, from every registered op. */
export const IMPORTERS: Record<string, Importer> = {
  ...Object.assign({}, ...Object.values(OPS).map((d) => d.importers)),
  Dropout: passThrough,
  Identity: passThrough,
  Cast: passThrough,
};

export const SUPPORTED_OPS = [...Object.keys(IMPORTERS), 'Constant', 'Shape (folded)'].join(', ');

/** Value of a Constant node's attribute (value, value_float(s), value_int(s)). */
export function constantNodeValue(ctx: ImportContext, node: SourceNode): void {
  const out = node.outputs[0];
  const a = node.attrs;
  const t = a.tensor('value');
  if (t) return void ctx.addConstant(ctxDecode(ctx, node, t, out));
  const f = a.raw('value_float'), fs = a.raw('value_floats'), i = a.raw('value_int'), is = a.raw('value_ints');
  if (f) return void ctx.addConstant(makeConstant(out, 'float32', [], [f.f ?? 0]));
  if (fs) return void ctx.addConstant(makeConstant(out, 'float32', [(fs.floats ?? []).length], fs.floats ?? []));
  if (i) return void ctx.addConstant(makeConstant(out, 'int64', [], [toNumber(i.i ?? 0)]));
  if (is) return void ctx.addConstant(makeConstant(out, 'int64', [(is.ints ?? []).length], (is.ints ?? []).map(toNumber)));
  ctx.fail(node, `attribute(s) ${a.names().join(', ') || '(none)'} are not supported; tinym2 reads value, value_float(s) and value_int(s)`);
}

function ctxDecode(ctx: ImportContext, node: SourceNode, t: TensorProto, name: string) {
  const c = decodeTensor(t, name, ctx.limits);
  if (typeof c === 'string') ctx.fail(node, c);
  return c;
}
