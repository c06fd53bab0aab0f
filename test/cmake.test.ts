// cmake/Tinym2.cmake with real CMake: a host project that generates a model at build time and runs an
// inference, the same project cross-built for a Cortex-M4 with cmake/arm-none-eabi-gcc.cmake, and the
// incremental contract: touching the model regenerates but recompiles nothing (the bytes are the same);
// changing the model recompiles its files and not the kernels.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeFiles } from '../compiler/codegen/generate.ts';
import { writeNpz } from '../compiler/data/npz.ts';
import { REPO_ROOT } from './helpers/models.ts';
import { readmeSnippet } from './helpers/readme.ts';
import { values, writeModel } from './helpers/onnx-builder.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tm2-cmake-'));
const project = path.join(tmp, 'app');
const env = { ...process.env, TINYM2_CACHE_DIR: path.join(tmp, 'cache') };
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A small Conv + Gemm model; `seed` changes the weights only (same inputs, same generated file names). */
function model(file: string, seed: number): void {
  writeModel(file, {
    opset: 13,
    inputs: [{ name: 'x', shape: ['N', 3, 8, 8] }],
    outputs: [{ name: 'logits' }],
    initializers: [
      { name: 'w', dims: [4, 3, 3, 3], data: values(108, seed) }, { name: 'b', dims: [4], data: values(4, seed + 1) },
      { name: 'fw', dims: [10, 256], data: values(2560, seed + 2) }, { name: 'fb', dims: [10], data: values(10, seed + 3) },
    ],
    nodes: [
      { op: 'Conv', name: 'conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { pads: { ints: [1, 1, 1, 1] } } },
      { op: 'Relu', inputs: ['c'], outputs: ['r'] },
      { op: 'Flatten', inputs: ['r'], outputs: ['f'] },
      { op: 'Gemm', name: 'fc', inputs: ['f', 'fw', 'fb'], outputs: ['logits'], attrs: { transB: { i: 1 } } },
    ],
  });
}

function run(cmd: string, args: string[], cwd = project): { code: number; out: string } {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 600_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

beforeAll(() => {
  fs.mkdirSync(project);
  model(path.join(project, 'model.onnx'), 1);
  const calib = new Float32Array(16 * 3 * 8 * 8).map((_, i) => Math.sin(i * 0.37));
  writeNpz(path.join(project, 'calib.npz'), { x: { shape: [16, 3, 8, 8], data: calib } });
  // The project as the README's "Use in a CMake project" shows it, with tinym2 "installed" in node_modules.
  fs.mkdirSync(path.join(project, 'node_modules'));
  fs.symlinkSync(REPO_ROOT, path.join(project, 'node_modules', 'tinym2'));
  fs.writeFileSync(path.join(project, 'CMakeLists.txt'), readmeSnippet('Use in a CMake project', 'cmake'));
  fs.writeFileSync(
    path.join(project, 'main.c'),
    `#include <stdio.h>
#include <string.h>
#include "net.h"
int main(void) {
  static tm2_net_inputs in;
  static tm2_net_outputs out;
  memset(&in, 3, sizeof in);
  tm2_net_run(&in, &out);
  for (size_t i = 0; i < sizeof out; i++) printf("%d ", ((const signed char *)&out)[i]);
  printf("\\ntop1 %d\\n", (int)tm2_net_top1_logits(&out));
  return 0;
}
`,
  );
}, 120_000);

describe('cmake/Tinym2.cmake', () => {
  it('host build: generates at build time, builds the library with the runtime, runs an inference', () => {
    expect(run('cmake', ['-S', '.', '-B', 'build']).code).toBe(0);
    const b = run('cmake', ['--build', 'build']);
    expect(b.code, b.out).toBe(0);
    expect(b.out).toContain('tinym2: generating net from model.onnx');
    const app = run(path.join(project, 'build', 'app'), []);
    expect(app.code, app.out).toBe(0);
    expect(app.out).toMatch(/^(-?\d+ ){10}\ntop1 \d\n$/);
    // The kernels built are those compile copies (one rule: runtimeFiles()).
    const objects = (fs.readdirSync(path.join(project, 'build', 'CMakeFiles', 'net.dir'), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.c.o') && f.includes('runtime-c'))
      .map((f) => `src/${path.basename(f, '.o')}`);
    expect(objects.sort()).toEqual(runtimeFiles().filter((f) => f.endsWith('.c')).sort());
  }, 600_000);

  it('touching the model regenerates but recompiles nothing; changing it recompiles its files only', () => {
    const modelFile = path.join(project, 'model.onnx');
    const later = new Date(Date.now() + 2000);
    fs.utimesSync(modelFile, later, later);
    const touched = run('cmake', ['--build', 'build']);
    expect(touched.code, touched.out).toBe(0);
    expect(touched.out).toContain('tinym2: generating net');
    expect(touched.out).not.toMatch(/Building C object/);

    model(modelFile, 7);
    const changed = run('cmake', ['--build', 'build']);
    expect(changed.code, changed.out).toBe(0);
    // The model's two files, and main.c only because net.h (output scales) changed with the weights: no kernel.
    const built = [...changed.out.matchAll(/Building C object \S+?([\w]+\.c)\.o/g)].map((m) => m[1]).sort();
    expect(built).toEqual(expect.arrayContaining(['net.c', 'net_weights.c']));
    expect(built.filter((f) => !['main.c', 'net.c', 'net_weights.c'].includes(f))).toEqual([]);
  }, 600_000);

  it('cross build for a Cortex-M4 with the ARM GCC toolchain file', () => {
    const cfg = run('cmake', ['-S', '.', '-B', 'build-m4', `-DCMAKE_TOOLCHAIN_FILE=${REPO_ROOT}/cmake/arm-none-eabi-gcc.cmake`, '-DTINYM2_CPU=cortex-m4']);
    expect(cfg.code, cfg.out).toBe(0);
    const b = run('cmake', ['--build', 'build-m4', '--target', 'net']);
    expect(b.code, b.out).toBe(0);
    const attrs = run('arm-none-eabi-readelf', ['-A', path.join(project, 'build-m4', 'libnet.a')]);
    expect(attrs.out).toMatch(/Tag_CPU_arch: v7E-M/);
    expect(attrs.out).toMatch(/Tag_FP_arch: VFPv4-D16/);
    expect(attrs.out).toMatch(/Tag_ABI_VFP_args: VFP registers/);
  }, 600_000);
});
