// What the planner reads off a graph: MACs, bytes, where input bits come from, fan-in groups.
import { describe, expect, it } from 'vitest';
import { analyzeLayers, ilpLayers, peakActivationBytes, ramLiveSets } from '../compiler/ilp/from-graph.ts';
import { evaluateAssignment, uniformAssignment, type IlpProblem } from '../compiler/ilp/problem.ts';
import { solvePrecision } from '../compiler/ilp/solve.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { nodeMacs } from '../compiler/reference/layer-cost.ts';

describe('planner view of a graph', () => {
  it('dscnn2d: MACs match inspect, branches start at graph inputs, the head joins both branches', () => {
    const graph = loadOnnx('test/models/dscnn2d.onnx');
    const layers = analyzeLayers(graph);
    expect(layers.map((l) => l.name)).toEqual(graph.nodes.filter((n) => n.op === 'Conv' || n.op === 'Dense').map((n) => n.name));
    for (const l of layers) {
      expect(l.macs).toBe(nodeMacs(graph, l.node));
      expect(l.fixedBytes).toBe(12 * l.outChannels);
    }
    const firsts = layers.filter((l) => l.readsFixed8);
    expect(firsts.length).toBe(2); // one first conv per modality
    const { layers: ilp, equalActivationBits } = ilpLayers(layers, () => ({ omegaWeights: { 4: 1, 8: 0 }, omegaActivations: { 4: 0, 8: 0 } }));
    // The head after the Concat reads two branch Dense layers: they must share activation bits.
    expect(equalActivationBits.length).toBe(1);
    expect(equalActivationBits[0].length).toBe(2);
    const head = ilp.find((l) => l.inputFrom === equalActivationBits[0][0]);
    expect(head).toBeDefined();
    for (const l of ilp) if (l.inputFrom !== null) expect(ilp.findIndex((m) => m.name === l.inputFrom)).toBeLessThan(ilp.indexOf(l));
  });

  it('a Relu that is the only consumer becomes the layer output (fused clamp)', () => {
    const graph = loadOnnx('test/models/sensor1d.onnx');
    const layers = analyzeLayers(graph);
    const conv = layers[0];
    const relu = graph.nodes.find((n) => n.inputs[0] === conv.node.outputs[0]);
    expect(relu?.op).toBe('Relu');
    expect(conv.outputTensor).toBe(relu!.outputs[0]);
  });

  it('peak activation bytes count one byte per element of the tensors alive together', () => {
    const graph = loadOnnx('test/models/sensor1d.onnx');
    const peak = peakActivationBytes(graph);
    const sizes = [...graph.tensors.values()].map((t) => t.shape.reduce((a, b) => a * b, 1));
    expect(peak.bytes).toBeGreaterThanOrEqual(Math.max(...sizes));
    expect(peak.bytes).toBeLessThanOrEqual(sizes.reduce((a, b) => a + b, 0));
  });

  it('RAM: packed INT4 activations count half a byte per element; a budget only packing meets is feasible', () => {
    const graph = loadOnnx('examples/kws-fsdd/model.onnx');
    const info = analyzeLayers(graph);
    // INT4 costs Omega 1 per layer: the cheapest plan keeps every layer at 8 bits unless RAM forces 4.
    const { layers, equalActivationBits } = ilpLayers(info, () => ({ omegaWeights: { 4: 0, 8: 0 }, omegaActivations: { 4: 1, 8: 0 } }));
    const liveSets = ramLiveSets(graph, info);
    const problem = (budget: number, bpe4: number): IlpProblem => ({
      layers, inputBits: 8, tied: false, equalActivationBits, ram: { budget, liveSets, bytesPerElement: { 4: bpe4, 8: 1 } },
    });
    const int8 = evaluateAssignment(problem(0, 0.5), uniformAssignment(problem(0, 0.5), 8)).peakRamBytes;
    const int4 = evaluateAssignment(problem(0, 0.5), uniformAssignment(problem(0, 0.5), 4)).peakRamBytes;
    expect(int8).toBe(peakActivationBytes(graph).bytes);
    // At peak two 25 x 5 x 64 maps are alive (a depthwise layer's input and output): 2 x 8000 bytes, packed 2 x 4000.
    expect([int8, int4]).toEqual([16000, 8000]);
    const budget = 12000;
    const solved = solvePrecision(problem(budget, 0.5));
    expect(solved.cost.peakRamBytes).toBeLessThanOrEqual(budget);
    expect(solved.assignment.some((c) => c.activationBits === 4)).toBe(true);
    expect(solved.assignment.some((c) => c.activationBits === 8)).toBe(true); // only as many 4-bit layers as RAM needs
    // Counted one byte per element (storage before packing), the same budget cannot be met.
    expect(() => solvePrecision(problem(budget, 1))).toThrow(/RAM budget/);
  });
});
