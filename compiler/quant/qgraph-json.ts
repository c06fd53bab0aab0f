// The quantized graph as JSON, exactly: typed arrays are stored as base64 of their bytes (float32 scales
// keep every bit), Maps as entry lists, -0 / NaN / Infinity as tagged strings. `tinym2 compile` writes it into the output folder (qgraph.json)
// so that `tinym2 verify` computes its expectations from what was compiled, without the model or the
// calibration rows: the folder verifies after being moved or vendored into a firmware repository.
import type { QGraph } from './qgraph.ts';

const TYPED = {
  Int8Array,
  Uint8Array,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
} as const;
type TypedName = keyof typeof TYPED;

/** Bumped when the QGraph shape changes, so an old qgraph.json is refused rather than misread. */
export const QGRAPH_JSON_VERSION = 1;

export function qgraphToJson(q: QGraph): string {
  return JSON.stringify({ qgraphVersion: QGRAPH_JSON_VERSION, graph: q }, (_key, value: unknown) => {
    if (value instanceof Map) return { $map: [...value.entries()] };
    // JSON has no -0 (a zero scale or bound of either sign), nor NaN / Infinity.
    if (typeof value === 'number' && (Object.is(value, -0) || !Number.isFinite(value))) return { $number: Object.is(value, -0) ? '-0' : String(value) };
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      const type = value.constructor.name as TypedName;
      if (!(type in TYPED)) throw new Error(`internal: cannot store a ${type} in qgraph.json`);
      return { $typed: type, base64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
    }
    return value;
  });
}

/** Parses qgraph.json; throws an Error naming what is wrong (the caller names the file). */
export function qgraphFromJson(text: string): QGraph {
  const parsed = JSON.parse(text, (_key, value: unknown) => {
    if (value && typeof value === 'object') {
      const v = value as { $map?: Array<[unknown, unknown]>; $typed?: TypedName; base64?: string; $number?: string };
      if (v.$map) return new Map(v.$map);
      if (v.$number !== undefined) return Number(v.$number);
      if (v.$typed) {
        const bytes = Buffer.from(v.base64 ?? '', 'base64');
        const Ctor = TYPED[v.$typed];
        if (!Ctor) throw new Error(`unknown array type ${v.$typed}`);
        // Copy into a fresh, aligned buffer (a Buffer's offset need not be a multiple of the element size).
        const aligned = new Uint8Array(bytes.length);
        aligned.set(bytes);
        return new Ctor(aligned.buffer);
      }
    }
    return value;
  }) as { qgraphVersion?: number; graph?: QGraph };
  if (parsed.qgraphVersion !== QGRAPH_JSON_VERSION || !parsed.graph) {
    throw new Error(`written by another tinym2 version (qgraphVersion ${parsed.qgraphVersion}, this one reads ${QGRAPH_JSON_VERSION}): compile again`);
  }
  return parsed.graph;
}
