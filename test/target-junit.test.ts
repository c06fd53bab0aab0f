// The JUnit report is well-formed XML (checked with Python's parser) with the right counts and escaping.
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { toJUnitXml } from '../compiler/target/junit.ts';

it('writes suites, cases, failures and properties that a JUnit consumer can parse', () => {
  const xml = toJUnitXml([
    {
      name: 'kws on mps2-an386',
      seconds: 1.5,
      properties: { board: 'mps2-an386', instructions: 123 },
      cases: [
        { classname: 'kws.mps2-an386', name: 'row 0 bit-exact', seconds: 0.01 },
        { classname: 'kws.mps2-an386', name: 'row 1 bit-exact', failure: { message: 'logits differ at 2 of 12 <values> & "more"', details: 'got [1,2]\nwant [1,3]' } },
        { classname: 'kws.mps2-an386', name: 'accuracy', output: 'top-1 0.9\u0001' },
      ],
    },
  ]);
  const summary = execFileSync('/usr/bin/python3', ['-c', `
import sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.read())
s = root.find('testsuite')
cases = s.findall('testcase')
print(root.get('tests'), root.get('failures'), s.get('name'), len(cases), cases[1].find('failure').get('message'), s.find('properties')[1].get('value'), cases[2].find('system-out').text)
`], { input: xml }).toString().trim();
  expect(summary).toBe('3 1 kws on mps2-an386 3 logits differ at 2 of 12 <values> & "more" 123 top-1 0.9');
});
