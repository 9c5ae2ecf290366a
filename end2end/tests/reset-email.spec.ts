// Self-service reset by email: the code typed in, the emailed link after a resend, and the two
// answers that are not a code (no such account; an account that signs in with Google).
// Users: Maja (by code) and Mats (by link); their passwords change here.

import { expect, test } from '@playwright/test';
import { codeFrom, linkFrom, waitForEmail } from '../support/mail';
import {
  CODE_SUBJECT,
  DEMO_PASSWORD,
  demo,
  enterCode,
  expectMeetings,
  expectSignInRefused,
  saveNewPassword,
  signInToMeetings,
  signOut,
  startReset,
} from '../support/portal';

test('a user resets a forgotten password with the code from the email', async ({ page, request }) => {
  const newPassword = 'Copper-Harbor-Violet-73';
  const since = Date.now();

  await startReset(page, demo.maja.email);
  await expect(page.getByRole('heading', { name: 'Enter the verification code', level: 1 })).toBeVisible();
  await expect(page.getByText('We sent a code to m•••@example.com')).toBeVisible();

  const mail = await waitForEmail(request, demo.maja.email, CODE_SUBJECT, since);
  expect(mail.from).toBe('no-reply@example.com');
  await enterCode(page, codeFrom(mail));

  const saved = Date.now();
  await saveNewPassword(page, newPassword);
  await expect(page.getByText('You are signed in with your new password.')).toBeVisible();
  await page.getByRole('link', { name: 'Go to My Meetings' }).click();
  await expectMeetings(page, 'Design review');

  // The confirmation that tells the owner of the address what happened.
  await waitForEmail(request, demo.maja.email, /^Your password has been reset$/, saved);

  await signOut(page);
  await expectSignInRefused(page, demo.maja.email, DEMO_PASSWORD);
  await signInToMeetings(page, demo.maja.email, newPassword);
  await expect(page.getByRole('rowheader', { name: 'Design review' })).toBeVisible();
});

test('a resent code replaces the first, and its emailed link resets the password', async ({ page, request }) => {
  const newPassword = 'Granite-Orchard-Comet-58';
  const since = Date.now();

  await startReset(page, demo.mats.email);
  await expect(page.getByText('We sent a code to m•••@example.com')).toBeVisible();
  const first = await waitForEmail(request, demo.mats.email, CODE_SUBJECT, since);

  // The button counts down ("Resend code (0:02)") and unlocks when the server's cooldown ends.
  const resend = page.getByRole('button', { name: 'Resend code', exact: true });
  await expect(resend).toBeVisible({ timeout: 15_000 });
  await expect(resend).not.toHaveAttribute('aria-disabled', 'true');
  const resent = Date.now();
  await resend.click();
  const newest = await waitForEmail(request, demo.mats.email, CODE_SUBJECT, resent, {
    notIds: [first.messageId],
  });
  expect(linkFrom(newest)).not.toBe(linkFrom(first));
  // The countdown starts again, longer.
  await expect(page.getByRole('button', { name: /^Resend code \(\d+:\d{2}\)$/ })).toBeVisible();

  // A new code kills the old one: the first email's link no longer works.
  await page.goto(linkFrom(first));
  await expect(page.getByRole('heading', { name: 'This link has expired', level: 1 })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Send a new code' })).toBeVisible();

  await page.goto(linkFrom(newest));
  await expect(page.getByRole('heading', { name: 'Choose a new password', level: 1 })).toBeVisible();
  await expect(page.getByText('For the account at m•••@example.com.')).toBeVisible();
  // The token leaves the address bar (history, bookmarks, screenshots).
  await expect(page).toHaveURL(/\/reset$/);

  await saveNewPassword(page, newPassword);
  // The link was opened in the browser that asked for the code, so it is signed in.
  await page.getByRole('link', { name: 'Go to My Meetings' }).click();
  await expectMeetings(page, 'Customer call');

  // Used once: the link is dead now.
  await page.goto(linkFrom(newest));
  await expect(page.getByRole('heading', { name: 'This link has expired', level: 1 })).toBeVisible();

  await page.goto('/meetings');
  await signOut(page);
  await expectSignInRefused(page, demo.mats.email, DEMO_PASSWORD);
  await signInToMeetings(page, demo.mats.email, newPassword);
});

test('an address with no account is told that the account does not exist', async ({ page }) => {
  await startReset(page, 'nobody-here@example.com');
  const field = page.getByLabel('Email or phone number');
  await expect(page.getByText(/does not exist/)).toBeVisible();
  await expect(field).toHaveAttribute('aria-invalid', 'true');
  await expect(field).toHaveAccessibleDescription(/does not exist/);
  await expect(page.getByRole('heading', { name: 'Forgot password', level: 1 })).toBeVisible();
});

test('an account that signs in with Google is sent to Google to recover it', async ({ page }) => {
  await startReset(page, demo.greta.email);
  const notice = page.getByRole('status').filter({ hasText: 'Google' });
  await expect(notice).toContainText('signs in with Google');
  const link = notice.getByRole('link', { name: /Google/ });
  await expect(link).toBeVisible();
  await expect(link).toHaveAttribute('href', /^https:\/\/accounts\.google\.com\//);
  await expect(page.getByRole('heading', { name: 'Forgot password', level: 1 })).toBeVisible();
});
