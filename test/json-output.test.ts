// The JSON schemas of every command's --json output (compiler/cli/json-output.ts): `tinym2 schema`
// prints them, they are valid draft-07 schemas with camelCase keys, failures print the error schema,
// and the validator really rejects output that drifts. Each command's real output is checked against its
// schema in that command's own test (expectJsonOutput in cli-inspect-run, compile-cli, plan, dynafuse-cli,
// target-verify, toolchain); `report` is checked here.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JSON_OUTPUT } from '../compiler/cli/json-output.ts';
import { JSON_OUTPUT_NAMES } from '../compiler/cli/json-output-names.ts';
import { COMMAND_NAMES } from '../compiler/cli/options.ts';
import { expectJsonOutput, jsonOutputErrors } from './helpers/json-output.ts';
import { runCli } from './helpers/run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'tm2-json-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every property name a schema declares, at any depth (record keys are data, not declared names). */
function declaredKeys(schema: unknown, path = ''): string[] {
  if (!schema || typeof schema !== 'object') return [];
  const s = schema as Record<string, unknown>;
  const own = s.properties ? Object.keys(s.properties as object).map((k) => `${path}/${k}`) : [];
  const nested = Object.entries(s).flatMap(([k, v]) =>
    k === 'properties' ? Object.entries(v as object).flatMap(([p, sub]) => declaredKeys(sub, `${path}/${p}`)) : Array.isArray(v) ? v.flatMap((x) => declaredKeys(x, path)) : typeof v === 'object' ? declaredKeys(v, path) : [],
  );
  return [...own, ...nested];
}

describe('JSON output schemas', () => {
  it('exist for every command that prints JSON, plus the error object', () => {
    expect(Object.keys(JSON_OUTPUT).sort()).toEqual([...COMMAND_NAMES.filter((c) => c !== 'schema'), 'error'].sort());
    expect([...JSON_OUTPUT_NAMES].sort()).toEqual(Object.keys(JSON_OUTPUT).sort());
  });

  it('use camelCase keys and have ok on every command output', () => {
    for (const [name, schema] of Object.entries(JSON_OUTPUT)) {
      const bad = declaredKeys(schema).filter((p) => !/^[a-z][a-zA-Z0-9]*$/.test(p.split('/').pop()!));
      expect(bad, name).toEqual([]);
      expect((schema as { required?: string[] }).required, name).toContain('ok');
    }
  });

  it('tinym2 schema prints each as a JSON Schema document; an unknown name exits 2 naming the choices', async () => {
    for (const name of JSON_OUTPUT_NAMES) {
      const r = await runCli(['schema', name]);
      expect(r.code, name).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.$schema).toBe('http://json-schema.org/draft-07/schema#');
      expect(doc.$id).toBe(`tinym2/${name}.schema.json`);
    }
    const bad = await runCli(['schema', 'compiel', '--json']);
    expect(bad.code).toBe(2);
    expect(expectJsonOutput('schema' as never, bad.stdout)).toMatchObject({ ok: false, error: expect.stringContaining('give one of inspect, run, plan, compile') });
  });

  it('rejects output that drifts from the schema (the check can fail)', () => {
    const good = { ok: true, out: 'o', report: 'o/r.html', bytes: 10, sections: ['layers'], charts: ['c'], notes: [] };
    expect(jsonOutputErrors('report', good)).toEqual([]);
    expect(jsonOutputErrors('report', { ...good, bytes: '10' }).join()).toMatch(/\/bytes must be integer/);
    expect(jsonOutputErrors('report', { ...good, report_file: 'x' }).join()).toMatch(/additional properties/);
    const { notes: _, ...missing } = good;
    expect(jsonOutputErrors('report', missing).join()).toMatch(/must have required property 'notes'/);
  });

  it('a failing command prints the error object (exit code, file) on stdout', async () => {
    const r = await runCli(['inspect', join(dir, 'missing.onnx'), '--json']);
    expect(r.code).toBe(2);
    expect(expectJsonOutput('inspect', r.stdout)).toMatchObject({ ok: false, exitCode: 2 });
  });

  it('report --json matches its schema', async () => {
    const out = join(dir, 'av');
    const c = await runCli(['compile', 'examples/av-digits/model.onnx', '--calib', 'examples/av-digits/calib.npz', '-o', out, '--quiet', '--json']);
    expect(c.code, c.stdout).toBe(0);
    expectJsonOutput('compile', c.stdout);
    const r = await runCli(['report', out, '-o', join(dir, 'report.html'), '--json']);
    expect(r.code, r.stdout).toBe(0);
    expect(expectJsonOutput('report', r.stdout)).toMatchObject({ ok: true, report: join(dir, 'report.html') });
  });
});
