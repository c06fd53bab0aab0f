// GlobalAveragePool (also torch's x.mean(dim=[2, 3]), exported as ReduceMean over every spatial axis:
// ./reduce.ts imports that as this op).
import type { ImportContext, SourceNode } from '../onnx/context.ts';
import { tensorInfo, type NodeBase } from '../ir.ts';
import { constantValues } from '../onnx/fold.ts';
import type { Importer, OpDef } from './op.ts';
import { perSample } from './op.ts';
import { NO_WEIGHTS } from './op.ts';
import { normAxis } from './onnx-attrs.ts';
import { check, fmt } from './shape-rules.ts';

export interface GlobalAveragePoolNode extends NodeBase { op: 'GlobalAveragePool' }

export const globalAveragePool: OpDef<GlobalAveragePoolNode> = {
  mixesSamples: perSample,
  ...NO_WEIGHTS,
  importers: {
    GlobalAveragePool: (ctx: ImportContext, node: SourceNode) => {
      const x = ctx.activation(node, 0);
      ctx.emit(node, { op: 'GlobalAveragePool', name: node.name, source: 'GlobalAveragePool', inputs: [x.name], outputs: [node.outputs[0]] });
    },
  },

  shape(_node, [x]) {
    check(x.length >= 3, `expects (N,C,...) input, got ${fmt(x)}`);
    return [x[0], x[1], ...x.slice(2).map(() => 1)];
  },

  forward(ctx, [x]) {
    const planes = ctx.inShapes[0][0] * ctx.inShapes[0][1];
    const size = x.length / planes;
    const y = ctx.alloc(planes);
    for (let p = 0; p < planes; p++) {
      let sum = 0;
      for (let i = 0; i < size; i++) sum += x[p * size + i];
      y[p] = sum / size;
    }
    return y;
  },

  backward(ctx, [x], _y, gy) {
    const planes = ctx.inShapes[0][0] * ctx.inShapes[0][1];
    const size = x.length / planes;
    const gx = new Float64Array(x.length);
    for (let p = 0; p < planes; p++) for (let i = 0; i < size; i++) gx[p * size + i] = gy[p] / size;
    return { inputs: [gx], params: {} };
  },

  quant: {
    outputBits: 'inputs',
    share: 'first',
    fusesClamp: () => false,
    lower(lc, node) {
      const inP = lc.spatialInput(node, node.inputs[0]);
      const out = lc.place(node.outputs[0], tensorInfo(lc.graph, node.outputs[0]).shape);
      lc.emit({ op: 'gap', name: node.name, inputs: [inP.q], output: out.q });
    },
  },
};
