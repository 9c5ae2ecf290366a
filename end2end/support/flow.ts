// The reset flow and sign-in in either language, for the specs that run the same steps in English
// and Swedish (accessibility, keyboard, 320 px, screenshots). Words from support/words.ts.

import { expect, type APIRequestContext, type Locator, type Page } from '@playwright/test';
import { codeFrom, waitForEmail, type CapturedEmail } from './mail';
import { withLang, words, type Lang } from './words';

/** The page's one `<h1>` with this name. */
export function h1(page: Page, name: string) {
  return page.getByRole('heading', { name, level: 1 });
}

/** The app's polite live region (components/live.rs), which says what just happened. */
export function liveRegion(page: Page): Locator {
  return page.locator('[role="status"][aria-live="polite"][aria-atomic="true"]');
}

/** Step 1 in `lang`: opens /forgot_password, types the identifier and presses "Next". */
export async function startResetIn(page: Page, lang: Lang, identifier: string) {
  const w = words[lang];
  await page.goto(withLang('/forgot_password', lang));
  await expect(h1(page, w.forgotHeading)).toBeVisible();
  await page.getByLabel(w.identifier, { exact: true }).fill(identifier);
  await page.getByRole('button', { name: w.next, exact: true }).click();
  await expect(h1(page, w.verifyHeading)).toBeVisible();
}

/** The newest reset-code email to `email` since `since`, in `lang`. */
export async function codeEmail(request: APIRequestContext, lang: Lang, email: string, since: number): Promise<CapturedEmail> {
  return waitForEmail(request, email, words[lang].codeSubject, since);
}

/** Step 2's code, read from the captured email. */
export async function codeFor(request: APIRequestContext, lang: Lang, email: string, since: number) {
  return codeFrom(await codeEmail(request, lang, email, since));
}

/** Waits until "Resend code" has counted down, so the page stops changing every second. */
export async function waitForResendReady(page: Page, lang: Lang) {
  await expect(page.getByRole('button', { name: words[lang].resend, exact: true })).toBeVisible({ timeout: 15_000 });
}

/** Signs in at /signin in `lang` and waits for the first page behind it. */
export async function signInIn(page: Page, lang: Lang, email: string, password: string, next = '/meetings') {
  const w = words[lang];
  await page.goto(withLang(`/signin?next=${encodeURIComponent(next)}`, lang));
  await expect(h1(page, w.signInHeading)).toBeVisible();
  await page.getByLabel(w.email, { exact: true }).fill(email);
  await page.getByLabel(w.password, { exact: true }).fill(password);
  await page.getByRole('button', { name: w.signInButton, exact: true }).click();
  await expect(page).not.toHaveURL(/\/signin/);
}
