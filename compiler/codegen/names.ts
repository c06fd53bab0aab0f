// The one place where names from a model file (tensor, node, input and modality names, the model's
// file name) become text in generated output: C identifiers, C comments, Markdown and JSON strings.
// Every template and emitter goes through these, because any of those names may be hostile: a tensor
// called `int` or `for`, a node name holding "*/", a newline, NUL or a bidi control (U+202E), a file
// name with '"' or '\', or 10 kB long.

/** C99 keywords, and names the generated code's headers define as macros or types. */
const C_RESERVED = new Set([
  'auto', 'break', 'case', 'char', 'const', 'continue', 'default', 'do', 'double', 'else', 'enum', 'extern', 'float', 'for',
  'goto', 'if', 'inline', 'int', 'long', 'register', 'restrict', 'return', 'short', 'signed', 'sizeof', 'static', 'struct',
  'switch', 'typedef', 'union', 'unsigned', 'void', 'volatile', 'while',
  // C11/C23 keywords and <stdbool.h>
  'alignas', 'alignof', 'bool', 'true', 'false', 'nullptr', 'static_assert', 'thread_local', 'typeof', 'constexpr',
  // macros and types of <stdint.h>, <stddef.h>, <stdio.h>, <string.h>, <assert.h>, <errno.h>, <math.h>
  'int8_t', 'int16_t', 'int32_t', 'int64_t', 'uint8_t', 'uint16_t', 'uint32_t', 'uint64_t', 'size_t', 'ptrdiff_t', 'intptr_t',
  'uintptr_t', 'offsetof', 'stdin', 'stdout', 'stderr', 'errno', 'assert', 'main', 'null', 'eof', 'nan', 'inf', 'infinity',
  'isnan', 'isinf', 'signbit', 'memcpy', 'memset', 'printf',
]);

/** Longest identifier part tinym2 emits from a name (C99 guarantees 31 significant characters for external names). */
export const MAX_IDENTIFIER = 31;
/** Longest name text in a comment, Markdown cell or JSON string before it is shortened. */
export const MAX_TEXT = 200;

/** FNV-1a, 32 bits, as 8 hex digits: a stable suffix that keeps shortened names apart. */
export function stableHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** Control characters (NUL, newlines, ...), bidi overrides and isolates, zero-width marks. */
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

/** Text with unsafe characters turned into spaces, shortened with a stable hash past `max` characters. */
function plain(text: string, max = MAX_TEXT): string {
  const clean = text.replace(UNSAFE_CHARS, ' ').replace(/\s+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max - 12)}...#${stableHash(text)}` : clean;
}

/**
 * A C identifier from any text: [a-z0-9_], not starting with a digit or underscore, no double
 * underscores, never a keyword or a standard macro (those get an `_v` suffix), at most MAX_IDENTIFIER
 * characters (longer ones keep a prefix and a stable hash of the whole name).
 */
export function cIdentifier(text: string): string {
  let id = text
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
  if (id === '') id = 'x';
  if (/^[0-9]/.test(id)) id = `m_${id}`;
  if (C_RESERVED.has(id)) id = `${id}_v`;
  if (id.length > MAX_IDENTIFIER) id = `${id.slice(0, MAX_IDENTIFIER - 9).replace(/_+$/, '')}_${stableHash(text)}`;
  return id;
}

/**
 * Gives every name its own identifier, none equal to a `reserved` one (names the caller's own
 * identifiers or macros use); later duplicates get _2, _3, ... Names that differ only in case or
 * punctuation ("Acc", "acc", "a-c") collide after cIdentifier and are kept apart here.
 */
export function uniqueIdentifiers(names: string[], reserved: Iterable<string> = []): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set([...reserved].map((r) => r.toLowerCase()));
  for (const name of names) {
    if (out.has(name)) continue;
    const base = cIdentifier(name);
    let id = base;
    for (let k = 2; used.has(id); k++) id = `${base}_${k}`;
    used.add(id);
    out.set(name, id);
  }
  return out;
}

/** Text for inside a C comment: cannot open or close a comment, no control or bidi characters. */
export function commentText(text: string, max = MAX_TEXT): string {
  return plain(text, max).replace(/\*\//g, '* /').replace(/\/\*/g, '/ *').replace(/\?\?/g, '? ?');
}

/** Text for a Markdown paragraph or table cell: Markdown syntax characters escaped, one line. */
export function markdownText(text: string, max = MAX_TEXT): string {
  return plain(text, max).replace(/[\\`*_{}[\]()<>#+!|~]/g, (c) => `\\${c}`);
}

/** Text for inside a JSON string literal (without the quotes). */
export function jsonText(text: string, max = MAX_TEXT): string {
  return JSON.stringify(plain(text, max)).slice(1, -1);
}
