// The report's plots as Vega-Lite specifications, made from ReportData alone (render.ts turns
// them into SVG with vega). Each chart names the Vega mark types it must draw, so the browser test
// can check that every plot really rendered marks, not just an empty frame.
import type { TopLevelSpec } from 'vega-lite';
import type { ReportData } from './data.ts';

export type SectionId = 'layers' | 'memory' | 'plan' | 'accuracy' | 'dynafuse';

export interface Chart {
  /** Stable id (an HTML id and a test handle). */
  id: string;
  section: SectionId;
  title: string;
  /** Vega mark types the SVG must contain (class "mark-<type>" groups with at least one item). */
  marks: Array<'rect' | 'symbol' | 'line' | 'rule' | 'text' | 'area'>;
  spec: TopLevelSpec;
}

const WIDTH = 640;
const FONT = 'sans-serif';

/** Settings every chart shares: fixed width, no actions, a font every browser has (no web fonts). */
function base(title: string): Partial<TopLevelSpec> & { $schema: string } {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, anchor: 'start', font: FONT, fontSize: 13 },
    width: WIDTH,
    background: 'white',
    config: { font: FONT, axis: { labelFont: FONT, titleFont: FONT }, legend: { labelFont: FONT, titleFont: FONT } },
  } as Partial<TopLevelSpec> & { $schema: string };
}

/** Layer label on an axis: index and name, kept in graph order. */
const layerLabel = (index: number, name: string): string => `${String(index).padStart(2, '0')} ${name}`;

function layerCharts(d: ReportData): Chart[] {
  const s = d.layers;
  if (!s) return [];
  const rows = s.rows.map((r) => ({
    layer: layerLabel(r.index, r.name),
    op: r.op,
    bits: r.weightBits ? `W${r.weightBits}/A${r.activationBits}` : `A${r.activationBits}`,
    weightBytes: r.weightBytes,
    macs: r.macs,
    instructions: r.instructions ?? null,
    macsPerInstruction: r.instructions ? r.macs / r.instructions : null,
  }));
  const order = rows.map((r) => r.layer);
  const BITS = { field: 'bits', type: 'nominal', title: 'bits', scale: { domain: ['W4/A4', 'W4/A8', 'W8/A4', 'W8/A8', 'A4', 'A8'], range: ['#e45756', '#f58518', '#72b7b2', '#4c78a8', '#bab0ac', '#9d755d'] } };
  // One colour per op in every layer chart, whichever layers a chart shows.
  const OP = { field: 'op', type: 'nominal', title: 'op', scale: { domain: [...new Set(rows.map((r) => r.op))].sort(), scheme: 'tableau10' } };
  const bar = (id: string, title: string, field: string, axisTitle: string, values: object[], color: object = OP): Chart => ({
    id,
    section: 'layers',
    title,
    marks: ['rect'],
    spec: {
      ...base(title),
      height: { step: 14 },
      data: { values },
      mark: { type: 'bar', tooltip: true },
      encoding: {
        y: { field: 'layer', type: 'nominal', sort: order, title: null, axis: { labelLimit: 220 } },
        x: { field, type: 'quantitative', title: axisTitle },
        color,
      },
    } as TopLevelSpec,
  });
  const charts: Chart[] = [];
  const weighted = rows.filter((r) => r.weightBytes > 0);
  if (weighted.length) charts.push(bar('layer-weight-bytes', 'Weight bytes per layer (flash), by weight/activation bits', 'weightBytes', 'weight bytes', weighted, BITS));
  const withMacs = rows.filter((r) => r.macs > 0);
  if (withMacs.length) charts.push(bar('layer-macs', 'Multiply-accumulates per layer', 'macs', 'MACs', withMacs));
  if (rows.some((r) => r.instructions !== null)) {
    charts.push(bar('layer-instructions', `Instructions per layer (QEMU, ${s.board ?? 'target'}, mean per inference)`, 'instructions', 'instructions', rows));
    charts.push(bar('layer-macs-per-instruction', 'MACs per instruction (higher is better)', 'macsPerInstruction', 'MACs / instruction', withMacs.filter((r) => r.instructions)));
  }
  return charts;
}

