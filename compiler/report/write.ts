// Writes a report file whole or not at all (a temporary file renamed into place).
import fs from 'node:fs';
import path from 'node:path';
import { TinyM2Error } from '../errors.ts';
import type { ReportData } from './data.ts';
import { reportHtml } from './html.ts';

export interface WrittenReport {
  file: string;
  bytes: number;
  charts: string[];
  sections: string[];
}

export async function writeReport(file: string, data: ReportData): Promise<WrittenReport> {
  const { html, charts } = await reportHtml(data);
  const target = path.resolve(file);
  if (!fs.existsSync(path.dirname(target))) throw new TinyM2Error(`cannot write the report ${file}: directory ${path.dirname(file)} does not exist`);
  const tmp = `${target}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(tmp, html);
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new TinyM2Error(`cannot write the report ${file}: ${(e as Error).message}`);
  }
  const sections = (['layers', 'memory', 'plan', 'accuracy', 'dynafuse'] as const).filter((s) => data[s] !== undefined);
  return { file, bytes: Buffer.byteLength(html), charts: charts.map((c) => c.id), sections };
}
