// Resource caps for untrusted input files (ONNX models, .npz data sets). Every file tinym2 reads may
// come from the internet; these caps turn "a 200-byte model that asks for 2.5 GB" into one clear
// refusal before the work starts. The defaults are far above the microcontroller models tinym2
// targets (the largest example has ~30k parameters and 8k-element activations) and can be raised per
// call (library) or per command (the CLI's --max-* options, where they exist).
import { TinyM2Error } from './errors.ts';

export interface InputLimits {
  /** Bytes of an ONNX file (before decoding). */
  maxModelBytes: number;
  /** Nodes in an ONNX graph. */
  maxNodes: number;
  /** Elements of any one tensor: initializer, folded constant or activation. */
  maxTensorElements: number;
  /** Bytes of all constants of a model together (initializers and folded constants). */
  maxTensorBytes: number;
  /** Bytes of one .npz data set once decompressed. */
  maxDataBytes: number;
  /**
   * Multiply-accumulates of one inference of the imported float model. Calibration, the planner and the
   * emulator run the model in JavaScript once per row: a model of a billion MACs (valid, a few hundred
   * bytes of ONNX) would keep them busy for hours instead of being refused.
   */
  maxMacs: number;
}

export const DEFAULT_LIMITS: Readonly<InputLimits> = Object.freeze({
  maxModelBytes: 256 * 1024 * 1024,
  maxNodes: 100_000,
  maxTensorElements: 4 * 1024 * 1024,
  maxTensorBytes: 64 * 1024 * 1024,
  maxDataBytes: 1024 * 1024 * 1024,
  maxMacs: 500_000_000,
});

/** What each cap is, for messages and the README table (one source of truth). */
export const LIMIT_DOCS: Record<keyof InputLimits, { option: string; what: string }> = {
  maxModelBytes: { option: '--max-model-bytes', what: 'bytes of an ONNX file' },
  maxNodes: { option: '--max-nodes', what: 'nodes in an ONNX graph' },
  maxTensorElements: { option: '--max-tensor-elements', what: 'elements of one tensor (initializer, folded constant or activation)' },
  maxTensorBytes: { option: '--max-tensor-bytes', what: 'bytes of all constants of a model together' },
  maxDataBytes: { option: '--max-data-bytes', what: 'bytes of one .npz data set once decompressed' },
  maxMacs: { option: '--max-macs', what: 'multiply-accumulates of one inference' },
};

/**
 * The caps with `overrides` applied. Any object with the camelCase fields works, so a command passes
 * its parsed arguments (--max-tensor-bytes arrives as maxTensorBytes) as they are.
 */
export function resolveLimits(overrides: Partial<InputLimits> = {}): InputLimits {
  const out = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(LIMIT_DOCS) as Array<keyof InputLimits>) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new TinyM2Error(`${LIMIT_DOCS[key].option} must be a positive whole number, got ${value}`);
    }
    out[key] = value;
  }
  return out;
}

/** The refusal for a cap: names the cap, the amount, and the option that raises it. */
export function overLimit(where: string, key: keyof InputLimits, amount: number, limits: InputLimits): never {
  const doc = LIMIT_DOCS[key];
  throw new TinyM2Error(
    `${where}: ${amount} is over the limit of ${limits[key]} ${doc.what}; if the file is trusted, raise it with ${doc.option}`,
    { details: { limit: doc.option, value: amount, max: limits[key] } },
  );
}

/**
 * Checks a shape from a file: whole, non-negative dimensions whose product stays under the element
 * cap. Returns a description of the problem, or undefined when the shape is fine.
 */
export function shapeProblem(shape: readonly number[], limits: InputLimits): string | undefined {
  if (shape.length > 8) return `rank ${shape.length} is more than 8`;
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) return `dimension ${d} in [${shape}] is not a whole number >= 0`;
    n *= d;
  }
  if (n > limits.maxTensorElements) {
    return `[${shape}] has ${n} elements, over the limit of ${limits.maxTensorElements} (raise it with ${LIMIT_DOCS.maxTensorElements.option} if the file is trusted)`;
  }
  return undefined;
}
