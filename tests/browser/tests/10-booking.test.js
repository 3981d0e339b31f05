// A new customer registers, logs in, opens a priest, picks a free slot, books
// it and sees the advance and balance; the priest confirms and completes; the
// customer confirms completion (with dakshina) and rates; the priest's rating
// changes on the priests list.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, expectText, uiLogin, screenshot } from '../lib/browser.js';
import { RUN, istDate, fixtures } from '../lib/context.js';
import { ageBooking } from '../lib/api.js';

let b;
let fx;
before(async () => {
  fx = fixtures();
  b = await launch();
});
after(async () => {
  await b?.close();
});

const customer = `devotee${RUN}`.slice(0, 30);
const PRIEST = 'Raghav Sharma'; // pandit.sharma (demo data)

const selectService = (page, service) => page.getByLabel('Service', { exact: true }).selectOption(String(service.id));

async function priestCardText(page) {
  await page.goto('/priests.html');
  const card = page.locator('.priest-card', { hasText: PRIEST });
  await card.waitFor();
  return card.locator('.stars').innerText();
}

test('book a priest, priest confirms and completes, customer pays and rates', async () => {
  const ctx = await b.newContext();
  const page = await ctx.newPage();
  const ratingBefore = await priestCardText(page);

  // Register (which signs the new customer in), then log out and back in.
  await page.goto('/register.html');
  await page.getByLabel('Username').fill(customer);
  await page.getByLabel('Email').fill(`${customer}@example.com`);
  await page.getByLabel('Password', { exact: true }).fill('short');
  await page.getByLabel('Confirm password').fill('different');
  await page.getByRole('button', { name: 'Create account' }).click();
  // Client-side validation mirrors the API's: messages next to the fields.
  await expectText(page.locator('#register-form .field-error').first(), /at least 8 characters/i);
  await expectText(page.locator('#register-form .form-error'), /correct the highlighted fields/i);
  await page.getByLabel('Password', { exact: true }).fill('lotus-flower-9');
  await page.getByLabel('Confirm password').fill('lotus-flower-9');
  await page.getByLabel('First name').fill('Meera');
  await page.getByLabel('Last name').fill('Nair');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/dashboard.html');
  await expectText(page.locator('#dash-title'), /Namaste, Meera/);
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL((u) => u.pathname === '/');
  await uiLogin(page, customer, 'lotus-flower-9');
  await expectText(page.locator('#dash-title'), /Namaste, Meera/);

  // Open the priest from the list.
  await page.goto('/priests.html');
  await page.locator('.priest-card', { hasText: PRIEST }).getByRole('link', { name: PRIEST, exact: true }).click();
  await expectText(page.locator('h1'), new RegExp(PRIEST));

  // Navagraha Shanti costs ₹1,501.00: advance 375.25, balance 1,125.75; Lakshmi Puja
  // costs ₹1,500.01: 25 % is 375.0025 ⇒ advance 375.00 (half-up to the paisa), balance 1,125.01.
  await page.getByLabel('Date').fill(istDate(3));
  await selectService(page, fx.services.lakshmi);
  await expectText(page.locator('#sum-advance'), /₹375\.00/);
  await expectText(page.locator('#sum-balance'), /₹1,125\.01/);
  await selectService(page, fx.services.navagraha);
  await page.getByLabel('Date').fill(istDate(3));
  await page.getByLabel('Date').dispatchEvent('change');
  const slots = page.locator('#slots-box .slots label');
  await slots.first().waitFor();
  const slot = slots.nth(4); // 08:00 on a free day
  const slotText = (await slot.innerText()).trim();
  await slot.click();
  await expectText(page.locator('#sum-price'), /₹1,501\.00/);
  await expectText(page.locator('#sum-advance'), /₹375\.25/);
  await expectText(page.locator('#sum-balance'), /₹1,125\.75/);
  await page.getByLabel('Address for the puja').fill('14 Lotus Lane, Koramangala, Bengaluru');
  await page.getByLabel('Special instructions').fill('Sankalpa for the Nair family.');
  await page.locator('#confirm-booking').click();
  const conf = page.locator('#booking-confirmation');
  await expectText(conf, /Booking #\d+ is pending/);
  await expectText(conf, new RegExp(`at ${slotText}`));
  await expectText(page.locator('#conf-advance'), /₹375\.25/);
  await expectText(page.locator('#conf-balance'), /₹1,125\.75/);
  const bookingId = (await conf.innerText()).match(/Booking #(\d+)/)[1];
  await screenshot(page, 'priest-booked-1280');

  // The slot is no longer offered.
  await page.reload();
  await selectService(page, fx.services.navagraha);
  await page.getByLabel('Date').fill(istDate(3));
  await page.getByLabel('Date').dispatchEvent('change');
  await page.locator('#slots-box .slots label').first().waitFor();
  const offered = await page.locator('#slots-box .slots label').allInnerTexts();
  assert.ok(!offered.map((s) => s.trim()).includes(slotText), `${slotText} is still offered: ${offered}`);

  // The priest confirms and completes.
  const pctx = await b.newContext();
  const ppage = await pctx.newPage();
  await uiLogin(ppage, 'pandit.sharma');
  const pcard = ppage.locator(`.booking-card[data-booking-id="${bookingId}"]`);
  await expectText(pcard, /pending/i);
  await expectText(pcard, /Meera Nair/);
  await pcard.getByRole('button', { name: 'Confirm booking' }).click();
  await expectText(ppage.locator(`.booking-card[data-booking-id="${bookingId}"] .badge`).first(), /confirmed/i);
  // Not before it has begun: the card says so; then the booking is aged.
  await expectText(ppage.locator(`.booking-card[data-booking-id="${bookingId}"]`), /once the puja has begun/);
  ageBooking(bookingId);
  await ppage.reload();
  await ppage.locator(`.booking-card[data-booking-id="${bookingId}"]`).getByText('Mark as completed').click();
  await ppage.locator(`.booking-card[data-booking-id="${bookingId}"]`).getByLabel('Puja performed').check();
  await ppage.locator(`.booking-card[data-booking-id="${bookingId}"]`).getByRole('button', { name: 'Puja completed' }).click();
  await expectText(ppage.locator(`.booking-card[data-booking-id="${bookingId}"] .badge`).first(), /completed/i);
  await pctx.close();

  // The customer confirms completion with a dakshina, then rates.
  await page.goto('/dashboard.html#bookings');
  const card = () => page.locator(`.booking-card[data-booking-id="${bookingId}"]`);
  await expectText(card(), /completed/i);
  await card().getByLabel(/Dakshina/).fill('abc');
  await card().getByRole('button', { name: 'Confirm and pay' }).click();
  await expectText(card().locator('.field-error'), /amount in rupees/);
  await card().getByLabel(/Dakshina/).fill('251');
  await card().getByRole('button', { name: 'Confirm and pay' }).click();
  await expectText(card(), /Dakshina\s*₹251\.00/);
  await expectText(card(), /Payment\s*full/i);
  await card().getByLabel('★★★★★ 5').check();
  await card().getByLabel('Feedback').fill('Beautiful homam, explained every step.');
  await card().getByRole('button', { name: 'Submit rating' }).click();
  await expectText(card(), /Rating\s*★★★★★/);

  // The priest's rating changed on the list page.
  const ratingAfter = await priestCardText(page);
  assert.notEqual(ratingAfter, ratingBefore);
  assert.match(ratingAfter, /5\.00 \(1\)|\(\d+\)/);
  await ctx.close();
  assert.deepEqual(b.errors, []);
});
