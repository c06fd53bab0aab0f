// Builds small ONNX models in memory (via onnx-proto) for importer tests: op variants at chosen
// opsets, and deliberately broken models for the refusal tests.
import { writeFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type Attr =
  | { i: number } | { f: number } | { s: string } | { ints: number[] } | { floats: number[] }
  | { t: TensorSpec };

export interface TensorSpec {
  name?: string;
  dims: number[];
  /** ONNX TensorProto.DataType: 1 float, 6 int32, 7 int64, 10 float16, 11 double ... */
  dataType?: number;
  data: number[];
  /** Store as raw_data (little-endian bytes) instead of the typed field. */
  raw?: boolean;
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attrs?: Record<string, Attr>;
}

export interface ValueSpec {
  name: string;
  /** numbers, or strings for symbolic dimensions */
  shape?: (number | string)[];
  elemType?: number;
}

export interface ModelSpec {
  opset: number;
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  initializers?: (TensorSpec & { name: string })[];
  nodes: NodeSpec[];
  irVersion?: number;
  /** metadata_props entries. */
  metadata?: Record<string, string>;
}

function tensorProto(t: TensorSpec, name: string): onnxProto.onnx.ITensorProto {
  const dataType = t.dataType ?? 1;
  const proto: onnxProto.onnx.ITensorProto = { name, dims: t.dims, dataType };
  if (t.raw) {
    const bytes =
      dataType === 1 ? new Uint8Array(Float32Array.from(t.data).buffer)
      : dataType === 11 ? new Uint8Array(Float64Array.from(t.data).buffer)
      : dataType === 6 ? new Uint8Array(Int32Array.from(t.data).buffer)
      : dataType === 10 ? new Uint8Array(Uint16Array.from(t.data).buffer)
      : new Uint8Array(BigInt64Array.from(t.data.map((v) => BigInt(v))).buffer);
    proto.rawData = bytes;
  } else if (dataType === 1) proto.floatData = t.data;
  else if (dataType === 11) proto.doubleData = t.data;
  else if (dataType === 7) proto.int64Data = t.data;
  else proto.int32Data = t.data;
  return proto;
}

function attribute(name: string, a: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('i' in a) return { name, type: T.INT, i: a.i };
  if ('f' in a) return { name, type: T.FLOAT, f: a.f };
  if ('s' in a) return { name, type: T.STRING, s: new TextEncoder().encode(a.s) };
  if ('ints' in a) return { name, type: T.INTS, ints: a.ints };
  if ('floats' in a) return { name, type: T.FLOATS, floats: a.floats };
  return { name, type: T.TENSOR, t: tensorProto(a.t, a.t.name ?? '') };
}

function valueInfo(v: ValueSpec): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: v.elemType ?? 1,
        shape: v.shape ? { dim: v.shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } : undefined,
      },
    },
  };
}

export function buildModel(spec: ModelSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: spec.irVersion ?? (spec.opset <= 12 ? 7 : 8),
    producerName: 'tinym2-tests',
    opsetImport: [{ domain: '', version: spec.opset }],
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: 'test',
      node: spec.nodes.map((n, i) => ({
        name: n.name ?? `${n.op.toLowerCase()}${i}`, opType: n.op, domain: n.domain ?? '', input: n.inputs, output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, a]) => attribute(k, a)),
      })),
      initializer: (spec.initializers ?? []).map((t) => tensorProto(t, t.name)),
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

export function writeModel(file: string, spec: ModelSpec): string {
  writeFileSync(file, buildModel(spec));
  return file;
}

/** Seeded values in [-1, 1) for weights. */
export function values(n: number, seed = 1): number[] {
  let s = seed * 2654435761 >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}
