// api.js — the one way pages talk to the Punyaka API (same origin, JSON).
//
// * Sends and receives JSON with the session cookie (credentials: same-origin).
// * Unsafe methods carry the session's CSRF token in X-CSRF-Token: the
//   script-readable `csrftoken` cookie, else the token that login / register /
//   me returned. A 403 `csrf_failed` refreshes the token once and retries.
// * Writes ask for the outcome with `Prefer: wait=10`. If the server still
//   answers 202 Accepted, we poll the command (Location: /api/commands/{id})
//   until it is applied or rejected, for a bounded time.
// * Errors become ApiError: problem+json's code, title, detail and the
//   per-field `errors` map, so forms can show messages next to their fields.
// * 401 on a page that needs a session sends the browser to the login page,
//   with ?next= pointing back here.

const WAIT_SECONDS = 10;
const POLL_DELAYS_MS = [200, 300, 500, 800, 1000, 1500, 2000];
const POLL_LIMIT_MS = 30000;
const CSRF_KEY = 'punyaka.csrf';

/** Titles of the API's reason codes (common/reasons.c), for rejected commands
 * learned by polling, whose status document carries only the code. */
const REASON_TITLES = {
  username_taken: 'That username is taken.',
  email_taken: 'That email address is already registered.',
  forbidden: 'You are not allowed to do that.',
  not_found: 'Not found.',
  invalid_transition: 'That is not possible in the current state.',
  out_of_stock: 'Some items are out of stock.',
  price_changed: 'Some prices changed since you added them.',
  inactive_product: 'A product in your cart is no longer available.',
  empty_cart: 'Your cart is empty.',
  insufficient_stock: 'Not enough stock for that adjustment.',
  slug_taken: 'That slug is taken.',
  invalid_kit: 'Invalid kit.',
  invalid_parent: 'Invalid parent category.',
  invalid_category: 'No such category.',
  invalid_discount: 'The discount price must be below the price.',
  slot_taken: 'That time was just booked by someone else. Please pick another slot.',
  not_verified: 'This priest is not verified.',
  unknown_priest: 'Unknown priest.',
  unknown_service: 'Unknown service.',
  service_inactive: 'This service is not offered at the moment.',
  in_past: 'That start time is in the past.',
  too_far_ahead: 'Bookings can be made at most 180 days ahead.',
  outside_working_hours: 'That time is outside working hours (06:00–21:00).',
  not_completed: 'The booking is not completed yet.',
  already_rated: 'You have already rated this booking.',
  already_confirmed_by_customer: 'You have already confirmed this booking.',
  invalid_command: 'The request was invalid.',
};

const REASON_STATUS = {
  forbidden: 403, not_found: 404, inactive_product: 422, empty_cart: 422, invalid_kit: 422,
  invalid_parent: 422, invalid_category: 422, invalid_discount: 422, not_verified: 422,
  unknown_priest: 422, unknown_service: 422, service_inactive: 422, in_past: 422,
  too_far_ahead: 422, outside_working_hours: 422, invalid_command: 422,
};

export class ApiError extends Error {
  constructor({ status = 0, code = 'error', title = 'Error', detail = null, fields = {} } = {}) {
    super(detail || title);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.title = title;
    this.detail = detail;
    /** { field: ["message", …] } */
    this.fields = fields || {};
  }
}

function readCookie(name) {
  for (const part of document.cookie ? document.cookie.split(/;\s*/) : []) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq) === name) return decodeURIComponent(part.slice(eq + 1));
  }
  return null;
}

export function setCsrfToken(token) {
  try {
    if (token) sessionStorage.setItem(CSRF_KEY, token);
    else sessionStorage.removeItem(CSRF_KEY);
  } catch {
    /* storage disabled: the cookie is enough */
  }
}

function csrfToken() {
  const fromCookie = readCookie('csrftoken');
  if (fromCookie) return fromCookie;
  try {
    return sessionStorage.getItem(CSRF_KEY);
  } catch {
    return null;
  }
}

