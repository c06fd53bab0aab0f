// The loss whose Hessian measures sensitivity, and its gradient with respect to the graph outputs.
//
// - With labels for an output: cross-entropy of that classification output against its label
//   (a data set's `labels` array labels the first output, `labels_<output>` any output, as in
//   compiler/quant/evaluate.ts).
// - Without: KL(p_float || p) of each classification output against the softmax of the model's
//   own unperturbed float output (for a Softmax output, the output itself). Its gradient is zero
//   at the float weights and its Hessian there is the Fisher of the output distribution.
// - An output that is not a classification vector (one value, or labels out of its range) gets
//   half the squared error to its own float output.
// A multi-output model sums the losses of all outputs with equal weight.
// A classification output that is already a Softmax is treated as probabilities (log taken
// directly, clamped at 1e-30); any other is treated as logits.
import type { Graph } from '../ir.ts';

export type LossKind = 'cross-entropy' | 'kl';

export interface OutputTarget {
  /** Label per output name, for the outputs that have one. */
  labels: Map<string, number>;
  /** The float model's own outputs for this sample (for KL / squared error). */
  reference: Map<string, Float64Array>;
}

function softmaxOf(z: Float64Array): Float64Array {
  let m = -Infinity;
  for (const v of z) m = Math.max(m, v);
  const p = new Float64Array(z.length);
  let s = 0;
  for (let i = 0; i < z.length; i++) s += p[i] = Math.exp(z[i] - m);
  for (let i = 0; i < z.length; i++) p[i] /= s;
  return p;
}

const TINY = 1e-30;

export class Loss {
  private readonly isProbability = new Map<string, boolean>();

  constructor(private readonly graph: Graph) {
    const producer = new Map(graph.nodes.map((n) => [n.outputs[0], n]));
    for (const o of graph.outputs) this.isProbability.set(o.name, producer.get(o.name)?.op === 'Softmax');
  }

  /** Loss of one sample and dLoss/d(output) per graph output. */
  evaluate(outputs: Map<string, Float64Array>, target: OutputTarget): { loss: number; gradients: Map<string, Float64Array> } {
    let loss = 0;
    const gradients = new Map<string, Float64Array>();
    for (const o of this.graph.outputs) {
      const y = outputs.get(o.name)!;
      const ref = target.reference.get(o.name)!;
      const g = new Float64Array(y.length);
      const classification = y.length > 1;
      const prob = this.isProbability.get(o.name)!;
      const l = target.labels.get(o.name);
      if (classification && l !== undefined && l >= 0 && l < y.length) {
        if (prob) {
          const q = Math.max(y[l], TINY);
          loss -= Math.log(q);
          g[l] = -1 / q;
        } else {
          const p = softmaxOf(y);
          loss -= Math.log(Math.max(p[l], TINY));
          for (let i = 0; i < y.length; i++) g[i] = p[i] - (i === l ? 1 : 0);
        }
      } else if (classification) {
        if (prob) {
          for (let i = 0; i < y.length; i++) {
            if (ref[i] <= 0) continue;
            const q = Math.max(y[i], TINY);
            loss += ref[i] * (Math.log(ref[i]) - Math.log(q));
            g[i] = -ref[i] / q;
          }
        } else {
          const pRef = softmaxOf(ref);
          const p = softmaxOf(y);
          for (let i = 0; i < y.length; i++) {
            if (pRef[i] > 0) loss += pRef[i] * (Math.log(pRef[i]) - Math.log(Math.max(p[i], TINY)));
            g[i] = p[i] - pRef[i];
          }
        }
      } else {
        for (let i = 0; i < y.length; i++) {
          const d = y[i] - ref[i];
          loss += 0.5 * d * d;
          g[i] = d;
        }
      }
      gradients.set(o.name, g);
    }
    return { loss, gradients };
  }
}
