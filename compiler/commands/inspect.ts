// `tinym2 inspect model.onnx [--json]`: the imported layers with shapes, parameters and MACs.
import type { InspectJson } from '../cli/json-output.ts';
import type { Args } from '../cli/options.ts';
import { loadOnnx } from '../onnx/import.ts';
import { layerCosts } from '../reference/layer-cost.ts';

const shape = (s: number[]): string => `[${s.join(',')}]`;

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const right = new Set([rows[0].length - 2, rows[0].length - 1]); // numbers
  return rows.map((r) => r.map((cell, c) => (right.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n');
}

export async function execute(args: Args<'inspect'>): Promise<number> {
  const graph = loadOnnx(args.positional, args);
  const layers = layerCosts(graph);
  const totals = { params: layers.reduce((s, l) => s + l.params, 0), macs: layers.reduce((s, l) => s + l.macs, 0) };
  if (args.json) {
    console.log(JSON.stringify({
      ok: true,
      model: graph.file,
      opset: graph.opset,
      inputs: graph.inputs,
      outputs: graph.outputs,
      layers,
      totals,
      notes: graph.notes ?? [],
    } satisfies InspectJson, null, 2));
    return 0;
  }
  const rows = [['layer', 'op', 'from', 'input', 'output', 'params', 'MACs']];
  for (const l of layers) {
    rows.push([l.name, l.op, l.source, l.inputs.map(shape).join(' '), l.outputs.map(shape).join(' '), String(l.params), String(l.macs)]);
  }
  rows.push(['total', '', '', '', '', String(totals.params), String(totals.macs)]);
  const io = (ts: typeof graph.inputs): string => ts.map((t) => `${t.name} ${shape(t.shape)}`).join(', ');
  const notes = (graph.notes ?? []).map((n) => `\nnote: ${n}`).join('');
  console.log(`${graph.file} (opset ${graph.opset})\ninputs:  ${io(graph.inputs)}\noutputs: ${io(graph.outputs)}\n\n${table(rows)}${notes}`);
  return 0;
}
