// The fusion study's Pareto chart (compiler/report/pareto.ts) renders through the report's vega-lite path
// with its points, the front line and the labels.
import { describe, expect, it } from 'vitest';
import { paretoChart } from '../compiler/report/pareto.ts';
import { renderSvg } from '../compiler/report/render.ts';

describe('Pareto chart', () => {
  it('draws every point, the front and the labels', async () => {
    const points = [
      { label: 'late int8', group: 'late', instructions: 1560167, top1: 99.9, pareto: true },
      { label: 'early int8', group: 'early', instructions: 1899994, top1: 99.7, pareto: false },
      { label: 'ADMN d0 int8', group: 'ADMN', instructions: 900000, top1: 99.2, pareto: true },
    ];
    const chart = paretoChart('p', 'fusion', points);
    const svg = await renderSvg(chart);
    for (const mark of chart.marks) expect(svg).toMatch(new RegExp(`mark-${mark}`));
    for (const p of points) expect(svg).toContain(p.label);
  });
});