export function loginUrl(next = location.pathname + location.search) {
  return `/login.html?next=${encodeURIComponent(next)}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const never = () => new Promise(() => {});

async function readJson(res) {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function problemToError(res, body) {
  if (body && typeof body === 'object' && (body.code || body.title)) {
    return new ApiError({
      status: res.status,
      code: body.code || 'error',
      title: body.title || res.statusText,
      detail: body.detail || null,
      fields: body.errors || {},
    });
  }
  const busy = res.status === 503 || res.status === 429;
  return new ApiError({
    status: res.status,
    code: busy ? 'unavailable' : 'http_error',
    title: busy ? 'The service is busy' : `Request failed (${res.status})`,
    detail: busy ? 'Please try again in a moment.' : null,
  });
}

function networkError() {
  return new ApiError({
    code: 'network_error',
    title: 'Network error',
    detail: 'Could not reach Punyaka. Check your connection and try again.',
  });
}

async function rawFetch(path, { method, body, headers }) {
  try {
    return await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-cache', // always revalidate (the API's reads carry ETags ⇒ cheap 304s)
    });
  } catch {
    throw networkError();
  }
}

/** Polls GET /api/commands/{id} until applied / rejected, at most POLL_LIMIT_MS. */
async function followCommand(location) {
  const started = Date.now();
  for (let i = 0; Date.now() - started < POLL_LIMIT_MS; i++) {
    await sleep(POLL_DELAYS_MS[Math.min(i, POLL_DELAYS_MS.length - 1)]);
    const res = await rawFetch(location, { method: 'GET', headers: { Accept: 'application/json' } });
    const doc = await readJson(res);
    if (!res.ok) throw problemToError(res, doc);
    if (doc.status === 'applied') {
      if (doc.resource) return doc.resource;
      if (doc.links && doc.links.resource) return request(doc.links.resource);
      return {};
    }
    if (doc.status === 'rejected') {
      const code = doc.code || 'rejected';
      throw new ApiError({
        status: REASON_STATUS[code] || 409,
        code,
        title: REASON_TITLES[code] || 'The request was rejected.',
      });
    }
  }
  throw new ApiError({
    status: 202,
    code: 'still_processing',
    title: 'Still processing',
    detail: 'Your request was received and is still being processed. Refresh the page in a moment to see it.',
  });
}

// ---- Idempotency-Key: one key per user action, the same key on its retry ----
//
// A write whose answer never arrived (network error), was refused for now
// (503) or is still undecided (202 "accepted"/"unknown") may still happen, so
// clicking again must not make it happen twice. Each unsafe request carries
// an Idempotency-Key; the key of an action (method, path, body) is kept until
// that action gets a final answer (2xx/4xx), so a retry of it sends the same
// key and the server maps it to the same command. Kept in sessionStorage so a
// retry after a reload is the same action too; bounded to KEYS_MAX actions.
const KEYS_STORE = 'punyaka.idempotency';
const KEYS_MAX = 50;

function pendingKeys() {
  try {
    return JSON.parse(sessionStorage.getItem(KEYS_STORE) || '{}') || {};
  } catch {
    return {};
  }
}

function savePendingKeys(keys) {
  const names = Object.keys(keys);
  for (const name of names.slice(0, Math.max(0, names.length - KEYS_MAX))) delete keys[name];
  try {
    sessionStorage.setItem(KEYS_STORE, JSON.stringify(keys));
  } catch {
    /* storage full or denied: retries then get fresh keys */
  }
}

function randomKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function actionKey(method, url, body) {
  const action = `${method} ${url} ${body === undefined ? '' : JSON.stringify(body)}`;
  const keys = pendingKeys();
  if (!keys[action]) {
    keys[action] = randomKey();
    savePendingKeys(keys);
  }
  return { action, key: keys[action] };
}

/** The action got a final answer: its next occurrence is a new action. */
function settleAction(action) {
  const keys = pendingKeys();
  delete keys[action];
  savePendingKeys(keys);
}

/** Final: applied, or refused for a reason a retry would not change. */
function isFinal(status) {
  return status !== 202 && status !== 503 && status !== 429 && status !== 0;
}

/**
 * request(path, {method, body, query, on401})
 *   on401: 'redirect' (default: go to the login page) | 'throw' | 'null' (resolve to null)
 * Resolves to the parsed JSON (or null for an empty body); rejects with ApiError.
 */
export async function request(path, { method = 'GET', body, query, on401 = 'redirect', retried = false } = {}) {
  let url = path;
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') qs.set(k, v);
    const s = qs.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  const unsafe = method !== 'GET' && method !== 'HEAD';
  const headers = { Accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let action = null;
  if (unsafe) {
    headers.Prefer = `wait=${WAIT_SECONDS}`;
    const token = csrfToken();
    if (token) headers['X-CSRF-Token'] = token;
    const idem = actionKey(method, url, body);
    headers['Idempotency-Key'] = idem.key;
    action = idem.action;
  }
  const res = await rawFetch(url, { method, body, headers });
  if (res.status === 202 && unsafe) {
    const doc = await readJson(res);
    const loc = res.headers.get('Location') || (doc && doc.links && doc.links.self);
    if (!loc) throw new ApiError({ status: 202, code: 'still_processing', title: 'Still processing' });
    const resource = await followCommand(loc).catch((err) => {
      if (isFinal(err.status || 0)) settleAction(action);
      throw err;
    });
    settleAction(action);
    return resource;
  }
  if (action && isFinal(res.status)) settleAction(action);
  const doc = await readJson(res);
  if (res.ok) return doc;
  if (res.status === 401) {
    if (on401 === 'null') return null;
    if (on401 === 'redirect') {
      location.assign(loginUrl());
      return never(); // the page is going away; no error flash
    }
  }
  const err = problemToError(res, doc);
  if (res.status === 403 && err.code === 'csrf_failed' && !retried) {
    // A stale token (e.g. the session was rotated in another tab): refresh once.
    const fresh = await rawFetch('/api/auth/csrf/', { method: 'GET', headers: { Accept: 'application/json' } });
    const tok = await readJson(fresh);
    if (fresh.ok && tok && tok.csrfToken) setCsrfToken(tok.csrfToken);
    return request(path, { method, body, query, on401, retried: true });
  }
  throw err;
}

export const get = (path, opts = {}) => request(path, { ...opts, method: 'GET' });
export const post = (path, body = {}, opts = {}) => request(path, { ...opts, method: 'POST', body });
export const patch = (path, body = {}, opts = {}) => request(path, { ...opts, method: 'PATCH', body });

// ---- accounts ----

let mePromise = null;

/**
 * The signed-in user (GET /api/auth/me/) or null; cached for the page's life.
 *
 * Without a `csrftoken` cookie there is no session to ask about: the API sets
 * that script-readable cookie together with the HttpOnly session cookie, with
 * the same lifetime, and clears both at logout. So a visitor who never signed
 * in is answered here, without the request whose 401 the browser would log
 * as a console error on every anonymous page (issue 15). The 401 contract of
 * /api/auth/me/ is unchanged, and with the cookie present we still ask: the
 * server, not the cookie, decides who is signed in.
 */
export function me({ fresh = false } = {}) {
  if (!mePromise || fresh) {
    if (!readCookie('csrftoken')) {
      setCsrfToken(null);
      mePromise = Promise.resolve(null);
      return mePromise;
    }
    mePromise = get('/api/auth/me/', { on401: 'null' }).then((u) => {
      if (u && u.csrf_token) setCsrfToken(u.csrf_token);
      if (!u) setCsrfToken(null);
      return u;
    });
  }
  return mePromise;
}

/** login / register answer {user, csrf_token}. */
function remember(doc) {
  if (doc && doc.csrf_token) setCsrfToken(doc.csrf_token);
  const user = doc && (doc.user || doc);
  mePromise = Promise.resolve(user || null);
  return user;
}

export async function login(username, password) {
  return remember(await post('/api/auth/login/', { username, password }, { on401: 'throw' }));
}

export async function register(fields) {
  const doc = await post('/api/auth/register/', fields, { on401: 'throw' });
  // Registration logs the new user in ({user, csrf_token}); one answered
  // through a polled 202 is the bare user and carries no session: log in.
  if (doc && !doc.user) return login(fields.username, fields.password);
  return remember(doc);
}

export async function logout() {
  try {
    await post('/api/auth/logout/', {}, { on401: 'null' });
  } finally {
    setCsrfToken(null);
    mePromise = Promise.resolve(null);
  }
}
