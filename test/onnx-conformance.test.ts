// ONNX's own backend node tests through tinym2 (test/conformance/): every test whose operators tinym2
// lists runs through the float reference and, where it passes, at INT8 and INT4 on the emulator. Fails
// on any wrong result or crash (refusals are counted, not failures), and when docs/operators.md is not
// what benchmarks/operators-doc.ts writes from these results.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onnx, toNumber } from '../compiler/onnx/proto.ts';
import { KNOWN_DISAGREEMENTS, nodeTestsDir, onnxVersion, readSchemas, runNodeTest, runNodeTests, supportedOps, type NodeTestResult } from './conformance/onnx-node-tests.ts';
import { DOC_PATH, renderOperatorsDoc, WRITER } from './conformance/operators-doc.ts';
import { REPO_ROOT } from './helpers/models.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tm2-conformance-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let dir = '';
let results: NodeTestResult[] = [];

describe("ONNX's backend node tests", () => {
  beforeAll(() => {
    const { version, problem } = onnxVersion();
    if (!version) throw new Error(`cannot generate ONNX's node tests: ${problem}`);
    dir = nodeTestsDir(version);
    results = runNodeTests(dir, { quantized: true });
  }, 600_000);

  it('no supported test gives a wrong result or crashes, in float or quantized', () => {
    const run = results.filter((r) => r.run);
    const bad = run.filter((r) => r.outcome === 'wrong' || r.outcome === 'crash' || r.int8 === 'crash' || r.int4 === 'crash');
    expect(bad.map((r) => `${r.name}: ${r.outcome}: ${r.detail ?? r.quantDetail}`)).toEqual([]);
    // Each known disagreement between ONNX's reference and onnxruntime still differs (else the entry is stale).
    for (const name of Object.keys(KNOWN_DISAGREEMENTS)) expect(results.find((r) => r.name === name), name).toMatchObject({ run: true, outcome: 'differs' });
    // Not vacuous: the common layers' tests run and pass.
    expect(run.filter((r) => r.outcome === 'pass').length).toBeGreaterThan(80);
    for (const name of ['test_conv_with_strides_padding', 'test_relu', 'test_softmax_example', 'test_gemm_default_single_elem_vector_bias', 'test_maxpool_2d_pads', 'test_averagepool_2d_ceil']) {
      expect(results.find((r) => r.name === name), name).toMatchObject({ run: true, outcome: 'pass' });
    }
  });

  it('an op tinym2 lacks is not run; a test with a batch of 3 runs row by row', () => {
    expect(results.find((r) => r.name === 'test_simple_rnn_defaults')).toMatchObject({ run: false });
    const relu = onnx.ModelProto.decode(readFileSync(join(dir, 'node', 'test_relu', 'model.onnx')));
    expect(relu.graph!.input![0].type!.tensorType!.shape!.dim!.map((d) => toNumber(d.dimValue))).toEqual([3, 4, 5]);
    expect(results.find((r) => r.name === 'test_relu')).toMatchObject({ outcome: 'pass', rows: 3 });
  });

  it('the runner reports a wrong expected output as wrong', () => {
    const copy = join(tmp, 'node', 'test_relu');
    cpSync(join(dir, 'node', 'test_relu'), copy, { recursive: true });
    const file = join(copy, 'test_data_set_0', 'output_0.pb');
    const t = onnx.TensorProto.decode(readFileSync(file));
    const raw = new Float32Array(new Uint8Array(t.rawData!).slice().buffer);
    raw[7] += 0.01;
    t.rawData = new Uint8Array(raw.buffer);
    writeFileSync(file, onnx.TensorProto.encode(t).finish());
    expect(runNodeTest(tmp, 'test_relu')).toMatchObject({ outcome: 'wrong', detail: expect.stringMatching(/output 'y' element 7/) });
  });

  it(`${DOC_PATH} is current (else run ${WRITER})`, () => {
    const doc = renderOperatorsDoc(results, readSchemas(dir), supportedOps());
    expect(readFileSync(join(REPO_ROOT, DOC_PATH), 'utf8'), `${DOC_PATH} is stale: run ${WRITER}`).toBe(doc);
  });
});
