// The accuracy-vs-cost curve of the precision plan: the planner run again on the same sensitivity
// at flash budgets spread between all-INT4 and all-INT8 weight bytes, each plan evaluated on the
// test rows in the integer emulator; uniform INT8 / INT4 and the chosen plan are points of their own.
// With a board, each plan's generated C also runs under QEMU: instructions of one inference.
import { join } from 'node:path';
import { measureInferenceInstructions } from '../dynafuse/measure.ts';
import { TinyM2Error } from '../errors.ts';
import type { Graph } from '../ir.ts';
import { planFromSensitivity, type Budgets, type PlanResult, type Sensitivity } from '../ilp/planner.ts';
import { evaluateAssignment, uniformAssignment } from '../ilp/problem.ts';
import type { Calibration } from '../quant/calibrate.ts';
import { evaluatePlan, type DataSet } from '../quant/evaluate.ts';
import { quantizeGraph } from '../quant/lower.ts';
import { uniformPlan, type PrecisionPlan } from '../quant/plan.ts';
import type { Board } from '../target/boards.ts';
import type { PlanCurvePoint } from './data.ts';

/** Budgets between all-INT4 and all-INT8 (exclusive), evenly spread. */
export const CURVE_BUDGETS = 6;

export interface CurveInputs {
  graph: Graph;
  sens: Sensitivity;
  chosen: PlanResult;
  budgets: Budgets;
  tied: boolean;
  modelName: string;
  calib: DataSet;
  test: DataSet;
  calibration: Calibration;
  perChannelInputs: boolean;
  onProgress?: (done: number, total: number) => void;
  /** Count each plan's instructions per inference on this board (QEMU), on the first test row, in workDir. */
  instructions?: { board: Board; workDir: string };
}

export async function planCurve(c: CurveInputs): Promise<PlanCurvePoint[]> {
  const problem = c.chosen.problem;
  const layerNames = c.chosen.layers.map((l) => l.name);
  let measured = 0;
  const accuracy = async (plan: PrecisionPlan) => {
    const ev = evaluatePlan(c.graph, c.calib, c.test, plan, {}, c.calibration, { perChannelInputs: c.perChannelInputs });
    const point = { weightBytes: ev.weightBytes, accuracy: Object.fromEntries(Object.entries(ev.accuracyPerOutput).filter(([, v]) => !Number.isNaN(v))) };
    if (!c.instructions) return point;
    const q = quantizeGraph(c.graph, c.calibration, plan, { perChannelInputs: c.perChannelInputs, int4Activations: c.budgets.int4Activations });
    const instructions = await measureInferenceInstructions(q, c.test.rows.slice(0, 1), c.instructions.board, join(c.instructions.workDir, `plan${measured++}`));
    return { ...point, instructions };
  };
  const int8 = evaluateAssignment(problem, uniformAssignment(problem, 8));
  const int4 = evaluateAssignment(problem, uniformAssignment(problem, 4));
  const total = CURVE_BUDGETS + 3;
  let done = 0;
  const step = () => c.onProgress?.(++done, total);
  const points: PlanCurvePoint[] = [];
  for (let k = 1; k <= CURVE_BUDGETS; k++) {
    const flashBytes = Math.round(int4.weightBytes + ((int8.weightBytes - int4.weightBytes) * k) / (CURVE_BUDGETS + 1));
    let r: PlanResult;
    try {
      r = planFromSensitivity(c.graph, c.sens, { ...c.budgets, flashBytes }, c.tied, c.modelName);
    } catch (e) {
      // A budget the other limits (BOPS, RAM) make infeasible is simply not a point of the curve.
      if (e instanceof TinyM2Error) {
        step();
        continue;
      }
      throw e;
    }
    points.push({ kind: 'budget', bops: r.totals.bops, ...(await accuracy(r.plan)) });
    step();
  }
  points.push({ kind: 'chosen', bops: c.chosen.totals.bops, ...(await accuracy(c.chosen.plan)) });
  step();
  points.push({ kind: 'INT8', bops: int8.bops, ...(await accuracy(uniformPlan(c.chosen.plan.model, layerNames, 8))) });
  step();
  points.push({ kind: 'INT4', bops: int4.bops, ...(await accuracy(uniformPlan(c.chosen.plan.model, layerNames, 4))) });
  step();
  return points.sort((a, b) => a.weightBytes - b.weightBytes || a.kind.localeCompare(b.kind));
}
