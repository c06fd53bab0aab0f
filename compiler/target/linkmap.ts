// Reads a GNU ld map file (-Wl,-Map=...) to tell how many bytes of each output section every object file
// contributed. That is how a model's own footprint (model, weights, kernels) is told apart from the test
// harness around it (test vectors, newlib, start-up code) in a firmware image.

export interface ContributedBytes {
  text: number;
  rodata: number;
  data: number;
  bss: number;
}

/** object file (as written in the map; archive members as "lib.a(member.o)") -> bytes it placed. */
export function bytesByObject(map: string): Map<string, ContributedBytes> {
  const result = new Map<string, ContributedBytes>();
  const start = map.indexOf('Linker script and memory map');
  const lines = (start >= 0 ? map.slice(start) : map).split('\n');
  let outputSection = '';
  let pendingInput: string | null = null; // an input section name that wrapped onto its own line
  for (const line of lines) {
    // Output section: at column 0, e.g. ".text           0x00000040     0x7890" or ".text" alone when wrapped.
    const out = /^(\.[\w.]+)(\s|$)/.exec(line);
    if (out) {
      outputSection = out[1]!;
      pendingInput = null;
      continue;
    }
    // Input section, name and numbers on one line, or the name alone and the numbers on the next.
    const full = /^ (\.[^\s]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$/.exec(line);
    const cont = /^\s{10,}0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$/.exec(line);
    const nameOnly = /^ (\.[^\s]+)\s*$/.exec(line);
    let size: number | undefined;
    let object: string | undefined;
    if (full) {
      size = parseInt(full[3]!, 16);
      object = full[4]!.trim();
      pendingInput = null;
    } else if (cont && pendingInput !== null) {
      size = parseInt(cont[2]!, 16);
      object = cont[3]!.trim();
      pendingInput = null;
    } else if (nameOnly) {
      pendingInput = nameOnly[1]!;
      continue;
    } else {
      continue;
    }
    if (!size || !object || /^0x[0-9a-f]+$/.test(object)) continue;
    const kind = classify(outputSection);
    if (!kind) continue;
    let entry = result.get(object);
    if (!entry) result.set(object, (entry = { text: 0, rodata: 0, data: 0, bss: 0 }));
    entry[kind] += size;
  }
  return result;
}

function classify(outputSection: string): keyof ContributedBytes | null {
  if (outputSection === '.text' || outputSection.startsWith('.text.')) return 'text';
  if (outputSection === '.bss' || outputSection === '.tbss' || outputSection.startsWith('.bss.')) return 'bss';
  if (/^\.(data|tdata|sdata|got|init_array|fini_array|preinit_array)/.test(outputSection)) {
    // .init_array etc. are RAM on Linux, flash on bare metal; they are a few bytes and never the model's.
    return outputSection.startsWith('.data') || outputSection.startsWith('.sdata') || outputSection.startsWith('.tdata') ? 'data' : 'rodata';
  }
  if (/^\.(rodata|isr_vector|ARM\.ex|eh_frame|gcc_except_table)/.test(outputSection)) return 'rodata';
  return null;
}
