// Decoding the ONNX protobuf (via onnx-proto) into plain values: the model, its tensors as typed
// arrays, and node attributes with their ONNX defaults. Nothing here knows about tinym2's IR.
import onnxProto from 'onnx-proto';
import type { Constant, DType } from '../ir.ts';
import { shapeProblem, type InputLimits } from '../limits.ts';

export const onnx = onnxProto.onnx;
export type ModelProto = onnxProto.onnx.ModelProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;

/** Int64 fields come back as numbers or Long objects depending on size. */
export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v && typeof (v as { toNumber?: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

const DATA_TYPE_NAMES: Record<number, string> = {
  0: 'UNDEFINED', 1: 'FLOAT', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64', 8: 'STRING',
  9: 'BOOL', 10: 'FLOAT16', 11: 'DOUBLE', 12: 'UINT32', 13: 'UINT64', 14: 'COMPLEX64', 15: 'COMPLEX128', 16: 'BFLOAT16',
  17: 'FLOAT8E4M3FN', 18: 'FLOAT8E4M3FNUZ', 19: 'FLOAT8E5M2', 20: 'FLOAT8E5M2FNUZ', 21: 'UINT4', 22: 'INT4',
};

export function dataTypeName(t: number | null | undefined): string {
  return DATA_TYPE_NAMES[t ?? 0] ?? `unknown data type ${t}`;
}

/** ONNX element type -> IR dtype; undefined when tinym2 has no use for it. */
export function irDType(t: number | null | undefined): DType | undefined {
  switch (t) {
    case 1: case 11: return 'float32'; // DOUBLE constants are narrowed to float32.
    case 7: return 'int64';
    case 6: return 'int32';
    default: return undefined;
  }
}

export const SUPPORTED_DTYPES = 'FLOAT (float32), DOUBLE (narrowed to float32), INT64, INT32';

/**
 * Converts a TensorProto to a Constant. Returns a string describing the problem when the data
 * type is unsupported or the data is inconsistent (the caller adds file and node context).
 */
export function decodeTensor(t: TensorProto, name: string, limits: InputLimits): Constant | string {
  const shape = (t.dims ?? []).map(toNumber);
  const bad = shapeProblem(shape, limits);
  if (bad) return `tensor '${name}': ${bad}`;
  const count = shape.reduce((a, b) => a * b, 1);
  const dtype = irDType(t.dataType);
  if (!dtype) return `tensor '${name}' has data type ${dataTypeName(t.dataType)}; tinym2 supports ${SUPPORTED_DTYPES}`;
  if (t.dataLocation === 1 || (t.externalData && t.externalData.length > 0)) {
    return `tensor '${name}' stores its data in an external file; re-export with the weights inside the .onnx (save_as_external_data=False)`;
  }
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  let data: Constant['data'];
  if (raw) {
    const own = new Uint8Array(raw).buffer; // an aligned copy (raw may be a view into a shared Buffer pool)
    const bytes = t.dataType === 1 || t.dataType === 6 ? 4 : 8;
    if (raw.length !== count * bytes) return `tensor '${name}' has ${raw.length} bytes of data, its shape [${shape}] needs ${count * bytes}`;
    if (t.dataType === 1) data = new Float32Array(own);
    else if (t.dataType === 11) data = Float32Array.from(new Float64Array(own));
    else if (t.dataType === 7) data = new BigInt64Array(own);
    else data = new Int32Array(own);
  } else {
    let values: ArrayLike<unknown>;
    if (t.dataType === 1) values = t.floatData ?? [];
    else if (t.dataType === 11) values = t.doubleData ?? [];
    else if (t.dataType === 7) values = t.int64Data ?? [];
    else values = t.int32Data ?? [];
    if (values.length !== count) return `tensor '${name}' has ${values.length} values, its shape [${shape}] needs ${count}`;
    if (dtype === 'float32') data = Float32Array.from(values as ArrayLike<number>);
    else if (dtype === 'int32') data = Int32Array.from(values as ArrayLike<number>);
    else {
      data = new BigInt64Array(count);
      for (let i = 0; i < count; i++) {
        const v = toNumber(values[i]);
        if (!Number.isInteger(v)) return `tensor '${name}' holds ${v} at index ${i}, not a whole number`;
        data[i] = BigInt.asIntN(64, BigInt(v));
      }
    }
  }
  return { name, shape, dtype, data };
}

/** Attribute access with ONNX defaults. */
export class Attributes {
  private readonly byName = new Map<string, AttributeProto>();

  constructor(node: NodeProto) {
    for (const a of node.attribute ?? []) if (a.name) this.byName.set(a.name, a);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  int(name: string, def: number): number {
    const a = this.byName.get(name);
    return a ? toNumber(a.i ?? 0) : def;
  }

  float(name: string, def: number): number {
    const a = this.byName.get(name);
    return a ? (a.f ?? 0) : def;
  }

  /** Names of float attributes holding NaN or an infinity (refused at import: they reach C literals). */
  nonFinite(): string[] {
    const out: string[] = [];
    for (const [name, a] of this.byName) {
      if ((a.f !== undefined && a.f !== null && !Number.isFinite(a.f)) || (a.floats ?? []).some((v) => !Number.isFinite(v))) out.push(name);
    }
    return out;
  }

  ints(name: string): number[] | undefined {
    const a = this.byName.get(name);
    return a ? (a.ints ?? []).map(toNumber) : undefined;
  }

  string(name: string, def: string): string {
    const a = this.byName.get(name);
    return a?.s ? new TextDecoder().decode(a.s) : def;
  }

  tensor(name: string): TensorProto | undefined {
    return this.byName.get(name)?.t ?? undefined;
  }

  /** The raw attribute, for Constant's value_float / value_ints / ... forms. */
  raw(name: string): AttributeProto | undefined {
    return this.byName.get(name);
  }
}
