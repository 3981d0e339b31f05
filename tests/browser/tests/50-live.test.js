// Live updates (issue 17): a priest's dashboard, open in one browser
// context, shows a new booking and the header's unread badge without a
// reload. The booking is real (a customer books through the API); its
// notification is produced the way punyaka-notifier does (common/live.h): a
// `notifications` row, then the recipient's user id PUBLISHed on
// punyaka:live. The admin's dashboard shows that booking's history.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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

function stackEnv(name) {
  const env = readFileSync(join(process.env.PUNYAKA_STACK_DIR, 'env'), 'utf8');
  return new RegExp(`^${name}=(.*)$`, 'm').exec(env)[1];
}

/** What the notifier does for a new booking: the row, then the wake-up. */
function notify(userId, bookingId) {
  execFileSync('psql', [stackEnv('DATABASE_URL'), '-v', 'ON_ERROR_STOP=1', '-qAtc',
    'INSERT INTO notifications (user_id, kind, entity_type, entity_id, title, body, data, event_seq, created_at)' +
    ` VALUES (${Number(userId)}, 'booking_created', 'booking', ${Number(bookingId)}, 'New booking',` +
    ` 'A customer booked you.', '{"status": "pending"}', ${8000000000 + Number(bookingId)}, now())`]);
  execFileSync('redis-cli', ['-u', stackEnv('REDIS_URL'), '--no-auth-warning', 'PUBLISH', 'punyaka:live', String(Number(userId))]);
}

test('a priest sees a new booking and its badge live; the admin sees its history', async () => {
  const priest = await client('acharya.iyer');
  const me = await priest.get('/api/auth/me/');
  await priest.dispose();
  const username = `live${RUN}`.slice(0, 30);
  await registerCustomer(username);
  const customer = await client(username);

  const ctx = await b.newContext();
  const page = await ctx.newPage();
  await uiLogin(page, 'acharya.iyer');
  await page.goto('/dashboard.html#incoming');
  await page.locator('#incoming-list').waitFor();
  await page.waitForFunction(() => !document.querySelector('#incoming-list [aria-busy="true"], #incoming-list .loading'));
  // The stream is open once its hello set the (hidden, zero) badge.
  const badge = page.locator('#unread-badge');
  await page.evaluate(() => {
    window.notReloaded = true;
  });

  const booking = await customer.post('/api/bookings/', {
    priest: me.priest_profile.id, service: fx.services.lakshmi.id, booking_date: istDate(60), booking_time: '15:00',
    location_address: '4 Temple Street, Chennai',
  });
  await customer.dispose();
  const card = page.locator(`#incoming-list [data-booking-id="${booking.id}"]`);
  assert.equal(await card.count(), 0, 'the list was drawn before the booking');
  // The row may be inserted before the stream has started: its hello then
  // counts it, and the wake-up finds nothing new; either way the badge shows it.
  await page.waitForTimeout(500);
  notify(me.id, booking.id);

  await expectText(badge, /^1\s+unread$/, 5000);
  assert.ok(await badge.isVisible());
  await card.waitFor({ timeout: 5000 });
  await expectText(card, /Lakshmi Puja/);
  assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page was not reloaded');
  await screenshot(page, 'dashboard-priest-live-1280');
  await ctx.close();

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
