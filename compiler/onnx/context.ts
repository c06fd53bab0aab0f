// State shared by the op importers while one ONNX graph is being converted: the constants and
// activation tensors known so far, the IR nodes emitted, and error reporting that names the file
// and the node.
import type { Constant, DType, Node, TensorInfo } from '../ir.ts';
import { TinyM2Error } from '../errors.ts';
import { overLimit, shapeProblem, type InputLimits } from '../limits.ts';
import { Attributes, type NodeProto } from './proto.ts';
import { inferOutputShape, ShapeError } from './shapes.ts';

/** An ONNX node being imported, with its resolved name. */
export interface SourceNode {
  proto: NodeProto;
  name: string;
  op: string;
  attrs: Attributes;
  /** Input names after aliasing (Identity / Dropout removed); '' for an omitted optional input. */
  inputs: string[];
  outputs: string[];
}

export class ImportContext {
  readonly constants = new Map<string, Constant>();
  readonly tensors = new Map<string, TensorInfo>();
  readonly nodes: Node[] = [];
  /** Tensor name -> the tensor it is a copy of (Identity, Dropout, Cast to float, ...). */
  private readonly aliases = new Map<string, string>();
  private readonly usedNames = new Set<string>();
  /** Bytes of all constants so far, against limits.maxTensorBytes. */
  private constantBytes = 0;
  /** Every tensor some node or the graph's outputs read (an importer of a several-output op skips the unread ones). */
  readonly read = new Set<string>();
  /** The node being imported, so that a refusal from a shared check can name it. */
  current: SourceNode | undefined;

  constructor(readonly file: string, readonly opset: number, readonly limits: InputLimits) {}

  /** A refusal naming the file and the node. */
  fail(node: SourceNode | undefined, what: string): never {
    const where = node ? `${this.file}: node '${node.name}' (${node.op}): ` : `${this.file}: `;
    throw new TinyM2Error(where + what, { details: node ? { file: this.file, node: node.name, op: node.op } : { file: this.file } });
  }

  resolve(name: string): string {
    let n = name;
    while (this.aliases.has(n)) n = this.aliases.get(n)!;
    return n;
  }

  alias(name: string, target: string): void {
    this.aliases.set(name, this.resolve(target));
  }

  uniqueName(base: string): string {
    let name = base;
    for (let i = 1; this.usedNames.has(name); i++) name = `${base}_${i}`;
    this.usedNames.add(name);
    return name;
  }

  /** A fresh constant / tensor name derived from `base`. */
  freshTensorName(base: string): string {
    let name = base;
    for (let i = 1; this.constants.has(name) || this.tensors.has(name) || this.aliases.has(name); i++) name = `${base}_${i}`;
    return name;
  }

  isConstant(name: string): boolean {
    return this.constants.has(name);
  }

  constant(node: SourceNode, index: number, what: string): Constant {
    const name = node.inputs[index];
    if (!name) this.fail(node, `the ${what} input is missing`);
    const c = this.constants.get(name);
    if (!c) this.fail(node, `the ${what} ('${name}') must be a constant (an initializer or folded from constants); tinym2 compiles static models`);
    return c;
  }

  optionalConstant(node: SourceNode, index: number, what: string): Constant | undefined {
    return node.inputs[index] ? this.constant(node, index, what) : undefined;
  }

  /** The activation tensor at input `index`. */
  activation(node: SourceNode, index: number): TensorInfo {
    const name = node.inputs[index];
    if (!name) this.fail(node, `input ${index} is missing`);
    const t = this.tensors.get(name);
    if (!t) {
      if (this.constants.has(name)) this.fail(node, `input '${name}' is a constant where tinym2 expects an activation`);
      this.fail(node, `input '${name}' is not produced by any earlier node (graph not topologically sorted?)`);
    }
    return t;
  }

  /**
   * Registers a constant (initializer, folded or derived at import), after the checks every
   * constant needs whatever made it: a valid shape under the element cap, data matching it, the
   * model's constant bytes under their cap, and float values finite (NaN or an infinity would
   * reach a C literal).
   */
  addConstant(c: Constant): void {
    const what = this.current ? `constant '${c.name}'` : `initializer '${c.name}'`;
    const bad = shapeProblem(c.shape, this.limits);
    if (bad) this.fail(this.current, `${what}: ${bad}`);
    if (c.data.length !== c.shape.reduce((a, b) => a * b, 1)) {
      this.fail(this.current, `${what} has ${c.data.length} values for shape [${c.shape}]`);
    }
    if (c.data instanceof Float32Array) {
      for (let i = 0; i < c.data.length; i++) {
        if (!Number.isFinite(c.data[i])) {
          this.fail(this.current, `${what} holds ${c.data[i]} at index ${i}; tinym2 needs finite numbers (NaN or an infinity, or a float32 overflow such as a division by zero, cannot be compiled)`);
        }
      }
    }
    const previous = this.constants.get(c.name);
    this.constantBytes += c.data.byteLength - (previous?.data.byteLength ?? 0);
    if (this.constantBytes > this.limits.maxTensorBytes) overLimit(this.file, 'maxTensorBytes', this.constantBytes, this.limits);
    this.constants.set(c.name, c);
  }

  /** Refuses, before a fold computes it, a constant of `elements` values that would take the model past its byte cap. */
  reserveConstant(elements: number): void {
    const bytes = this.constantBytes + 4 * elements; // 4: the smallest element size, so the check never refuses wrongly
    if (bytes > this.limits.maxTensorBytes) overLimit(this.file, 'maxTensorBytes', bytes, this.limits);
  }

  /** Registers an activation tensor (graph inputs). */
  addTensor(name: string, shape: number[], dtype: DType = 'float32'): void {
    const bad = shapeProblem(shape, this.limits);
    if (bad) this.fail(this.current, `tensor '${name}': ${bad}`);
    this.tensors.set(name, { name, shape, dtype });
  }

  /** Appends an IR node after inferring (and thereby checking) its output shape. */
  emit(source: SourceNode, node: Node): void {
    const inShapes = node.inputs.map((i) => {
      const t = this.tensors.get(i);
      if (!t) this.fail(source, `internal: tensor '${i}' unknown`);
      return t.shape;
    });
    let shape: number[];
    try {
      shape = inferOutputShape(node, inShapes, this.constants);
    } catch (e) {
      if (e instanceof ShapeError) this.fail(source, `shape mismatch: ${e.message}`);
      throw e;
    }
    const bad = shapeProblem(shape, this.limits);
    if (bad) this.fail(source, `output '${node.outputs[0]}': ${bad}`);
    if (shape.includes(0)) this.fail(source, `output '${node.outputs[0]}' would be empty (shape [${shape}])`);
    this.nodes.push(node);
    this.tensors.set(node.outputs[0], { name: node.outputs[0], shape, dtype: 'float32' });
  }
}
