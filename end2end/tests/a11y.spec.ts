// Accessibility, in English and Swedish: axe (WCAG 2.0/2.1 A and AA, WCAG 2.2 AA) finds nothing
// on any page or any reset step, in the light and the dark color scheme; the whole reset works
// with the keyboard alone; focus lands on the new heading at each step and the live region says
// what happened; errors are tied to their fields; and nothing scrolls sideways at 320 px.
//
// Users: its own, made with the operator command line (support/users.ts), so no other spec's
// password changes can reach it, plus the owner, whose password it first sets to a fresh one
// through the same command line (the settings page is the owner's alone).

import { expect, test, type Locator, type Page } from '@playwright/test';
import { expectNoAxeViolations, expectNoHorizontalScroll } from '../support/a11y';
import { codeEmail, codeFor, h1, liveRegion, signInIn, startResetIn, waitForResendReady } from '../support/flow';
import { codeFrom, linkFrom, waitForEmail } from '../support/mail';
import { demo } from '../support/portal';
import { ensureUser, setPassword } from '../support/users';
import { LANGS, withLang, words, type Lang } from '../support/words';

const chosen = 'Velvet-Harbor-Quill-93';

/** The owner, signed in with a password just set, whatever another spec did to theirs. */
async function signInAsOwner(page: Page, lang: Lang, next = '/meetings') {
  const password = setPassword(demo.owner.email);
  await signInIn(page, lang, demo.owner.email, password, next);
}

/** The field's error: `aria-invalid`, and `aria-describedby` naming the element that shows it. */
async function expectFieldError(page: Page, field: Locator, text: string | RegExp) {
  await expect(field).toHaveAttribute('aria-invalid', 'true');
  await expect(field).toHaveAccessibleDescription(text);
  const ids = (await field.getAttribute('aria-describedby'))?.split(/\s+/) ?? [];
  expect(ids.length, 'aria-describedby names the error').toBeGreaterThan(0);
  const described = await Promise.all(ids.map((id) => page.locator(`[id="${id}"]`).innerText()));
  expect(described.some((t) => (typeof text === 'string' ? t.includes(text) : text.test(t)))).toBe(true);
}

async function expectNoFieldError(field: Locator) {
  await expect(field).not.toHaveAttribute('aria-invalid', 'true');
}

