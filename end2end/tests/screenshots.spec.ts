// The README's screenshots: each step of the email reset (Identify, Verify, New password, Done)
// on a desktop (1280x800) and a phone (390x844), in English and Swedish, written to
// docs/screenshots/<lang>-<device>-<step>.png at the repository root on every run. They are
// committed, so each is the viewport only (no full page), without animations, caret or hover, with
// the resend countdown finished, and kept under 150 KB.
//
// Users: its own (support/users.ts), one per language, so the masked address on "Verify" is
// always the same and no other spec's password changes reach it.

import { statSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { codeFor, h1, startResetIn, waitForResendReady } from '../support/flow';
import { ensureUser } from '../support/users';
import { LANGS, words } from '../support/words';

const outDir = path.resolve(__dirname, '..', '..', 'docs', 'screenshots');
const MAX_BYTES = 150 * 1024;

const devices = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;

type Step = 'identify' | 'verify' | 'new-password' | 'done';

/** Both devices' screenshots of the page as it is now. */
async function shoot(page: Page, lang: string, step: Step) {
  mkdirSync(outDir, { recursive: true });
  for (const [device, size] of Object.entries(devices)) {
    await page.setViewportSize(size);
    // No hover styles from where the last click happened.
    await page.mouse.move(0, 0);
    const file = path.join(outDir, `${lang}-${device}-${step}.png`);
    await page.screenshot({ path: file, animations: 'disabled', caret: 'hide', fullPage: false, scale: 'css' });
    const bytes = statSync(file).size;
    expect(bytes, `${path.basename(file)} is ${bytes} bytes`).toBeLessThan(MAX_BYTES);
  }
  await page.setViewportSize(devices.desktop);
}

for (const lang of LANGS) {
  test(`screenshots of every reset step (${lang})`, async ({ page, request }) => {
    const w = words[lang];
    // "s•••@example.com" on the Verify step, in both languages.
    const user = ensureUser(`screenshots-${lang}@example.com`, `Sam Screenshot ${lang.toUpperCase()}`);
    const password = 'Orchid-Pelican-Summit-61';
    await page.setViewportSize(devices.desktop);
    await page.emulateMedia({ colorScheme: 'light', reducedMotion: 'reduce' });

    await page.goto(`/forgot_password?lang=${lang}`);
    await expect(h1(page, w.forgotHeading)).toBeVisible();
    await shoot(page, lang, 'identify');

    const since = Date.now();
    await startResetIn(page, lang, user.email);
    await expect(page.getByText(w.codeSentTo('s•••@example.com'))).toBeVisible();
    await waitForResendReady(page, lang);
    await shoot(page, lang, 'verify');

    await page.getByLabel(w.code, { exact: true }).fill(await codeFor(request, lang, user.email, since));
    await page.getByRole('button', { name: w.next, exact: true }).click();
    await expect(h1(page, w.chooseHeading)).toBeVisible();
    await expect(page.getByRole('button', { name: w.save, exact: true })).toBeVisible();
    // The checklist of password rules, which appears once the account's policy is known.
    await expect(page.locator('.checklist li').first()).toBeVisible();
    await shoot(page, lang, 'new-password');

    await page.getByLabel(w.newPassword, { exact: true }).fill(password);
    await page.getByLabel(w.confirmPassword, { exact: true }).fill(password);
    await page.getByRole('button', { name: w.save, exact: true }).click();
    await expect(h1(page, w.doneHeading)).toBeVisible();
    await expect(page.getByRole('link', { name: w.goToMeetings })).toBeVisible();
    await shoot(page, lang, 'done');
  });
}
