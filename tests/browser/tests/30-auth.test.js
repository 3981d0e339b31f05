// A logged-out visit to the dashboard (and the cart) redirects to the login
// page, which brings the user back afterwards; wrong passwords are explained.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, expectText } from '../lib/browser.js';
import { RUN } from '../lib/context.js';

let b;
before(async () => {
  b = await launch();
});
after(async () => {
  await b?.close();
});

test('logged-out dashboard visit redirects to login, and back after logging in', async () => {
  const ctx = await b.newContext();
  const page = await ctx.newPage();
  await page.goto('/dashboard.html#orders');
  await page.waitForURL('**/login.html?next=*');
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('next'), '/dashboard.html');

  await page.getByLabel('Username or email').fill('asha');
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expectText(page.locator('#login-form .form-error'), /Invalid username or password/);

  await page.getByLabel('Password').fill('punyaka-demo');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL('**/dashboard.html');
  await expectText(page.locator('#dash-title'), /Namaste, Asha/);

  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL((u) => u.pathname === '/');
  await page.goto('/cart.html');
  await page.waitForURL('**/login.html?next=%2Fcart.html');
  await ctx.close();
  assert.deepEqual(b.errors, []);
});

// The browser drops tab, CR and LF from a URL and reads '\\' as '/', so
// '/\t/evil.example' is '//evil.example': another site. Every variant must
// leave the user on this origin, on the default page.
const OFF_SITE = [
  '/%09/evil.example/phish',
  '/%0d%0a/evil.example/phish',
  '//evil.example/phish',
  '/\\evil.example/phish',
  '/%5Cevil.example/phish',
  'https://evil.example/phish',
  '/%2F/evil.example/phish',
  'javascript:alert(1)',
];

// Were a redirect followed, the phishing page "loads" (no network needed).
async function siteContext() {
  const ctx = await b.newContext();
  await ctx.route((u) => u.hostname === 'evil.example', (route) => route.fulfill({ contentType: 'text/html', body: '<p>phished</p>' }));
  return ctx;
}

async function landing(page) {
  await page.waitForURL((u) => !u.pathname.endsWith('/login.html'), { timeout: 15000 });
  return new URL(page.url());
}

async function loginWithNext(page, next) {
  const res = await page.goto(`/login.html?next=${next}`);
  assert.match(res.headers()['content-security-policy'] || '', /frame-ancestors 'none'/);
  await page.getByLabel('Username or email').fill('vikram');
  await page.getByLabel('Password').fill('punyaka-demo');
  await page.getByRole('button', { name: 'Log in' }).click();
  return landing(page);
}

test('an open redirect through ?next= is refused', async () => {
  const site = new URL(process.env.PUNYAKA_API_URL).origin;
  const ctx = await siteContext();
  const page = await ctx.newPage();
  // Logging in through the form, with the tab trick.
  let landed = await loginWithNext(page, OFF_SITE[0]);
  assert.equal(landed.origin, site, `next=${OFF_SITE[0]} sent the user to ${landed.href}`);
  assert.equal(landed.pathname, '/dashboard.html');
  // Logged in already, the login page forwards to ?next= at once: every variant.
  for (const next of OFF_SITE) {
    await page.goto(`/login.html?next=${next}`);
    landed = await landing(page);
    assert.equal(landed.origin, site, `next=${next} sent the user to ${landed.href}`);
    assert.equal(landed.pathname, '/dashboard.html', `next=${next}`);
  }
  await ctx.close();
  // A path on the site is still honoured.
  const fresh = await siteContext();
  landed = await loginWithNext(await fresh.newPage(), encodeURIComponent('/products.html?q=diya'));
  assert.equal(landed.origin, site);
  assert.equal(landed.pathname + landed.search, '/products.html?q=diya');
  await fresh.close();
  assert.deepEqual(b.errors, []);
});

// The pages' policy refuses inline script, and the suite would see it: every
// test's `b.errors` check covers the CSP too.
test('the Content-Security-Policy refuses inline script, and the suite notices', async () => {
  const own = await launch();
  try {
    const page = await own.newPage();
    await page.goto('/login.html');
    const ran = await page.evaluate(async () => {
      const s = document.createElement('script');
      s.textContent = 'window.injected = true';
      document.head.append(s);
      await new Promise((r) => setTimeout(r, 100));
      return window.injected === true;
    });
    assert.equal(ran, false);
    await expectErrors(own.errors, /CSP violation: script-src/);
  } finally {
    await own.close();
  }
});