for (const lang of LANGS) {
  const w = words[lang];

  test.describe(`${lang}`, () => {
    test(`public pages have no axe violations (${lang})`, async ({ page }) => {
      await page.goto(withLang('/signin', lang));
      await expect(h1(page, w.signInHeading)).toBeVisible();
      await expect(page.locator('html')).toHaveAttribute('lang', lang);
      await expectNoAxeViolations(page, `${lang} /signin`);

      // Both fields empty: each says so on itself.
      await page.getByRole('button', { name: w.signInButton, exact: true }).click();
      await expect(page.getByLabel(w.email, { exact: true })).toHaveAttribute('aria-invalid', 'true');
      await expectNoAxeViolations(page, `${lang} /signin with field errors`);

      await page.goto(withLang('/forgot_password', lang));
      await expect(h1(page, w.forgotHeading)).toBeVisible();
      await expectNoAxeViolations(page, `${lang} /forgot_password step 1`);

      await page.getByLabel(w.identifier, { exact: true }).fill('nobody-at-all@example.com');
      await page.getByRole('button', { name: w.next, exact: true }).click();
      await expect(page.getByLabel(w.identifier, { exact: true })).toHaveAccessibleDescription(w.accountNotFound);
      await expectNoAxeViolations(page, `${lang} /forgot_password step 1, unknown account`);

      // Google's account: a notice with a link instead of a code.
      await page.getByLabel(w.identifier, { exact: true }).fill(demo.greta.email);
      await page.getByRole('button', { name: w.next, exact: true }).click();
      await expect(page.getByRole('status').filter({ hasText: 'Google' })).toBeVisible();
      await expectNoAxeViolations(page, `${lang} /forgot_password step 1, Google account`);

      await page.goto(withLang('/reset?token=bm90LWEtcmVhbC10b2tlbg', lang));
      await expect(h1(page, w.linkExpired)).toBeVisible();
      await expectNoAxeViolations(page, `${lang} /reset, expired link`);

      await page.goto(withLang('/no/such/page', lang));
      await expect(h1(page, w.notFound)).toBeVisible();
      await expectNoAxeViolations(page, `${lang} 404 page`);
    });

    test(`every reset step has no axe violations, errors sit on their fields, focus and announcements follow (${lang})`, async ({ page, request }) => {
      const user = ensureUser(`a11y-reset-${lang}@example.com`, `Alva Reset ${lang.toUpperCase()}`);
      const masked = 'a•••@example.com';

      await page.goto(withLang('/forgot_password', lang));
      await expect(h1(page, w.forgotHeading)).toBeFocused();
      const identifier = page.getByLabel(w.identifier, { exact: true });

      // Step 1's inline errors: empty, then not an address, each tied to the field.
      await page.getByRole('button', { name: w.next, exact: true }).click();
      await expectFieldError(page, identifier, w.enterIdentifier);
      await expect(identifier).toBeFocused();
      await expectNoAxeViolations(page, `${lang} step 1, empty`);
      await identifier.fill('not an address');
      await expectNoFieldError(identifier);
      await page.getByRole('button', { name: w.next, exact: true }).click();
      await expectFieldError(page, identifier, w.invalidIdentifier);

      const since = Date.now();
      await identifier.fill(user.email);
      await page.getByRole('button', { name: w.next, exact: true }).click();
      await expect(h1(page, w.verifyHeading)).toBeFocused();
      await expect(liveRegion(page)).toHaveText(w.announceCodeSent(masked));
      await expect(page.locator('.stepper [aria-current="step"]')).toContainText(lang === 'en' ? 'Verify' : 'Verifiera');
      await expectNoAxeViolations(page, `${lang} step 2`);
      await waitForResendReady(page, lang);
      await expectNoAxeViolations(page, `${lang} step 2, resend ready`);

      const mail = await codeEmail(request, lang, user.email, since);
      const code = codeFrom(mail);
      const wrong = code === '000000' ? '111111' : '000000';
      const codeField = page.getByLabel(w.code, { exact: true });
      await codeField.fill(wrong);
      await page.getByRole('button', { name: w.next, exact: true }).click();
      await expectFieldError(page, codeField, w.wrongCode);
      await expect(codeField).toBeFocused();
      await expectNoAxeViolations(page, `${lang} step 2, wrong code`);

      // Typing clears the error; the right code moves on.
      await codeField.fill(code);
      await expectNoFieldError(codeField);
      await page.getByRole('button', { name: w.next, exact: true }).click();
      await expect(h1(page, w.chooseHeading)).toBeFocused();
      await expect(liveRegion(page)).toHaveText(w.announceCodeAccepted);
      await expectNoAxeViolations(page, `${lang} step 3`);

      // A confirmation that does not match is refused on the confirmation field.
      const newField = page.getByLabel(w.newPassword, { exact: true });
      const confirmField = page.getByLabel(w.confirmPassword, { exact: true });
      await newField.fill(chosen);
      await confirmField.fill(`${chosen}x`);
      await page.getByRole('button', { name: w.save, exact: true }).click();
      await expectFieldError(page, confirmField, w.mismatch);
      await expectNoAxeViolations(page, `${lang} step 3, passwords differ (strength meter shown)`);

      await confirmField.fill(chosen);
      await page.getByRole('button', { name: w.save, exact: true }).click();
      await expect(h1(page, w.doneHeading)).toBeFocused();
      await expectNoAxeViolations(page, `${lang} step 4`);

      await page.getByRole('link', { name: w.goToMeetings }).click();
      await expect(h1(page, w.meetingsHeading)).toBeFocused();

      // The link in the email went with the code: used, so expired.
      await page.goto(linkFrom(mail));
      await expect(h1(page, w.linkExpired)).toBeFocused();
      await expectNoAxeViolations(page, `${lang} /reset, used link`);
    });

    test(`signed-in and administration pages have no axe violations (${lang})`, async ({ page, request }) => {
      const member = ensureUser(`a11y-member-${lang}@example.com`, `Mira Member ${lang.toUpperCase()}`);
      await signInAsOwner(page, lang);
      await expect(h1(page, w.meetingsHeading)).toBeFocused();
      await expect(page.getByRole('rowheader', { name: 'Quarterly planning' })).toBeVisible();
      await expectNoAxeViolations(page, `${lang} /meetings`);

      await page.getByRole('button', { name: w.accountMenu }).click();
      await expect(page.locator('#user-menu-panel')).toBeVisible();
      await expectNoAxeViolations(page, `${lang} /meetings, account menu open`);
      await page.keyboard.press('Escape');

      await page.getByRole('link', { name: w.changePassword, exact: true }).click();
      await expect(h1(page, w.changePassword)).toBeFocused();
      await expectNoAxeViolations(page, `${lang} /profile/password`);

      await page.getByRole('link', { name: w.userManagement }).click();
      await expect(h1(page, w.userManagement)).toBeFocused();
      await page.getByLabel(w.searchUsers).fill(member.email);
      const row = page.getByRole('row', { name: new RegExp(member.name) });
      await expect(row).toBeVisible();
      await expect(page.getByRole('row')).toHaveCount(2);
      await expectNoAxeViolations(page, `${lang} /admin/users`);

      await row.getByRole('button', { name: w.changePasswordFor(member.name) }).click();
      const dialog = page.getByRole('dialog', { name: w.changePasswordFor(member.name) });
      await expect(dialog).toBeVisible();
      await expect(dialog.getByLabel(w.newPassword, { exact: true })).toBeFocused();
      await expectNoAxeViolations(page, `${lang} /admin/users, Change password dialog`);
      await dialog.getByRole('button', { name: w.save, exact: true }).click();
      await expect(dialog.getByLabel(w.newPassword, { exact: true })).toHaveAttribute('aria-invalid', 'true');
      await expectNoAxeViolations(page, `${lang} /admin/users, Change password dialog with errors`);
      await page.keyboard.press('Escape');
      await expect(dialog).toBeHidden();

      // "Send password reset": the member's emailed link (the email has no code: no browser holds
      // that flow) opens the link page's password step. The email speaks the member's stored
      // language, not the administrator's page's.
      const sent = Date.now();
      await row.getByRole('button', { name: w.sendResetFor(member.name) }).click();
      const adminReset = new RegExp(
        `${words.en.adminResetSubject.source}|${words.sv.adminResetSubject.source}`,
      );
      const mail = await waitForEmail(request, member.email, adminReset, sent);
      expect(mail.text).not.toMatch(/(?:^|\s)\d{6}(?:\s|$)/);
      await expect(page.locator('.toast')).toBeVisible();
      await expectNoAxeViolations(page, `${lang} /admin/users, toast`);

      for (const [link, heading, where] of [
        [w.roles, w.roles, '/admin/roles'],
        [w.audit, w.audit, '/admin/audit'],
        [w.settings, w.settings, '/admin/settings'],
      ] as const) {
        await page.getByRole('navigation').getByRole('link', { name: link, exact: true }).click();
        await expect(h1(page, heading)).toBeFocused();
        await expect(page.locator('.loading')).toHaveCount(0);
        await expectNoAxeViolations(page, `${lang} ${where}`);
      }

      await page.goto(linkFrom(mail));
      await expect(h1(page, w.chooseHeading)).toBeFocused();
      await expect(page.getByText(/a•••@example\.com|m•••@example\.com/)).toBeVisible();
      await expectNoAxeViolations(page, `${lang} /reset, choose a new password`);
    });

    test(`the forced password change has no axe violations (${lang})`, async ({ page }) => {
      const user = ensureUser(`a11y-forced-${lang}@example.com`, `Frida Forced ${lang.toUpperCase()}`);
      const password = setPassword(user.email, undefined, { requireChange: true });
      await page.goto(withLang('/signin', lang));
      await page.getByLabel(w.email, { exact: true }).fill(user.email);
      await page.getByLabel(w.password, { exact: true }).fill(password);
      await page.getByRole('button', { name: w.signInButton, exact: true }).click();
      await expect(page).toHaveURL(/\/choose_password$/);
      await expect(h1(page, w.chooseHeading)).toBeFocused();
      await expectNoAxeViolations(page, `${lang} /choose_password`);
    });
  });
}

