// Live updates (issue 17): a priest's dashboard, open in one browser
// context, shows a new booking and the header's unread badge without a
// reload; the booking and its notification are real (a customer books
// through the API, punyaka-notifier turns the event into a notification and
// wakes the stream through punyaka:live). The customer then reads the
// notification of the priest's confirmation on her dashboard, and the
// admin's dashboard shows that booking's history.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, expectText, uiLogin, screenshot } from '../lib/browser.js';
import { RUN, istDate, fixtures } from '../lib/context.js';
import { client, registerCustomer, adminPassword } from '../lib/api.js';

let b;
let fx;
before(async () => {
  fx = fixtures();
  b = await launch();
});
after(async () => {
  await b?.close();
});

const badgeText = (n) => new RegExp(`^${n}\\s+unread$`);

test('a priest sees a new booking and its badge live; the customer reads her notification; the admin sees its history', async () => {
  const priest = await client('acharya.iyer');
  const me = await priest.get('/api/auth/me/');
  const before = (await priest.get('/api/notifications/unread_count/')).count;
  const username = `live${RUN}`.slice(0, 30);
  await registerCustomer(username);
  const customer = await client(username);

  const ctx = await b.newContext();
  const page = await ctx.newPage();
  await uiLogin(page, 'acharya.iyer');
  await page.goto('/dashboard.html#incoming');
  await page.locator('#incoming-list').waitFor();
  await page.waitForFunction(() => !document.querySelector('#incoming-list [aria-busy="true"], #incoming-list .loading'));
  // The stream is open once its hello set the badge to the unread count.
  const badge = page.locator('#unread-badge');
  await expectText(badge, badgeText(before), 5000);
  await page.evaluate(() => {
    window.notReloaded = true;
  });

  const booking = await customer.post('/api/bookings/', {
    priest: me.priest_profile.id, service: fx.services.lakshmi.id, booking_date: istDate(60), booking_time: '15:00',
    location_address: '4 Temple Street, Chennai',
  });
  await customer.dispose();
  const card = page.locator(`#incoming-list [data-booking-id="${booking.id}"]`);
  // The notifier's notification reaches the open stream: badge and list.
  await expectText(badge, badgeText(before + 1), 5000);
  assert.ok(await badge.isVisible());
  await card.waitFor({ timeout: 5000 });
  await expectText(card, /Lakshmi Puja/);
  assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page was not reloaded');
  await screenshot(page, 'dashboard-priest-live-1280');
  await ctx.close();

  // The priest confirms; the customer reads that notification on her
  // dashboard and the badge goes down.
  await priest.post(`/api/bookings/${booking.id}/confirm/`);
  await priest.dispose();
  const cctx = await b.newContext();
  const cpage = await cctx.newPage();
  await uiLogin(cpage, username);
  await cpage.goto('/dashboard.html#notifications');
  const cbadge = cpage.locator('#unread-badge');
  const note = cpage.locator('#notifications-list .notification-card', { hasText: 'Booking confirmed' });
  await note.waitFor({ timeout: 15000 });
  await expectText(note, /Your priest confirmed Lakshmi Puja/);
  assert.equal(await note.locator('.badge', { hasText: 'New' }).count(), 1);
  await expectText(cbadge, badgeText(1), 5000);
  await note.getByRole('button', { name: 'Mark as read' }).click();
  await expectText(cbadge, badgeText(0), 5000);
  assert.equal(await cbadge.isVisible(), false, 'no unread left: the badge hides');
  await cpage.waitForFunction((id) => {
    const c = document.querySelector(`#notifications-list [data-notification-id="${id}"]`);
    return c && !c.classList.contains('unread');
  }, await note.getAttribute('data-notification-id'), { timeout: 10000 });
  const customer2 = await client(username);
  assert.equal((await customer2.get('/api/notifications/unread_count/')).count, 0, 'read on the server too');
  await customer2.dispose();
  await screenshot(cpage, 'dashboard-customer-notifications-1280');
  await cctx.close();

  // The admin's bookings section: the booking's history, who did what.
  const actx = await b.newContext();
  const apage = await actx.newPage();
  await uiLogin(apage, 'admin', adminPassword());
  await apage.goto('/dashboard.html#bookings');
  const acard = apage.locator(`#bookings-admin [data-booking-id="${booking.id}"]`);
  await acard.waitFor({ timeout: 15000 });
  await acard.locator('summary', { hasText: 'History' }).click();
  const row = acard.locator('.history-table tbody tr').first();
  await expectText(row, /booking\.create/);
  await expectText(row, new RegExp(`${username} \\(customer\\)`));
  await expectText(row, /applied/i);
  await screenshot(apage, 'dashboard-admin-history-1280');
  await actx.close();
  assert.deepEqual(b.errors, []);
});
