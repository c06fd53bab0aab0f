// Turns counted instructions into estimated latency and energy with a board's power model:
//   latency = instructions x CPI / clock,  energy = active power x latency.
// Every result carries the basis of its inputs, and is labelled an estimate whenever any input is one.
import type { Board, Figure } from './boards.ts';
import { MIX_CLASSES, mixInstructions, type InstructionMix } from './mix.ts';

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
  /** Energy per executed instruction: power x CPI / clock. */
  energyPerInstructionJoules: number;
  /** Where the CPI came from: the board's flat assumption, or its per-class cycle model applied to the measured mix. */
  cpiModel: 'flat' | 'instruction-mix';
  /** 'estimate' unless both power and CPI are published or measured figures. */
  label: 'estimate' | 'datasheet-based';
  basis: { activePowerW: Figure['basis']; cpi: Figure['basis'] };
}

/** Instructions that fit in `seconds` at the board's clock and flat CPI: the inverse of estimateInference without a mix. */
export function instructionsWithin(board: Board, seconds: number): number {
  return Math.floor((seconds * board.clockHz) / board.power.cpi.value);
}

/** Cycles the board's cycle model gives a mix, or null when the board has no model. */
export function mixCycles(board: Board, mix: InstructionMix): number | null {
  const model = board.power.cycles;
  if (!model) return null;
  return MIX_CLASSES.reduce((sum, c) => sum + model.perClass[c] * mix[c], 0);
}

/**
 * Latency and energy of one inference of `instructions` instructions. With the inference's instruction
 * `mix` and a board that has a per-class cycle model, the CPI comes from the mix; otherwise it is the
 * board's flat assumption.
 */
export function estimateInference(board: Board, instructions: number, mix?: InstructionMix): InferenceEstimate {
  const { activePowerW } = board.power;
  const cycles = mix ? mixCycles(board, mix) : null;
  const mixed = mix ? mixInstructions(mix) : 0;
  const fromMix = cycles !== null && mixed > 0;
  const cpi = fromMix ? { value: cycles / mixed, basis: board.power.cycles!.basis } : board.power.cpi;
  const latencySeconds = (instructions * cpi.value) / board.clockHz;
  const estimate: InferenceEstimate = {
    board: board.name,
    instructions,
    clockHz: board.clockHz,
    cpi: cpi.value,
    cpiModel: fromMix ? 'instruction-mix' : 'flat',
    latencySeconds,
    activePowerW: activePowerW.value,
    energyJoules: activePowerW.value * latencySeconds,
    energyPerCycleJoules: activePowerW.value / board.clockHz,
    energyPerInstructionJoules: (activePowerW.value * cpi.value) / board.clockHz,
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

/** A value with an SI prefix and three significant digits: 0.0123 s -> "12.3 ms". */
export function withUnit(value: number, unit: string): string {
  const prefixes: Array<[number, string]> = [[1, ''], [1e-3, 'm'], [1e-6, 'u'], [1e-9, 'n'], [1e-12, 'p']];
  for (const [scale, prefix] of prefixes) {
    if (Math.abs(value) >= scale || scale === 1e-12) {
      const v = value / scale;
      return `${Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(3)} ${prefix}${unit}`;
    }
  }
  return `${value} ${unit}`;
}

/** One line for humans, e.g. "55.8 ms, 553 uJ at 64 MHz (estimate: CPI 1.3 estimate, power 9.90 mW datasheet)". */
export function formatEstimate(e: InferenceEstimate): string {
  const range = e.energyJoulesRange ? ` (${withUnit(e.energyJoulesRange[0], 'J')} to ${withUnit(e.energyJoulesRange[1], 'J')})` : '';
  const cpi = e.cpiModel === 'instruction-mix' ? `CPI ${e.cpi.toFixed(2)} from the instruction mix` : `CPI ${e.cpi}`;
  return `${withUnit(e.latencySeconds, 's')}, ${withUnit(e.energyJoules, 'J')}${range} at ${(e.clockHz / 1e6).toFixed(0)} MHz ` +
    `(${e.label}: ${cpi} ${e.basis.cpi}, power ${withUnit(e.activePowerW, 'W')} ${e.basis.activePowerW})`;
}
