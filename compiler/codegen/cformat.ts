// Small helpers that turn numbers into C99 text, deterministically (names: names.ts).

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
