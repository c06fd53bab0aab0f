// Names from model files in generated text (compiler/codegen/names.ts): C identifiers that are never
// keywords or standard macros, long names shortened with a stable hash, comments that cannot close
// or open, Markdown and JSON strings escaped; and a model full of hostile names compiles with the
// strict host check, its library.json parses and its README keeps one line per layer.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cIdentifier, commentText, jsonText, markdownText, MAX_IDENTIFIER, stableHash, uniqueIdentifiers } from '../compiler/codegen/names.ts';
import { haveTool } from '../compiler/codegen/hostcheck.ts';
import { writeNpz } from '../compiler/data/npz.ts';
import { buildModel, values } from './helpers/onnx-builder.ts';
import { REPO_ROOT } from './helpers/models.ts';

const dir = mkdtempSync(join(tmpdir(), 'tm2-names-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LONG = 'n'.repeat(10_000);
const HOSTILE = ['int', 'for', 'x/*y', 'a*/b', 'a\u202eb', 'a\u0000b', 'line\nbreak', 'quote"back\\slash', LONG];

describe('names.ts', () => {
  it('C identifiers are never keywords or standard macros, and long ones keep a stable hash', () => {
    expect(cIdentifier('int')).toBe('int_v');
    expect(cIdentifier('for')).toBe('for_v');
    expect(cIdentifier('errno')).toBe('errno_v');
    expect(cIdentifier('__Init')).toBe('init');
    expect(cIdentifier('9lives')).toBe('m_9lives');
    const long = cIdentifier(LONG);
    expect(long.length).toBeLessThanOrEqual(MAX_IDENTIFIER);
    expect(long.endsWith(stableHash(LONG))).toBe(true);
    expect(cIdentifier(`${LONG}x`)).not.toBe(long);
    for (const n of HOSTILE) expect(cIdentifier(n)).toMatch(/^[a-z][a-z0-9_]*$/);
  });

  it('names that differ only in case or punctuation, or equal a reserved one, get distinct identifiers', () => {
    const ids = uniqueIdentifiers(['Acc', 'acc', 'a-cc', 'a_cc', 'h', 'classes'], ['h', 'classes']);
    expect(new Set(ids.values()).size).toBe(6);
    expect(ids.get('h')).not.toBe('h');
    expect(ids.get('classes')).not.toBe('classes');
  });

  it('comment, Markdown and JSON text', () => {
    for (const n of HOSTILE) {
      const c = commentText(n);
      expect(c).not.toMatch(/\*\/|\/\*|[\u0000-\u001f\u202e]/);
      expect(c.length).toBeLessThanOrEqual(200);
      expect(markdownText(n)).not.toMatch(/[\n\u202e\u0000]|(^|[^\\])[|`]/);
      expect(JSON.parse(`"${jsonText(n)}"`)).not.toMatch(/[\u0000-\u001f]/);
    }
  });
});

describe('a model full of hostile names', () => {
  it.skipIf(!haveTool('gcc'))('compiles, passes the strict host check, and writes valid JSON and one-line Markdown', () => {
    const sub = join(dir, 'we"ird\\dir');
    const model = join(dir, 'we"ird name.onnx');
    const hidden = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'];
    writeFileSync(model, buildModel({
      opset: 13,
      inputs: [{ name: 'int', shape: [1, 4] }],
      outputs: [{ name: 'for', shape: [1, 4] }, { name: 'For', shape: [1, 4] }],
      initializers: [{ name: 'x/*y', dims: [4, 4], data: values(16) }],
      nodes: [
        { op: 'MatMul', name: HOSTILE[3], inputs: ['int', 'x/*y'], outputs: [hidden[0]] },
        { op: 'Relu', name: HOSTILE[4], inputs: [hidden[0]], outputs: [hidden[1]] },
        { op: 'Relu', name: HOSTILE[5], inputs: [hidden[1]], outputs: [hidden[2]] },
        { op: 'Relu', name: HOSTILE[6], inputs: [hidden[2]], outputs: ['for'] },
        { op: 'Relu', name: HOSTILE[7], inputs: [hidden[1]], outputs: [hidden[3]] },
        { op: 'Relu', name: LONG, inputs: [hidden[3]], outputs: ['For'] },
      ],
    }));
    const data = join(dir, 'rows.npz');
    writeNpz(data, { int: { shape: [4, 4], data: Float32Array.from(values(16, 5)) } });
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'tinym2.js'), 'compile', model, '--calib', data, '--test', data, '--check', '-o', sub, '--json', '--quiet'], { encoding: 'utf8', cwd: REPO_ROOT });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).check).toEqual({ rows: 4, mismatches: 0, quantizeMismatches: 0, scratchErrors: 0 });
    const name = JSON.parse(r.stdout).name as string;
    expect(JSON.parse(readFileSync(join(sub, 'library.json'), 'utf8')).description).toContain('we"ird name.onnx');
    const readme = readFileSync(join(sub, 'README.md'), 'utf8');
    expect(readme).not.toMatch(/[\u0000\u202e]/);
    const layerRows = readme.split('\n').filter((l) => /^\| \d+ \|/.test(l));
    expect(layerRows.length).toBeGreaterThanOrEqual(5);
    for (const row of layerRows) expect(row.split(/(?<!\\)\|/).length).toBe(10); // 8 cells: no cell split by a '|' in a name
    const header = readFileSync(join(sub, `${name}.h`), 'utf8');
    expect(header).toMatch(/int8_t int_v\[/);
    expect(header).toMatch(/int8_t for_v\[/);
    expect(header).toMatch(/int8_t for_v_2\[/);
  });
});
