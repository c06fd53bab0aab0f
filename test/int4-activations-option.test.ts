// --int4-activations packed|bytes (QGraph.int4Activations, compiler/quant/act-storage.ts): byte-stored
// INT4 activations give the INT8 arena and the byte kernels, packed ones about half the arena; the
// setting survives qgraph.json (verify rebuilds the same storage), reaches the ILP's RAM rows, and the
// CLI refuses an unknown value (exit 2).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { haveTool } from '../compiler/codegen/hostcheck.ts';
import { MANIFEST_FILE, QGRAPH_FILE } from '../compiler/codegen/manifest.ts';
import { analyzeLayers } from '../compiler/ilp/from-graph.ts';
import { buildProblem, checkBudgets, type Budgets } from '../compiler/ilp/planner.ts';
import { evaluateAssignment, uniformAssignment } from '../compiler/ilp/problem.ts';
import { loadOnnx } from '../compiler/onnx/import.ts';
import { rebuildModel } from '../compiler/commands/verify.ts';
import { packedActivations, storedBytes } from '../compiler/quant/act-storage.ts';
import { calibrateGraph, loadDataSet, uniform } from '../compiler/quant/evaluate.ts';
import { quantizeGraph } from '../compiler/quant/lower.ts';
import { qgraphFromJson, qgraphToJson } from '../compiler/quant/qgraph-json.ts';
import type { Sensitivity } from '../compiler/sensitivity/criteria.ts';
import { REPO_ROOT } from './helpers/models.ts';
import { expectJsonOutput } from './helpers/json-output.ts';

