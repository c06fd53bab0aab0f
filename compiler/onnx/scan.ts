// The unsupported-operator scan: before anything is folded or imported, every node's operator type
// is checked against what tinym2 can import or fold, and all that are missing are reported in one
// message (each type with its node names). Without it the first refusal would name whatever node the
// import reached first, often a downstream consequence (an Expand that stays dynamic because a GRU
// before it was not evaluated) instead of the operator the user has to replace.
import { TinyM2Error } from '../errors.ts';
import type { NodeProto } from './proto.ts';

/** Node names shown per operator type before "and N more". */
const NAMES_SHOWN = 4;

function nodeList(names: string[]): string {
  const quoted = names.slice(0, NAMES_SHOWN).map((n) => `'${n}'`).join(', ');
  const more = names.length > NAMES_SHOWN ? ` and ${names.length - NAMES_SHOWN} more` : '';
  return `${names.length === 1 ? 'node' : 'nodes'} ${quoted}${more}`;
}

/**
 * Throws one TinyM2Error (exit 2) naming every operator type of `nodes` that is neither in `imported`
 * (ops tinym2 compiles) nor in `folded` (ops it only evaluates on constant inputs), and every node of a
 * non-standard domain. Node names are as the file gives them, or `<op>_<index>` in file order.
 */
export function refuseUnsupportedOps(
  file: string, nodes: readonly NodeProto[], imported: readonly string[], folded: readonly string[],
): void {
  const known = new Set([...imported, ...folded]);
  const missing = new Map<string, string[]>();
  nodes.forEach((n, index) => {
    const op = n.opType ?? '';
    const domain = n.domain && n.domain !== 'ai.onnx' ? n.domain : '';
    if (!domain && known.has(op)) return;
    const key = domain ? `${op} of domain '${domain}'` : op;
    const list = missing.get(key) ?? [];
    list.push(n.name || `${op}_${index}`);
    missing.set(key, list);
  });
  if (missing.size === 0) return;
  const types = [...missing.keys()];
  const what = types.length === 1
    ? `${nodeList(missing.get(types[0])!)} (${types[0]}): operator ${types[0]} is not supported`
    : `operators ${types.map((t) => `${t} (${nodeList(missing.get(t)!)})`).join(', ')} are not supported`;
  const domains = types.some((t) => t.includes(' of domain ')) ? ' (of the standard ai.onnx domain)' : '';
  throw new TinyM2Error(
    `${file}: ${what}; tinym2 supports${domains} ${imported.join(', ')}, and evaluates ${folded.join(', ')} when their inputs are constants`,
    { details: { file, unsupported: Object.fromEntries(missing) } },
  );
}
