// QGraph -> the C sources of one model: <name>.h (the API), <name>.c (the layer sequence),
// <name>_weights.c (const data), CMakeLists.txt, library.json, README.md, plus the runtime-c
// sources it needs (copied by the caller, see runtimeFiles()).
//
// The text around the code lives in templates/c/*.hbs; this module decides everything the
// templates print: identifiers, one kernel call per QOp with its parameters, arena offsets
// (arena.ts), and the weight arrays. Output is a pure function of the QGraph and the options, so
// the same model gives the same bytes.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { TinyM2Error } from '../errors.ts';
import { activationRange } from '../quant/fixedpoint.ts';
import type { QConvOp, QGraph, QOp, QTensor } from '../quant/qgraph.ts';
import { packInt4 } from '../quant/weights.ts';
import { concatIsContiguous, overlappingOps, planModelMemory, sameOrderAtBoundary, tensorBytes, type ModelMemory } from './arena.ts';
import { cDouble, cFloat, cIdentifier, cInt, commentText, intRows, uniqueIdentifiers } from './cformat.ts';

export const TEMPLATES_DIR = fileURLToPath(new URL('../../templates/c/', import.meta.url));
export const RUNTIME_DIR = fileURLToPath(new URL('../../runtime-c/', import.meta.url));

export interface GenerateOptions {
  /** C identifier of the model (tm2_<name>_run). */
  name: string;
  /** Where the model came from, for comments and the README (file name only: keeps output independent of paths). */
  source: string;
  /** One line on the precision, for comments ("INT8", "mixed: plan.json"). */
  precision: string;
}

/** One graph input or output as the API shows it. */
export interface IoInfo {
  tensor: string;
  field: string;
  macro: string;
  onnxShape: number[];
  layout: 'nchw' | 'ncl' | 'flat';
  size: number;
  scale: number;
  zeroPoint: number;
  bits: 4 | 8;
}

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

export interface GeneratedModel {
  name: string;
  /** File name (relative to the output dir) -> contents. */
  files: Map<string, string>;
  inputs: IoInfo[];
  outputs: IoInfo[];
  memory: ModelMemory;
  arenaBytes: number;
  lowerBound: number;
  /** Bytes of all const data: weights, biases, requant arrays, tables, parameter structs excluded. */
  weightBytes: number;
  macs: number;
  layers: LayerReport[];
}

/** The model name a file gives: its stem, or its folder's name when the stem says nothing ("model"). */
export function modelNameFromFile(file: string): string {
  const parts = file.replace(/\\/g, '/').split('/');
  const stem = parts[parts.length - 1].replace(/\.onnx$/i, '');
  const generic = new Set(['model', 'net', 'network', 'export']);
  if (generic.has(stem.toLowerCase()) && parts.length >= 2 && parts[parts.length - 2] && parts[parts.length - 2] !== '.') {
    return cIdentifier(parts[parts.length - 2]);
  }
  return cIdentifier(stem);
}

/** runtime-c files the generated code needs, relative to runtime-c/ (copied into <out>/runtime/). */
export function runtimeFiles(): string[] {
  // The reference kernels (tm2_ref_*, *_ref.c) document the arithmetic and serve runtime-c's own
  // tests; generated code calls only the optimized entry points.
  const src = readdirSync(join(RUNTIME_DIR, 'src'))
    .filter((f) => (f.endsWith('.c') || f.endsWith('.h')) && !f.endsWith('_ref.c') && f !== 'ref_weights.h')
    .sort()
    .map((f) => `src/${f}`);
  return ['include/tm2.h', ...src];
}

const templateCache = new Map<string, Handlebars.TemplateDelegate>();
export function renderTemplate(file: string, context: object): string {
  let t = templateCache.get(file);
  if (!t) {
    t = Handlebars.compile(readFileSync(join(TEMPLATES_DIR, file), 'utf8'), { noEscape: true, strict: true });
    templateCache.set(file, t);
  }
  return t(context);
}

function shapeOf(q: QGraph, name: string): QTensor {
  const t = q.tensors.get(name);
  if (!t) throw new Error(`internal: QGraph ${q.name} has no tensor ${name}`);
  return t;
}

const isConv = (op: QOp): op is QConvOp => op.op === 'conv' || op.op === 'depthwise' || op.op === 'pointwise' || op.op === 'dense';

