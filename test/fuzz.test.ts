// The fuzzer (test/fuzz/) in the test suite: a short fixed-seed run over mutated ONNX models, .npz
// data sets and JSON configs, and a replay of every input a fuzzing campaign ever crashed on
// (test/fuzz-regressions/). A TinyM2Error is a refusal; anything else thrown is a crash; a case
// slower than the hang limit is a hang. The long campaign is benchmarks/fuzz.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { caseFromFile, makeCase, runCase, type TargetName } from './fuzz/targets.ts';

const HANG_MS = 10_000;
const REGRESSIONS = join(import.meta.dirname, 'fuzz-regressions');

function campaign(seed: number, count: number, mix: Partial<Record<TargetName, number>>) {
  const problems: string[] = [];
  const kinds = { ok: 0, refused: 0, crash: 0 };
  for (let i = 0; i < count; i++) {
    const c = makeCase(seed, i, mix);
    const o = runCase(c);
    kinds[o.kind]++;
    if (o.kind === 'crash') problems.push(`case ${i} (${c.target} from ${c.seed}): ${o.error.split('\n').slice(0, 2).join(' ')}`);
    else if (o.ms > HANG_MS) problems.push(`case ${i} (${c.target} from ${c.seed}) took ${Math.round(o.ms)} ms`);
  }
  return { problems, kinds };
}

describe('fuzzing', () => {
  it('1,500 ONNX mutants (byte and structured) crash nothing', () => {
    const r = campaign(20261202, 1500, { onnx: 1 });
    expect(r.problems).toEqual([]);
    // The mutants must reach past the decoder: some compile all the way to C, most are refused.
    expect(r.kinds.ok).toBeGreaterThan(100);
    expect(r.kinds.refused).toBeGreaterThan(750);
  }, 300_000);

  it('800 .npz, plan.json, fusion.json and board mutants crash nothing', () => {
    const r = campaign(20261202, 800, { npz: 2, plan: 1, fusion: 1, board: 1 });
    expect(r.problems).toEqual([]);
    expect(r.kinds.ok).toBeGreaterThan(20);
  }, 300_000);

  const files = readdirSync(REGRESSIONS).filter((f) => !f.endsWith('.txt')).sort();
  it.each(files)('regression input %s is refused or compiled, never a crash', (file) => {
    const o = runCase(caseFromFile(file, readFileSync(join(REGRESSIONS, file))));
    expect(o.kind === 'crash' ? o.error : 'no crash').toBe('no crash');
    expect(o.ms).toBeLessThan(HANG_MS);
  });
});
