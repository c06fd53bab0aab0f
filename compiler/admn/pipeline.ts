// An ADMN model from its ONNX file to the lowered graph with its blocks located: the declarations are
// read and checked on the float graph, the residual streams are tied to one quantization, and the
// blocks are found again in the QGraph. Used by `tinym2 compile` (compiler/commands/compile.ts) and the
// benchmarks.
import { TinyM2Error } from '../errors.ts';
import type { Graph } from '../ir.ts';
import type { Calibration } from '../quant/calibrate.ts';
import { quantizeGraph, type LowerOptions } from '../quant/lower.ts';
import type { PrecisionPlan } from '../quant/plan.ts';
import type { QGraph } from '../quant/qgraph.ts';
import { checkBlocksInGraph, readBlockDeclarations, resolveBlocks, tiedTensors, type AdmnBlocks, type BlockDeclaration } from './blocks.ts';

/** The block declarations of a model file (undefined: not an ADMN model), checked against its graph. */
export function admnDeclarations(graph: Graph): BlockDeclaration[] | undefined {
  const decls = readBlockDeclarations(graph);
  if (decls) checkBlocksInGraph(graph, decls);
  return decls;
}

/** LowerOptions with the residual streams of `decls` tied (unchanged without declarations). */
export function admnLowerOptions(decls: BlockDeclaration[] | undefined, options: LowerOptions = {}): LowerOptions {
  return decls ? { ...options, tiedTensors: [...(options.tiedTensors ?? []), ...tiedTensors(decls)] } : options;
}

/** Quantizes an ADMN model: the QGraph and its blocks. */
export function quantizeAdmn(graph: Graph, calibration: Calibration, plan?: PrecisionPlan, options: LowerOptions = {}): { q: QGraph; admn: AdmnBlocks } {
  const decls = admnDeclarations(graph);
  if (!decls) throw new TinyM2Error(`${graph.file} declares no ADMN blocks (ONNX metadata 'tinym2.admn.blocks', compiler/admn/README.md)`);
  const q = quantizeGraph(graph, calibration, plan, admnLowerOptions(decls, options));
  return { q, admn: resolveBlocks(q, decls) };
}
