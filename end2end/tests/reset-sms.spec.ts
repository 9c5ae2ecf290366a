// Self-service reset by text message: the code travels through the Twilio-compatible API (the
// fake checks the account SID and token) and is read from what it received.
// User: Maja, by phone. If the email spec ran first her password already changed; a reset does
// not need the old one.

import { expect, test } from '@playwright/test';
import { codeFromSms, waitForSms } from '../support/mail';
import {
  demo,
  enterCode,
  expectMeetings,
  expectSignInRefused,
  saveNewPassword,
  signInToMeetings,
  signOut,
  startReset,
  DEMO_PASSWORD,
} from '../support/portal';

test('a user resets a forgotten password with the code from a text message', async ({ page, request }) => {
  const newPassword = 'Juniper-Lighthouse-Ember-19';
  const since = Date.now();

  await startReset(page, '+46 70 123 45 67');
  await expect(page.getByRole('heading', { name: 'Enter the verification code', level: 1 })).toBeVisible();
  await expect(page.getByText('We sent a code to +46 •• ••• •• 67')).toBeVisible();
  await expect(page.getByText(/Check your text messages from \+46700000000/)).toBeVisible();

  const sms = await waitForSms(request, demo.maja.phone, since);
  expect(sms.to).toBe(demo.maja.phone);
  expect(sms.from).toBe('+46700000000');
  await enterCode(page, codeFromSms(sms));

  await saveNewPassword(page, newPassword);
  await page.getByRole('link', { name: 'Go to My Meetings' }).click();
  await expectMeetings(page, 'Design review');

  await signOut(page);
  await expectSignInRefused(page, demo.maja.email, DEMO_PASSWORD);
  await signInToMeetings(page, demo.maja.email, newPassword);
});

test('a wrong code is refused with the attempts left, and the right one still works', async ({ page, request }) => {
  // Maja again (this spec's user); a fresh browser means a fresh reset flow.
  const newPassword = 'Saffron-Glacier-Pebble-64';
  const since = Date.now();

  await startReset(page, '070-123 45 67');
  await expect(page.getByText('We sent a code to +46 •• ••• •• 67')).toBeVisible();
  const code = codeFromSms(await waitForSms(request, demo.maja.phone, since));
  const wrong = code === '000000' ? '111111' : '000000';

  await page.getByLabel('Verification code').fill(wrong);
  await page.getByRole('button', { name: 'Next', exact: true }).click();
  const field = page.getByLabel('Verification code');
  await expect(field).toHaveAttribute('aria-invalid', 'true');
  await expect(field).toHaveAccessibleDescription(/attempts? left/);

  await enterCode(page, code);
  await saveNewPassword(page, newPassword);
});
