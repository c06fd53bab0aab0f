// JSON configuration files (plan.json, fusion.json, boards/*.json) are checked against a JSON schema
// with ajv before any field is used. This module is the one place that compiles a schema and turns
// ajv's errors into one message naming the file and each offending field.
import fs from 'node:fs';
import AjvModule from 'ajv';
import type { Ajv as AjvClass, ErrorObject, Options as AjvOptions, ValidateFunction } from 'ajv';
import { EXIT_BAD_INPUT, TinyM2Error } from './errors.ts';

// ajv is CommonJS; under NodeNext its default export arrives as the module object.
type AjvConstructor = new (options?: AjvOptions) => AjvClass;
const Ajv: AjvConstructor =
  (AjvModule as unknown as { default?: AjvConstructor }).default ?? (AjvModule as unknown as AjvConstructor);

const compiled = new Map<string, ValidateFunction>();

function describe(e: ErrorObject): string {
  const where = e.instancePath || '/';
  if (e.keyword === 'additionalProperties') return `${where} has unknown field '${(e.params as { additionalProperty: string }).additionalProperty}'`;
  if (e.keyword === 'required') return `${where} is missing field '${(e.params as { missingProperty: string }).missingProperty}'`;
  if (e.keyword === 'enum') return `${where} must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).join(', ')}`;
  return `${where} ${e.message}`;
}

/**
 * Checks parsed JSON against the schema in `schemaFile`; throws one TinyM2Error (exit 2) starting with
 * `what` (e.g. "board file boards/x.json") and listing every problem.
 */
export function checkAgainstSchema(data: unknown, schemaFile: string, what: string, file: string): void {
  let validate = compiled.get(schemaFile);
  if (!validate) {
    validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(fs.readFileSync(schemaFile, 'utf8')));
    compiled.set(schemaFile, validate);
  }
  if (!validate(data)) {
    const problems = [...new Set((validate.errors ?? []).map(describe))];
    throw new TinyM2Error(`${what} is invalid: ${problems.join('; ')}`, { exitCode: EXIT_BAD_INPUT, details: { file, problems } });
  }
}

/** Reads a JSON file: a missing or unparsable file is one TinyM2Error naming it. */
export function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TinyM2Error(`${what} cannot be read (${code === 'ENOENT' ? 'no such file' : code ?? String(e)})`, { exitCode: EXIT_BAD_INPUT, details: { file } });
  }
  return parseJsonText(text, what, file);
}

/** Parses JSON text read from `file`; a syntax error is one TinyM2Error naming it. */
export function parseJsonText(text: string, what: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TinyM2Error(`${what} is not valid JSON: ${(e as Error).message}`, { exitCode: EXIT_BAD_INPUT, details: { file } });
  }
}
