// One error type for everything a user can get wrong. The CLI prints `message` alone (no stack),
// exits with `exitCode`, and commands make sure no partial output is left behind.

export class TinyM2Error extends Error {
  /** 2: bad input (file, model, data, options); 3: does not fit a budget; 4: a tool is missing; 1: verification failed. */
  readonly exitCode: number;
  /** Machine-readable details for --json output (node name, budget, ...). */
  readonly details: Record<string, unknown>;

  constructor(message: string, options: { exitCode?: number; details?: Record<string, unknown> } = {}) {
    super(message);
    this.name = 'TinyM2Error';
    this.exitCode = options.exitCode ?? 2;
    this.details = options.details ?? {};
  }
}

export const EXIT_VERIFY_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_BUDGET = 3;
export const EXIT_TOOL_MISSING = 4;
/** A bug of tinym2 itself (EX_SOFTWARE of sysexits.h): any error that is not a TinyM2Error. */
export const EXIT_INTERNAL = 70;
