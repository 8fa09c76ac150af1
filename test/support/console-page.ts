/**
 * What the console's end-to-end tests do to a page: sign in fresh, check layout fits, run axe-core, match names
 * literally.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { PASSWORD } from './console-seed.js';

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
