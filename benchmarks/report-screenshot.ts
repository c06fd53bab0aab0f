// Makes the README's picture of a report: av-digits compiled in mixed INT8/INT4 (the planner inside
// compile), verified on mps2-an386 under QEMU with the per-layer counting build, `tinym2 report`,
// and the top of the page shot in headless Chromium at half scale.
//   npx tsx benchmarks/report-screenshot.ts [--rows N] [--out docs/report-av-digits.png]
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../compiler/target/paths.ts';
import { launchChromium } from '../test/helpers/browser.ts';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '200' }, out: { type: 'string', default: 'docs/report-av-digits.png' } } });
// Paths relative to the repository (the commands run there): the page names them, and must not name this machine's folders.
const outDir = 'out/report-av-digits';
const example = 'examples/av-digits';
const html = join(REPO_ROOT, outDir, 'report.html');

function tinym2(...args: string[]): void {
  console.log(`$ tinym2 ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/tinym2.js'), ...args], { stdio: ['ignore', 'inherit', 'inherit'], cwd: REPO_ROOT });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

tinym2('compile', `${example}/model.onnx`, '--calib', `${example}/calib.npz`, '--precision', 'mixed', '-o', outDir, '--quiet');
tinym2('verify', outDir, '--data', `${example}/test.npz`, '--rows', values.rows!, '--profile-layers', '--quiet');
tinym2('report', outDir);

const png = resolve(REPO_ROOT, values.out!);
mkdirSync(dirname(png), { recursive: true });
const browser = await launchChromium({ width: 1000, height: 1500 }, 0.6);
try {
  const page = await browser.context.newPage();
  await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
  await page.screenshot({ path: png });
} finally {
  await browser.close();
}
console.log(`wrote ${png} (${statSync(png).size} bytes)`);
