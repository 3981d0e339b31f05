// browser.js — Debian's Chromium driven by playwright-core (no browser download),
// plus the small assertions the flows need.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { logContextResponses } from './responses.js';

export const BASE = process.env.PUNYAKA_API_URL || 'http://127.0.0.1:8080';
export const SHOTS = process.env.PUNYAKA_SCREENSHOTS_DIR || '';
export const DEMO_PASSWORD = 'punyaka-demo';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/**
 * A fresh browser with a fresh profile.
 * Pages of its contexts report uncaught errors, console errors and
 * Content-Security-Policy violations (an inline script or style the pages'
 * policy refused: the page silently lacks it) into `errors`.
 */
export async function launch() {
  // playwright gives every launch a new empty --user-data-dir of its own
  // (a temporary folder it deletes at close).
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ARGS,
  });
  const errors = [];
  const logs = [];   // each context's response log, flushed before it closes
  return {
    browser,
    errors,
    async newContext(opts = {}) {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: BASE, ...opts });
      const log = logContextResponses(ctx);
      logs.push(log);
      const close = ctx.close.bind(ctx);
      ctx.close = async (...args) => {
        await log.flush();
        return close(...args);
      };
      await ctx.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) =>
          console.error(`CSP violation: ${e.violatedDirective} refused ${e.blockedURI || 'inline'} in ${e.sourceFile || e.documentURI}`),
        );
      });
      ctx.on('page', (page) => {
        page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
        page.on('console', (m) => {
          if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(`${page.url()}: console: ${m.text()}`);
        });
      });
      return ctx;
    },
    async newPage(opts = {}) {
      const ctx = await this.newContext(opts);
      return ctx.newPage();
    },
    async close() {
      await Promise.all(logs.map((l) => l.flush()));
      await browser.close().catch(() => {});
    },
  };
}

/** Waits until `locator`'s text matches `re` (auto-retrying, like expect().toHaveText). */
export async function expectText(locator, re, timeout = 15000) {
  const deadline = Date.now() + timeout;
  let last = '';
  while (Date.now() < deadline) {
    try {
      last = (await locator.first().innerText({ timeout: 1000 })) || '';
      if (re.test(last)) return last;
    } catch {
      /* not there yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`expected ${locator} to match ${re}, last text: ${JSON.stringify(last.slice(0, 400))}`);
}

export async function screenshot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.evaluate(() => document.fonts && document.fonts.ready);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Logs in through the login page. */
export async function uiLogin(page, username, password = DEMO_PASSWORD, next = '') {
  await page.goto(`/login.html${next ? `?next=${encodeURIComponent(next)}` : ''}`);
  await page.getByLabel('Username or email').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((u) => !u.pathname.endsWith('/login.html'), { timeout: 15000 });
}