async function expectErrors(errors, re) {
  for (let i = 0; i < 50 && !errors.some((e) => re.test(e)); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(errors.some((e) => re.test(e)), `no error matching ${re} in ${JSON.stringify(errors)}`);
}

test('keyboard only: skip link first, then log in with Tab and Enter', async () => {
  const ctx = await b.newContext();
  const page = await ctx.newPage();
  await page.goto('/login.html');
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'username');
  await page.keyboard.type('vikram');
  await page.keyboard.press('Tab');
  await page.keyboard.type('punyaka-demo');
  await page.keyboard.press('Enter');
  await page.waitForURL('**/dashboard.html');
  await page.goto('/priests.html');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  await ctx.close();
  assert.deepEqual(b.errors, []);
});

test('a 202 Accepted is followed to its outcome (applied and rejected)', async () => {
  const ctx = await b.newContext();
  // Ask the API not to wait: it answers 202 + Location: /api/commands/{id} at once.
  await ctx.route('**/api/auth/register/', (route) => route.continue({ headers: { ...route.request().headers(), prefer: 'respond-async' } }));
  let polled = 0;
  ctx.on('request', (r) => {
    if (r.url().includes('/api/commands/')) polled++;
  });
  const page = await ctx.newPage();
  const fill = async (username) => {
    await page.goto('/register.html');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Email').fill(`${username.replace(/[^a-z0-9]/g, '')}@example.org`);
    await page.getByLabel('Password', { exact: true }).fill('lotus-flower-9');
    await page.getByLabel('Confirm password').fill('lotus-flower-9');
    await page.getByRole('button', { name: 'Create account' }).click();
  };
  await fill('asha'); // taken: the command is rejected
  await expectText(page.locator('#register-form .form-error'), /username is taken/i);
  await fill(`async${RUN}`.slice(0, 30)); // applied: then logged in (a 202 carries no session)
  await page.waitForURL('**/dashboard.html');
  assert.ok(polled >= 2, `polled ${polled} times`);
  await ctx.close();
  assert.deepEqual(b.errors, []);
});

test('a retried action keeps its Idempotency-Key; the next action gets a new one', async () => {
  const ctx = await b.newContext();
  const keys = [];
  const answers = [
    { status: 503, contentType: 'application/problem+json', body: '{"status":503,"code":"kafka_unavailable","title":"Service unavailable"}' },
    { status: 200, contentType: 'application/json', body: '{"ok":1}' },
    { status: 200, contentType: 'application/json', body: '{"ok":2}' },
  ];
  // Answered here, never by the server: only what the page sends is checked.
  await ctx.route('**/api/idempotency-probe/', (route) => {
    keys.push(route.request().headers()['idempotency-key']);
    return route.fulfill(answers[keys.length - 1]);
  });
  const page = await ctx.newPage();
  await page.goto('/');
  const results = await page.evaluate(async () => {
    const api = await import('/js/api.js');
    const attempt = () => api.post('/api/idempotency-probe/', { delta: 5 }).then((d) => d.ok, (e) => e.status);
    return [await attempt(), await attempt(), await attempt()];
  });
  assert.deepEqual(results, [503, 1, 2]);
  assert.equal(keys.length, 3);
  assert.match(keys[0], /^[0-9a-f-]{32,36}$/);
  assert.equal(keys[1], keys[0], 'the retry after a 503 is the same action');
  assert.notEqual(keys[2], keys[1], 'after a final answer the same click is a new action');
  await ctx.close();
});

// Issue 17: the account form's e-mail checkbox is the user's opt-out
// (email_notifications, docs/mail.md): unticked and saved, the account says
// false and the box stays unticked after a reload; ticked again, true.
test('a customer turns the e-mail notifications off and on again', async () => {
  const ctx = await b.newContext();
  const page = await ctx.newPage();
  await page.goto('/login.html?next=%2Fdashboard.html');
  await page.getByLabel('Username or email').fill('vikram');
  await page.getByLabel('Password').fill('punyaka-demo');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL('**/dashboard.html');
  const me = () => page.evaluate(() => fetch('/api/auth/me/').then((r) => r.json()));
  for (const on of [false, true]) {
    await page.goto('/dashboard.html#account');
    const box = page.getByLabel('E-mail me about my bookings and orders');
    assert.equal(await box.isChecked(), !on);
    await box.setChecked(on);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expectText(page.locator('.toast'), /Your details are saved/);
    assert.equal((await me()).email_notifications, on);
    await page.reload();
    assert.equal(await page.getByLabel('E-mail me about my bookings and orders').isChecked(), on);
  }
  await ctx.close();
  assert.deepEqual(b.errors, []);
});
