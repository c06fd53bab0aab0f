// The names `tinym2 schema` accepts, without loading the schemas (help stays fast): the commands that
// print JSON plus 'error'. compiler/cli/json-output.ts's table is checked against this list by tsc.
import { COMMAND_NAMES, type CommandName } from './options.ts';

export type JsonOutputName = Exclude<CommandName, 'schema'> | 'error';
export const JSON_OUTPUT_NAMES: readonly JsonOutputName[] = [...COMMAND_NAMES.filter((c): c is Exclude<CommandName, 'schema'> => c !== 'schema'), 'error'];
