// The steps every spec shares, written the way a user sees the page: by role and label, with
// the English UI words exactly as app/src/i18n/en.rs has them.

import { expect, type Locator, type Page } from '@playwright/test';

/** The password `portal serve` gives every demo user (server/src/cli/demo.rs). */
export const DEMO_PASSWORD = 'Sunny-Meadow-Lantern-42';

/** The demo account. Each spec that changes a user's state uses its own user. */
export const demo = {
  owner: { email: 'owner@example.com', name: 'Olivia Owner' },
  admin: { email: 'admin@example.com', name: 'Adam Admin' },
  maja: { email: 'maja@example.com', name: 'Maja Member', phone: '+46701234567' },
  mats: { email: 'mats@example.com', name: 'Mats Member', phone: '+46709876543' },
  helpdesk: { email: 'helpdesk@example.com', name: 'Hanna Helpdesk' },
  greta: { email: 'greta@example.com', name: 'Greta Google' },
} as const;

/** The subject of the reset-code email. */
export const CODE_SUBJECT = /^Your password reset code: \d{6}$/;

/** Signs in at /signin and waits for the request to finish (successfully or not). */
export async function signIn(page: Page, email: string, password: string) {
  await page.goto('/signin');
  await expect(page.getByRole('heading', { name: 'Sign in', level: 1 })).toBeVisible();
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  const answer = page.waitForResponse(
    (r) => r.url().endsWith('/api/session') && r.request().method() === 'POST',
  );
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await answer;
}

/** Signs in and expects to land on "My Meetings". */
export async function signInToMeetings(page: Page, email: string, password: string) {
  await signIn(page, email, password);
  await expectMeetings(page);
}

/** Signs in and expects "The email or password is incorrect." */
export async function expectSignInRefused(page: Page, email: string, password: string) {
  await signIn(page, email, password);
  await expect(page.getByRole('alert')).toContainText('The email or password is incorrect.');
  await expect(page).toHaveURL(/\/signin(\?|$)/);
}

/** "My Meetings", optionally with a meeting topic in the table. */
export async function expectMeetings(page: Page, topic?: string) {
  await expect(page.getByRole('heading', { name: 'My Meetings', level: 1 })).toBeVisible();
  await expect(page).toHaveURL(/\/meetings$/);
  if (topic) await expect(page.getByRole('rowheader', { name: topic })).toBeVisible();
}

/** Opens the user menu and chooses "Sign out"; lands on the sign-in page. */
export async function signOut(page: Page) {
  await page.getByRole('button', { name: /^Account menu/ }).click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in', level: 1 })).toBeVisible();
  await expect(page).toHaveURL(/\/signin(\?|$)/);
}

/** Fills "New password" and "Confirm new password" (exact labels: the second contains the first). */
export async function fillNewPassword(scope: Page | Locator, password: string) {
  await scope.getByLabel('New password', { exact: true }).fill(password);
  await scope.getByLabel('Confirm new password', { exact: true }).fill(password);
}

/** Step 1 of /forgot_password: the identifier, then "Next", then step 2. */
export async function startReset(page: Page, identifier: string) {
  await page.goto('/forgot_password');
  await expect(page.getByRole('heading', { name: 'Forgot password', level: 1 })).toBeVisible();
  await page.getByLabel('Email or phone number').fill(identifier);
  await page.getByRole('button', { name: 'Next', exact: true }).click();
}

/** Step 2: types the delivered code and goes on to "Choose a new password". */
export async function enterCode(page: Page, code: string) {
  await expect(page.getByRole('heading', { name: 'Enter the verification code', level: 1 })).toBeVisible();
  await page.getByLabel('Verification code').fill(code);
  await page.getByRole('button', { name: 'Next', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Choose a new password', level: 1 })).toBeVisible();
}

/** Step 3 to 4: sets the password and expects "Your password has been reset". */
export async function saveNewPassword(page: Page, password: string) {
  await expect(page.getByRole('heading', { name: 'Choose a new password', level: 1 })).toBeVisible();
  await fillNewPassword(page, password);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Your password has been reset', level: 1 })).toBeVisible();
}
