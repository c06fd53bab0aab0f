// JUnit XML for CI systems (GitLab, Jenkins, GitHub test reporters): `tinym2 verify --junit report.xml`
// writes one test suite per model x board with one test case per check.

export interface JUnitCase {
  name: string;
  classname: string;
  seconds?: number;
  /** Present when the check failed. */
  failure?: { message: string; details?: string };
  /** Extra lines shown by CI next to the case (figures, measurements). */
  output?: string;
}

export interface JUnitSuite {
  name: string;
  cases: JUnitCase[];
  properties?: Record<string, string | number>;
  seconds?: number;
}

export function toJUnitXml(suites: JUnitSuite[], name = 'tinym2'): string {
  const count = (pred: (c: JUnitCase) => boolean): number => suites.reduce((n, s) => n + s.cases.filter(pred).length, 0);
  const total = suites.reduce((t, s) => t + (s.seconds ?? 0), 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${esc(name)}" tests="${count(() => true)}" failures="${count((c) => !!c.failure)}" time="${total.toFixed(3)}">`,
  ];
  for (const s of suites) {
    const failures = s.cases.filter((c) => c.failure).length;
    lines.push(`  <testsuite name="${esc(s.name)}" tests="${s.cases.length}" failures="${failures}" errors="0" time="${(s.seconds ?? 0).toFixed(3)}">`);
    if (s.properties && Object.keys(s.properties).length > 0) {
      lines.push('    <properties>');
      for (const [k, v] of Object.entries(s.properties)) lines.push(`      <property name="${esc(k)}" value="${esc(String(v))}"/>`);
      lines.push('    </properties>');
    }
    for (const c of s.cases) {
      const open = `    <testcase classname="${esc(c.classname)}" name="${esc(c.name)}" time="${(c.seconds ?? 0).toFixed(3)}"`;
      if (!c.failure && !c.output) {
        lines.push(`${open}/>`);
        continue;
      }
      lines.push(`${open}>`);
      if (c.failure) lines.push(`      <failure message="${esc(c.failure.message)}">${esc(c.failure.details ?? c.failure.message)}</failure>`);
      if (c.output) lines.push(`      <system-out>${esc(c.output)}</system-out>`);
      lines.push('    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

function esc(s: string): string {
  // XML 1.0 forbids most control characters even when escaped.
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
