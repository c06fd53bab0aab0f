// The instruction classes the count plugin reports per region with mix=1 (boards/qemu-plugin), shared by
// the runner that parses them and the power model that turns them into cycles.

/** `regs` is not an instruction count: it counts registers beyond the first moved by multi-register loads/stores. */
export const MIX_CLASSES = ['alu', 'load', 'store', 'mul', 'div', 'branch', 'fp', 'regs'] as const;
export type MixClass = (typeof MIX_CLASSES)[number];
export type InstructionMix = Record<MixClass, number>;

/** Number of instructions in a mix (every class but `regs`). */
export function mixInstructions(mix: InstructionMix): number {
  return MIX_CLASSES.reduce((n, c) => (c === 'regs' ? n : n + mix[c]), 0);
}

/** Element-wise mean of several mixes (e.g. one per inference). */
export function meanMix(mixes: InstructionMix[]): InstructionMix | undefined {
  if (mixes.length === 0) return undefined;
  const out = Object.fromEntries(MIX_CLASSES.map((c) => [c, 0])) as InstructionMix;
  for (const m of mixes) for (const c of MIX_CLASSES) out[c] += m[c] / mixes.length;
  return out;
}
