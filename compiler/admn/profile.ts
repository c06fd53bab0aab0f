// Compile-time ADMN profile: each modality head's top-1 at each depth (its first d blocks) and each noise
// level of the DynaFuse grid (noise on that modality only, in each channel's calibration std, quantized as
// the device does), through the integer emulator; plus the branch's instructions at each depth (measured
// by the caller, e.g. under QEMU with compiler/admn/device.ts). The result is the controller's tables.
import { opsFor } from '../dynafuse/profile.ts';
import { Q15_ONE, SIGMA_ONE } from '../dynafuse/runtime.ts';
import { quantizeInput } from '../quant/io.ts';
import type { DataSet } from '../quant/evaluate.ts';
import type { QGraph } from '../quant/qgraph.ts';
import { gaussian } from '../random.ts';
import type { AdmnBlocks } from './blocks.ts';
import type { AdmnTables } from './controller.ts';
import { branchByDepth, branchPlan } from './emulate.ts';

export interface AdmnModalitySpec {
  /** ADMN modality name (block declarations) = the DynaFuse modality name. */
  name: string;
  /** Graph input and head output (QGraph tensor names). */
  input: string;
  head: string;
  /** Channels (ONNX axis 1) and values per channel of the input window; std of each channel over the calibration set. */
  channels: number;
  samples: number;
  channelStd: number[];
}

export interface AdmnProfile {
  sigmas: number[];
  rows: number;
  /** [modality][depth][sigma] top-1 in [0, 1]. */
  accuracy: number[][][];
  tables: AdmnTables;
}

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

export function profileAdmn(q: QGraph, admn: AdmnBlocks, calib: DataSet, modalities: AdmnModalitySpec[], sigmas: number[], instructionsByDepth: number[][], seed = 1): AdmnProfile {
  const labels = calib.labels.get('labels');
  if (!labels) throw new Error(`internal: ${calib.file} has no labels`);
  const accuracy = modalities.map((m, mi) => {
    if (!admn.blocksOf[m.name]) throw new Error(`internal: modality ${m.name} has no ADMN blocks (declared: ${admn.modalities.join(', ')})`);
    const plan = branchPlan(q, admn, m.name, opsFor(q, [m.head]));
    const D = admn.blocksOf[m.name].length;
    const normal = gaussian(seed * 1000 + 500 + mi);
    const noisy = new Float32Array(m.channels * m.samples);
    const correct = Array.from({ length: D + 1 }, () => new Array<number>(sigmas.length).fill(0));
    sigmas.forEach((sigma, si) => {
      calib.rows.forEach((row, r) => {
        const clean = row[m.input];
        for (let c = 0; c < m.channels; c++) for (let t = 0; t < m.samples; t++) noisy[c * m.samples + t] = clean[c * m.samples + t] + sigma * m.channelStd[c] * normal();
        const byDepth = branchByDepth(q, plan, { [m.input]: quantizeInput(q, m.input, noisy) });
        byDepth.forEach((v, d) => { if (argmax(v.get(m.head)!) === labels[r]) correct[d][si]++; });
      });
    });
    return correct.map((perSigma) => perSigma.map((c) => c / calib.rows.length));
  });
  const x = sigmas.map((s) => Math.round(s * SIGMA_ONE));
  return {
    sigmas, rows: calib.rows.length, accuracy,
    tables: {
      modalities: modalities.map((m, mi) => ({
        name: m.name,
        accuracy: accuracy[mi].map((perSigma) => ({ x, y: perSigma.map((a) => Math.round(a * Q15_ONE)) })),
        instructions: instructionsByDepth[mi].map(Math.round),
        blockBits: admn.blocksOf[m.name].map((b) => 2 ** b),
      })),
    },
  };
}
