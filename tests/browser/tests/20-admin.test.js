// An admin verifies a pending priest, who then appears on the priests page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, expectText, uiLogin } from '../lib/browser.js';
import { adminPassword } from '../lib/api.js';
import { RUN, fixtures } from '../lib/context.js';

let b;
before(async () => {
  b = await launch();
});
after(async () => {
  await b?.close();
});

const PENDING = 'Keshav Rao'; // shastri.rao (demo data), awaiting verification

test('admin verifies a pending priest, who then appears on the priests page', async () => {
  const ctx = await b.newContext();
  const page = await ctx.newPage();

  await page.goto('/priests.html');
  await page.locator('#priest-list').waitFor();
  assert.equal(await page.locator('.priest-card', { hasText: PENDING }).count(), 0, 'a pending priest is listed');

  await uiLogin(page, 'admin', adminPassword());
  await expectText(page.locator('#dash-title'), /Administration/);
  const card = page.locator('.priest-admin-card', { hasText: PENDING });
  await expectText(card, /@shastri\.rao/);
  await card.getByText('Verify this priest').click();
  await card.getByLabel('Notes').fill('Aadhaar and PAN checked in person.');
  await card.getByRole('button', { name: `Verify ${PENDING}` }).click();
  await expectText(page.locator('.toasts'), new RegExp(`${PENDING} is verified`));
  await page.locator('.priest-admin-card', { hasText: PENDING }).waitFor({ state: 'detached' });

  await page.goto('/priests.html');
  await expectText(page.locator('#priest-list'), new RegExp(PENDING));
  await page.locator('.priest-card', { hasText: PENDING }).getByRole('link', { name: PENDING, exact: true }).click();
  await expectText(page.locator('h1'), new RegExp(PENDING));
  await ctx.close();
  assert.deepEqual(b.errors, []);
});

test('admin adds a product and adjusts its stock from the dashboard; it is sold in the shop', async () => {
  const fx = fixtures();
  const ctx = await b.newContext();
  const page = await ctx.newPage();
  await uiLogin(page, 'admin', adminPassword());
  await page.getByRole('link', { name: 'Categories & products' }).click();
  await page.getByText('Add a product').click();
  const form = page.locator('#catalog details[open] form').first();
  await form.getByLabel('Name').fill('Tulsi Mala');
  await form.getByLabel('Slug').fill(`tulsi-mala-${RUN}`);
  await form.getByLabel('Category').selectOption(String(fx.categories.root.id));
  await form.getByLabel('Price (₹)').fill('249');
  await form.getByLabel('Discount price (₹, optional)').fill('300');
  await form.getByLabel('Initial stock').fill('5');
  await form.getByRole('button', { name: 'Create product' }).click();
  // Mirrors the API's rule: the discount must stay below the price.
  await expectText(form.locator('.field-error'), /below the price/);
  await form.getByLabel('Discount price (₹, optional)').fill('');
  await form.getByRole('button', { name: 'Create product' }).click();
  await expectText(page.locator('.toasts'), /Product created/);

  const card = page.locator(`.product-admin-card[data-slug="tulsi-mala-${RUN}"]`);
  await expectText(card.locator('.stock'), /^5$/);
  await card.getByText('Adjust stock').click();
  await card.getByLabel('Change (+ or −)').fill('-9');
  await card.getByLabel('Reason').fill('Damaged in transit');
  await card.getByRole('button', { name: 'Apply' }).click();
  await expectText(card.locator('.field-error'), /cannot go below zero/);
  await card.getByLabel('Change (+ or −)').fill('3');
  await card.getByRole('button', { name: 'Apply' }).click();
  await expectText(page.locator(`.product-admin-card[data-slug="tulsi-mala-${RUN}"] .stock`), /^8$/);

  await page.goto(`/products.html?q=Tulsi`);
  const shopCard = page.locator(`.product-card[data-slug="tulsi-mala-${RUN}"]`);
  await expectText(shopCard, /₹249\.00/);
  await expectText(shopCard, /In stock/);
  await ctx.close();
  assert.deepEqual(b.errors, []);
});

test('a deactivated product stays on the admin dashboard after a reload and can be activated again', async () => {
  const ctx = await b.newContext();
  const page = await ctx.newPage();
  await uiLogin(page, 'admin', adminPassword());
  await page.getByRole('link', { name: 'Categories & products' }).click();
  const card = () => page.locator(`.product-admin-card[data-slug="tulsi-mala-${RUN}"]`);
  await card().getByRole('button', { name: 'Deactivate' }).click();
  await card().getByRole('button', { name: 'Activate' }).waitFor();

  await page.reload();
  await page.getByRole('link', { name: 'Categories & products' }).click();
  await expectText(card(), /inactive/i);
  await page.goto(`/products.html?q=Tulsi`);
  await page.locator('.result-count, .state-empty').first().waitFor();
  assert.equal(await page.locator(`.product-card[data-slug="tulsi-mala-${RUN}"]`).count(), 0, 'an inactive product is sold');

  await page.goto('/dashboard.html#catalog');
  await card().getByRole('button', { name: 'Activate' }).click();
  await card().getByRole('button', { name: 'Deactivate' }).waitFor();
  await page.goto(`/products.html?q=Tulsi`);
  await expectText(page.locator(`.product-card[data-slug="tulsi-mala-${RUN}"]`), /₹249\.00/);
  await ctx.close();
  assert.deepEqual(b.errors, []);
});
