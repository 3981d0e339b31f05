// A priest sets his weekly hours and blocks a day from the dashboard's
// Schedule section (issue 17): labelled fields, a mistake shown next to its
// day, a block added with the keyboard, listed (with the bookings inside
// it: none here) and removed again. Conflicting bookings over HTTP:
// tests/it/it_priest_schedule.c.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, expectText, uiLogin, screenshot } from '../lib/browser.js';
import { registerUser } from '../lib/api.js';
import { RUN, istDate } from '../lib/context.js';

let b;
before(async () => {
  b = await launch();
});
after(async () => {
  await b?.close();
});

test('a priest sets his hours and blocks a day from the dashboard', async () => {
  const username = `hari.dev.${RUN}`;
  await registerUser({ username, email: `hari.${RUN}@example.com`, role: 'priest', first_name: 'Hari', last_name: 'Dev' });
  const ctx = await b.newContext();
  const page = await ctx.newPage();
  await uiLogin(page, username);
  await page.getByRole('link', { name: 'Schedule' }).click();
  const hours = page.locator('#hours-form');
  await expectText(page.locator('#hours-status'), /every day 06:00–21:00/);

  // Off the half-hour grid: refused next to Monday, nothing sent.
  await hours.getByLabel('Monday').fill('09:15-13:00');
  await hours.getByRole('button', { name: 'Save working hours' }).click();
  await expectText(hours.locator('.field-error'), /half hour/);
  await hours.getByLabel('Monday').fill('09:00-13:00, 16:00-20:00');
  await hours.getByLabel('Sunday').fill('');
  await hours.getByRole('button', { name: 'Save working hours' }).click();
  await expectText(page.locator('#hours-status'), /Saved/);

  // A whole day blocked, by keyboard.
  const day = istDate(9);
  const next = istDate(10);
  const form = page.locator('#block-form');
  await form.getByLabel('From').fill(`${day}T00:00`);
  await form.getByLabel('Until').fill(`${next}T00:00`);
  await form.getByLabel('Reason (optional)').fill('Temple festival');
  await form.getByLabel('Reason (optional)').press('Enter');
  const item = page.locator('.block-item', { hasText: 'Temple festival' });
  await expectText(item, /No bookings inside this block/);
  await screenshot(page, 'dashboard-priest-schedule-1280');
  await item.getByRole('button', { name: 'Remove block' }).click();
  await item.waitFor({ state: 'detached' });
  await expectText(page.locator('#blocks-list'), /No blocked periods/);
  await ctx.close();
  assert.deepEqual(b.errors, []);
});
