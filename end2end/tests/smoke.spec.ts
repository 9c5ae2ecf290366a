// The SPA loads from the server, deep links work, and moving between the public pages is
// client-side routing (no new document), both ways and with the back button.

import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { demo, signInToMeetings } from '../support/portal';
import { setPassword } from '../support/users';

/** Leaves a mark on `window` that a full page load would wipe. */
async function markDocument(page: Page) {
  await page.evaluate(() => {
    (window as unknown as { __e2eDocument: string }).__e2eDocument = 'first load';
  });
}

async function sameDocument(page: Page) {
  return page.evaluate(() => (window as unknown as { __e2eDocument?: string }).__e2eDocument);
}

test('the forgot-password page asks for an email or phone number', async ({ page }) => {
  await page.goto('/forgot_password');
  await expect(page.getByRole('heading', { name: 'Forgot password', level: 1 })).toBeVisible();
  await expect(page.getByLabel('Email or phone number')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Next', exact: true })).toBeVisible();
  await expect(page).toHaveTitle(/\S/);
});

test('forgot password and sign in link to each other without reloading the page', async ({ page }) => {
  await page.goto('/forgot_password');
  await expect(page.getByRole('heading', { name: 'Forgot password', level: 1 })).toBeVisible();
  await markDocument(page);

  await page.getByRole('link', { name: 'Back to sign in' }).click();
  await expect(page).toHaveURL(/\/signin$/);
  await expect(page.getByRole('heading', { name: 'Sign in', level: 1 })).toBeVisible();
  await expect(page.getByLabel('Email', { exact: true })).toBeVisible();
  await expect(page.getByLabel('Password', { exact: true })).toBeVisible();
  expect(await sameDocument(page), 'the link was followed by the router, not a reload').toBe('first load');

  await page.getByRole('link', { name: 'Forgot password?' }).click();
  await expect(page).toHaveURL(/\/forgot_password$/);
  await expect(page.getByRole('heading', { name: 'Forgot password', level: 1 })).toBeVisible();
  expect(await sameDocument(page)).toBe('first load');

  await page.goBack();
  await expect(page).toHaveURL(/\/signin$/);
  await expect(page.getByRole('heading', { name: 'Sign in', level: 1 })).toBeVisible();
  expect(await sameDocument(page), 'back stays in the app').toBe('first load');
});

test('a signed-out visitor who opens My Meetings is sent to sign in', async ({ page }) => {
  await page.goto('/meetings');
  await expect(page.getByRole('heading', { name: 'Sign in', level: 1 })).toBeVisible();
  await expect(page).toHaveURL(/\/signin\?next=%2Fmeetings$/);
});

for (const [path, heading] of [
  ['/signin', 'Sign in'],
  ['/forgot_password', 'Forgot password'],
] as const) {
  test(`${path} has no WCAG 2.1 A/AA violations axe can find`, async ({ page }) => {
    await page.goto(path);
    await expect(page.getByRole('heading', { name: heading, level: 1 })).toBeVisible();
    const results = await new AxeBuilder({ page })
      .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
      .analyze();
    const summary = results.violations.map(
      (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
    );
    expect(summary).toEqual([]);
  });
}

test('the reset page downloads only its own code; other pages load theirs when first opened', async ({ page }) => {
  const wasm: string[] = [];
  page.on('requestfinished', (r) => {
    const file = new URL(r.url()).pathname.split('/').pop() ?? '';
    if (file.endsWith('.wasm')) wasm.push(file);
  });
  await page.goto('/forgot_password');
  await expect(page.getByLabel('Email or phone number')).toBeEditable();
  await page.waitForLoadState('networkidle');
  expect(wasm, 'a first visit fetches the main module only').toEqual(['app_bg.wasm']);

  await signInToMeetings(page, demo.owner.email, setPassword(demo.owner.email));
  expect(wasm.filter((f) => f.startsWith('split_meetings_'))).toHaveLength(1);
  expect(wasm.filter((f) => f.startsWith('split_admin_'))).toEqual([]);

  await page.getByRole('link', { name: 'User Management' }).click();
  await expect(page).toHaveURL(/\/admin\/users$/);
  await expect(page.getByRole('heading', { name: 'User Management', level: 1 })).toBeFocused();
  await expect(page.getByRole('row', { name: new RegExp(demo.maja.name) })).toBeVisible();
  expect(wasm.filter((f) => f.startsWith('split_admin_users_'))).toHaveLength(1);
});

test('a page whose code cannot be fetched says so and loads when tried again', async ({ page }) => {
  await signInToMeetings(page, demo.owner.email, setPassword(demo.owner.email));
  // The phone lost its connection just as User Management was opened.
  await page.route('**/split_admin_users_*', (route) => route.abort('internetdisconnected'));
  await page.getByRole('link', { name: 'User Management' }).click();
  await expect(page.getByRole('alert')).toHaveText(
    'This page could not be loaded. Check your connection and try again.',
  );
  await page.unroute('**/split_admin_users_*');
  await page.getByRole('button', { name: 'Try again' }).click();
  await expect(page.getByRole('heading', { name: 'User Management', level: 1 })).toBeFocused();
  await expect(page.getByRole('row', { name: new RegExp(demo.maja.name) })).toBeVisible();
  // The rest of the app kept working throughout: nothing panicked.
  await page.getByRole('link', { name: 'My Meetings' }).click();
  await expect(page.getByRole('heading', { name: 'My Meetings', level: 1 })).toBeVisible();
});
