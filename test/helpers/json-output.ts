// Checks what a command printed with --json against its schema (compiler/cli/json-output.ts): the tests
// that already run each command with --json call this on its stdout, so every schema is exercised by a
// real run of its command.
import AjvModule from 'ajv';
import type { Ajv as AjvClass, Options as AjvOptions, ValidateFunction } from 'ajv';
import { expect } from 'vitest';
import { jsonSchemaDocument } from '../../compiler/cli/json-output.ts';
import type { JsonOutputName } from '../../compiler/cli/json-output-names.ts';

type AjvConstructor = new (options?: AjvOptions) => AjvClass;
const Ajv: AjvConstructor = (AjvModule as unknown as { default?: AjvConstructor }).default ?? (AjvModule as unknown as AjvConstructor);
const ajv = new Ajv({ allErrors: true, strict: true, strictTuples: false });
const compiled = new Map<JsonOutputName, ValidateFunction>();

/** ajv's complaints about `value` against the schema of `name` ([] when it conforms). */
export function jsonOutputErrors(name: JsonOutputName, value: unknown): string[] {
  let validate = compiled.get(name);
  if (!validate) {
    validate = ajv.compile(jsonSchemaDocument(name));
    compiled.set(name, validate);
  }
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
}

/** Parses a command's --json stdout and expects it to match the command's schema (or the error schema when ok is false). */
export function expectJsonOutput(name: JsonOutputName, stdout: string): unknown {
  const value = JSON.parse(stdout) as { ok?: unknown };
  const schema: JsonOutputName = value.ok === false ? 'error' : name;
  expect(jsonOutputErrors(schema, value), `${name} --json output against the '${schema}' schema`).toEqual([]);
  return value;
}
