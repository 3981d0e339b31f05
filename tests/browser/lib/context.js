// context.js — what every test file shares: the browser, the fixtures and
// a per-run tag for unique names.
import { readFileSync } from 'node:fs';
import { launch } from './browser.js';

export function fixtures() {
  return JSON.parse(readFileSync(process.env.PUNYAKA_FIXTURES || 'fixtures.json', 'utf8'));
}

export const RUN = process.env.PUNYAKA_TAG || Date.now().toString(36);

/** A date `days` from today in the platform zone (Asia/Kolkata), YYYY-MM-DD. */
export function istDate(days) {
  const d = new Date(Date.now() + days * 86400000);
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Kolkata', year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}

/** Sets up one browser for a test file; `after` closes it. */
export function useBrowser(t) {
  const state = {};
  t.before(async () => {
    state.b = await launch();
  });
  t.after(async () => {
    if (state.b) await state.b.close();
  });
  return state;
}
