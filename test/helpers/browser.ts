// Opens an HTML report in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// and reports what a reader would see: console errors, any request that left the file, every
// figure's rendered marks, and a screenshot. Flags as the workplace runs Chromium as root, offline.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);

export interface FigureCheck {
  id: string;
  /** Expected mark types (data-marks) and how many items each drew. */
  marks: Record<string, number>;
  width: number;
  height: number;
}

export interface OpenedReport {
  consoleErrors: string[];
  /** Requests to anything but the report file itself (there must be none: the page is self-contained). */
  requests: string[];
  figures: FigureCheck[];
  sections: string[];
  screenshot: Buffer;
}

/** Headless Chromium with a fresh profile, offline flags, and the given viewport; close() also removes the profile. */
export async function launchChromium(viewport = { width: 1000, height: 900 }, deviceScaleFactor = 1): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'tm2-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    deviceScaleFactor,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function openReport(file: string, screenshotFile?: string): Promise<OpenedReport> {
  const { context, close } = await launchChromium();
  try {
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    const requests: string[] = [];
    const url = pathToFileURL(file).href;
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    page.on('request', (r) => {
      if (r.url() !== url) requests.push(r.url());
    });
    await page.goto(url, { waitUntil: 'load' });
    const figures = await page.$$eval('figure[data-chart]', (els) =>
      els.map((el) => {
        const svg = el.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        const marks: Record<string, number> = {};
        for (const m of (el.getAttribute('data-marks') ?? '').split(' ').filter(Boolean)) {
          // Vega draws each mark of the spec as <g class="mark-TYPE role-mark"> with one element per item.
          marks[m] = [...el.querySelectorAll(`svg g.mark-${m}.role-mark`)].reduce((n, g) => n + g.children.length, 0);
        }
        return { id: el.getAttribute('data-chart') ?? '', marks, width: box?.width ?? 0, height: box?.height ?? 0 };
      }),
    );
    const sections = await page.$$eval('section[id]', (els) => els.map((e) => e.id));
    const screenshot = await page.screenshot({ fullPage: true, ...(screenshotFile ? { path: screenshotFile } : {}) });
    return { consoleErrors, requests, figures, sections, screenshot };
  } finally {
    await close();
  }
}
