// Accessibility (issue 15): axe-core finds no WCAG 2.1 A/AA violation on any
// page, at 1280 and 375 px wide, signed out and as each role, and a signed-out
// visit logs no console error at all — not even Chromium's own "Failed to
// load resource" line for a 401, which lib/browser.js otherwise tolerates.
//
// axe-core is injected as a script, which the pages' policy
// (script-src 'self') refuses; so the axe runs use contexts created with
// bypassCSP. Only those: the console check runs in an ordinary context, where
// a CSP violation would still be reported.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { launch, uiLogin } from '../lib/browser.js';
import { adminPassword } from '../lib/api.js';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
// Beyond the tags: two rules axe files outside them that issue 15 named —
// a visible label must be part of the accessible name (WCAG 2.5.3, an
// "experimental" rule) and headings must not skip levels (best practice).
const EXTRA = { 'label-content-name-mismatch': { enabled: true }, 'heading-order': { enabled: true } };
const WIDTHS = [1280, 375];

let b;
let priestPage;
before(async () => {
  b = await launch();
  const ctx = await b.newContext();
  const res = await ctx.request.get('/api/priests/');
  const first = (await res.json()).results?.[0];
  await ctx.close();
  assert.ok(first, 'the demo data lists a verified priest');
  priestPage = `/priest.html?id=${first.id}`;
});
after(async () => {
  await b?.close();
});

/** Waits until the page's script has drawn it (no request in flight, no spinner). */
async function settle(page) {
  await page.waitForLoadState('networkidle', { timeout: 15000 }).catch(() => {});
  await page.waitForFunction(() => !document.querySelector('[aria-busy="true"], .loading'), null, { timeout: 5000 }).catch(() => {});
}

/** Runs axe on `path` at each width; returns one line per violation. */
async function audit(page, path) {
  const found = [];
  await page.setViewportSize({ width: WIDTHS[0], height: 900 });
  await page.goto(path);
  await settle(page);
  await page.addScriptTag({ path: AXE });
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    const violations = await page.evaluate(async ([tags, rules]) => {
      const r = await window.axe.run(document, { runOnly: { type: 'tag', values: tags }, rules, resultTypes: ['violations'] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')) }));
    }, [TAGS, EXTRA]);
    for (const v of violations) found.push(`${path} @${width}px: ${v.id} (${v.impact}) on ${v.targets.slice(0, 5).join(' | ')}${v.targets.length > 5 ? ` … +${v.targets.length - 5}` : ''}`);
  }
  return found;
}

/** A write as the context's signed-in user (the page's own CSRF double submit). */
async function write(ctx, path, data) {
  const csrf = (await ctx.cookies()).find((c) => c.name === 'csrftoken')?.value || '';
  const res = await ctx.request.post(path, { data, headers: { 'X-CSRF-Token': csrf, Prefer: 'wait=10' } });
  assert.ok(res.ok(), `${path}: ${res.status()} ${await res.text()}`);
}

/** Puts a product in the signed-in user's cart, so /cart.html shows its lines and the checkout form. */
async function fillCart(ctx) {
  const products = await (await ctx.request.get('/api/products/?page_size=1')).json();
  await write(ctx, '/api/cart/add_item/', { product_id: products.results[0].id, quantity: 1 });
}

async function auditAs(login, paths) {
  const ctx = await b.newContext({ bypassCSP: true });
  const page = await ctx.newPage();
  try {
    if (login) await uiLogin(page, ...login);
    const cart = paths.includes('/cart.html');
    if (cart) await fillCart(ctx);
    const found = [];
    for (const p of paths) found.push(...(await audit(page, p)));
    if (cart) await write(ctx, '/api/cart/clear/', {}); // leave the cart as the later tests expect it
    return found;
  } finally {
    await ctx.close();
  }
}

const PUBLIC = ['/', '/priests.html', () => priestPage, '/products.html', '/login.html', '/register.html'];
const resolve = (paths) => paths.map((p) => (typeof p === 'function' ? p() : p));

test('signed-out pages log no console error at all', async () => {
  const ctx = await b.newContext();
  const page = await ctx.newPage();
  const logged = [];
  page.on('console', (m) => {
    if (m.type() === 'error') logged.push(`${page.url()}: ${m.text()}`);
  });
  for (const p of resolve([...PUBLIC, '/cart.html'])) {
    await page.goto(p);
    await settle(page);
  }
  await ctx.close();
  assert.deepEqual(logged, []);
  assert.deepEqual(b.errors, []);
});

const ROLES = [
  ['signed out', null, PUBLIC],
  ['customer', ['asha'], [...PUBLIC.slice(0, 4), '/cart.html', '/dashboard.html']],
  ['priest', ['pandit.sharma'], ['/dashboard.html', () => priestPage]],
  ['admin', ['admin', () => adminPassword()], ['/dashboard.html']],
];

for (const [role, login, paths] of ROLES) {
  test(`axe-core: no WCAG 2.1 A/AA violation (${role}, ${WIDTHS.join(' and ')} px)`, async () => {
    const creds = login && login.map((x) => (typeof x === 'function' ? x() : x));
    const found = await auditAs(creds, resolve(paths));
    assert.equal(found.length, 0, `${found.length} axe violation(s):\n  ${found.join('\n  ')}`);
    assert.deepEqual(b.errors, []);
  });
}
