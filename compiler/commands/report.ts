// `tinym2 report OUT_DIR [-o report.html]`: one self-contained HTML page about a compiled model:
// per-layer table and charts, the arena plan, the precision plan, accuracy; the charts are drawn by
// Vega-Lite at report time (compiler/report/). What verify measured comes from OUT_DIR/verify.json.
import path from 'node:path';
import type { ReportJson } from '../cli/json-output.ts';
import type { Args } from '../cli/options.ts';
import { progress } from '../progress.ts';
import { reportFromOutDir } from '../report/outdir.ts';
import { writeReport } from '../report/write.ts';

export async function execute(o: Args<'report'>): Promise<number> {
  const outDir = o.positional;
  const file = o.out ?? path.join(outDir, 'report.html');
  const steps = progress({ quiet: o.quiet });
  steps.stage(`report: rebuilding the model of ${outDir}`, 0);
  const data = reportFromOutDir(outDir, [`tinym2 report ${outDir}`]);
  steps.end();
  steps.stage('report: rendering the charts', 0);
  const written = await writeReport(file, data);
  steps.end();
  if (o.json) {
    console.log(JSON.stringify({ ok: true, out: outDir, report: file, bytes: written.bytes, sections: written.sections, charts: written.charts, notes: data.provenance.slice(1) } satisfies ReportJson, null, 2));
  } else {
    console.log(`wrote ${file} (${written.bytes} bytes): ${written.sections.join(', ')}; ${written.charts.length} charts`);
    for (const n of data.provenance.slice(1)) console.log(`note: ${n}`);
  }
  return 0;
}