function memoryCharts(d: ReportData): Chart[] {
  const m = d.memory;
  if (!m) return [];
  const charts: Chart[] = [];
  const buffers = m.buffers.map((b) => ({ ...b, start: b.first - 0.45, end: b.last + 0.45, top: b.offset + b.bytes }));
  charts.push({
    id: 'memory-arena',
    section: 'memory',
    title: 'Arena over the layer sequence',
    marks: ['rect', 'rule'],
    spec: {
      ...base(`Arena over the layer sequence: each buffer's byte range while it is live (arena ${m.arenaBytes} B, lower bound ${m.lowerBound} B)`),
      height: 320,
      layer: [
        {
          data: { values: buffers },
          mark: { type: 'rect', stroke: 'white', strokeWidth: 0.5, tooltip: true },
          encoding: {
            x: { field: 'start', type: 'quantitative', title: 'step (0: inputs in; op i runs at step i+1)', scale: { domain: [-0.5, m.steps + 0.5] } },
            x2: { field: 'end' },
            y: { field: 'offset', type: 'quantitative', title: 'arena byte offset', scale: { domain: [0, Math.max(m.arenaBytes, 1)] } },
            y2: { field: 'top' },
            color: { field: 'kind', type: 'nominal', title: 'buffer', scale: { domain: ['tensor', 'scratch', 'state'], range: ['#4c78a8', '#f58518', '#54a24b'] } },
            tooltip: [
              { field: 'name', type: 'nominal' },
              { field: 'bytes', type: 'quantitative' },
              { field: 'offset', type: 'quantitative' },
              { field: 'first', type: 'quantitative', title: 'first step' },
              { field: 'last', type: 'quantitative', title: 'last step' },
            ],
          },
        },
        {
          data: { values: [{ y: m.arenaBytes, what: 'arena size' }] },
          mark: { type: 'rule', color: 'black', strokeDash: [4, 3] },
          encoding: { y: { field: 'y', type: 'quantitative' } },
        },
      ],
    } as TopLevelSpec,
  });
  // Live bytes at each step against the arena and its lower bound: how close the placement is.
  const live = Array.from({ length: m.steps + 1 }, (_, step) => ({
    step,
    bytes: m.buffers.filter((b) => b.first <= step && step <= b.last).reduce((s, b) => s + b.bytes, 0),
  }));
  charts.push({
    id: 'memory-live',
    section: 'memory',
    title: 'Live bytes per step vs arena and lower bound',
    marks: ['area', 'rule'],
    spec: {
      ...base('Live buffer bytes per step, with the arena size (solid) and the lower bound (dashed)'),
      height: 180,
      layer: [
        {
          data: { values: live },
          mark: { type: 'area', interpolate: 'step-after', opacity: 0.6, line: true, tooltip: true },
          encoding: { x: { field: 'step', type: 'quantitative', title: 'step' }, y: { field: 'bytes', type: 'quantitative', title: 'bytes' } },
        },
        {
          data: { values: [{ y: m.arenaBytes, what: 'arena' }, { y: m.lowerBound, what: 'lower bound' }] },
          mark: { type: 'rule' },
          encoding: {
            y: { field: 'y', type: 'quantitative' },
            strokeDash: { field: 'what', type: 'nominal', title: null, scale: { domain: ['arena', 'lower bound'], range: [[1, 0], [4, 3]] } },
          },
        },
      ],
    } as TopLevelSpec,
  });
  if (m.flash) {
    const parts = [
      { part: 'code', bytes: m.flash.code },
      { part: 'weights', bytes: m.flash.weights },
      { part: 'tables and parameters', bytes: m.flash.tables },
    ];
    charts.push({
      id: 'memory-flash',
      section: 'memory',
      title: 'Flash of the model',
      marks: ['rect'],
      spec: {
        ...base('Flash of the model in the firmware image: code, weights, tables and parameters'),
        height: 40,
        data: { values: parts },
        mark: { type: 'bar', tooltip: true },
        encoding: {
          x: { field: 'bytes', type: 'quantitative', stack: 'zero', title: 'bytes' },
          color: { field: 'part', type: 'nominal', title: null, sort: parts.map((p) => p.part) },
          order: { field: 'part', sort: 'ascending' },
        },
      } as TopLevelSpec,
    });
  }
  return charts;
}

