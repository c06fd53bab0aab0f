// Accuracy against cost with the Pareto front, as a Vega-Lite chart (render.ts draws it): used by the
// fusion-strategy study (benchmarks/fusion-study.ts) for its fusion variants, ADMN depths included.
import type { TopLevelSpec } from 'vega-lite';
import type { Chart } from './charts.ts';

export interface ParetoPoint {
  label: string;
  group: string;
  instructions: number;
  top1: number;
  pareto: boolean;
}

export function paretoChart(id: string, title: string, points: ParetoPoint[]): Chart {
  const front = points.filter((p) => p.pareto).sort((a, b) => a.instructions - b.instructions);
  return {
    id,
    section: 'accuracy',
    title,
    marks: ['symbol', 'line', 'text'],
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: title, anchor: 'start', font: 'sans-serif', fontSize: 13 },
      width: 640,
      height: 360,
      background: 'white',
      config: { font: 'sans-serif' },
      layer: [
        {
          data: { values: front },
          mark: { type: 'line', color: '#888', strokeDash: [4, 3], interpolate: 'step-after' },
          encoding: { x: { field: 'instructions', type: 'quantitative' }, y: { field: 'top1', type: 'quantitative' } },
        },
        {
          data: { values: points },
          mark: { type: 'point', filled: true, size: 70, tooltip: true },
          encoding: {
            x: { field: 'instructions', type: 'quantitative', title: 'instructions per inference (QEMU)', scale: { zero: false } },
            y: { field: 'top1', type: 'quantitative', title: 'top-1 %', scale: { zero: false } },
            color: { field: 'group', type: 'nominal', title: null },
            shape: { field: 'pareto', type: 'nominal', title: 'Pareto front' },
          },
        },
        {
          data: { values: points },
          mark: { type: 'text', align: 'left', dx: 6, dy: -6, fontSize: 9 },
          encoding: { x: { field: 'instructions', type: 'quantitative' }, y: { field: 'top1', type: 'quantitative' }, text: { field: 'label' } },
        },
      ],
    } as TopLevelSpec,
  };
}
