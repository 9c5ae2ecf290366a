// User Management: the owner sets a member's password, the member must replace it at the next
// sign-in; an admin cannot touch the owner; a member cannot see or call User Management.
//
// Users: the owner (whose password account.spec.ts may have changed, so a fresh one is set through
// the operator CLI first), the admin (signs in only) and Mats (whose password changes
// here). The tests below run in order because the member test signs in with the password Mats
// chose in the first.

import { expect, test, type Page } from '@playwright/test';
import { waitForEmail } from '../support/mail';
import { setPassword } from '../support/users';
import {
  DEMO_PASSWORD,
  demo,
  expectMeetings,
  fillNewPassword,
  signIn,
  signInToMeetings,
  signOut,
} from '../support/portal';

test.describe.configure({ mode: 'serial' });

const adminSetPassword = 'Walnut-Ferry-Lagoon-31';
const matsOwnPassword = 'Cobalt-Meadowlark-Tide-47';

async function openUserManagement(page: Page) {
  await page.getByRole('link', { name: 'User Management' }).click();
  await expect(page).toHaveURL(/\/admin\/users$/);
  await expect(page.getByRole('heading', { name: 'User Management', level: 1 })).toBeVisible();
}

async function findUser(page: Page, search: string, name: string) {
  await page.getByLabel('Search users').fill(search);
  const row = page.getByRole('row', { name: new RegExp(name) });
  await expect(row).toBeVisible();
  // The debounced search has narrowed the table to the one user.
  await expect(page.getByRole('row')).toHaveCount(2);
  return row;
}

test('the owner sets a member password and the member must choose a new one at sign-in', async ({ page, request }) => {
  const ownerPassword = setPassword(demo.owner.email);
  await signInToMeetings(page, demo.owner.email, ownerPassword);
  await openUserManagement(page);
  const row = await findUser(page, 'Mats', demo.mats.name);

  await row.getByRole('button', { name: /^Change password/ }).click();
  const dialog = page.getByRole('dialog', { name: `Change password for ${demo.mats.name}` });
  await expect(dialog).toBeVisible();
  const requireChange = dialog.getByRole('checkbox', { name: 'Require a new password at next sign-in' });
  await expect(requireChange).toBeChecked();
  await fillNewPassword(dialog, adminSetPassword);
  const saved = Date.now();
  await dialog.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText(`Password changed for ${demo.mats.name}`)).toBeVisible();
  await waitForEmail(request, demo.mats.email, /^Your password was changed by an administrator$/, saved);

  await signOut(page);
  await signIn(page, demo.mats.email, adminSetPassword);
  await expect(page).toHaveURL(/\/choose_password$/);
  await expect(page.getByRole('heading', { name: 'Choose a new password', level: 1 })).toBeVisible();
  // Nothing else is reachable until then.
  await expect(page.getByRole('link', { name: 'My Meetings' })).toHaveCount(0);

  await fillNewPassword(page, matsOwnPassword);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expectMeetings(page, 'Customer call');

  await signOut(page);
  await signIn(page, demo.mats.email, adminSetPassword);
  await expect(page.getByRole('alert')).toContainText('The email or password is incorrect.');
});

test('an admin cannot change the owner password, in the page or through the API', async ({ page }) => {
  await signInToMeetings(page, demo.admin.email, DEMO_PASSWORD);
  await openUserManagement(page);
  const row = await findUser(page, 'Olivia', demo.owner.name);
  await expect(row.getByRole('button', { name: /^Change password/ })).toBeDisabled();

  // The page only hides; the server decides. Same session, straight to the API.
  const list = await page.request.get('/api/admin/users', { params: { q: demo.owner.email } });
  expect(list.status()).toBe(200);
  const { users } = (await list.json()) as { users: { id: number; email: string; can_change_password: boolean }[] };
  const owner = users.find((u) => u.email === demo.owner.email);
  expect(owner, 'the owner is listed').toBeTruthy();
  expect(owner!.can_change_password).toBe(false);

  const attempt = await page.request.post(`/api/admin/users/${owner!.id}/password`, {
    headers: { Origin: new URL(page.url()).origin },
    data: { new_password: 'Quartz-Willow-Harvest-92', confirm_password: 'Quartz-Willow-Harvest-92', require_change: true },
  });
  expect(attempt.status()).toBe(403);
  expect((await attempt.json()).error).toBe('forbidden');
});

test('a member sees no User Management and the API refuses them', async ({ page }) => {
  await signInToMeetings(page, demo.mats.email, matsOwnPassword);
  await expect(page.getByRole('link', { name: 'My Meetings' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'User Management' })).toHaveCount(0);

  const list = await page.request.get('/api/admin/users');
  expect(list.status()).toBe(403);
});
