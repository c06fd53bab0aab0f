// The models of examples/: each example's model.onnx with its calib.npz / test.npz, and its variants
// (every other <variant>.onnx in the folder) with <variant>.calib.npz / <variant>.test.npz, or the
// folder's own sets when the variant has none (a variant without sets reads the same inputs).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface ExampleModel {
  /** 'av-digits' for a main model, 'av-digits/late_fusion' for a variant. */
  label: string;
  example: string;
  variant: string | null;
  onnx: string;
  calib: string;
  test: string;
}

/** Every example model under `root` that has an ONNX file and calibration and test sets. */
export function exampleModels(root: string, withVariants: boolean): ExampleModel[] {
  const models: ExampleModel[] = [];
  for (const example of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    const dir = join(root, example);
    const sets = (prefix: string) => ({ calib: join(dir, `${prefix}calib.npz`), test: join(dir, `${prefix}test.npz`) });
    const folderSets = sets('');
    const complete = (s: { calib: string; test: string }) => existsSync(s.calib) && existsSync(s.test);
    if (existsSync(join(dir, 'model.onnx')) && complete(folderSets)) {
      models.push({ label: example, example, variant: null, onnx: join(dir, 'model.onnx'), ...folderSets });
    }
    if (!withVariants) continue;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.onnx') && f !== 'model.onnx').sort()) {
      const variant = file.slice(0, -'.onnx'.length);
      const own = sets(`${variant}.`);
      const chosen = complete(own) ? own : complete(folderSets) ? folderSets : null;
      if (chosen) models.push({ label: `${example}/${variant}`, example, variant, onnx: join(dir, file), ...chosen });
    }
  }
  return models;
}
