// A signed-in user changes their own password at /profile/password.
// User: the owner; a fresh password is set through the operator CLI first (another spec may
// have changed it), then it changes here.

import { expect, test } from '@playwright/test';
import { waitForEmail } from '../support/mail';
import { setPassword } from '../support/users';
import {
  demo,
  expectSignInRefused,
  fillNewPassword,
  signInToMeetings,
  signOut,
} from '../support/portal';

test('a signed-in user changes their password and signs in with the new one', async ({ page, request }) => {
  const newPassword = 'Marble-Canyon-Thistle-86';
  const current = setPassword(demo.owner.email);

  await signInToMeetings(page, demo.owner.email, current);
  await expect(page.getByRole('rowheader', { name: 'Quarterly planning' })).toBeVisible();

  await page.getByRole('link', { name: 'Change password' }).click();
  await expect(page).toHaveURL(/\/profile\/password$/);
  await expect(page.getByRole('heading', { name: 'Change password', level: 1 })).toBeVisible();

  // A wrong current password is refused on its field, and nothing is signed out.
  await page.getByLabel('Current password', { exact: true }).fill('Not-The-Right-One-000');
  await fillNewPassword(page, newPassword);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  const currentField = page.getByLabel('Current password', { exact: true });
  await expect(currentField).toHaveAccessibleDescription(/current password is (not correct|incorrect)/);
  await expect(page).toHaveURL(/\/profile\/password$/);

  const saved = Date.now();
  await currentField.fill(current);
  await fillNewPassword(page, newPassword);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Your password has been changed.' })).toBeVisible();
  await waitForEmail(request, demo.owner.email, /^Your password has been changed$/, saved);

  await signOut(page);
  await expectSignInRefused(page, demo.owner.email, current);
  await signInToMeetings(page, demo.owner.email, newPassword);
  await expect(page.getByRole('rowheader', { name: 'Quarterly planning' })).toBeVisible();
});
