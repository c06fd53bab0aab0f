// `tinym2 schema <command>`: the JSON Schema of that command's --json output (compiler/cli/json-output.ts).
import type { Args } from '../cli/options.ts';
import { JSON_OUTPUT_NAMES, type JsonOutputName } from '../cli/json-output-names.ts';
import { jsonSchemaDocument } from '../cli/json-output.ts';
import { EXIT_BAD_INPUT, TinyM2Error } from '../errors.ts';

export async function execute(args: Args<'schema'>): Promise<number> {
  const name = args.positional;
  if (!(JSON_OUTPUT_NAMES as readonly string[]).includes(name)) {
    throw new TinyM2Error(`no JSON output named '${name}': give one of ${JSON_OUTPUT_NAMES.join(', ')}`, { exitCode: EXIT_BAD_INPUT });
  }
  console.log(JSON.stringify(jsonSchemaDocument(name as JsonOutputName), null, 2));
  return 0;
}
