// One runtime-c kernel call per QOp: its parameter struct (const, in flash), its constant arrays
// (weights, biases, requantization data, tables; in <name>_weights.c) and the call itself with
// the arena offsets of its tensors. runtime-c/include/tm2.h documents the mapping followed here.
import { activationRange } from '../quant/fixedpoint.ts';
import type { QConvOp, QGraph, QOp, QTensor } from '../quant/qgraph.ts';
import { packInt4 } from '../quant/weights.ts';
import { concatIsContiguous, tensorBytes, type ModelMemory } from './arena.ts';
import { cInt, intRows } from './cformat.ts';
import { commentText } from './names.ts';

/** One op as reports show it. */
export interface LayerReport {
  index: number;
  name: string;
  kind: string;
  output: [number, number, number];
  weightBits?: 4 | 8;
  activationBits: 4 | 8;
  weightBytes: number;
  macs: number;
  /** Where the op writes its output: "arena+OFFSET" or "out.FIELD" / "in.FIELD" (+offset when not 0). */
  writes: string;
}

export interface LayerCode {
  /** extern declarations of the constant arrays (in <name>.c) and their definitions (in <name>_weights.c). */
  weightDecls: string[];
  weightDefs: string[];
  /** static const parameter structs and index arrays (in <name>.c). */
  params: string[];
  /** Per op: a comment line, then its statements (the body of tm2_<name>_run). */
  body: string[];
  /** Per kernel with scratch: a test that it needs no more than planned (TM2_SELF_CHECK). */
  selfChecks: string[];
  layers: LayerReport[];
  weightBytes: number;
  macs: number;
}

export function shapeOf(q: QGraph, name: string): QTensor {
  const t = q.tensors.get(name);
  if (!t) throw new Error(`internal: QGraph ${q.name} has no tensor ${name}`);
  return t;
}

const isConv = (op: QOp): op is QConvOp => op.op === 'conv' || op.op === 'depthwise' || op.op === 'pointwise' || op.op === 'dense';

/** Where a tensor's bytes are: as a C expression (`at`) and as report text (`where`). */
export function tensorPlaces(memory: ModelMemory, ioIds: Map<string, string>): { at: (t: string) => string; where: (t: string) => string } {
  return {
    at: (t) => {
      const ext = memory.external.get(t);
      if (!ext) return `A + ${memory.tensorOffset.get(t)!}`;
      return `${ext.kind === 'input' ? 'in' : 'out'}->${ioIds.get(ext.tensor)!} + ${ext.offset}`;
    },
    where: (t) => {
      const ext = memory.external.get(t);
      if (!ext) return `arena+${memory.tensorOffset.get(t)!}`;
      return `${ext.kind === 'input' ? 'in' : 'out'}.${ioIds.get(ext.tensor)!}${ext.offset ? `+${ext.offset}` : ''}`;
    },
  };
}