/** Emits the C for one model. */
export function generateModel(q: QGraph, options: GenerateOptions): GeneratedModel {
  const name = cIdentifier(options.name);
  // "<name>.h" next to the kernels' headers must not shadow one of them (#include "tm2.h").
  const taken = runtimeFiles().map((f) => f.slice(f.lastIndexOf('/') + 1).replace(/\.[ch]$/, ''));
  if (taken.includes(name)) {
    throw new TinyM2Error(`the model name '${name}' is the name of a runtime file (${name}.c / ${name}.h): choose another with --name`, { details: { name } });
  }
  const NAME = name.toUpperCase();
  const prefix = `tm2_${name}`;
  const memory = planModelMemory(q);
  const overlaps = overlappingOps(q, memory);
  if (overlaps.length) throw new Error(`internal: arena plan overlaps an op's input and output: ${overlaps.join('; ')}`);
  const ioIdsEarly = uniqueIdentifiers([...q.inputs, ...q.outputs]);
  /** Where a tensor's bytes are, as a C expression: the arena, or a member of the caller's in / out struct. */
  const at = (t: string): string => {
    const ext = memory.external.get(t);
    if (!ext) return `A + ${memory.tensorOffset.get(t)!}`;
    return `${ext.kind === 'input' ? 'in' : 'out'}->${ioIdsEarly.get(ext.tensor)!} + ${ext.offset}`;
  };

  // ---- API: inputs and outputs ------------------------------------------------------------
  const ioIds = ioIdsEarly;
  const ioInfo = (t: string): IoInfo => {
    const qt = shapeOf(q, t);
    const io = q.io[t];
    if (!io) throw new Error(`internal: ${t} has no io entry in QGraph ${q.name}`);
    const field = ioIds.get(t)!;
    return {
      tensor: t,
      field,
      macro: `${NAME}_${field.toUpperCase()}`,
      onnxShape: io.onnxShape,
      layout: io.layout,
      size: qt.shape[0] * qt.shape[1] * qt.shape[2],
      scale: qt.scale,
      zeroPoint: qt.zeroPoint,
      bits: qt.bits,
    };
  };
  const inputs = q.inputs.map(ioInfo);
  const outputs = q.outputs.map(ioInfo);

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

  const where = (t: string): string => {
    const ext = memory.external.get(t);
    if (!ext) return `arena+${memory.tensorOffset.get(t)!}`;
    return `${ext.kind === 'input' ? 'in' : 'out'}.${ioIdsEarly.get(ext.tensor)!}${ext.offset ? `+${ext.offset}` : ''}`;
  };
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
      body.push(`${comment}\n  tm2_add_s8(&${L}, ${at(op.inputs[0])}, ${at(op.inputs[1])}, ${at(op.output)});`);
    } else if (op.op === 'mul') {
      const a = shapeOf(q, op.inputs[0]), b = shapeOf(q, op.inputs[1]);
      const p = [
        `${tensorBytes(q, op.output)}`,
        `${a.zeroPoint}, ${b.zeroPoint}, ${outT.zeroPoint}`,
        `${cInt(op.requant.multiplier[0])}, ${op.requant.shift[0]}`,
        `${op.actMin}, ${op.actMax}`,
      ];
      params.push(`/* ${commentText(op.name)}: size, zero points a/b/out, multiplier, shift, clamp */\nstatic const tm2_mul_params ${L} = {\n  ${p.join(',\n  ')}\n};`);
      body.push(`${comment}\n  tm2_mul_s8(&${L}, ${at(op.inputs[0])}, ${at(op.inputs[1])}, ${at(op.output)});`);
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

  // ---- boundary: ONNX-order int8 <-> channels-last arena ----------------------------------------
  const boundary = (io: IoInfo, direction: 'in' | 'out'): string => {
    const [h, w, c] = shapeOf(q, io.tensor).shape;
    const api = direction === 'in' ? `in->${io.field}` : `out->${io.field}`;
    const arena = at(io.tensor);
    if (memory.external.has(io.tensor)) return `  /* ${io.field}: used in place in the ${direction === 'in' ? 'input' : 'output'} struct */`;
    const trivial = sameOrderAtBoundary(q, io.tensor);
    if (trivial) return direction === 'in' ? `  memcpy(${arena}, ${api}, ${io.size});` : `  memcpy(${api}, ${arena}, ${io.size});`;
    // ONNX [C][H][W] (NCL: [C][W], H = 1) <-> arena [H][W][C], with the permute kernel.
    if (direction === 'in') {
      params.push(`static const int32_t ${io.field}_in_dims[3] = {${c}, ${h}, ${w}}, ${io.field}_in_perm[3] = {1, 2, 0};`);
      return `  tm2_permute_s8(${api}, ${io.field}_in_dims, ${io.field}_in_perm, ${arena}); /* [C][H][W] -> [H][W][C] */`;
    }
    params.push(`static const int32_t ${io.field}_out_dims[3] = {${h}, ${w}, ${c}}, ${io.field}_out_perm[3] = {2, 0, 1};`);
    return `  tm2_permute_s8(${arena}, ${io.field}_out_dims, ${io.field}_out_perm, ${api}); /* [H][W][C] -> [C][H][W] */`;
  };
  const copyIn = inputs.map((io) => boundary(io, 'in'));
  const copyOut = outputs.map((io) => boundary(io, 'out'));

  const classes = outputs.length > 0 ? outputs[0].size : 0;
  const layoutText = (io: IoInfo) =>
    io.layout === 'nchw' ? 'ONNX NCHW order ([C][H][W])' : io.layout === 'ncl' ? 'ONNX NCL order ([C][L])' : 'ONNX order';
  const ioContext = (io: IoInfo) => {
    const [lo, hi] = activationRange(io.bits);
    return {
      ...io,
      onnxShapeText: `[${io.onnxShape.join(', ')}]`,
      layoutText: layoutText(io),
      scaleFloat: cFloat(io.scale),
      scaleDouble: cDouble(io.scale),
      qmin: lo,
      qmax: hi,
      tensorComment: commentText(io.tensor),
    };
  };
  const ctx = {
    name,
    NAME,
    prefix,
    source: commentText(options.source),
    precision: commentText(options.precision),
    arenaBytes: memory.plan.arenaBytes,
    lowerBound: memory.plan.lowerBound,
    unsharedBytes: memory.unsharedBytes,
    weightBytes,
    macs,
    classes,
    opCount: q.ops.length,
    inputs: inputs.map(ioContext),
    outputs: outputs.map(ioContext),
    weightDecls: weightDecls.join('\n'),
    weightDefs: weightDefs.join('\n\n'),
    params: params.join('\n\n'),
    copyIn: copyIn.join('\n'),
    // Each op between TM2_LAYER_BEGIN/END: instruction counts per layer with -DTM2_PROFILE_LAYERS
    // (one tm2_count region per op, in op order); empty macros otherwise.
    body: body
      .map((s) => {
        const [head, ...stmts] = s.split('\n');
        return [`  ${head}`, '  TM2_LAYER_BEGIN();', ...stmts, '  TM2_LAYER_END();'].join('\n');
      })
      .join('\n'),
    copyOut: copyOut.join('\n'),
    selfChecks: selfChecks.join('\n'),
    runtimeSources: runtimeFiles().filter((f) => f.endsWith('.c')).map((f) => `runtime/${f}`),
    layers: layers.map((l) => ({
      ...l,
      shapeText: `[${l.output.join(', ')}]`,
      bitsText: l.weightBits ? `${l.weightBits}/${l.activationBits}` : `-/${l.activationBits}`,
      nameText: l.name.replace(/\|/g, '\\|'),
    })),
  };

  const files = new Map<string, string>();
  files.set(`${name}.h`, renderTemplate('model.h.hbs', ctx));
  files.set(`${name}.c`, renderTemplate('model.c.hbs', ctx));
  files.set(`${name}_weights.c`, renderTemplate('model_weights.c.hbs', ctx));
  files.set('CMakeLists.txt', renderTemplate('CMakeLists.txt.hbs', ctx));
  files.set('library.json', renderTemplate('library.json.hbs', ctx));
  files.set('README.md', renderTemplate('README.md.hbs', ctx));
  return {
    name,
    files,
    inputs,
    outputs,
    memory,
    arenaBytes: memory.plan.arenaBytes,
    lowerBound: memory.plan.lowerBound,
    weightBytes,
    macs,
    layers,
  };
}
