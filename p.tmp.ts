import { readdirSync, readFileSync } from 'node:fs';
import { caseFromFile, runCase } from './test/fuzz/targets.ts';
const d = '/tmp/issue18-campaign/fuzz-out';
for (const f of readdirSync(d).filter((f) => !f.endsWith('.txt'))) {
  const o = runCase(caseFromFile(f, readFileSync(`${d}/${f}`)));
  console.log(f, o.kind, Math.round(o.ms), o.kind === 'crash' ? o.error.slice(0, 200) : '');
}
