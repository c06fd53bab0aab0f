// Small helpers that turn names and numbers into C99 text, deterministically.

/** A C identifier from any text: [a-z0-9_], not starting with a digit, no double underscores. */
export function cIdentifier(text: string): string {
  let id = text
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
  if (id === '') id = 'x';
  if (/^[0-9]/.test(id)) id = `m_${id}`;
  return id;
}

/** Gives every name its own identifier; later duplicates get _2, _3, ... */
export function uniqueIdentifiers(names: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<string>();
  for (const name of names) {
    const base = cIdentifier(name);
    let id = base;
    for (let k = 2; used.has(id); k++) id = `${base}_${k}`;
    used.add(id);
    out.set(name, id);
  }
  return out;
}

/** A C comment body that cannot end the comment early. */
export function commentText(text: string): string {
  return text.replace(/\*\//g, '* /').replace(/[\r\n]+/g, ' ');
}

/** Integers as C initializer rows, `perLine` a line. */
export function intRows(values: ArrayLike<number>, perLine = 16, indent = '  '): string {
  const lines: string[] = [];
  for (let i = 0; i < values.length; i += perLine) {
    const row: string[] = [];
    for (let k = i; k < Math.min(values.length, i + perLine); k++) row.push(cInt(values[k]));
    lines.push(indent + row.join(', '));
  }
  return lines.join(',\n');
}

/** An int32 literal: INT32_MIN cannot be written as a negative literal. */
export function cInt(v: number): string {
  if (v === -2147483648) return '(-2147483647 - 1)';
  return String(v);
}

/** A double literal that reads back as exactly this value. */
export function cDouble(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`internal: non-finite constant ${v}`);
  const s = String(v);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** A float literal that reads back as exactly Math.fround(v) (9 significant digits round-trip float32). */
export function cFloat(v: number): string {
  const f = Math.fround(v);
  let s = f.toPrecision(9);
  if (!/[.eE]/.test(s)) s += '.0';
  return `${s}f`;
}
