// Two generated models in one application: they share the runtime and link together; and when their
// names and fields run together (model 'm' with input 'x_in', model 'm_x' with input 'in': both would
// define TM2_M_X_IN_SIZE), whichever header is included second stops the build with tinym2's message
// instead of silently redefining the other model's macros (compiler/codegen/macro-guard.ts).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definedMacros } from '../compiler/codegen/macro-guard.ts';
import { haveTool } from '../compiler/codegen/hostcheck.ts';
import { writeNpz } from '../compiler/data/npz.ts';
import { values, writeModel } from './helpers/onnx-builder.ts';
import { runCli } from './helpers/run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'tm2-two-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A one-layer Dense model whose input is named `input`, compiled as C model `name` into dir/name. */
async function compileDense(name: string, input: string, seed: number): Promise<string> {
  const onnx = writeModel(join(dir, `${name}.onnx`), {
    opset: 13,
    inputs: [{ name: input, shape: [1, 8] }],
    outputs: [{ name: 'y', shape: [1, 4] }],
    initializers: [{ name: 'W', dims: [4, 8], data: values(32, seed) }, { name: 'b', dims: [4], data: values(4, seed + 1) }],
    nodes: [{ op: 'Gemm', inputs: [input, 'W', 'b'], outputs: ['y'], attrs: { transB: { i: 1 } } }],
  });
  const calib = join(dir, `${name}.npz`);
  writeNpz(calib, { [input]: { shape: [16, 8], data: Float32Array.from(values(128, seed + 2)) } });
  const out = join(dir, name);
  const r = await runCli(['compile', onnx, '--calib', calib, '--name', name, '-o', out, '--quiet']);
  expect(r.code, r.stderr).toBe(0);
  return out;
}

function build(main: string, models: string[]): { status: number | null; stderr: string } {
  const src = join(dir, `main_${models.join('_')}.c`);
  writeFileSync(src, main);
  const runtime = join(dir, models[0]!, 'runtime');
  const sources = [src, ...models.map((m) => join(dir, m, `${m}.c`)), ...models.map((m) => join(dir, m, `${m}_weights.c`)), ...readdirSync(join(runtime, 'src')).filter((f) => f.endsWith('.c')).map((f) => join(runtime, 'src', f))];
  const exe = join(dir, `app_${models.join('_')}`);
  const cc = spawnSync('gcc', ['-std=c99', '-Wall', '-Wextra', '-Werror', '-O1', ...models.map((m) => `-I${join(dir, m)}`), `-I${join(runtime, 'include')}`, `-I${join(runtime, 'src')}`, '-o', exe, ...sources, '-lm'], { encoding: 'utf8' });
  if (cc.status !== 0) return { status: cc.status, stderr: cc.stderr };
  const run = spawnSync(exe, { encoding: 'utf8' });
  return { status: run.status, stderr: run.stderr + run.stdout };
}

describe.skipIf(!haveTool('gcc'))('two models in one application', () => {
  beforeAll(async () => {
    await compileDense('m', 'x_in', 1);
    await compileDense('m_x', 'in', 10);
    await compileDense('other', 'x_in', 20);
  }, 120_000);

  it('models whose macros differ link and run side by side with one runtime', () => {
    const main = `#include "m.h"\n#include "other.h"\nint main(void) {\n  static tm2_m_inputs a; static tm2_m_outputs ao; static tm2_other_inputs b; static tm2_other_outputs bo;\n` +
      `  tm2_m_run(&a, &ao); tm2_other_run(&b, &bo);\n  return TM2_M_X_IN_SIZE == 8 && TM2_OTHER_X_IN_SIZE == 8 ? 0 : 1;\n}\n`;
    const r = build(main, ['m', 'other']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 60_000);

  it('colliding macros stop the build naming the model included second, in either order', () => {
    for (const [first, second] of [['m', 'm_x'], ['m_x', 'm']] as const) {
      const src = join(dir, `collide_${first}.c`);
      writeFileSync(src, `#include "${first}.h"\n#include "${second}.h"\nint main(void) { return 0; }\n`);
      const r = spawnSync('gcc', ['-std=c99', '-fsyntax-only', `-I${join(dir, first)}`, `-I${join(dir, second)}`, src], { encoding: 'utf8' });
      expect(r.status, r.stderr).not.toBe(0);
      expect(r.stderr).toContain(`tinym2: a macro of model ${second} is already defined`);
      expect(r.stderr).toContain('compile one of the two models with another --name');
    }
  }, 60_000);

  it('the check lists every macro the header defines, and not its include guard', () => {
    const header = '#ifndef TM2_A_H\n#define TM2_A_H\n#define TM2_A_X 1\n#define  TM2_A_Y(v) (v)\n#define TM2_A_X 1\n#endif\n';
    expect(definedMacros(header, 'TM2_A_H')).toEqual(['TM2_A_X', 'TM2_A_Y']);
  });
});
