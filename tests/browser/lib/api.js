// api.js — HTTP set-up for the browser tests (admin catalog, accounts), through
// playwright's request context, which keeps the session cookie.
import { request } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASE, DEMO_PASSWORD } from './browser.js';
import { logApiResponse } from './responses.js';

export function adminPassword() {
  if (process.env.PUNYAKA_ADMIN_PASSWORD) return process.env.PUNYAKA_ADMIN_PASSWORD;
  return readFileSync(join(process.env.PUNYAKA_STACK_DIR, 'admin.password'), 'utf8').trim();
}

/** A logged-in API client: get(path), post(path, body), patch(path, body) ⇒ parsed JSON (throws on ≥ 400). */
export async function client(username, password = DEMO_PASSWORD) {
  const ctx = await request.newContext({ baseURL: BASE, extraHTTPHeaders: { Prefer: 'wait=10' } });
  const res = await ctx.post('/api/auth/login/', { data: { username, password } });
  logApiResponse('POST', res, await res.text());
  if (!res.ok()) throw new Error(`login ${username}: ${res.status()} ${await res.text()}`);
  const { csrf_token: csrf } = await res.json();
  const call = async (method, path, body) => {
    const r = await ctx.fetch(path, { method, data: body, headers: { 'X-CSRF-Token': csrf } });
    const text = await r.text();
    logApiResponse(method, r, text);
    if (r.status() >= 400) throw new Error(`${method} ${path}: ${r.status()} ${text}`);
    if (r.status() === 202) throw new Error(`${method} ${path}: still 202 after waiting: ${text}`);
    return text ? JSON.parse(text) : null;
  };
  return {
    get: (p) => call('GET', p),
    post: (p, b = {}) => call('POST', p, b),
    patch: (p, b = {}) => call('PATCH', p, b),
    dispose: () => ctx.dispose(),
  };
}

/** Registers an account through the API (201 expected). */
export async function registerUser(fields) {
  const ctx = await request.newContext({ baseURL: BASE });
  const r = await ctx.post('/api/auth/register/', { data: { password: DEMO_PASSWORD, ...fields }, headers: { Prefer: 'wait=10' } });
  const text = await r.text();
  logApiResponse('POST', r, text);
  await ctx.dispose();
  if (r.status() !== 201) throw new Error(`register ${fields.username}: ${r.status()} ${text}`);
  return JSON.parse(text);
}

/** Registers a customer through the API (for tests that need an extra account). */
export const registerCustomer = (username) =>
  registerUser({ username, email: `${username}@example.com`, first_name: username, role: 'customer' });

/** Moves a booking's start 400 days into the past so that it has begun: a
 * priest may complete a booking only then (the worker answers 409
 * not_started before). Only for the browser suite's own throwaway stack,
 * whose journal is never replayed (the C tests book in the past through
 * the journal instead: tests/support's it_book_started). */
export function ageBooking(id) {
  const env = readFileSync(join(process.env.PUNYAKA_STACK_DIR, 'env'), 'utf8');
  const url = /^DATABASE_URL=(.*)$/m.exec(env)[1];
  execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qAtc',
    "UPDATE bookings SET starts_at = starts_at - interval '400 days', occupied = tstzrange(lower(occupied) - interval '400 days', upper(occupied) - interval '400 days', '[)') WHERE id = " + Number(id)]);
}
