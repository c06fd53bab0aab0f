// Assembles the report page: one HTML file with the CSS inline, the charts as inline SVG and the
// numbers as tables. No script, font, stylesheet or image is loaded from anywhere, so the file
// opens offline and shows the same thing in any browser. Nothing in it depends on the clock.
import { chartsFor, type Chart, type SectionId } from './charts.ts';
import type { ReportData } from './data.ts';
import { renderSvg } from './render.ts';

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const pct = (x: number | null | undefined): string => (x === null || x === undefined || Number.isNaN(x) ? 'n/a' : `${(x * 100).toFixed(2)}%`);
const sci = (x: number): string => (x === 0 ? '0' : x.toExponential(2));

function table(head: string[], rows: string[][], numericFrom: number, total?: string[]): string {
  const th = head.map((h, i) => `<th${i >= numericFrom ? ' class="n"' : ''}>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${i >= numericFrom ? ' class="n"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  const foot = total ? `<tfoot><tr>${total.map((c, i) => `<td${i >= numericFrom ? ' class="n"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr></tfoot>` : '';
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody>${foot}</table>`;
}

function layerTable(d: ReportData): string {
  const s = d.layers!;
  const measured = s.rows.some((r) => r.instructions !== undefined);
  const total = s.rows.reduce((a, r) => a + (r.instructions ?? 0), 0);
  const head = ['#', 'layer', 'op', 'output HxWxC', 'W bits', 'A bits', 'weight bytes', 'MACs', ...(measured ? ['instructions', 'MACs/instr', 'share'] : [])];
  const rows = s.rows.map((r) => [
    String(r.index),
    r.name,
    r.op,
    r.shape.join('x'),
    r.weightBits ? String(r.weightBits) : '-',
    String(r.activationBits),
    int(r.weightBytes),
    int(r.macs),
    ...(measured
      ? [r.instructions === undefined ? '-' : int(r.instructions), r.instructions && r.macs ? (r.macs / r.instructions).toFixed(3) : '-', r.instructions === undefined || total === 0 ? '-' : pct(r.instructions / total)]
      : []),
  ]);
  const sums = ['', 'total', '', '', '', '', int(s.rows.reduce((a, r) => a + r.weightBytes, 0)), int(s.rows.reduce((a, r) => a + r.macs, 0)), ...(measured ? [int(total), '', '100.00%'] : [])];
  const note = measured
    ? `<p>Instructions: mean per inference of each layer, counted under QEMU on ${escapeHtml(s.board ?? 'the target')} with the per-layer counting build (<code>tinym2 verify --profile-layers</code>).` +
      (s.inferenceInstructions ? ` A whole inference over the same rows counts ${int(s.inferenceInstructions)} instructions in the build without per-layer markers (which also counts the copies in and out of the arena and the calls between layers).` : '') +
      '</p>'
    : '<p>No per-layer instruction counts yet: run <code>tinym2 verify OUT_DIR --data test.npz --profile-layers</code>, then make the report again.</p>';
  return table(head, rows, 4, sums) + note;
}

function memoryTable(d: ReportData): string {
  const m = d.memory!;
  const rows = [
    ['arena (static, one buffer)', int(m.arenaBytes)],
    ['lower bound (most bytes live at one step)', int(m.lowerBound)],
    ['every buffer on its own (no sharing)', int(m.unsharedBytes)],
  ];
  if (m.flash) rows.push(['flash: code', int(m.flash.code)], ['flash: weights', int(m.flash.weights)], ['flash: tables and parameters', int(m.flash.tables)]);
  const note = m.flash ? '' : '<p>The flash split (code / weights / tables) comes from the firmware image: run <code>tinym2 verify</code>, then make the report again.</p>';
  return table(['', 'bytes'], rows, 1) + note;
}

function planTable(d: ReportData): string {
  const p = d.plan!;
  const rows = p.layers.map((l) => [l.name, l.op, sci(l.traceMean), `${((100 * l.traceStdErr) / Math.max(Math.abs(l.traceMean), 1e-300)).toFixed(0)}%`, sci(l.omega4), sci(l.omega8), `${l.weightBits}/${l.activationBits}`, int(l.bytes)]);
  let html = table(['layer', 'op', 'trace', '±', 'Ω@4', 'Ω@8', 'W/A bits', 'bytes'], rows, 2);
  const hidden = p.layers.filter((l) => !(l.traceMean > 0)).map((l) => l.name);
  if (hidden.length) {
    html += `<p>The plots use log scales: ${escapeHtml(hidden.join(', '))} (trace estimate not above zero, within its error bar) ${hidden.length > 1 ? 'are' : 'is'} in the table only.</p>`;
  }
  if (p.curve?.length) {
    const outputs = Object.keys(p.curve[0]!.accuracy);
    const counted = p.curve.every((c) => c.instructions !== undefined);
    html += table(
      ['plan', 'weight bytes', 'BOPS', ...(counted ? [`instructions (${p.board ?? 'QEMU'})`] : []), ...outputs.map((o) => `top-1 ${o}`)],
      p.curve.map((c) => [c.kind, int(c.weightBytes), int(c.bops), ...(counted ? [int(c.instructions!)] : []), ...outputs.map((o) => pct(c.accuracy[o]))]),
      1,
    );
    if (!counted) html += '<p>Instructions per plan are counted under QEMU when the Arm toolchain and qemu-system-arm are installed.</p>';
  } else {
    html += '<p>No accuracy curve: it is measured by <code>tinym2 plan ... --test test.npz --report FILE</code>.</p>';
  }
  return html;
}

function accuracyTable(d: ReportData): string {
  const a = d.accuracy!;
  return table(
    ['output', 'rows', 'float', 'emulator', `target (${a.board})`, 'agreement with float', 'bit-exact rows'],
    a.outputs.map((o) => [o.output, String(o.rows), pct(o.float), pct(o.emulator), pct(o.target), pct(o.agreementWithFloat), `${o.bitExactRows}/${o.rows}`]),
    1,
  );
}

function dynafuseTable(d: ReportData): string {
  const f = d.dynafuse!;
  return table(
    ['branch', 'instructions', 'compute µJ', 'sensing µJ'],
    f.energy.map((e) => [e.branch, int(e.instructions), e.computeUj.toFixed(2), e.sensingUj.toFixed(2)]),
    1,
  );
}

const SECTIONS: Array<{ id: SectionId; title: string; present: (d: ReportData) => boolean; table: (d: ReportData) => string }> = [
  { id: 'layers', title: 'Layers', present: (d) => Boolean(d.layers), table: layerTable },
  { id: 'memory', title: 'Memory', present: (d) => Boolean(d.memory), table: memoryTable },
  { id: 'plan', title: 'Precision plan', present: (d) => Boolean(d.plan), table: planTable },
  { id: 'accuracy', title: 'Accuracy', present: (d) => Boolean(d.accuracy), table: accuracyTable },
  { id: 'dynafuse', title: 'DynaFuse', present: (d) => Boolean(d.dynafuse), table: dynafuseTable },
];

const CSS = `
body { font-family: sans-serif; margin: 24px auto; max-width: 1000px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; border-bottom: 1px solid #ccc; padding-bottom: 4px; margin-top: 32px; }
p.prov { color: #555; margin: 2px 0; font-size: 13px; }
nav a { margin-right: 12px; }
table { border-collapse: collapse; font-size: 12px; margin: 12px 0; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 3px 8px; text-align: left; }
th.n, td.n { text-align: right; font-variant-numeric: tabular-nums; }
tfoot td { font-weight: 600; border-top: 1px solid #999; }
figure { margin: 16px 0; } figure svg { max-width: 100%; height: auto; }
code { background: #f3f3f3; padding: 0 3px; }
`;

/** The whole page for the data: charts rendered to SVG now, tables, and a note on each missing part. */
export async function reportHtml(d: ReportData): Promise<{ html: string; charts: Chart[] }> {
  const charts = chartsFor(d);
  const svgs = new Map<string, string>();
  for (const c of charts) svgs.set(c.id, await renderSvg(c));
  const present = SECTIONS.filter((s) => s.present(d));
  const parts: string[] = [];
  parts.push(`<h1>tinym2 report: ${escapeHtml(d.model)}</h1>`);
  for (const line of [d.source ? `model ${d.source}` : '', d.precision ? `precision: ${d.precision}` : '', ...d.provenance].filter(Boolean)) {
    parts.push(`<p class="prov">${escapeHtml(line)}</p>`);
  }
  parts.push(`<nav>${present.map((s) => `<a href="#${s.id}">${escapeHtml(s.title)}</a>`).join('')}</nav>`);
  for (const s of present) {
    parts.push(`<section id="${s.id}"><h2>${escapeHtml(s.title)}</h2>`);
    parts.push(s.table(d));
    for (const c of charts.filter((c) => c.section === s.id)) {
      parts.push(`<figure id="chart-${c.id}" data-chart="${c.id}" data-marks="${c.marks.join(' ')}">${svgs.get(c.id)}</figure>`);
    }
    parts.push('</section>');
  }
  const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>tinym2 report: ${escapeHtml(d.model)}</title><style>${CSS}</style></head>
<body>
${parts.join('\n')}
<p class="prov">Made by tinym2; plots by Vega-Lite and Vega, rendered to SVG when the report was written.</p>
</body></html>
`;
  return { html, charts };
}
