// A minimal ELF reader (32- and 64-bit, little-endian): section headers and the symbol table. Enough to
// find the count markers' addresses and to size firmware, without depending on binutils being installed.
import fs from 'node:fs';
import { TinyM2Error, EXIT_BAD_INPUT } from '../errors.ts';
import type { Board } from './boards.ts';

export interface ElfSection {
  name: string;
  type: number;
  flags: number;
  addr: number;
  size: number;
}

export interface ElfSymbol {
  name: string;
  value: number;
  size: number;
  /** STT_* (0 notype, 1 object, 2 func). */
  type: number;
}

export interface ElfFile {
  bits: 32 | 64;
  machine: number;
  sections: ElfSection[];
  symbols: ElfSymbol[];
}

const SHT_SYMTAB = 2;
const SHT_NOBITS = 8;
const SHF_WRITE = 0x1;
const SHF_ALLOC = 0x2;
const SHF_EXECINSTR = 0x4;

export function readElf(file: string): ElfFile {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new TinyM2Error(`cannot read ELF file ${file}: ${(err as Error).message}`, { exitCode: EXIT_BAD_INPUT });
  }
  if (buf.length < 52 || buf.readUInt32BE(0) !== 0x7f454c46)
    throw new TinyM2Error(`${file} is not an ELF file`, { exitCode: EXIT_BAD_INPUT });
  if (buf[5] !== 1) throw new TinyM2Error(`${file} is a big-endian ELF; only little-endian targets are supported`, { exitCode: EXIT_BAD_INPUT });
  const bits = buf[4] === 2 ? 64 : 32;
  const word = (off: number): number => (bits === 64 ? Number(buf.readBigUInt64LE(off)) : buf.readUInt32LE(off));
  const machine = buf.readUInt16LE(18);
  const shoff = bits === 64 ? word(0x28) : word(0x20);
  const shentsize = buf.readUInt16LE(bits === 64 ? 0x3a : 0x2e);
  const shnum = buf.readUInt16LE(bits === 64 ? 0x3c : 0x30);
  const shstrndx = buf.readUInt16LE(bits === 64 ? 0x3e : 0x32);

  interface RawSection extends ElfSection { nameOff: number; offset: number; link: number; entsize: number }
  const raw: RawSection[] = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    raw.push(
      bits === 64
        ? { name: '', nameOff: buf.readUInt32LE(o), type: buf.readUInt32LE(o + 4), flags: word(o + 8), addr: word(o + 16),
            offset: word(o + 24), size: word(o + 32), link: buf.readUInt32LE(o + 40), entsize: word(o + 56) }
        : { name: '', nameOff: buf.readUInt32LE(o), type: buf.readUInt32LE(o + 4), flags: buf.readUInt32LE(o + 8), addr: buf.readUInt32LE(o + 12),
            offset: buf.readUInt32LE(o + 16), size: buf.readUInt32LE(o + 20), link: buf.readUInt32LE(o + 24), entsize: buf.readUInt32LE(o + 36) },
    );
  }
  const cstr = (tableOffset: number, at: number): string => {
    const start = tableOffset + at;
    const end = buf.indexOf(0, start);
    return buf.toString('latin1', start, end < 0 ? buf.length : end);
  };
  const shstr = raw[shstrndx];
  for (const s of raw) s.name = shstr ? cstr(shstr.offset, s.nameOff) : '';

  const symbols: ElfSymbol[] = [];
  for (const s of raw.filter((r) => r.type === SHT_SYMTAB)) {
    const strtab = raw[s.link];
    const entsize = s.entsize || (bits === 64 ? 24 : 16);
    for (let o = s.offset; o + entsize <= s.offset + s.size; o += entsize) {
      const nameOff = buf.readUInt32LE(o);
      const info = bits === 64 ? buf[o + 4] : buf[o + 12];
      const value = bits === 64 ? word(o + 8) : buf.readUInt32LE(o + 4);
      const size = bits === 64 ? word(o + 16) : buf.readUInt32LE(o + 8);
      if (nameOff === 0 || !strtab) continue;
      symbols.push({ name: cstr(strtab.offset, nameOff), value, size, type: info! & 0xf });
    }
  }
  return {
    bits,
    machine,
    sections: raw.map(({ name, type, flags, addr, size }) => ({ name, type, flags, addr, size })),
    symbols,
  };
}

/** Value of a symbol (for Thumb functions bit 0 is set), or undefined when absent. */
export function symbolAddress(elf: ElfFile, name: string): number | undefined {
  return elf.symbols.find((s) => s.name === name)?.value;
}

/** How many bytes a program takes: flash = what must be stored (code, constants, .data's initial values);
 *  ram = what it occupies while running (.data, .bss and the linker script's heap and stack reserves). */
export interface ElfSizes {
  textBytes: number;
  rodataBytes: number;
  dataBytes: number;
  bssBytes: number;
  heapBytes: number;
  stackBytes: number;
  flashBytes: number;
  ramBytes: number;
}

/**
 * Sizes of an ELF. With a bare-metal board, a section counts as RAM when its address lies in the board's
 * RAM region (this puts .init_array, which is writable but lives in flash, on the right side); otherwise
 * writable sections are RAM. The heap/stack reserves are the linker script's .heap and .stack sections.
 */
export function elfSizes(elfOrFile: string | ElfFile, board?: Board): ElfSizes {
  const elf = typeof elfOrFile === 'string' ? readElf(elfOrFile) : elfOrFile;
  const ram = board?.memory.ram.origin !== undefined ? board.memory.ram : undefined;
  const inRam = (s: ElfSection): boolean =>
    ram ? s.addr >= ram.origin! && s.addr < ram.origin! + ram.bytes : (s.flags & SHF_WRITE) !== 0;
  const sizes: ElfSizes = { textBytes: 0, rodataBytes: 0, dataBytes: 0, bssBytes: 0, heapBytes: 0, stackBytes: 0, flashBytes: 0, ramBytes: 0 };
  for (const s of elf.sections) {
    if (!(s.flags & SHF_ALLOC) || s.size === 0) continue;
    if (s.name === '.heap') sizes.heapBytes += s.size;
    else if (s.name === '.stack') sizes.stackBytes += s.size;
    else if (inRam(s)) {
      if (s.type === SHT_NOBITS) sizes.bssBytes += s.size;
      else sizes.dataBytes += s.size;
    } else if (s.type !== SHT_NOBITS) {
      if (s.flags & SHF_EXECINSTR) sizes.textBytes += s.size;
      else sizes.rodataBytes += s.size;
    }
  }
  sizes.flashBytes = sizes.textBytes + sizes.rodataBytes + sizes.dataBytes;
  sizes.ramBytes = sizes.dataBytes + sizes.bssBytes + sizes.heapBytes + sizes.stackBytes;
  return sizes;
}