test('the whole email reset works with the keyboard alone', async ({ page, request }) => {
  const user = ensureUser('keyboard@example.com', 'Kim Keyboard');
  const w = words.en;
  const password = 'Tabby-Enter-Lantern-77';

  /**
   * Presses Tab (or Shift+Tab, `back`) until `target` has focus, at most `max` times, as a keyboard
   * user would.
   */
  async function tabTo(target: Locator, { back = false, max = 12 } = {}) {
    for (let i = 0; i < max; i++) {
      if (await target.evaluate((el) => el === document.activeElement)) return;
      await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    }
    await expect(target, `reached with at most ${max} presses of ${back ? 'Shift+Tab' : 'Tab'}`).toBeFocused();
  }

  await page.goto('/signin');
  await expect(h1(page, w.signInHeading)).toBeFocused();
  await tabTo(page.getByRole('link', { name: w.forgotLink }));
  await page.keyboard.press('Enter');
  await expect(h1(page, w.forgotHeading)).toBeFocused();

  await tabTo(page.getByLabel(w.identifier, { exact: true }));
  const since = Date.now();
  await page.keyboard.type(user.email);
  await page.keyboard.press('Enter');
  await expect(h1(page, w.verifyHeading)).toBeFocused();
  await expect(liveRegion(page)).toHaveText(w.announceCodeSent('k•••@example.com'));

  const code = await codeFor(request, 'en', user.email, since);
  await tabTo(page.getByLabel(w.code, { exact: true }));
  await page.keyboard.type(code);
  await page.keyboard.press('Enter');
  await expect(h1(page, w.chooseHeading)).toBeFocused();
  await expect(liveRegion(page)).toHaveText(w.announceCodeAccepted);

  await tabTo(page.getByLabel(w.newPassword, { exact: true }));
  await page.keyboard.type(password);
  // "Show password" comes between the two fields; Space on it shows what was typed.
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: 'Show password' }).first()).toBeFocused();
  await page.keyboard.press('Space');
  await expect(page.getByLabel(w.newPassword, { exact: true })).toHaveAttribute('type', 'text');
  await tabTo(page.getByLabel(w.confirmPassword, { exact: true }));
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
  await expect(h1(page, w.doneHeading)).toBeFocused();

  await tabTo(page.getByRole('link', { name: w.goToMeetings }));
  await page.keyboard.press('Enter');
  await expect(h1(page, w.meetingsHeading)).toBeFocused();

  // And out and back in, still without the mouse: the account menu sits before the heading.
  await tabTo(page.getByRole('button', { name: w.accountMenu }), { back: true });
  await page.keyboard.press('Enter');
  await tabTo(page.getByRole('button', { name: w.signOut }));
  await page.keyboard.press('Enter');
  await expect(h1(page, w.signInHeading)).toBeFocused();
  await tabTo(page.getByLabel(w.email, { exact: true }));
  await page.keyboard.type(user.email);
  await tabTo(page.getByLabel(w.password, { exact: true }));
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
  await expect(h1(page, w.meetingsHeading)).toBeFocused();
});