function planCharts(d: ReportData): Chart[] {
  const p = d.plan;
  if (!p) return [];
  const order = p.layers.map((l) => l.name);
  const layers = p.layers.map((l) => ({
    layer: l.name,
    trace: l.traceMean,
    lo: Math.max(l.traceMean - l.traceStdErr, l.traceMean * 1e-3),
    hi: l.traceMean + l.traceStdErr,
    bits: `W${l.weightBits}/A${l.activationBits}`,
  }));
  const omegas = p.layers.flatMap((l) => [
    { layer: l.name, bits: '4 bits', omega: l.omega4 },
    { layer: l.name, bits: '8 bits', omega: l.omega8 },
  ]);
  const positive = (v: number) => v > 0;
  const charts: Chart[] = [
    {
      id: 'plan-trace',
      section: 'plan',
      title: 'Hessian trace per layer',
      marks: ['symbol', 'rule'],
      spec: {
        ...base(`Sensitivity: Hessian trace of each layer's weights (${p.method}), ± one standard error`),
        height: { step: 16 },
        data: { values: layers.filter((l) => positive(l.trace)) },
        layer: [
          {
            mark: { type: 'rule' },
            encoding: {
              y: { field: 'layer', type: 'nominal', sort: order, title: null },
              x: { field: 'lo', type: 'quantitative', scale: { type: 'log' }, title: 'trace' },
              x2: { field: 'hi' },
            },
          },
          {
            mark: { type: 'point', filled: true, size: 50, tooltip: true },
            encoding: {
              y: { field: 'layer', type: 'nominal', sort: order, title: null },
              x: { field: 'trace', type: 'quantitative', scale: { type: 'log' } },
              color: { field: 'bits', type: 'nominal', title: 'chosen', scale: { domain: ['W4/A4', 'W4/A8', 'W8/A4', 'W8/A8'], range: ['#e45756', '#f58518', '#72b7b2', '#4c78a8'] } },
            },
          },
        ],
      } as TopLevelSpec,
    },
    {
      id: 'plan-omega',
      section: 'plan',
      title: 'Omega at 4 and 8 bits',
      marks: ['symbol'],
      spec: {
        ...base('Omega (sensitivity x quantization error) per layer at 4 and 8 bits: the ILP minimises their sum'),
        height: { step: 16 },
        data: { values: omegas.filter((o) => positive(o.omega)) },
        mark: { type: 'point', filled: true, size: 50, tooltip: true },
        encoding: {
          y: { field: 'layer', type: 'nominal', sort: order, title: null },
          x: { field: 'omega', type: 'quantitative', scale: { type: 'log' }, title: 'Omega' },
          color: { field: 'bits', type: 'nominal', title: null, scale: { domain: ['4 bits', '8 bits'], range: ['#e45756', '#4c78a8'] } },
          shape: { field: 'bits', type: 'nominal', title: null },
        },
      } as TopLevelSpec,
    },
  ];
  if (p.curve?.length) {
    const outputs = Object.keys(p.curve[0]!.accuracy);
    const points = p.curve.flatMap((c) => outputs.map((o) => ({ kind: c.kind, output: o, weightBytes: c.weightBytes, bops: c.bops, instructions: c.instructions ?? null, accuracy: c.accuracy[o] })));
    const sweep = points.filter((x) => x.kind !== 'INT8' && x.kind !== 'INT4');
    const curve = (id: string, field: 'weightBytes' | 'bops' | 'instructions', axis: string): Chart => ({
      id,
      section: 'plan',
      title: `Accuracy vs ${axis}`,
      marks: ['line', 'symbol'],
      spec: {
        ...base(`Top-1 accuracy (integer emulator) vs ${axis} over flash budgets; the chosen plan and uniform INT8 / INT4 marked`),
        height: 220,
        layer: [
          {
            data: { values: sweep },
            mark: { type: 'line', point: false },
            encoding: {
              x: { field, type: 'quantitative', title: axis, scale: { zero: false } },
              y: { field: 'accuracy', type: 'quantitative', title: 'top-1 accuracy', axis: { format: '.0%' }, scale: { zero: false } },
              color: { field: 'output', type: 'nominal', title: 'output' },
            },
          },
          {
            data: { values: points },
            mark: { type: 'point', filled: true, size: 90, tooltip: true },
            encoding: {
              x: { field, type: 'quantitative' },
              y: { field: 'accuracy', type: 'quantitative' },
              color: { field: 'output', type: 'nominal' },
              shape: { field: 'kind', type: 'nominal', title: 'plan', scale: { domain: ['budget', 'chosen', 'INT8', 'INT4'], range: ['circle', 'diamond', 'square', 'triangle-up'] } },
            },
          },
        ],
      } as TopLevelSpec,
    });
    charts.push(curve('plan-accuracy-bytes', 'weightBytes', 'weight bytes'));
    if (p.curve.every((c) => c.instructions !== undefined)) charts.push(curve('plan-accuracy-instructions', 'instructions', `instructions per inference (QEMU, ${p.board ?? 'target'})`));
    charts.push(curve('plan-accuracy-bops', 'bops', 'BOPS (MACs x weight bits x activation bits)'));
  }
  return charts;
}

