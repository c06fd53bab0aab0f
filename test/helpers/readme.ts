// README snippets that tests run, so what a user copies is what was tested.
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './models.ts';

/** The first ```lang block of the README section titled `## section`. */
export function readmeSnippet(section: string, lang: string): string {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`## ${section}\n`);
  if (start < 0) throw new Error(`README has no section '${section}'`);
  const end = readme.indexOf('\n## ', start + 1);
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(readme.slice(start, end < 0 ? undefined : end));
  if (!m) throw new Error(`README section '${section}' has no ${lang} block`);
  return m[1]!;
}
