// QGraph -> the C sources of one model: <name>.h (the API), <name>.c (the layer sequence),
// <name>_weights.c (const data), CMakeLists.txt, library.json, README.md, plus the runtime-c
// sources it needs (copied by the caller, see runtimeFiles()).
//
// The text around the code lives in templates/c/*.hbs; this module decides what the templates
// print: identifiers, the API (inputs, outputs, quantize helpers, layout conversion at the
// boundary), sizes; the kernel calls and constant arrays come from layers.ts, arena offsets from
// arena.ts. Output is a pure function of the QGraph and the options, so
// the same model gives the same bytes.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { TinyM2Error } from '../errors.ts';
import { activationRange } from '../quant/fixedpoint.ts';
import type { InputChannelAffine, QGraph } from '../quant/qgraph.ts';
import { overlappingOps, planModelMemory, sameOrderAtBoundary, type ModelMemory } from './arena.ts';
import { cDouble, cFloat } from './cformat.ts';
import { cIdentifier, commentText, jsonText, markdownText, uniqueIdentifiers } from './names.ts';
import { emitLayers, shapeOf, tensorPlaces, type LayerReport } from './layers.ts';
import { guardMacros } from './macro-guard.ts';
import type { AdmnBlocks } from '../admn/blocks.ts';
import { admnCodegen } from '../admn/codegen.ts';

export type { LayerReport } from './layers.ts';

export const TEMPLATES_DIR = fileURLToPath(new URL('../../templates/c/', import.meta.url));
export const RUNTIME_DIR = fileURLToPath(new URL('../../runtime-c/', import.meta.url));

export interface GenerateOptions {
  /** C identifier of the model (tm2_<name>_run). */
  name: string;
  /** Where the model came from, for comments and the README (file name only: keeps output independent of paths). */
  source: string;
  /** One line on the precision, for comments ("INT8", "mixed: plan.json"). */
  precision: string;
  /** ADMN skippable blocks (compiler/admn/): adds tm2_<name>_run_layers(in, out, block_mask). */
  admn?: AdmnBlocks;
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
  /**
   * Graph inputs quantized per channel (qgraph.ts InputChannelAffine): x = scale[c] * q + offset[c]
   * for ONNX channel c (axis 1); `scale` and `zeroPoint` above are then 1 and 0.
   */
  channelAffine?: InputChannelAffine;
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

/**
 * What the per-channel quantize helper prints: the channel count, the values per channel in the ONNX
 * order (channel is axis 1, so channel c is one contiguous run), and the constants as double
 * literals that read back as exactly the numbers io.ts quantizes with, so the C helper computes
 * ((double)x - offset[c]) / scale[c] with the same operands and roundings as quantizeInput.
 */
function affineContext(io: IoInfo, affine: InputChannelAffine) {
  const channels = io.onnxShape[1];
  if (io.layout === 'flat' || channels === undefined || affine.scale.length !== channels || affine.offset.length !== channels || io.size % channels !== 0) {
    throw new Error(`internal: per-channel quantization of input ${io.tensor} does not match its shape [${io.onnxShape.join(', ')}] (${io.layout})`);
  }
  return {
    channels,
    perChannel: io.size / channels,
    scales: affine.scale.map(cDouble).join(', '),
    offsets: affine.offset.map(cDouble).join(', '),
  };
}

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
  const ioIds = uniqueIdentifiers([...q.inputs, ...q.outputs]);
  const { at } = tensorPlaces(memory, ioIds);
  const { weightDecls, weightDefs, params, body, selfChecks, layers, weightBytes, macs } = emitLayers(q, memory, prefix, ioIds);
  const admn = options.admn ? admnCodegen(q, options.admn, NAME, at) : undefined;

