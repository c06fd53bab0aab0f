// The report of a compiled model from its output directory alone: the model is rebuilt from
// OUT_DIR/tinym2.json (as verify does), verify's measurements come from OUT_DIR/verify.json when
// they belong to the sources in OUT_DIR, and the planner's evidence from the plan compile used.
import fs from 'node:fs';
import path from 'node:path';
import { rebuildModel, sourcesDigest, type RebuiltModel } from '../commands/verify.ts';
import { EXIT_BAD_INPUT, TinyM2Error } from '../errors.ts';
import { readVerifyArtifact, VERIFY_ARTIFACT } from './artifacts.ts';
import type { PlanSection, ReportData } from './data.ts';
import { accuracySection, layerSection, memorySection, verifyCounts } from './gather.ts';

/** A plan file (plan.json) may carry the planner's evidence next to the layers: `tinym2 plan` writes it. */
export interface PlanWithEvidence {
  evidence?: PlanSection;
}

export function reportFromModel(r: RebuiltModel, provenance: string[]): ReportData {
  const notes = [...provenance];
  let verify = readVerifyArtifact(r.outDir);
  if (verify && verify.digest !== sourcesDigest(r.outDir, r.model)) {
    notes.push(`${VERIFY_ARTIFACT} in ${r.outDir} was measured on other sources (recompiled or edited since): its figures are left out; run 'tinym2 verify' again`);
    verify = undefined;
  }
  if (verify) {
    notes.push(
      `measured by tinym2 verify on ${verify.board}: ${verify.rows} rows of ${verify.data}` +
        (verify.profiledRows ? `; per-layer instructions over ${verify.profiledRows} rows` : ''),
    );
  }
  const manifest = path.join(r.outDir, 'tinym2.json');
  const precision = fs.existsSync(manifest) ? (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { precision?: string }).precision : undefined;
  const evidence = (r.plan as PlanWithEvidence).evidence;
  return {
    model: r.name,
    source: path.basename(r.recipe.model),
    precision,
    provenance: notes,
    layers: layerSection(r.model, verifyCounts(verify)),
    memory: memorySection(r.model, r.q.ops.length, verify),
    ...(evidence ? { plan: evidence } : {}),
    ...(verify ? { accuracy: accuracySection(verify) } : {}),
  };
}

export function reportFromOutDir(outDir: string, provenance: string[]): ReportData {
  // Unlike verify, report takes no --model / --calib: how OUT_DIR was made must be written in it.
  if (fs.existsSync(outDir) && fs.statSync(outDir).isDirectory() && !fs.existsSync(path.join(outDir, 'tinym2.json'))) {
    throw new TinyM2Error(`${outDir} has no tinym2.json (how 'tinym2 compile' made it): compile the model into it again, then make the report`, { exitCode: EXIT_BAD_INPUT });
  }
  return reportFromModel(rebuildModel(outDir), provenance);
}
