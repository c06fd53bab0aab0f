// Turns counted instructions into estimated latency and energy with a board's power model:
//   latency = instructions x CPI / clock,  energy = active power x latency.
// Every result carries the basis of its inputs, and is labelled an estimate whenever any input is one.
import type { Board, Figure } from './boards.ts';

export interface InferenceEstimate {
  board: string;
  instructions: number;
  clockHz: number;
  cpi: number;
  latencySeconds: number;
  activePowerW: number;
  energyJoules: number;
  /** Range from the power figure's min/max, when the board gives one. */
  energyJoulesRange?: [number, number];
  energyPerCycleJoules: number;
  /** 'estimate' unless both power and CPI are published or measured figures. */
  label: 'estimate' | 'datasheet-based';
  basis: { activePowerW: Figure['basis']; cpi: Figure['basis'] };
}

export function estimateInference(board: Board, instructions: number): InferenceEstimate {
  const { activePowerW, cpi } = board.power;
  const latencySeconds = (instructions * cpi.value) / board.clockHz;
  const estimate: InferenceEstimate = {
    board: board.name,
    instructions,
    clockHz: board.clockHz,
    cpi: cpi.value,
    latencySeconds,
    activePowerW: activePowerW.value,
    energyJoules: activePowerW.value * latencySeconds,
    energyPerCycleJoules: activePowerW.value / board.clockHz,
    label: activePowerW.basis === 'estimate' || cpi.basis === 'estimate' ? 'estimate' : 'datasheet-based',
    basis: { activePowerW: activePowerW.basis, cpi: cpi.basis },
  };
  if (activePowerW.min !== undefined || activePowerW.max !== undefined) {
    estimate.energyJoulesRange = [
      (activePowerW.min ?? activePowerW.value) * latencySeconds,
      (activePowerW.max ?? activePowerW.value) * latencySeconds,
    ];
  }
  return estimate;
}

/** One line for humans, e.g. "1.23 ms, 45.6 uJ (estimate: CPI 1.3 assumed, power datasheet)". */
export function formatEstimate(e: InferenceEstimate): string {
  const ms = e.latencySeconds * 1e3;
  const uj = e.energyJoules * 1e6;
  return `${ms.toPrecision(3)} ms, ${uj.toPrecision(3)} uJ at ${(e.clockHz / 1e6).toFixed(0)} MHz ` +
    `(${e.label}: CPI ${e.cpi} ${e.basis.cpi}, power ${(e.activePowerW * 1e3).toPrecision(3)} mW ${e.basis.activePowerW})`;
}
