// Writes docs/operators.md, the supported-operator table, from ONNX's own node tests run through tinym2
// (test/conformance/: generated from the installed python3-onnx into tinym2's cache, run by the float
// reference and, where that passes, quantized at INT8 and INT4 and run on the integer emulator).
//
//   npx tsx benchmarks/operators-doc.ts            print the table and the totals
//   npx tsx benchmarks/operators-doc.ts --write    write docs/operators.md
//   npx tsx benchmarks/operators-doc.ts --json F   also write every test's outcome and reason to F
//
// test/onnx-conformance.test.ts fails when docs/operators.md differs from what this writes.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { nodeTestsDir, onnxVersion, readSchemas, runNodeTests, supportedOps, writeResults } from '../test/conformance/onnx-node-tests.ts';
import { DOC_PATH, renderOperatorsDoc } from '../test/conformance/operators-doc.ts';
import { lowerPriority } from './low-priority.ts';

const ROOT = resolve(import.meta.dirname, '..');

function main(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { write: { type: 'boolean' }, json: { type: 'string' } } });
  lowerPriority();
  const { version, problem } = onnxVersion();
  if (!version) {
    console.error(`operators-doc: ${problem}`);
    return 4;
  }
  const dir = nodeTestsDir(version);
  const results = runNodeTests(dir, { quantized: true });
  const doc = renderOperatorsDoc(results, readSchemas(dir), supportedOps());
  if (values.json) writeResults(values.json, results);
  if (values.write) {
    writeFileSync(join(ROOT, DOC_PATH), doc);
    console.log(`wrote ${DOC_PATH}`);
  } else console.log(doc);
  const bad = results.filter((r) => r.outcome === 'wrong' || r.outcome === 'crash');
  for (const r of bad) console.error(`${r.outcome}: ${r.name}: ${r.detail}`);
  return bad.length > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
