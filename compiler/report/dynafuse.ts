// The DynaFuse section of a report from a DynaFuse profile (tinym2 dynafuse): resilience curves,
// the noise estimator against the injected sigma, which branches each mode runs (the run-time
// decide() on the generated tables, so the picture is what the device does), energy per branch.
import type { DynaFuseProfile } from '../dynafuse/profile.ts';
import { decide, MODES, SIGMA_ONE } from '../dynafuse/runtime.ts';
import type { DynaFuseSection } from './data.ts';

export function dynafuseSection(p: DynaFuseProfile): DynaFuseSection {
  const resilience = p.modalities.flatMap((m) => p.sigmas.map((sigma, k) => ({ branch: m.name, sigma, accuracy: m.accuracy[k]! })));
  const calibration = p.modalities.flatMap((m) => p.sigmas.map((sigma, k) => ({ modality: m.name, injected: sigma, estimated: m.estimateQ12[k]! / SIGMA_ONE })));
  // Conditions: clean inputs, then each modality alone at the largest sigma of the grid.
  const top = Math.max(...p.sigmas);
  const conditions = [
    { label: 'clean', sigma: p.modalities.map(() => 0) },
    ...p.modalities.map((m, i) => ({ label: `${m.name} at sigma ${top}`, sigma: p.modalities.map((_, j) => (j === i ? top : 0)) })),
  ];
  const modes = MODES.flatMap((mode, k) =>
    conditions.map((c) => {
      const d = decide(p.tables, { sigmaQ12: c.sigma.map((s) => Math.round(s * SIGMA_ONE)), batteryPct: -1, forcedMode: k });
      const branches = p.modalities.filter((_, i) => (d.mask >>> i) & 1).map((m) => m.name);
      return { mode: `${mode}, ${c.label}`, branches: d.useFused && p.fused ? [...branches, 'fused head'] : branches };
    }),
  );
  const uj = (j: number) => j * 1e6;
  const energy = [
    ...p.modalities.map((m) => ({ branch: m.name, instructions: m.instructions, computeUj: uj(m.computeEnergyJ), sensingUj: uj(m.sensingEnergyJ) })),
    ...(p.fused ? [{ branch: 'fused head (extra)', instructions: p.fused.extraInstructions, computeUj: uj(p.fused.extraEnergyJ), sensingUj: 0 }] : []),
  ];
  return { resilience, calibration, modes, energy };
}
