// `tinym2 run model.onnx --data inputs.npz [-o outputs.npz] [--json]`: the float reference
// over every row of a dataset, with argmax accuracy when the data has labels.
import type { RunJson } from '../cli/json-output.ts';
import type { Args } from '../cli/options.ts';
import { loadOnnx } from '../onnx/import.ts';
import { loadDataset } from '../data/dataset.ts';
import { writeNpz } from '../data/npz.ts';
import { runFloat } from '../reference/interpreter.ts';
import { tensorSize } from '../ir.ts';

function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

export async function execute(opts: Args<'run'>): Promise<number> {
  const graph = loadOnnx(opts.positional, opts);
  const data = loadDataset(opts.data, graph, opts);
  const started = performance.now();
  const results = graph.outputs.map((o) => ({ info: o, size: tensorSize(o.shape), data: new Float32Array(data.rows * tensorSize(o.shape)), correct: 0 }));
  for (let r = 0; r < data.rows; r++) {
    const row: Record<string, Float32Array> = {};
    for (const inp of graph.inputs) row[inp.name] = data.inputs[inp.name][r];
    const outs = runFloat(graph, row);
    for (const res of results) {
      const y = outs.get(res.info.name)!;
      res.data.set(y, r * res.size);
      if (data.labels && argmax(y) === data.labels[r]) res.correct++;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  if (opts.out) {
    writeNpz(opts.out, Object.fromEntries(results.map((res) => [res.info.name, { shape: [data.rows, ...res.info.shape.slice(1)], data: res.data }])));
  }

  const outputs: RunJson['outputs'] = results.map((res) => ({
    name: res.info.name,
    shape: [data.rows, ...res.info.shape.slice(1)],
    // Accuracy only means something for an output with one score per class.
    ...(data.labels && res.size > 1 && data.rows > 0 ? { accuracy: res.correct / data.rows, correct: res.correct } : {}),
  }));
  if (opts.json) {
    console.log(JSON.stringify({ ok: true, model: graph.file, data: opts.data, rows: data.rows, labels: data.labels !== undefined, seconds, outputs, out: opts.out ?? null } satisfies RunJson, null, 2));
    return 0;
  }
  const lines = [`${graph.file}: ${data.rows} rows from ${opts.data} in ${seconds.toFixed(2)} s`];
  for (const o of outputs) {
    const acc = o.accuracy !== undefined ? `  accuracy ${(o.accuracy * 100).toFixed(2)}% (${o.correct}/${data.rows}) vs labels` : '';
    lines.push(`  ${o.name} [${o.shape.join(', ')}]${acc}`);
  }
  if (opts.out) lines.push(`outputs written to ${opts.out}`);
  console.log(lines.join('\n'));
  return 0;
}