  // ---- API: inputs and outputs ------------------------------------------------------------
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
      ...(io.channelAffine ? { channelAffine: io.channelAffine } : {}),
    };
  };
  const inputs = q.inputs.map(ioInfo);
  const outputs = q.outputs.map(ioInfo);


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
  // Conversions run next to the op that first reads an input / writes an output (arena.ts).
  const before = new Map<number, Array<{ mask: number; stmts: string[] }>>();
  const after = new Map<number, Array<{ mask: number; stmts: string[] }>>();
  const copyIn: string[] = [];
  const copyOut: string[] = [];
  // Multi-head models get tm2_<name>_run_heads(in, out, mask): an op runs only when it feeds a
  // requested output (DynaFuse skips the branches of unreliable modalities). An op feeds the
  // outputs its result reaches; skipping keeps the arena plan valid, as a skipped op's output is
  // read only by skipped ops.
  const heads = outputs.length > 1 && outputs.length <= 32;
  const allMask = heads ? (outputs.length === 32 ? 0xffffffff : 2 ** outputs.length - 1) : 0;
  const tensorMask = new Map<string, number>();
  q.outputs.forEach((t, j) => tensorMask.set(t, (tensorMask.get(t) ?? 0) + 2 ** j));
  const opMask: number[] = new Array(q.ops.length).fill(0);
  for (let k = q.ops.length - 1; k >= 0; k--) {
    const op = q.ops[k];
    opMask[k] = tensorMask.get(op.output) ?? 0;
    for (const x of op.inputs) tensorMask.set(x, (tensorMask.get(x) ?? 0) | opMask[k]);
  }
  const maskLiteral = (m: number) => `0x${(m >>> 0).toString(16)}u`;
  /** Statements guarded by the output mask, unless every output needs them. */
  const guard = (m: number, stmts: string[]): string[] =>
    !heads || (m >>> 0) === allMask || stmts.length === 0 ? stmts : [`  if (mask & ${maskLiteral(m)}) {`, ...stmts.map((l) => `  ${l}`), '  }'];
  /** Consecutive statement groups with the same mask under one guard. */
  const guarded = (segments: Array<{ mask: number; stmts: string[] }>): string[] => {
    const merged: Array<{ mask: number; stmts: string[] }> = [];
    for (const seg of segments) {
      const prev = merged[merged.length - 1];
      if (prev && prev.mask === seg.mask) prev.stmts.push(...seg.stmts);
      else merged.push({ mask: seg.mask, stmts: [...seg.stmts] });
    }
    return merged.flatMap((seg) => guard(seg.mask, seg.stmts));
  };
  for (const io of inputs) {
    const k = memory.boundaryOp.get(io.tensor)!;
    if (memory.external.has(io.tensor) || k < 0) copyIn.push(boundary(io, 'in'));
    else before.set(k, [...(before.get(k) ?? []), { mask: tensorMask.get(io.tensor) ?? 0, stmts: [boundary(io, 'in')] }]);
  }
  for (const io of outputs) {
    const k = memory.boundaryOp.get(io.tensor)!;
    if (memory.external.has(io.tensor) || k < 0) copyOut.push(boundary(io, 'out'));
    else after.set(k, [...(after.get(k) ?? []), { mask: opMask[k], stmts: [boundary(io, 'out')] }]);
  }
  if (copyIn.length === 0) copyIn.push('  /* (each input is converted just before the first layer that reads it) */');
  if (copyOut.length === 0) copyOut.push('  /* (each output was copied out right after the layer that wrote it) */');

  const classes = outputs.length > 0 ? outputs[0].size : 0;
  const layoutText = (io: IoInfo) =>
    io.layout === 'nchw' ? 'ONNX NCHW order ([C][H][W])' : io.layout === 'ncl' ? 'ONNX NCL order ([C][L])' : 'ONNX order';
  const ioContext = (io: IoInfo, j: number) => {
    const [lo, hi] = activationRange(io.bits);
    return {
      ...io,
      bit: maskLiteral(2 ** j),
      onnxShapeText: `[${io.onnxShape.join(', ')}]`,
      layoutText: layoutText(io),
      scaleFloat: cFloat(io.scale),
      scaleDouble: cDouble(io.scale),
      qmin: lo,
      qmax: hi,
      tensorComment: commentText(io.tensor),
      affine: io.channelAffine ? affineContext(io, io.channelAffine) : false,
    };
  };
  const ctx = {
    name,
    NAME,
    prefix,
    // Names from files, escaped for where each template puts them (compiler/codegen/names.ts).
    source: commentText(options.source),
    precision: commentText(options.precision),
    sourceMarkdown: markdownText(options.source),
    precisionMarkdown: markdownText(options.precision),
    sourceJson: jsonText(options.source),
    precisionJson: jsonText(options.precision),
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
      .map((s, i) => {
        const [head, ...stmts] = s.split('\n');
        const segments = [...(before.get(i) ?? []), { mask: opMask[i], stmts: ['  TM2_LAYER_BEGIN();', ...(admn ? admn.wrap(i, stmts) : stmts), '  TM2_LAYER_END();'] }, ...(after.get(i) ?? [])];
        return [`  ${head}`, ...guarded(segments)].join('\n');
      })
      .join('\n'),
    copyOut: copyOut.join('\n'),
    selfChecks: selfChecks.join('\n'),
    heads,
    allMask: maskLiteral(allMask),
    admn: admn ? admn.context : false,
    runtimeSources: runtimeFiles().filter((f) => f.endsWith('.c')).map((f) => `runtime/${f}`),
    layers: layers.map((l) => ({
      ...l,
      shapeText: `[${l.output.join(', ')}]`,
      bitsText: l.weightBits ? `${l.weightBits}/${l.activationBits}` : `-/${l.activationBits}`,
      nameText: markdownText(l.name),
    })),
  };

  const files = new Map<string, string>();
  files.set(`${name}.h`, guardMacros(renderTemplate('model.h.hbs', ctx), `TM2_${name.toUpperCase()}_H`, `model ${name}`, 'compile one of the two models with another --name'));
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
