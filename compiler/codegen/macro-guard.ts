// Two generated models in one application must not share a macro. Macros are TM2_<MODEL>_<FIELD>_...,
// so model 'kws' with input 'fsdd_mfcc' and model 'kws_fsdd' with input 'mfcc' both define
// TM2_KWS_FSDD_MFCC_SIZE; C only warns when a macro is redefined with another value (and says nothing
// when the value is the same), so the second header would silently change the first model's meaning.
// Each generated header therefore starts, right after its include guard, with a check that none of the
// macros it is about to define exist yet; the list is read off the header's own text, so it cannot
// drift from what the template defines. Whichever of the two headers is included second stops the
// build with one message that names the macro's model and what to do.

/** The macros a header defines, except its include guard. */
export function definedMacros(header: string, includeGuard: string): string[] {
  const names = [...header.matchAll(/^#define\s+([A-Za-z_]\w*)/gm)].map((m) => m[1]!);
  return [...new Set(names.filter((n) => n !== includeGuard))];
}

/**
 * Inserts the redefinition check after `#define <includeGuard>`. `what` names the header's owner in the
 * message (e.g. "model kws_fsdd"); `remedy` says how to rename it.
 */
export function guardMacros(header: string, includeGuard: string, what: string, remedy: string): string {
  const macros = definedMacros(header, includeGuard);
  const anchor = new RegExp(`^#define ${includeGuard}\\n`, 'm');
  const at = anchor.exec(header);
  if (!at) throw new Error(`internal: header has no '#define ${includeGuard}' line`);
  if (macros.length === 0) return header;
  const lines = [
    `/* Another generated header must not have defined these names (two models whose names and fields run together). */`,
    `#if ${macros.map((m) => `defined(${m})`).join(' || \\\n    ')}`,
    `#error "tinym2: a macro of ${what} is already defined by a header included before this one (another model's names run into this one's): ${remedy}"`,
    '#endif',
  ];
  const end = at.index + at[0].length;
  return `${header.slice(0, end)}${lines.join('\n')}\n${header.slice(end)}`;
}
