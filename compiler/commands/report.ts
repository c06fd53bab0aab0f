// `tinym2 report OUT_DIR [-o report.html]`: one self-contained HTML page about a compiled model:
// per-layer table and charts, the arena plan, the precision plan, accuracy; the charts are drawn by
// Vega-Lite at report time (compiler/report/). What verify measured comes from OUT_DIR/verify.json.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TinyM2Error } from '../errors.ts';
import { reportFromOutDir } from '../report/outdir.ts';
import { writeReport } from '../report/write.ts';

export const summary = 'write a self-contained HTML report (per-layer figures, memory, precision plan, accuracy) of a compiled model';

const HELP = `usage: tinym2 report OUT_DIR [-o report.html] [--json]

Writes one HTML file that opens offline (no scripts, fonts or images from anywhere) about the model
'tinym2 compile' wrote into OUT_DIR:
  - layers: op, output shape, weight / activation bits, weight bytes, MACs; instructions per layer,
    MACs per instruction and share of the total when 'tinym2 verify --profile-layers' ran;
  - memory: every arena buffer's byte range while it is live, arena vs lower bound, and the flash
    split (code, weights, tables) when verify ran;
  - precision plan: sensitivity per layer, Omega at 4 and 8 bits, the bits chosen (when compile used
    a plan from 'tinym2 plan'), and the accuracy curve over budgets ('tinym2 plan --test ... --report');
  - accuracy: float vs emulator vs target per output, agreement with float, confusion matrix (verify).

  -o, --out FILE   where to write it (default OUT_DIR/report.html)
  --json           machine-readable output

Exit codes: 2 bad input.`;

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { out: { type: 'string', short: 'o' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    throw new TinyM2Error(`${(e as Error).message}\n\n${HELP}`);
  }
  if (parsed.values.help) {
    console.log(HELP);
    return 0;
  }
  if (parsed.positionals.length !== 1) throw new TinyM2Error(`expected exactly one output directory (from 'tinym2 compile')\n\n${HELP}`);
  const outDir = parsed.positionals[0]!;
  const file = parsed.values.out ?? path.join(outDir, 'report.html');
  const json = Boolean(parsed.values.json);
  const progress = !json && process.stderr.isTTY;
  if (progress) process.stderr.write(`rebuilding the model of ${outDir}\r`);
  const data = reportFromOutDir(outDir, [`tinym2 report ${outDir}`]);
  if (progress) process.stderr.write('\x1b[Krendering the charts\r');
  const written = await writeReport(file, data);
  if (progress) process.stderr.write('\x1b[K');
  if (json) console.log(JSON.stringify({ ok: true, out: outDir, report: file, bytes: written.bytes, sections: written.sections, charts: written.charts, notes: data.provenance }, null, 2));
  else {
    console.log(`wrote ${file} (${written.bytes} bytes): ${written.sections.join(', ')}; ${written.charts.length} charts`);
    for (const n of data.provenance.slice(1)) console.log(`note: ${n}`);
  }
  return 0;
}