/** The C of every op of `q`, with tensors placed by `memory`; identifiers start with `prefix`. */
export function emitLayers(q: QGraph, memory: ModelMemory, prefix: string, ioIds: Map<string, string>): LayerCode {
  const { at, where } = tensorPlaces(memory, ioIds);
  // ---- weights and parameters ---------------------------------------------------------------
  const weightDecls: string[] = []; // extern declarations, in <name>.c
  const weightDefs: string[] = []; // definitions, in <name>_weights.c
  let weightBytes = 0;
  const defineArray = (ctype: string, id: string, values: ArrayLike<number>, comment: string, perLine = 16) => {
    const bytes = values.length * (ctype === 'int8_t' || ctype === 'uint8_t' ? 1 : 4);
    weightBytes += bytes;
    weightDecls.push(`extern const ${ctype} ${id}[${values.length}];`);
    weightDefs.push(`/* ${commentText(comment)} */\nTM2_ALIGN4 const ${ctype} ${id}[${values.length}] = {\n${intRows(values, perLine)}\n};`);
  };

  const params: string[] = []; // static const parameter structs, in <name>.c
  const body: string[] = []; // statements of tm2_<name>_run
  const layers: LayerReport[] = [];
  const selfChecks: string[] = [];
  let macs = 0;

  q.ops.forEach((op, i) => {
    const L = `l${i}`;
    const outT = shapeOf(q, op.output);
    const [actMin, actMax] = activationRange(outT.bits);
    const comment = `/* ${i}: ${op.op} ${commentText(op.name)} -> [${outT.shape.join(', ')}] */`;
    const report: LayerReport = { index: i, name: op.name, kind: op.op, output: outT.shape, activationBits: outT.bits, weightBytes: 0, macs: 0, writes: where(op.output) };
    const before = weightBytes;
    if (isConv(op)) {
      const inT = shapeOf(q, op.inputs[0]);
      const s = op.weightBits === 4 ? 's4' : 's8';
      const w = op.weightBits === 4 ? Int8Array.from(packInt4(op.weights), (b) => (b << 24) >> 24) : op.weights;
      defineArray('int8_t', `${prefix}_${L}_w`, w, `${op.name}: ${op.op} weights, INT${op.weightBits}${op.weightBits === 4 ? ' packed low nibble first' : ''}, ${op.weights.length} values`);
      defineArray('int32_t', `${prefix}_${L}_bias`, op.bias, `${op.name}: bias`, 8);
      defineArray('int32_t', `${prefix}_${L}_mult`, op.requant.multiplier, `${op.name}: requantization multipliers (Q31)`, 8);
      defineArray('int32_t', `${prefix}_${L}_shift`, op.requant.shift, `${op.name}: requantization shifts`, 16);
      const p = [
        `${inT.shape.join(', ')}`,
        `${outT.shape.join(', ')}`,
        `${op.kernel[0]}, ${op.kernel[1]}`,
        `${op.stride[0]}, ${op.stride[1]}`,
        `${op.pad[0]}, ${op.pad[1]}`,
        `${op.dilation[0]}, ${op.dilation[1]}`,
        `${op.op === 'conv' ? op.groups : 1}, ${op.op === 'depthwise' ? op.channelMultiplier : 1}`,
        `${inT.zeroPoint}, ${outT.zeroPoint}`,
        `${op.actMin}, ${op.actMax}`,
        `${prefix}_${L}_bias, ${prefix}_${L}_mult, ${prefix}_${L}_shift`,
      ];
      params.push(
        `/* ${commentText(op.name)}: in [h, w, c], out [h, w, c], kernel, stride, pad top/left, dilation, groups/ch_mult, zero points, clamp */\n` +
          `static const tm2_conv_params ${L} = {\n  ${p.join(',\n  ')}\n};`,
      );
      const sc = memory.scratch[i];
      const scratchArg = op.op === 'depthwise' ? '' : `, ${sc ? `A + ${sc.offset}` : 'NULL'}`;
      body.push(`${comment}\n  tm2_${op.op}_${s}(&${L}, ${at(op.inputs[0])}, ${prefix}_${L}_w, ${at(op.output)}${scratchArg});`);
      if (op.op !== 'depthwise') selfChecks.push(`  if (tm2_${op.op}_scratch_size(&${L}) > ${sc ? sc.bytes : 0}u) bad++;`);
      report.weightBits = op.weightBits;
      report.macs = op.macs;
      macs += op.macs;
    } else if (op.op === 'maxpool' || op.op === 'avgpool') {
      const inT = shapeOf(q, op.inputs[0]);
      const p = [
        `${inT.shape.join(', ')}`,
        `${outT.shape[0]}, ${outT.shape[1]}`,
        `${op.kernel[0]}, ${op.kernel[1]}`,
        `${op.stride[0]}, ${op.stride[1]}`,
        `${op.pad.join(', ')}`,
        `${op.countIncludePad ? 1 : 0}`,
        `${outT.zeroPoint}`,
        `${actMin}, ${actMax}`,
      ];
      params.push(
        `/* ${commentText(op.name)}: in [h, w, c], out h/w, kernel, stride, pad top/left/bottom/right, count_include_pad, zero point, clamp */\n` +
          `static const tm2_pool_params ${L} = {\n  ${p.join(',\n  ')}\n};`,
      );
      body.push(`${comment}\n  tm2_${op.op}_s8(&${L}, ${at(op.inputs[0])}, ${at(op.output)});`);
    } else if (op.op === 'gap') {
      const [h, w, c] = shapeOf(q, op.inputs[0]).shape;
      body.push(`${comment}\n  tm2_gap_s8(${at(op.inputs[0])}, ${h}, ${w}, ${c}, ${outT.zeroPoint}, ${actMin}, ${actMax}, ${at(op.output)});`);
    } else if (op.op === 'add') {
      const a = shapeOf(q, op.inputs[0]), b = shapeOf(q, op.inputs[1]);
      const [ra, rb] = op.inputRequant;
      const p = [
        `${tensorBytes(q, op.output)}`,
        `${a.zeroPoint}, ${b.zeroPoint}, ${outT.zeroPoint}`,
        `${op.leftShift}`,
        `${cInt(ra.multiplier[0])}, ${ra.shift[0]}`,
        `${cInt(rb.multiplier[0])}, ${rb.shift[0]}`,
        `${cInt(op.outputRequant.multiplier[0])}, ${op.outputRequant.shift[0]}`,
        `${op.actMin}, ${op.actMax}`,
      ];
      params.push(
        `/* ${commentText(op.name)}: size, zero points a/b/out, left shift, a/b/out multiplier and shift, clamp */\n` +
          `static const tm2_add_params ${L} = {\n  ${p.join(',\n  ')}\n};`,
      );
      body.push(`${memory.inPlace.has(i) ? comment.replace(' */', ' (in place) */') : comment}\n  tm2_add_s8(&${L}, ${at(op.inputs[0])}, ${at(op.inputs[1])}, ${at(op.output)});`);
    } else if (op.op === 'mul') {
      const a = shapeOf(q, op.inputs[0]), b = shapeOf(q, op.inputs[1]);
      const p = [
        `${tensorBytes(q, op.output)}`,
        `${a.zeroPoint}, ${b.zeroPoint}, ${outT.zeroPoint}`,
        `${cInt(op.requant.multiplier[0])}, ${op.requant.shift[0]}`,
        `${op.actMin}, ${op.actMax}`,
      ];
      params.push(`/* ${commentText(op.name)}: size, zero points a/b/out, multiplier, shift, clamp */\nstatic const tm2_mul_params ${L} = {\n  ${p.join(',\n  ')}\n};`);
      body.push(`${memory.inPlace.has(i) ? comment.replace(' */', ' (in place) */') : comment}\n  tm2_mul_s8(&${L}, ${at(op.inputs[0])}, ${at(op.inputs[1])}, ${at(op.output)});`);
    } else if (op.op === 'lut') {
      defineArray('int8_t', `${prefix}_${L}_table`, op.table, `${op.name}: ${op.what}, table[q + 128]`);
      const inPlace = memory.inPlace.has(i) ? ' (in place)' : '';
      body.push(`${comment.replace(' */', `${inPlace} */`)}\n  tm2_lut_s8(${at(op.inputs[0])}, ${at(op.output)}, ${tensorBytes(q, op.output)}, ${prefix}_${L}_table);`);
    } else if (op.op === 'softmax') {
      defineArray('uint32_t', `${prefix}_${L}_exp`, op.expTable, `${op.name}: exp table, round(65536 * exp(-k * input scale))`, 8);
      body.push(`${comment}\n  tm2_softmax_s8(${at(op.inputs[0])}, ${at(op.output)}, ${outT.shape[0] * outT.shape[1]}, ${outT.shape[2]}, ${prefix}_${L}_exp);`);
    } else if (op.op === 'concat') {
      const lines: string[] = [];
      if (concatIsContiguous(q, op)) {
        const placed = memory.concatInPlace.get(i)!;
        let offset = 0;
        op.inputs.forEach((x, k) => {
          const n = tensorBytes(q, x);
          if (!placed[k]) lines.push(`  memcpy(${at(op.output)} + ${offset}, ${at(x)}, ${n});`);
          offset += n;
        });
        if (lines.length === 0) lines.push('  /* every input was produced straight into its slice: nothing to copy */');
      } else {
        const outShape = outT.shape;
        const outer = outShape.slice(0, op.axis).reduce((p, d) => p * d, 1);
        const outInner = outShape.slice(op.axis).reduce((p, d) => p * d, 1);
        let offset = 0;
        for (const x of op.inputs) {
          const inner = shapeOf(q, x).shape.slice(op.axis).reduce((p, d) => p * d, 1);
          lines.push(`  tm2_concat_copy_s8(${at(x)}, ${outer}, ${inner}, ${at(op.output)}, ${outInner}, ${offset});`);
          offset += inner;
        }
      }
      body.push(`${comment}\n${lines.join('\n')}`);
    } else if (op.op === 'pad') {
      const [h, w, c] = shapeOf(q, op.inputs[0]).shape;
      body.push(`${comment}\n  tm2_pad_s8(${at(op.inputs[0])}, ${h}, ${w}, ${c}, ${op.pad.join(', ')}, ${op.value}, ${at(op.output)});`);
    } else if (op.op === 'reshape' || op.op === 'permute') {
      if (op.op === 'permute' && op.perm) {
        const inShape = shapeOf(q, op.inputs[0]).shape;
        params.push(`static const int32_t ${L}_dims[3] = {${inShape.join(', ')}}, ${L}_perm[3] = {${op.perm.join(', ')}};`);
        body.push(`${comment}\n  tm2_permute_s8(${at(op.inputs[0])}, ${L}_dims, ${L}_perm, ${at(op.output)});`);
      } else if (at(op.inputs[0]) === at(op.output)) {
        body.push(`${comment.replace(' */', ' (a view: same bytes) */')}`);
      } else {
        body.push(`${comment}\n  memcpy(${at(op.output)}, ${at(op.inputs[0])}, ${tensorBytes(q, op.output)});`);
      }
    } else {
      throw new Error(`internal: no C for op ${(op as QOp).op}`);
    }
    report.weightBytes = weightBytes - before;
    layers.push(report);
  });

  return { weightDecls, weightDefs, params, body, selfChecks, layers, weightBytes, macs };
}
