// Renders a chart's Vega-Lite spec to SVG text at report time, in Node: vega-lite compiles it to a
// Vega spec, vega lays it out and writes SVG (the 'none' renderer: no canvas, no DOM). Text widths
// are vega's estimates, so the SVG is the same on every machine for the same data.
import { parse, View } from 'vega';
import { compile } from 'vega-lite';
import type { Chart } from './charts.ts';

export async function renderSvg(chart: Chart): Promise<string> {
  let vegaSpec;
  try {
    vegaSpec = compile(chart.spec).spec;
  } catch (e) {
    throw new Error(`internal: chart ${chart.id} is not valid Vega-Lite: ${(e as Error).message}`);
  }
  const view = new View(parse(vegaSpec), { renderer: 'none', logLevel: 0 });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
