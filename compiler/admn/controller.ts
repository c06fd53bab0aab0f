// The TypeScript twin of runtime-c/admn/tm2_admn.c (ADMN depth allocation), bit for bit: see the rule in
// runtime-c/admn/tm2_admn.h. Tables come from profile.ts; emit.ts writes the same tables as C.
import { pwlEval, type Pwl } from '../dynafuse/runtime.ts';

export const MAX_MODALITIES = 16;
export const MAX_DEPTH = 8;

export interface AdmnModalityTable {
  name: string;
  /** [depths + 1] Q15 accuracy vs Q12 sigma. */
  accuracy: Pwl[];
  /** [depths + 1] instructions of the branch at depth d, increasing. */
  instructions: number[];
  /** [depths] block-mask bit (value 2^b) of its k-th block. */
  blockBits: number[];
}

export interface AdmnTables {
  modalities: AdmnModalityTable[];
}

export interface Allocation {
  blockMask: number;
  instructions: number;
  depth: number[];
}

export function allocate(t: AdmnTables, sigmaQ12: readonly number[], modalityMask: number, budget: number): Allocation {
  const n = t.modalities.length;
  const depth = new Array<number>(n).fill(0);
  const selected = (i: number) => ((modalityMask >>> i) & 1) === 1;
  const acc: number[][] = [];
  let spent = 0;
  t.modalities.forEach((m, i) => {
    if (!selected(i)) return;
    spent = (spent + m.instructions[0]) >>> 0;
    acc[i] = m.accuracy.map((f) => pwlEval(f, sigmaQ12[i] < 0 ? 0 : sigmaQ12[i]));
  });
  for (;;) {
    let best = -1, bestTo = 0, bestGain = 0, bestCost = 1;
    for (let i = 0; i < n; i++) {
      if (!selected(i)) continue;
      const m = t.modalities[i];
      const from = depth[i];
      for (let d = from + 1; d < m.instructions.length; d++) {
        const cost = m.instructions[d] - m.instructions[from];
        const gain = acc[i][d] - acc[i][from];
        if (spent + cost > budget) break;
        if (gain <= 0 || cost <= 0) continue;
        // gain < 2^16, cost < 2^32: products below 2^48, exact in a double.
        if (best < 0 || gain * bestCost > bestGain * cost) {
          best = i; bestTo = d; bestGain = gain; bestCost = cost;
        }
      }
    }
    if (best < 0) break;
    spent = (spent + bestCost) >>> 0;
    depth[best] = bestTo;
  }
  let blockMask = 0;
  t.modalities.forEach((m, i) => {
    for (let d = 0; d < depth[i]; d++) blockMask = (blockMask | m.blockBits[d]) >>> 0;
  });
  return { blockMask, instructions: spent, depth };
}

/** Checks what the C struct can hold. */
export function checkTables(t: AdmnTables): void {
  if (t.modalities.length > MAX_MODALITIES) throw new Error(`internal: ${t.modalities.length} modalities, the ADMN controller holds ${MAX_MODALITIES}`);
  for (const m of t.modalities) {
    const depths = m.blockBits.length;
    if (depths > MAX_DEPTH) throw new Error(`internal: modality ${m.name} has ${depths} blocks, the ADMN controller holds ${MAX_DEPTH}`);
    if (m.accuracy.length !== depths + 1 || m.instructions.length !== depths + 1) throw new Error(`internal: ADMN tables of ${m.name} do not have depths + 1 entries`);
    for (let d = 1; d <= depths; d++) if (!(m.instructions[d] > m.instructions[d - 1])) throw new Error(`internal: ADMN instructions of ${m.name} do not increase with depth`);
  }
}
