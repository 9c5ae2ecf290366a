// Accessibility checks shared by the specs: axe-core against WCAG 2.0/2.1 A and AA and WCAG 2.2
// AA, in the light and the dark color scheme, failing with a readable list of what is wrong.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { expect, type Page } from '@playwright/test';

export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/** axe-core itself, the copy @axe-core/playwright would inject. */
const axeSource = readFileSync(
  require.resolve('axe-core/axe.min.js', { paths: [path.dirname(require.resolve('@axe-core/playwright'))] }),
  'utf8',
);

/**
 * Puts axe into the page once per document. AxeBuilder otherwise evaluates its half-megabyte
 * source twice per analysis, which is most of the time an analysis takes; given `axeSource` it
 * evaluates that instead, so it is handed an empty statement once axe is there.
 */
async function ensureAxe(page: Page) {
  const present = await page.evaluate(() => typeof (window as { axe?: { run?: unknown } }).axe?.run === 'function');
  if (!present) await page.evaluate(axeSource);
}

export type Scheme = 'light' | 'dark';
export const SCHEMES: readonly Scheme[] = ['light', 'dark'];

/** One line per failing element: rule, impact, what to fix, where, and axe's summary. */
function describe(violations: Awaited<ReturnType<AxeBuilder['analyze']>>['violations']): string[] {
  return violations.flatMap((v) =>
    v.nodes.map((n) => {
      const summary = (n.failureSummary ?? '').replace(/\s+/g, ' ').trim();
      return `${v.id} (${v.impact}): ${v.help}\n      at ${n.target.join(' ')}: ${n.html}\n      ${summary}\n      ${v.helpUrl}`;
    }),
  );
}

/**
 * Runs axe on the page as it is now, once per color scheme, and fails on any violation. `where`
 * names the page and state in the failure message ("sv /forgot_password step 2, wrong code").
 */
export async function expectNoAxeViolations(page: Page, where: string, schemes: readonly Scheme[] = SCHEMES) {
  const found: string[] = [];
  for (const scheme of schemes) {
    await page.emulateMedia({ colorScheme: scheme });
    await ensureAxe(page);
    const results = await new AxeBuilder({ page, axeSource: ';' })
      .withTags(WCAG_TAGS)
      // Only violations are reported; passes and incomplete results are not collected.
      .options({ resultTypes: ['violations'] })
      // axe.run in the page itself. The default opens a blank page per analysis to merge frame
      // results, which costs a second each time; the SPA has no frames to merge.
      .setLegacyMode(true)
      .analyze();
    found.push(...describe(results.violations).map((line) => `[${scheme}] ${line}`));
  }
  // Leave the page as the browser's default for whatever the test does next.
  await page.emulateMedia({ colorScheme: 'light' });
  expect(found.length, `axe found ${found.length} violation(s) on ${where}:\n  ${found.join('\n  ')}\n`).toBe(0);
}

/** The page does not scroll sideways: nothing is wider than the viewport (WCAG 1.4.10 Reflow). */
export async function expectNoHorizontalScroll(page: Page, where: string) {
  const { scroll, viewport, widest } = await page.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    let widest = '';
    for (const el of Array.from(document.querySelectorAll<HTMLElement>('body *'))) {
      const r = el.getBoundingClientRect();
      if (r.right > vw + 0.5 && !widest) {
        widest = `${el.tagName.toLowerCase()}${el.className ? `.${String(el.className).split(' ').join('.')}` : ''} (right edge ${Math.round(r.right)} px)`;
      }
    }
    return { scroll: document.documentElement.scrollWidth, viewport: window.innerWidth, widest };
  });
  expect(scroll, `${where} scrolls sideways at ${viewport} px; first element past the edge: ${widest}`).toBeLessThanOrEqual(viewport);
}
