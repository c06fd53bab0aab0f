// `tinym2 inspect model.onnx [--json]`: the imported layers with shapes, parameters and MACs.
import { parseArgs } from 'node:util';
import { TinyM2Error } from '../errors.ts';
import { loadOnnx } from '../onnx/import.ts';
import { layerCosts } from '../reference/layer-cost.ts';

export const summary = 'show the layers of an ONNX model: shapes, parameters, MACs';

const HELP = `usage: tinym2 inspect model.onnx [--json]

Imports the model as tinym2 compiles it (BatchNorm folded, Dropout removed, Gemm/MatMul as Dense)
and prints one line per layer: op, input and output shapes, parameters and multiply-accumulates.

  --json   print {"inputs", "outputs", "layers", "totals": {"params", "macs"}} as JSON`;

const shape = (s: number[]): string => `[${s.join(',')}]`;

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const right = new Set([rows[0].length - 2, rows[0].length - 1]); // numbers
  return rows.map((r) => r.map((cell, c) => (right.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n');
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    throw new TinyM2Error(`${(e as Error).message}\n\n${HELP}`);
  }
  if (parsed.values.help) {
    console.log(HELP);
    return 0;
  }
  if (parsed.positionals.length !== 1) throw new TinyM2Error(`expected exactly one model file\n\n${HELP}`);
  const graph = loadOnnx(parsed.positionals[0]);
  const layers = layerCosts(graph);
  const totals = { params: layers.reduce((s, l) => s + l.params, 0), macs: layers.reduce((s, l) => s + l.macs, 0) };
  if (parsed.values.json) {
    console.log(JSON.stringify({
      model: graph.file,
      opset: graph.opset,
      inputs: graph.inputs,
      outputs: graph.outputs,
      layers,
      totals,
    }, null, 2));
    return 0;
  }
  const rows = [['layer', 'op', 'from', 'input', 'output', 'params', 'MACs']];
  for (const l of layers) {
    rows.push([l.name, l.op, l.source, l.inputs.map(shape).join(' '), l.outputs.map(shape).join(' '), String(l.params), String(l.macs)]);
  }
  rows.push(['total', '', '', '', '', String(totals.params), String(totals.macs)]);
  const io = (ts: typeof graph.inputs): string => ts.map((t) => `${t.name} ${shape(t.shape)}`).join(', ');
  console.log(`${graph.file} (opset ${graph.opset})\ninputs:  ${io(graph.inputs)}\noutputs: ${io(graph.outputs)}\n\n${table(rows)}`);
  return 0;
}