test('"Use a different email" goes back to step 1 with focus on its heading', async ({ page, request }) => {
  const user = ensureUser('a11y-back@example.com', 'Bo Back');
  const since = Date.now();
  await startResetIn(page, 'en', user.email);
  await codeFor(request, 'en', user.email, since);
  await page.getByRole('button', { name: words.en.useDifferent }).click();
  await expect(h1(page, words.en.forgotHeading)).toBeFocused();
  await expect(page.getByLabel(words.en.identifier, { exact: true })).toHaveValue('');
});

test.describe('at 320 px wide', () => {
  test.use({ viewport: { width: 320, height: 640 } });

  test('no page scrolls sideways, in Swedish and English', async ({ page, request }) => {
    const user = ensureUser('narrow@example.com', 'Nora Narrow');
    async function check(where: string) {
      await expectNoHorizontalScroll(page, where);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320);
    }

    for (const lang of LANGS) {
      const w = words[lang];
      await page.goto(withLang('/signin', lang));
      await expect(h1(page, w.signInHeading)).toBeVisible();
      await check(`${lang} /signin`);
      await page.goto(withLang('/forgot_password', lang));
      await expect(h1(page, w.forgotHeading)).toBeVisible();
      await page.getByRole('button', { name: w.next, exact: true }).click();
      await expect(page.getByLabel(w.identifier, { exact: true })).toHaveAttribute('aria-invalid', 'true');
      await check(`${lang} /forgot_password step 1 with an error`);
      await page.goto(withLang('/reset', lang));
      await expect(h1(page, w.linkExpired)).toBeVisible();
      await check(`${lang} /reset expired`);
      await page.goto(withLang('/nowhere', lang));
      await expect(h1(page, w.notFound)).toBeVisible();
      await check(`${lang} 404`);
    }

    // The reset, in Swedish (the longer words).
    const sv = words.sv;
    const since = Date.now();
    await startResetIn(page, 'sv', user.email);
    await waitForResendReady(page, 'sv');
    await check('sv step 2');
    await page.getByLabel(sv.code, { exact: true }).fill(await codeFor(request, 'sv', user.email, since));
    await page.getByRole('button', { name: sv.next, exact: true }).click();
    await expect(h1(page, sv.chooseHeading)).toBeVisible();
    await page.getByLabel(sv.newPassword, { exact: true }).fill(chosen);
    await page.getByLabel(sv.confirmPassword, { exact: true }).fill(chosen);
    await expect(page.locator('.strength')).toBeVisible();
    await check('sv step 3');
    await page.getByRole('button', { name: sv.save, exact: true }).click();
    await expect(h1(page, sv.doneHeading)).toBeVisible();
    await check('sv step 4');

    // The signed-in pages, in Swedish: its words are the longer ones.
    await signInAsOwner(page, 'sv');
    for (const [path, heading] of [
      ['/meetings', sv.meetingsHeading],
      ['/profile/password', sv.changePassword],
      ['/admin/users', sv.userManagement],
      ['/admin/roles', sv.roles],
      ['/admin/audit', sv.audit],
      ['/admin/settings', sv.settings],
    ] as const) {
      await page.goto(path);
      await expect(h1(page, heading)).toBeVisible();
      await expect(page.locator('.loading')).toHaveCount(0);
      await check(`sv ${path}`);
    }
    await page.getByRole('button', { name: sv.accountMenu }).click();
    await expect(page.locator('#user-menu-panel')).toBeVisible();
    await check('sv account menu open');
  });
});