const dir = mkdtempSync(join(tmpdir(), 'tm2-int4act-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tinym2(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'tinym2.js'), ...args], { encoding: 'utf8', cwd: REPO_ROOT });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const MODEL = join(REPO_ROOT, 'test/models/relu6_residual.onnx');
const NPZ = join(REPO_ROOT, 'test/models/relu6_residual.npz');

describe.skipIf(!haveTool('gcc'))('tinym2 compile --int4-activations (relu6_residual, host check)', () => {
  it('bytes: the INT8 arena, packed: about half; both bit-exact with the emulator; recorded in qgraph.json and tinym2.json', () => {
    const run = (precision: string, storage?: string) => {
      const out = join(dir, `${precision}-${storage ?? 'default'}`);
      const r = tinym2('compile', MODEL, '--calib', NPZ, '--test', NPZ, '--vectors', '4', '--check', '--precision', precision,
        ...(storage ? ['--int4-activations', storage] : []), '-o', out, '--json', '--quiet');
      expect(r.code, r.stderr).toBe(0);
      const j = expectJsonOutput('compile', r.stdout) as { arenaBytes: number; int4Activations: string; check: { rows: number; mismatches: number; quantizeMismatches: number; scratchErrors: number } };
      expect(j.check).toEqual({ rows: 4, mismatches: 0, quantizeMismatches: 0, scratchErrors: 0 });
      return { j, out };
    };
    const int8 = run('int8');
    const packed = run('int4');
    const bytes = run('int4', 'bytes');
    expect([int8.j.int4Activations, packed.j.int4Activations, bytes.j.int4Activations]).toEqual(['packed', 'packed', 'bytes']);
    expect(bytes.j.arenaBytes).toBe(int8.j.arenaBytes);
    expect(packed.j.arenaBytes).toBeLessThanOrEqual(0.7 * int8.j.arenaBytes);
    // The generated C differs: packed entry points (tm2_*_s4a) only where tensors are packed.
    const c = (o: string) => readFileSync(join(o, 'relu6_residual.c'), 'utf8');
    expect(c(packed.out)).toMatch(/tm2_conv_s4a\(/);
    expect(c(bytes.out)).not.toMatch(/_s4a\(/);
    expect(c(bytes.out)).toMatch(/tm2_conv_s4\(/);
    // What verify reads: the storage is in the stored graph and in the manifest.
    const q = qgraphFromJson(readFileSync(join(bytes.out, QGRAPH_FILE), 'utf8'));
    expect(q.int4Activations).toBe('bytes');
    expect(packedActivations(q).size).toBe(0);
    expect(JSON.parse(readFileSync(join(bytes.out, MANIFEST_FILE), 'utf8')).int4Activations).toBe('bytes');
    expect(qgraphFromJson(readFileSync(join(packed.out, QGRAPH_FILE), 'utf8')).int4Activations).toBeUndefined();
    // verify / report rebuilding from the model (tinym2.json) get the same storage and the same C.
    const rebuilt = rebuildModel(bytes.out);
    expect(rebuilt.q.int4Activations).toBe('bytes');
    expect(rebuilt.model.arenaBytes).toBe(bytes.j.arenaBytes);
    const code = (text: string) => text.slice(text.indexOf('#include')); // the header names the precision as given
    expect(code(rebuilt.model.files.get('relu6_residual.c')!)).toBe(code(c(bytes.out)));
  }, 300_000);
});

describe('QGraph.int4Activations', () => {
  it('survives the qgraph.json round trip and decides the stored bytes', () => {
    const graph = loadOnnx(MODEL);
    const cal = calibrateGraph(graph, loadDataSet(graph, NPZ, 8).rows);
    const packed = quantizeGraph(graph, cal, uniform(graph, 4));
    const bytes = quantizeGraph(graph, cal, uniform(graph, 4), { int4Activations: 'bytes' });
    expect(packedActivations(packed).size).toBeGreaterThan(0);
    for (const [q, want] of [[packed, undefined], [bytes, 'bytes']] as const) {
      const back = qgraphFromJson(qgraphToJson(q));
      expect(back.int4Activations).toBe(want);
      expect([...packedActivations(back)]).toEqual([...packedActivations(q)]);
    }
    expect(packedActivations(bytes).size).toBe(0);
    for (const name of packedActivations(packed)) {
      const n = packed.tensors.get(name)!.shape.reduce((a, b) => a * b, 1);
      expect(storedBytes(packed, name)).toBe((n + 1) >> 1);
      expect(storedBytes(bytes, name)).toBe(n);
    }
  });
});

describe('ILP RAM rows follow --int4-activations', () => {
  const graph = loadOnnx(join(REPO_ROOT, 'examples/kws-fsdd/model.onnx'));
  const layers = analyzeLayers(graph);
  const zero = { 4: 0, 8: 0 };
  const sens: Sensitivity = {
    criterion: 'trace-free', method: 'test', layers,
    omegas: layers.map(() => ({ omegaWeights: zero, omegaActivations: zero, weightErrorSq: zero })),
    estimates: layers.map(() => ({ value: 0, stdErr: 0, negative: false })),
    rows: 0, converged: true, seconds: 0,
  };
  const peak = (budgets: Budgets, bits: 4 | 8) => {
    const p = buildProblem(graph, sens, budgets, true);
    return evaluateAssignment(p, uniformAssignment(p, bits)).peakRamBytes;
  };

  it('all-INT4 peak: half the INT8 one packed, equal to it as bytes', () => {
    expect(peak({ ramBytes: 1 << 20 }, 8)).toBe(16000);
    expect(peak({ ramBytes: 1 << 20 }, 4)).toBe(8000);
    expect(peak({ ramBytes: 1 << 20, int4Activations: 'packed' }, 4)).toBe(8000);
    expect(peak({ ramBytes: 1 << 20, int4Activations: 'bytes' }, 4)).toBe(16000);
    const p = buildProblem(graph, sens, { ramBytes: 1 << 20, int4Activations: 'bytes' }, true);
    expect(p.ram?.bytesPerElement).toEqual({ 4: 1, 8: 1 });
  });

  it('a RAM budget only packing meets is feasible packed and refused (exit 3) as bytes', () => {
    expect(() => checkBudgets(graph, { ramBytes: 12000 }, true, 'kws')).not.toThrow();
    expect(() => checkBudgets(graph, { ramBytes: 12000, int4Activations: 'bytes' }, true, 'kws')).toThrow(expect.objectContaining({ exitCode: 3 }));
  });
});

describe('compile --board: the RAM check follows the storage', () => {
  it('kws-fsdd all-INT4 on a 7000-byte RAM: bytes is refused from the shapes (an 8000-byte map), packed only after lowering (its 9280-byte arena)', () => {
    const board = JSON.parse(readFileSync(join(REPO_ROOT, 'boards/mps2-an386.json'), 'utf8'));
    board.name = 'ram7000';
    board.memory.ram.bytes = 7000 + 1024;
    board.memory.stackBytes = 1024;
    board.memory.heapBytes = 0;
    delete board.$schema;
    const file = join(dir, 'ram7000.json');
    writeFileSync(file, JSON.stringify(board));
    const kws = join(REPO_ROOT, 'examples/kws-fsdd');
    const run = (storage: string) => tinym2('compile', join(kws, 'model.onnx'), '--calib', join(kws, 'calib.npz'), '--precision', 'int4', '--int4-activations', storage, '--board', file, '-o', join(dir, `kws-${storage}`), '--quiet');
    const bytes = run('bytes');
    expect(bytes.code).toBe(3);
    expect(bytes.stderr).toMatch(/needs at least a 8000-byte arena .* counted from the shapes/);
    const packed = run('packed');
    expect(packed.code).toBe(3);
    expect(packed.stderr).toMatch(/needs a 9280-byte arena, but board ram7000 has 7000 bytes/);
  }, 120_000);
});

describe('plan.json records the storage; compile --plan and verify follow it', () => {
  it('tinym2 plan writes int4Activations; compile --plan takes it unless given --int4-activations; verify without tinym2.json too', () => {
    const file = join(dir, 'plan-bytes.json');
    const r = tinym2('plan', MODEL, '--calib', NPZ, '--flash', '1MB', '--iterations', '2', '--batch', '4', '--int4-activations', 'bytes', '--out', file, '--json', '--quiet');
    expect(r.code, r.stderr).toBe(0);
    const j = expectJsonOutput('plan', r.stdout) as { plan: { int4Activations?: string }; int4Activations: string };
    expect([j.int4Activations, j.plan.int4Activations]).toEqual(['bytes', 'bytes']);
    expect(JSON.parse(readFileSync(file, 'utf8')).int4Activations).toBe('bytes');
    // An all-INT4 plan recording each storage (hand-written: the planner's choice of bits does not matter here).
    const graph = loadOnnx(MODEL);
    const planFor = (storage: string) => {
      const f = join(dir, `int4-${storage}.json`);
      writeFileSync(f, JSON.stringify({ ...uniform(graph, 4), int4Activations: storage }));
      return f;
    };
    const compile = (plan: string, out: string, ...extra: string[]) => {
      const c = tinym2('compile', MODEL, '--calib', NPZ, '--plan', plan, ...extra, '-o', join(dir, out), '--json', '--quiet');
      expect(c.code, c.stderr).toBe(0);
      return expectJsonOutput('compile', c.stdout) as { arenaBytes: number; int4Activations: string; notes: string[] };
    };
    const bytes = compile(planFor('bytes'), 'plan-bytes'), packed = compile(planFor('packed'), 'plan-packed');
    expect([bytes.int4Activations, packed.int4Activations]).toEqual(['bytes', 'packed']);
    expect(packed.arenaBytes).toBeLessThan(bytes.arenaBytes);
    const overridden = compile(planFor('bytes'), 'plan-override', '--int4-activations', 'packed');
    expect(overridden.int4Activations).toBe('packed');
    expect(overridden.arenaBytes).toBe(packed.arenaBytes);
    expect(overridden.notes.join('\n')).toMatch(/--int4-activations packed, but int4-bytes.json was planned for bytes/);
    // verify / report rebuilding a directory without tinym2.json from --plan get the plan's storage.
    unlinkSync(join(dir, 'plan-bytes', MANIFEST_FILE));
    const rebuilt = rebuildModel(join(dir, 'plan-bytes'), { model: MODEL, calib: NPZ, plan: planFor('bytes') });
    expect(rebuilt.q.int4Activations).toBe('bytes');
    expect(rebuilt.model.arenaBytes).toBe(bytes.arenaBytes);
  }, 300_000);
});

describe('the CLI', () => {
  it('refuses an unknown --int4-activations value with exit 2 and names the choices', () => {
    for (const cmd of [['compile', MODEL, '--calib', NPZ], ['plan', MODEL, '--calib', NPZ], ['verify', dir, '--data', NPZ]]) {
      const r = tinym2(...cmd, '--int4-activations', 'nibbles');
      expect(r.code, cmd[0]).toBe(2);
      expect(r.stderr).toMatch(/--int4-activations 'nibbles' is not one of packed, bytes/);
    }
  });
});
