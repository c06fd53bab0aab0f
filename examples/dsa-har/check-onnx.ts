// Independent check of the exported dsa-har model: runs model.onnx in ONNX Runtime (not PyTorch)
// on test.npz (raw sensor readings, as firmware would feed them) and prints every head's accuracy.
// If the standardisation folded into the first convolutions were wrong, this is where it shows.
//
//   npx tsx examples/dsa-har/check-onnx.ts [model.onnx] [test.npz]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { readNpz } from '../../compiler/data/npz.ts';

const MODALITIES = ['torso', 'right_arm', 'left_arm', 'right_leg', 'left_leg'];
const HEADS = [...MODALITIES.map((m) => `${m}_logits`), 'fused_logits'];

function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

async function main(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const modelPath = process.argv[2] ?? join(here, 'model.onnx');
  const dataPath = process.argv[3] ?? join(here, 'test.npz');
  const data = readNpz(dataPath);
  const labels = data.get('labels');
  if (!labels || !(labels.data instanceof BigInt64Array)) throw new Error(`${dataPath}: no int64 'labels'`);
  const rows = labels.shape[0];
  const session = await ort.InferenceSession.create(modelPath);

  const correct = new Map<string, number>(HEADS.map((h) => [h, 0]));
  for (let r = 0; r < rows; r++) {
    const feeds: Record<string, ort.Tensor> = {};
    for (const m of MODALITIES) {
      const arr = data.get(m);
      if (!arr || !(arr.data instanceof Float32Array)) throw new Error(`${dataPath}: no float32 '${m}'`);
      const per = arr.shape[1] * arr.shape[2];
      feeds[m] = new ort.Tensor('float32', arr.data.slice(r * per, (r + 1) * per), [1, arr.shape[1], arr.shape[2]]);
    }
    const out = await session.run(feeds);
    const label = Number(labels.data[r]);
    for (const h of HEADS) {
      if (argmax(out[h].data as Float32Array) === label) correct.set(h, correct.get(h)! + 1);
    }
  }
  console.log(`${modelPath} on ${dataPath} (${rows} rows, ONNX Runtime, raw inputs):`);
  for (const h of HEADS) console.log(`  ${h.padEnd(16)} ${((100 * correct.get(h)!) / rows).toFixed(2)} %`);
}

await main();
