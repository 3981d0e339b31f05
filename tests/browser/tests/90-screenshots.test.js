// Screenshots of every page at 1280 px, and of the priest and cart pages at
// 375 px, into $PUNYAKA_SCREENSHOTS_DIR; each page is also checked for
// horizontal overflow (the layout must fit both widths).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot, uiLogin, expectText } from '../lib/browser.js';
import { fixtures, istDate } from '../lib/context.js';
import { client, adminPassword, registerUser } from '../lib/api.js';
import { RUN } from '../lib/context.js';

let b;
let fx;
before(async () => {
  fx = fixtures();
  b = await launch();
  // Something to show: asha books the Satyanarayan Katha, and has a cart.
  const asha = await client('asha');
  const priests = await asha.get('/api/priests/?q=Sharma');
  await asha.post('/api/bookings/', {
    priest: priests.results[0].id, service: fx.services.rudrabhishek.id, booking_date: istDate(6), booking_time: '10:00',
    location_address: '12 Temple Street, Bengaluru', special_instructions: 'Griha shanti for the new flat.',
  }).catch(() => {});
  await asha.dispose();
  // A priest waiting for verification, with KYC on file (shown masked to the admin).
  await registerUser({
    username: `mohan.joshi.${RUN}`, email: `mohan.${RUN}@example.com`, role: 'priest', first_name: 'Mohan', last_name: 'Joshi',
    specializations: ['Rudrabhishek', 'Vivah'], languages: ['Marathi', 'Hindi', 'Sanskrit'], experience_years: 11, service_radius_km: 20,
    aadhaar_number: '2341 2341 2346', pan_number: 'ABCPJ1234K', bank_account_number: '001234567890', bank_ifsc_code: 'HDFC0001234',
  });
});
after(async () => {
  await b?.close();
});

async function settle(page) {
  await page.waitForLoadState('networkidle');
  await page.waitForFunction(() => !document.querySelector('[aria-busy="true"], .state-loading'), null, { timeout: 15000 });
}

async function fits(page, name) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 1, `${name}: the page is ${overflow}px wider than the window`);
}

async function shoot(page, name) {
  await settle(page);
  await fits(page, name);
  await screenshot(page, name);
}

test('every page at 1280 px, priest and cart at 375 px', async () => {
  const anon = await (await b.newContext()).newPage();
  for (const [path, name] of [['/', 'home'], ['/login.html', 'login'], ['/register.html', 'register'], ['/priests.html', 'priests'], ['/products.html', 'products']]) {
    await anon.goto(path);
    await shoot(anon, `${name}-1280`);
  }
  await anon.goto('/register.html?role=priest');
  await shoot(anon, 'register-priest-1280');

  const ctx = await b.newContext();
  const page = await ctx.newPage();
  await uiLogin(page, 'asha');
  await shoot(page, 'dashboard-customer-1280');

  // The priest page with a slot picked and the advance / balance shown.
  const priest = async (width) => {
    await page.setViewportSize({ width, height: width === 375 ? 812 : 900 });
    await page.goto('/priests.html');
    await page.locator('.priest-card', { hasText: 'Subramanya Iyer' }).getByRole('link', { name: 'Subramanya Iyer', exact: true }).click();
    await page.getByLabel('Date').fill(istDate(4));
    await page.getByLabel('Date').dispatchEvent('change');
    await page.locator('#slots-box .slots label').nth(6).click();
    await page.getByLabel('Address for the puja').fill('12 Temple Street, Bengaluru');
    await expectText(page.locator('#sum-advance'), /₹/);
    await shoot(page, `priest-${width}`);
  };
  await priest(1280);
  await priest(375);

  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto('/products.html');
  await shoot(page, 'products-customer-1280');
  for (const [key, qty] of [['kalash', 1], ['wicks', 2]]) {
    await page.goto(`/products.html?q=${encodeURIComponent(fx.products[key].name)}`);
    const card = page.locator(`.product-card[data-slug="${fx.products[key].slug}"]`);
    await card.getByLabel('Qty').fill(String(qty));
    await card.getByRole('button', { name: 'Add to cart' }).click();
    await expectText(card.getByRole('button').first(), /Added/);
  }
  await page.goto('/cart.html');
  await shoot(page, 'cart-1280');
  await page.setViewportSize({ width: 375, height: 812 });
  await page.reload();
  await shoot(page, 'cart-375');
  await ctx.close();

  const pctx = await b.newContext();
  const ppage = await pctx.newPage();
  await uiLogin(ppage, 'pandit.sharma');
  await shoot(ppage, 'dashboard-priest-1280');
  await pctx.close();

  const actx = await b.newContext();
  const apage = await actx.newPage();
  await uiLogin(apage, 'admin', adminPassword());
  await expectText(apage.locator('#pending-priests'), /Mohan Joshi/);
  await shoot(apage, 'dashboard-admin-1280');
  for (const tab of ['services', 'catalog', 'orders']) {
    await apage.goto(`/dashboard.html#${tab}`);
    await shoot(apage, `dashboard-admin-${tab}-1280`);
  }
  await actx.close();
  assert.deepEqual(b.errors, []);
});
