// Parsers for option values that are more than a number: sizes (160KB), counts (1_000_000), whole
// numbers >= 1. They throw a plain Error whose message names the option; the CLI turns it into exit 2.

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 * 1024, mb: 1024 * 1024, mib: 1024 * 1024 };

/** Parses `160KB`, `1MB`, `1.5M`, `40000` (KB = 1024 bytes). */
export function parseSize(text: string, option: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`${option} '${text}' is not a size: use bytes (40000) or KB / MB (160KB, 1MB)`);
  return Math.floor(parseFloat(m[1]) * unit);
}

/** A positive number, `_` allowed as a digit separator (1_000_000). */
export function parseCount(text: string, option: string): number {
  const v = Number(String(text).replace(/_/g, ''));
  if (String(text).trim() === '' || !Number.isFinite(v) || v <= 0) throw new Error(`${option} '${text}' must be a positive number`);
  return v;
}

/** A whole number >= 1. */
export function parsePositiveInt(text: string, option: string): number {
  const v = Number(text);
  if (String(text).trim() === '' || !Number.isInteger(v) || v < 1) throw new Error(`${option} '${text}' must be a positive whole number`);
  return v;
}

/** A number in [min, max] (a percentage, a tolerance). */
export function parseNumberIn(text: string, option: string, min: number, max: number): number {
  const v = Number(text);
  if (String(text).trim() === '' || !Number.isFinite(v) || v < min || v > max) throw new Error(`${option} '${text}' must be a number from ${min} to ${max}`);
  return v;
}
