// qgraph.json (compiler/quant/qgraph-json.ts) holds the quantized graph exactly: read back, it equals the
// graph written (every typed array bit for bit, Maps included) and the emulator gives the same outputs.
import { expect, it } from 'vitest';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { emulate } from '../compiler/quant/emulator.ts';
import { quantizeInputs } from '../compiler/quant/io.ts';
import { calibrateGraph, loadDataSet, uniform } from '../compiler/quant/evaluate.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import { QGRAPH_JSON_VERSION, qgraphFromJson, qgraphToJson } from '../compiler/quant/qgraph-json.ts';

it('round-trips a quantized graph exactly (mixed INT4/INT8, per-channel inputs)', () => {
  const graph = loadOnnx('examples/dsa-har/model.onnx');
  const data = loadDataSet(graph, 'examples/dsa-har/calib.npz', 16);
  const plan = uniform(graph, 4);
  const q = quantizeGraph(graph, calibrateGraph(graph, data.rows), plan);
  const back = qgraphFromJson(qgraphToJson(q));
  expect(back).toEqual(q);
  expect(back.tensors).toBeInstanceOf(Map);
  const a = emulate(q, quantizeInputs(q, data.rows[0]!));
  const b = emulate(back, quantizeInputs(back, data.rows[0]!));
  expect([...b.entries()]).toEqual([...a.entries()]);
});

it('refuses a file of another version', () => {
  expect(() => qgraphFromJson(JSON.stringify({ qgraphVersion: QGRAPH_JSON_VERSION + 1, graph: {} }))).toThrow(/another tinym2 version/);
});