function accuracyCharts(d: ReportData): Chart[] {
  const a = d.accuracy;
  if (!a) return [];
  const charts: Chart[] = [];
  const bars = a.outputs.flatMap((o) =>
    (
      [
        ['float model', o.float],
        ['integer emulator', o.emulator],
        [`target (${a.board})`, o.target],
        ['target agrees with float', o.agreementWithFloat],
      ] as const
    )
      .filter(([, v]) => v !== null)
      .map(([what, v]) => ({ output: o.output, what, value: v })),
  );
  if (bars.length) {
    charts.push({
      id: 'accuracy-outputs',
      section: 'accuracy',
      title: 'Top-1 accuracy per output',
      marks: ['rect'],
      spec: {
        ...base('Top-1 accuracy per output: float model, integer emulator, target; and agreement of the target with float'),
        height: { step: 14 },
        data: { values: bars },
        mark: { type: 'bar', tooltip: true },
        encoding: {
          y: { field: 'what', type: 'nominal', title: null, sort: null },
          x: { field: 'value', type: 'quantitative', title: null, axis: { format: '.0%' }, scale: { domain: [0, 1] } },
          color: { field: 'what', type: 'nominal', title: null, sort: null },
          row: { field: 'output', type: 'nominal', title: null },
        },
      } as TopLevelSpec,
    });
  }
  for (const c of a.confusion) {
    const cells = c.counts.flatMap((row, label) => row.map((n, predicted) => ({ label, predicted, n })));
    charts.push({
      id: `accuracy-confusion-${c.output}`,
      section: 'accuracy',
      title: `Confusion matrix of ${c.output}`,
      marks: ['rect', 'text'],
      spec: {
        ...base(`Confusion matrix of ${c.output} on the target (rows: label, columns: predicted)`),
        width: Math.min(WIDTH, 28 * c.classes + 40),
        height: Math.min(WIDTH, 28 * c.classes + 40),
        data: { values: cells },
        encoding: {
          x: { field: 'predicted', type: 'ordinal', title: 'predicted' },
          y: { field: 'label', type: 'ordinal', title: 'label' },
        },
        layer: [
          { mark: { type: 'rect', tooltip: true }, encoding: { color: { field: 'n', type: 'quantitative', title: 'rows', scale: { scheme: 'blues' } } } },
          {
            mark: { type: 'text', fontSize: 10 },
            encoding: {
              text: { field: 'n', type: 'quantitative' },
              color: { condition: { test: `datum.n > ${Math.max(1, ...c.counts.flat()) / 2}`, value: 'white' }, value: 'black' },
            },
          },
        ],
      } as TopLevelSpec,
    });
  }
  return charts;
}

