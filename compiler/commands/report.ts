// `tinym2 report OUT_DIR [-o report.html]`: one self-contained HTML page about a compiled model:
// per-layer table and charts, the arena plan, the precision plan, accuracy; the charts are drawn by
// Vega-Lite at report time (compiler/report/). What verify measured comes from OUT_DIR/verify.json.
import path from 'node:path';
import type { Args } from '../cli/options.ts';
import { reportFromOutDir } from '../report/outdir.ts';
import { writeReport } from '../report/write.ts';

export async function execute(o: Args<'report'>): Promise<number> {
  const outDir = o.positional;
  const file = o.out ?? path.join(outDir, 'report.html');
  const progress = !o.json && !o.quiet && process.stderr.isTTY;
  if (progress) process.stderr.write(`rebuilding the model of ${outDir}\r`);
  const data = reportFromOutDir(outDir, [`tinym2 report ${outDir}`]);
  if (progress) process.stderr.write('\x1b[Krendering the charts\r');
  const written = await writeReport(file, data);
  if (progress) process.stderr.write('\x1b[K');
  if (o.json) {
    console.log(JSON.stringify({ ok: true, out: outDir, report: file, bytes: written.bytes, sections: written.sections, charts: written.charts, notes: data.provenance.slice(1) }, null, 2));
  } else {
    console.log(`wrote ${file} (${written.bytes} bytes): ${written.sections.join(', ')}; ${written.charts.length} charts`);
    for (const n of data.provenance.slice(1)) console.log(`note: ${n}`);
  }
  return 0;
}
