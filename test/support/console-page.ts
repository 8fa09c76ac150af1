/**
 * What the console's end-to-end tests do to a page: sign in fresh, check layout fits, run axe-core, match names
 * literally.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { ensureConsoleBuilt, launchChromium, screenshot, type LaunchedBrowser } from './console-browser.js';
import { PASSWORD } from './console-seed.js';
import { ctx } from './context.js';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core evaluated in the page (not as a <script>: the console's CSP allows only its own scripts). */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const axe = (
      window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: AxeViolation[] }> } }
    ).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export function describeViolations(screen: string, violations: AxeViolation[]): string {
  return violations
    .map((v) => `${screen}: [${v.impact}] ${v.id} — ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
    .join('\n');
}

/** A pattern matching `text` literally, anywhere in an accessible name. */
export const literal = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

/** Nothing wider than its box: the page, every card and every scrollable table region (scroll vs client width). */
export async function assertFits(page: Page, where: string): Promise<void> {
  const overflowing = await page.evaluate(() => {
    const out: string[] = [];
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth + 1) out.push(`page ${root.scrollWidth} > ${root.clientWidth}`);
    for (const el of document.querySelectorAll<HTMLElement>('.card, .table-wrap')) {
      if (el.scrollWidth > el.clientWidth + 1) {
        const label = el.getAttribute('aria-label') ?? el.querySelector('h2')?.textContent ?? el.className;
        out.push(`${label}: ${el.scrollWidth} > ${el.clientWidth}`);
      }
    }
    return out;
  });
  assert.deepEqual(overflowing, [], `overflow in ${where}`);
}

/**
 * The console fresh: Korean (the default), signed out, whatever an earlier test left in this profile. Storage is
 * cleared on a page of the same origin that runs no console script: cleared under a loaded console, the app's own
 * effect could write the remembered language back before the reload.
 */
export async function openConsole(page: Page, base: string): Promise<void> {
  await page.goto(new URL('/healthz', base).href);
  await page.evaluate(() => {
    localStorage.clear();
    sessionStorage.clear();
  });
  await page.goto(base);
}

export async function signIn(page: Page, base: string, email: string): Promise<void> {
  await openConsole(page, base);
  await page.getByLabel('이메일').fill(email);
  await page.getByLabel('비밀번호').fill(PASSWORD);
  await page.getByRole('button', { name: '로그인', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: '접수 대기열' }).waitFor();
}

export interface ConsoleSession {
  /** The console's address on this suite's server. */
  readonly base: string;
  /** A fresh page for the running test. */
  readonly page: Page;
  /** axe-core on the page as it is now; what it finds fails the test when it ends. */
  scan(screen: string): Promise<void>;
}

/**
 * The hooks every console suite needs, registered in the calling describe(): the app on an ephemeral port, one
 * Chromium, a fresh page per test; after each test no script error in the page and nothing `scan` found. A failed
 * test leaves a screenshot named after it.
 */
export function consoleInBrowser(options: {
  artifactPrefix: string;
  viewport?: { width: number; height: number };
  timeoutMs?: number;
}): ConsoleSession {
  let server: http.Server | undefined;
  let chromium: LaunchedBrowser | undefined;
  let base = '';
  let page: Page | undefined;
  const pageErrors: string[] = [];
  const violations: string[] = [];
  const session: ConsoleSession = {
    get base() {
      return base;
    },
    get page() {
      if (!page) throw new Error('no page outside a test');
      return page;
    },
    async scan(screen) {
      const found = await axeViolations(session.page);
      if (found.length) violations.push(describeViolations(screen, found));
    },
  };

  before(async function () {
    this.timeout(180_000);
    ensureConsoleBuilt();
    server = http.createServer(ctx().app);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/console/`;
    chromium = await launchChromium(options.viewport);
  });

  beforeEach(async () => {
    page = await chromium!.context.newPage();
    page.setDefaultTimeout(options.timeoutMs ?? 15_000);
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      // A refused request shows up as a console error too; only script errors matter here.
      if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) pageErrors.push(msg.text());
    });
  });

  afterEach(async function () {
    const test = this.currentTest;
    if (page && test?.state === 'failed') {
      const name = `${options.artifactPrefix}${test.title.slice(0, 40).replace(/\W+/g, '-')}`;
      await screenshot(page, name).catch(() => undefined);
    }
    await page?.close();
    page = undefined;
    assert.deepEqual(pageErrors.splice(0), [], 'no script errors in the page');
    assert.equal(violations.splice(0).join('\n'), '', 'no serious or critical axe violations');
  });

  after(async () => {
    await chromium?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  return session;
}