function dynafuseCharts(d: ReportData): Chart[] {
  const f = d.dynafuse;
  if (!f) return [];
  const charts: Chart[] = [];
  if (f.resilience.length) {
    charts.push({
      id: 'dynafuse-resilience',
      section: 'dynafuse',
      title: 'Resilience curves',
      marks: ['line', 'symbol'],
      spec: {
        ...base('Resilience: top-1 accuracy of each branch vs the noise sigma injected into its input'),
        height: 220,
        data: { values: f.resilience },
        mark: { type: 'line', point: true, tooltip: true },
        encoding: {
          x: { field: 'sigma', type: 'quantitative', title: 'noise sigma' },
          y: { field: 'accuracy', type: 'quantitative', title: 'top-1 accuracy', axis: { format: '.0%' } },
          color: { field: 'branch', type: 'nominal' },
        },
      } as TopLevelSpec,
    });
  }
  if (f.calibration.length) {
    const top = Math.max(...f.calibration.flatMap((c) => [c.injected, c.estimated]), 1e-9);
    charts.push({
      id: 'dynafuse-estimator',
      section: 'dynafuse',
      title: 'Noise estimator calibration',
      marks: ['symbol', 'line'],
      spec: {
        ...base('Noise estimator: estimated vs injected sigma (the diagonal is a perfect estimate)'),
        height: 240,
        layer: [
          { data: { values: [{ x: 0, y: 0 }, { x: top, y: top }] }, mark: { type: 'line', color: '#999', strokeDash: [4, 3] }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } } },
          {
            data: { values: f.calibration },
            mark: { type: 'point', filled: true, tooltip: true },
            encoding: {
              x: { field: 'injected', type: 'quantitative', title: 'injected sigma' },
              y: { field: 'estimated', type: 'quantitative', title: 'estimated sigma' },
              color: { field: 'modality', type: 'nominal' },
            },
          },
        ],
      } as TopLevelSpec,
    });
  }
  if (f.modes.length) {
    const cells = f.modes.flatMap((m) => m.branches.map((b) => ({ mode: m.mode, branch: b, runs: 'runs' })));
    charts.push({
      id: 'dynafuse-modes',
      section: 'dynafuse',
      title: 'Modes and branches',
      marks: ['rect'],
      spec: {
        ...base('Which branches each mode runs'),
        height: { step: 22 },
        width: { step: 60 } as unknown as number,
        data: { values: cells },
        mark: { type: 'rect', tooltip: true },
        encoding: {
          x: { field: 'branch', type: 'nominal', title: 'branch' },
          y: { field: 'mode', type: 'nominal', title: 'mode', sort: f.modes.map((m) => m.mode) },
          color: { field: 'runs', type: 'nominal', legend: null, scale: { range: ['#4c78a8'] } },
        },
      } as TopLevelSpec,
    });
  }
  if (f.energy.length) {
    const parts = f.energy.flatMap((e) => [
      { branch: e.branch, part: 'compute', uj: e.computeUj },
      { branch: e.branch, part: 'sensing', uj: e.sensingUj },
    ]);
    charts.push({
      id: 'dynafuse-energy',
      section: 'dynafuse',
      title: 'Energy per branch',
      marks: ['rect'],
      spec: {
        ...base('Energy per branch per window (µJ): compute (board power model x instructions) and sensing (sensor datasheet)'),
        height: { step: 18 },
        data: { values: parts },
        mark: { type: 'bar', tooltip: true },
        encoding: {
          y: { field: 'branch', type: 'nominal', title: null, sort: null },
          x: { field: 'uj', type: 'quantitative', stack: 'zero', title: 'µJ' },
          color: { field: 'part', type: 'nominal', title: null, scale: { domain: ['compute', 'sensing'], range: ['#4c78a8', '#bab0ac'] } },
        },
      } as TopLevelSpec,
    });
  }
  return charts;
}

/** Every chart the data allows, in page order. */
export function chartsFor(d: ReportData): Chart[] {
  return [...layerCharts(d), ...memoryCharts(d), ...planCharts(d), ...accuracyCharts(d), ...dynafuseCharts(d)];
}
