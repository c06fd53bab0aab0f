// The names of the sensitivity criteria, apart from their implementations (criteria.ts) so the CLI's
// option table can list them without loading the emulator. criteria.ts's registry must implement
// exactly these (`satisfies Record<SensitivityCriterion, ...>`), so tsc names a missing one.
export const CRITERION_NAMES = ['kl', 'accuracy', 'kl-two-sided', 'accuracy-two-sided', 'hessian', 'gauss-newton', 'hutchinson', 'trace-free'] as const;
export type SensitivityCriterion = (typeof CRITERION_NAMES)[number];

/** The default: the criterion whose layer ranking best matched measured accuracy drops (compiler/sensitivity/README.md). */
export const DEFAULT_CRITERION: SensitivityCriterion = 'accuracy';
