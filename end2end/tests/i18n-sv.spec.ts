// The portal in Swedish (`?lang=sv`): the whole email reset with the Swedish words, the code read
// from the Swedish email it sends, then My Meetings and User Management; the answer for an unknown
// address; a used link; and <html lang="sv"> throughout. The words are app/src/i18n/sv.rs's.
//
// User: helpdesk@example.com (custom role "Helpdesk" with users:view), whose password no other
// spec needs; the reset sets a new one before anything signs in with it.

import { expect, test, type Page } from '@playwright/test';
import { codeFrom, linkFrom, waitForEmail } from '../support/mail';
import { demo } from '../support/portal';

const newPassword = 'Lingon-Fjäll-Kompass-58';

function h1(page: Page, name: string) {
  return page.getByRole('heading', { name, level: 1 });
}

test('the whole email reset in Swedish, from "Glömt lösenord" to "Mina möten"', async ({ page, request }) => {
  const since = Date.now();

  await page.goto('/forgot_password?lang=sv');
  await expect(page.locator('html')).toHaveAttribute('lang', 'sv');
  await expect(h1(page, 'Glömt lösenord')).toBeVisible();
  // Each page and step titles the tab in the page's language.
  await expect(page).toHaveTitle('Glömt lösenord – Mötesportalen');
  await expect(page.getByRole('list', { name: 'Förlopp' })).toContainText('Identifiera');
  await page.getByLabel('E-postadress eller telefonnummer').fill(demo.helpdesk.email);
  await page.getByRole('button', { name: 'Nästa', exact: true }).click();

  await expect(h1(page, 'Ange verifieringskoden')).toBeVisible();
  await expect(page).toHaveTitle('Ange verifieringskoden – Mötesportalen');
  await expect(page.getByText('Vi skickade en kod till h•••@example.com')).toBeVisible();
  // The resend button counts down ("Skicka koden igen (0:02)") and then unlocks.
  await expect(page.getByRole('button', { name: 'Skicka koden igen', exact: true })).toBeVisible({ timeout: 15_000 });

  // The page's language travels with the request: the email is in Swedish too.
  const mail = await waitForEmail(request, demo.helpdesk.email, /^Din kod för lösenordsåterställning: \d{6}$/, since);
  expect(mail.text).toContain('verifieringskod');
  await page.getByLabel('Verifieringskod', { exact: true }).fill(codeFrom(mail));
  await page.getByRole('button', { name: 'Nästa', exact: true }).click();

  await expect(h1(page, 'Välj ett nytt lösenord')).toBeVisible();
  await expect(page.getByText('Ditt lösenord måste:')).toBeVisible();
  await page.getByLabel('Nytt lösenord', { exact: true }).fill(newPassword);
  await page.getByLabel('Bekräfta nytt lösenord', { exact: true }).fill(newPassword);
  await page.getByRole('button', { name: 'Spara', exact: true }).click();

  await expect(h1(page, 'Ditt lösenord har återställts')).toBeVisible();
  await expect(page.getByText('Du är inloggad med ditt nya lösenord.')).toBeVisible();
  await page.getByRole('link', { name: 'Gå till Mina möten' }).click();
  await expect(h1(page, 'Mina möten')).toBeVisible();
  await expect(page).toHaveURL(/\/meetings$/);
  await expect(page.locator('html')).toHaveAttribute('lang', 'sv');

  // The Helpdesk role may see users: "Användarhantering".
  await page.getByRole('link', { name: 'Användarhantering' }).click();
  await expect(h1(page, 'Användarhantering')).toBeVisible();
  await expect(page.getByLabel('Sök användare')).toBeVisible();
  await expect(page.getByRole('columnheader', { name: /Namn/ })).toBeVisible();

  // The email's link went with the code that was used: it is dead now.
  await page.goto(linkFrom(mail));
  await expect(h1(page, 'Länken har upphört att gälla')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Skicka en ny kod' })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'sv');

  // Signed out and in again, in Swedish, with the new password.
  await page.goto('/meetings');
  await page.getByRole('button', { name: /^Kontomeny/ }).click();
  await page.getByRole('button', { name: 'Logga ut' }).click();
  await expect(h1(page, 'Logga in')).toBeVisible();
  await page.getByLabel('E-post', { exact: true }).fill(demo.helpdesk.email);
  await page.getByLabel('Lösenord', { exact: true }).fill(newPassword);
  await page.getByRole('button', { name: 'Logga in', exact: true }).click();
  await expect(h1(page, 'Mina möten')).toBeVisible();
});

test('an unknown address is told "Kontot finns inte" on its field', async ({ page }) => {
  await page.goto('/forgot_password?lang=sv');
  await expect(h1(page, 'Glömt lösenord')).toBeVisible();
  const field = page.getByLabel('E-postadress eller telefonnummer');
  await field.fill('ingen-alls@example.com');
  await page.getByRole('button', { name: 'Nästa', exact: true }).click();
  await expect(page.getByText('Kontot finns inte.', { exact: true })).toBeVisible();
  await expect(field).toHaveAttribute('aria-invalid', 'true');
  await expect(field).toHaveAccessibleDescription('Kontot finns inte.');
  await expect(field).toBeFocused();
  await expect(h1(page, 'Glömt lösenord')).toBeVisible();
});

test('an old or unknown reset link says "Länken har upphört att gälla"', async ({ page }) => {
  await page.goto('/reset?token=bm90LWEtcmVhbC10b2tlbg&lang=sv');
  await expect(page.locator('html')).toHaveAttribute('lang', 'sv');
  await expect(h1(page, 'Länken har upphört att gälla')).toBeVisible();
  await expect(page.getByText(/gäller en begränsad tid och bara en gång/)).toBeVisible();
  // The token has left the address bar.
  await expect(page).toHaveURL(/\/reset$/);
  await page.getByRole('link', { name: 'Skicka en ny kod' }).click();
  await expect(h1(page, 'Glömt lösenord')).toBeVisible();
});

test('the choice of Swedish is remembered, and "In English" switches back', async ({ page }) => {
  await page.goto('/signin?lang=sv');
  await expect(h1(page, 'Logga in')).toBeVisible();
  await page.goto('/forgot_password');
  await expect(h1(page, 'Glömt lösenord')).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'sv');
  await page.getByRole('link', { name: 'In English' }).click();
  await expect(page.getByRole('heading', { name: 'Forgot password', level: 1 })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
});
