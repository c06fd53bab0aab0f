// Outputs and accuracy of many precision plans of one model on one set of rows (the empirical
// sensitivity criteria and the planner benchmarks run dozens to hundreds of plans).
//
// Mixed plans of one model share most of their ops: every op before the first layer whose bits
// differ is the same op (same weights, requantization and tensor parameters) reading the same
// input, so it produces the same values. This evaluator emulates each distinct op once per row set
// and keeps its outputs for every row, keyed by a hash of the op's parameters, its tensors'
// parameters and the keys of its inputs. A hit is by construction the value the emulator would
// compute again, so the accuracies are exactly evaluatePlan's (test/plan-accuracy.test.ts). empirical.ts and
// benchmarks/plan-vs-baselines.ts use it.
import { createHash } from 'node:crypto';
import type { Graph } from '../ir.ts';
import type { Calibration } from '../quant/calibrate.ts';
import { runOp, type QValues } from '../quant/emulator.ts';
import { argmax, labelsFor, type DataSet } from '../quant/evaluate.ts';
import { dequantizeOutput, quantizeInputs } from '../quant/io.ts';
import { quantizeGraph, type LowerOptions } from '../quant/lower.ts';
import type { PrecisionPlan } from '../quant/plan.ts';
import type { QGraph } from '../quant/qgraph.ts';

/** JSON with typed arrays spelled out (their bytes decide what an op computes). */
function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (ArrayBuffer.isView(x) ? `${x.constructor.name}:${Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64')}` : x));
}

/** The output a plan is judged on: the last labelled one (the fused head of multi-head models). */
export function scoredOutput(graph: Graph, set: DataSet): string {
  const labelled = graph.outputs.filter((o, k) => set.labels.has(`labels_${o.name}`) || (k === 0 && set.labels.has('labels')));
  return (labelled.length ? labelled[labelled.length - 1] : graph.outputs[0]).name;
}

export class PlanAccuracy {
  /** Per op key: its output for every row. */
  private readonly values = new Map<string, Int8Array[]>();
  private bytes = 0;
  /** Ops emulated and ops found, over the evaluator's life. */
  readonly stats = { emulated: 0, reused: 0 };

  constructor(
    private readonly graph: Graph,
    private readonly calibration: Calibration,
    private readonly set: DataSet,
    private readonly lowerOptions: LowerOptions = {},
    /** Cached values beyond this are dropped (oldest first). */
    private readonly maxBytes = 2 ** 31,
  ) {}

  /** Top-1 accuracy per graph output (NaN without labels), as evaluatePlan's accuracyPerOutput. */
  accuracy(plan: PrecisionPlan): Record<string, number> {
    const { q, outputs } = this.outputValues(plan);
    const rows = this.set.rows.length;
    return Object.fromEntries(
      this.graph.outputs.map((o, k) => {
        const labels = labelsFor(this.set, this.graph, o.name);
        if (!labels) return [o.name, NaN];
        let correct = 0;
        for (let r = 0; r < rows; r++) if (argmax(dequantizeOutput(q, q.outputs[k], outputs[k][r])) === labels[r]) correct++;
        return [o.name, correct / rows];
      }),
    );
  }

  /**
   * Top-1 accuracy of one output and, to order plans of equal accuracy, the mean margin of the
   * correct class over the best other one (dequantized output values; higher is more confidently right).
   */
  score(plan: PrecisionPlan, output: string): { accuracy: number; margin: number } {
    const { q, outputs } = this.outputValues(plan);
    const k = this.graph.outputs.findIndex((o) => o.name === output);
    const labels = k < 0 ? undefined : labelsFor(this.set, this.graph, output);
    if (!labels) throw new Error(`internal: output ${output} has no labels in ${this.set.file}`);
    const rows = this.set.rows.length;
    let correct = 0;
    let margin = 0;
    for (let r = 0; r < rows; r++) {
      const v = dequantizeOutput(q, q.outputs[k], outputs[k][r]);
      const top = argmax(v);
      if (top === labels[r]) correct++;
      let other = -Infinity;
      for (let c = 0; c < v.length; c++) if (c !== labels[r]) other = Math.max(other, v[c]);
      margin += v[labels[r]] - other;
    }
    return { accuracy: correct / rows, margin: margin / rows };
  }

  /** The plan's QGraph and, per graph output, every row's integer value. */
  outputValues(plan: PrecisionPlan): { q: QGraph; outputs: Int8Array[][] } {
    const q = quantizeGraph(this.graph, this.calibration, plan, this.lowerOptions);
    return { q, outputs: this.run(q) };
  }

  private run(q: QGraph): Int8Array[][] {
    const rows = this.set.rows;
    const keyOf = new Map<string, string>();
    // This run's tensors by name, so dropping old entries can never take one it still reads.
    const mine = new Map<string, Int8Array[]>();
    const tensorJson = (name: string) => stableJson(q.tensors.get(name));
    for (const name of q.inputs) {
      const key = createHash('sha256').update('input').update(name).update(tensorJson(name)).update(stableJson(q.io[name])).digest('hex');
      keyOf.set(name, key);
      const v = this.values.get(key) ?? rows.map((row) => quantizeInputs(q, row)[name]);
      if (!this.values.has(key)) this.keep(key, v);
      mine.set(name, v);
    }
    for (const op of q.ops) {
      const h = createHash('sha256').update(stableJson(op)).update(tensorJson(op.output));
      for (const i of op.inputs) h.update(keyOf.get(i) ?? `?${i}`).update(tensorJson(i));
      const key = h.digest('hex');
      keyOf.set(op.output, key);
      const hit = this.values.get(key);
      if (hit) {
        // Refresh its age: Map iteration order is insertion order.
        this.values.delete(key);
        this.values.set(key, hit);
        this.stats.reused++;
        mine.set(op.output, hit);
        continue;
      }
      const ins = op.inputs.map((i) => {
        const v = mine.get(i);
        if (!v) throw new Error(`internal: op ${op.name} reads ${i} before it is computed`);
        return v;
      });
      const out = rows.map((_, r) => {
        const values: QValues = new Map(op.inputs.map((n, k) => [n, ins[k][r]]));
        return runOp(q, op, values);
      });
      this.stats.emulated++;
      this.keep(key, out);
      mine.set(op.output, out);
    }
    return q.outputs.map((o) => mine.get(o)!);
  }

  private keep(key: string, v: Int8Array[]): void {
    this.values.set(key, v);
    this.bytes += v.reduce((s, a) => s + a.byteLength, 0);
    // Drop the oldest (a running evaluation keeps its own references).
    for (const [k, old] of this.values) {
      if (this.bytes <= this.maxBytes) break;
      this.values.delete(k);
      this.bytes -= old.reduce((s, a) => s + a.byteLength, 0);
    }
  }
}
