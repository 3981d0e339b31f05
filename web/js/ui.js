// ui.js — small DOM helpers shared by the pages: element building (text
// only, never innerHTML with data), the site header, loading / error states,
// forms with per-field errors, pagination, dates.
import { ApiError, logout, loginUrl, me } from './api.js';
import { formatINR } from './money.js';
import { bindBadge, startLive } from './parts/live.js';

export { formatINR };

/** h('a', {href: '/x', class: 'btn'}, 'text', child…) — children may be strings, nodes, arrays, null. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the content of `el` with `children`. */
export function render(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

export function param(name) {
  return new URLSearchParams(location.search).get(name);
}

// Backslash, whitespace (tab, CR, LF, unicode spaces) or a control character:
// the URL parser drops or rewrites them ('/\t/evil' becomes '//evil').
const UNSAFE_IN_PATH = /[\\\s\u0000-\u001f\u007f]/;

/** ?next= of the login and register pages: only a path on this site, so it
 * cannot be an open redirect. It must start with a single '/', hold no
 * backslash, whitespace or control character (raw or percent-encoded), and
 * resolve to this origin; anything else gives `fallback`. */
export function safeNext(next, fallback = '/dashboard.html') {
  if (typeof next !== 'string' || !next.startsWith('/')) return fallback;
  let decoded;
  try {
    decoded = decodeURIComponent(next);
  } catch {
    return fallback;   // malformed %-escape
  }
  for (const s of [next, decoded]) {
    if (s.startsWith('//') || UNSAFE_IN_PATH.test(s)) return fallback;
  }
  let url;
  try {
    url = new URL(next, location.origin);
  } catch {
    return fallback;
  }
  if (url.origin !== location.origin) return fallback;
  return url.pathname + url.search + url.hash;
}

// ---- states ----

export function loading(text = 'Loading…') {
  return h('p', { class: 'state state-loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), text);
}

export function errorBox(err, retry) {
  const msg = err instanceof ApiError ? err.message : 'Something went wrong. Please try again.';
  return h(
    'div',
    { class: 'state state-error', role: 'alert' },
    h('p', {}, msg),
    retry ? h('button', { type: 'button', class: 'btn btn-secondary', onclick: retry }, 'Try again') : null,
  );
}

export function empty(text) {
  return h('p', { class: 'state state-empty' }, text);
}

/** Loads into `el`: a loading state, then `draw(data)` or an error with a retry button. */
export async function load(el, fetcher, draw) {
  render(el, loading());
  el.setAttribute('aria-busy', 'true');
  try {
    const data = await fetcher();
    el.removeAttribute('aria-busy');
    render(el);
    draw(data);
  } catch (err) {
    el.removeAttribute('aria-busy');
    render(el, errorBox(err, () => load(el, fetcher, draw)));
  }
}

let toastRegion;
/** A short polite message at the bottom of the screen. */
export function toast(text, kind = 'info') {
  if (!toastRegion) {
    toastRegion = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(toastRegion);
  }
  const t = h('p', { class: `toast toast-${kind}` }, text);
  toastRegion.append(t);
  setTimeout(() => t.remove(), 5000);
}

// ---- header ----

const NAV = [
  ['/', 'Home'],
  ['/priests.html', 'Priests'],
  ['/products.html', 'Shop'],
];

function navLink(href, text, extra = {}) {
  const here = location.pathname === href || (href === '/' && location.pathname === '/index.html');
  return h('a', { href, 'aria-current': here ? 'page' : null, ...extra }, text);
}

export function drawHeader(user) {
  const header = $('#site-header');
  if (!header) return;
  const items = NAV.map(([href, text]) => h('li', {}, navLink(href, text)));
  if (user) {
    items.push(h('li', {}, navLink('/cart.html', 'Cart', { id: 'nav-cart' })));
    items.push(h('li', {}, navLink('/dashboard.html', 'Dashboard')));
    // The unread count, live (parts/live.js); hidden while it is 0.
    const unread = h('span', { class: 'count-badge', id: 'unread-badge', hidden: true });
    items.push(h('li', {}, h('a', { href: '/dashboard.html#notifications', id: 'nav-notifications' }, 'Notifications ', unread)));
    bindBadge(unread);
    items.push(
      h(
        'li',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'linklike',
            id: 'logout',
            onclick: async () => {
              await logout().catch(() => {});
              location.assign('/');
            },
          },
          'Log out',
        ),
      ),
    );
  } else {
    items.push(h('li', {}, navLink('/cart.html', 'Cart')));
    items.push(h('li', {}, navLink('/login.html', 'Log in')));
    items.push(h('li', {}, navLink('/register.html', 'Register', { class: 'btn btn-small' })));
  }
  render(
    header,
    h(
      'div',
      { class: 'container header-inner' },
      h('a', { class: 'brand', href: '/' }, h('img', { class: 'brand-mark', src: '/img/favicon.svg', alt: '', width: 28, height: 28 }), 'Punyaka'),
      h('nav', { 'aria-label': 'Main' }, h('ul', { class: 'nav-list' }, items)),
      user ? h('p', { class: 'whoami' }, `Signed in as ${user.username} (${user.role})`) : null,
    ),
  );
}

/**
 * Every page starts here: who is signed in, the header. With
 * {requireLogin: true} a visitor without a session goes to the login page.
 */
export async function startPage({ requireLogin = false } = {}) {
  let user = null;
  let failed = null;
  try {
    user = await me();
  } catch (err) {
    failed = err; // API unreachable: public pages show their own error states
  }
  if (requireLogin && !user) {
    if (failed) {
      // Not "logged out" but "could not ask": say so instead of a login loop.
      drawHeader(null);
      render($('main'), h('h1', {}, 'Punyaka is not reachable'), errorBox(failed, () => location.reload()));
    } else {
      location.replace(loginUrl());
    }
    await new Promise(() => {});
  }
  drawHeader(user);
  if (user) startLive();
  return user;
}

// ---- forms ----

function errorId(form, name) {
  return `${form.id || 'f'}-${name.replace(/[^a-zA-Z0-9_-]/g, '_')}-error`;
}

export function clearErrors(form) {
  for (const p of $$('.field-error', form)) p.remove();
  for (const el of $$('[aria-invalid="true"]', form)) {
    el.removeAttribute('aria-invalid');
    const ids = (el.getAttribute('aria-describedby') || '').split(' ').filter((x) => !x.endsWith('-error'));
    if (ids.length) el.setAttribute('aria-describedby', ids.join(' '));
    else el.removeAttribute('aria-describedby');
  }
  const summary = $('.form-error', form);
  if (summary) render(summary);
}

/** Shows {field: [messages]} next to the fields; the rest (and `message`) in the form's summary. */
export function showErrors(form, fields = {}, message = null) {
  clearErrors(form);
  const unplaced = [];
  let first = null;
  for (const [name, msgs] of Object.entries(fields)) {
    const list = Array.isArray(msgs) ? msgs : [msgs];
    const input = form.elements.namedItem(name);
    const el = input && (input instanceof RadioNodeList ? input[0] : input);
    if (!el) {
      unplaced.push(`${labelFor(name)}: ${list.join(' ')}`);
      continue;
    }
    const id = errorId(form, name);
    const p = h('p', { class: 'field-error', id }, list.join(' '));
    const anchor = el.closest('.field') || el;
    anchor.append(p);
    el.setAttribute('aria-invalid', 'true');
    el.setAttribute('aria-describedby', [el.getAttribute('aria-describedby'), id].filter(Boolean).join(' '));
    first = first || el;
  }
  let summary = $('.form-error', form);
  if (!summary) {
    summary = h('div', { class: 'form-error', role: 'alert' });
    form.prepend(summary);
  }
  const lines = [message, ...unplaced].filter(Boolean);
  render(summary, lines.map((l) => h('p', {}, l)));
  if (first) first.focus();
  else if (lines.length) summary.focus?.();
}

function labelFor(name) {
  return name.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

/**
 * Wires a form: on submit, runs validate(data) (⇒ {field: msg} of client-side
 * errors mirroring the API's rules), then `action(data)` with the submit
 * button busy; ApiErrors are shown next to their fields.
 */
export function bindForm(form, { validate, action, busyText = 'Please wait…' }) {
  form.noValidate = true; // our messages, not the browser's bubbles (same rules, shown inline)
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = ev.submitter || $('button[type=submit], button:not([type])', form);
    const data = formData(form);
    const local = validate ? validate(data) : {};
    if (local && Object.keys(local).length) {
      showErrors(form, local, 'Please correct the highlighted fields.');
      return;
    }
    clearErrors(form);
    const original = button ? button.textContent : null;
    if (button) {
      button.disabled = true;
      button.setAttribute('aria-busy', 'true');
      button.textContent = busyText;
    }
    try {
      await action(data, form);
    } catch (err) {
      if (err instanceof ApiError) {
        showErrors(form, err.fields, err.message);
      } else {
        console.error(err);
        showErrors(form, {}, 'Something went wrong. Please try again.');
      }
    } finally {
      if (button && button.isConnected) {
        button.disabled = false;
        button.removeAttribute('aria-busy');
        button.textContent = original;
      }
    }
  });
}

/** Form values as an object; checkboxes as booleans, trimmed strings. */
export function formData(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === 'checkbox') out[el.name] = el.checked;
    else if (el.type === 'radio') {
      if (el.checked) out[el.name] = el.value;
    } else if (el.tagName !== 'BUTTON' && el.tagName !== 'FIELDSET') out[el.name] = el.value.trim();
  }
  return out;
}

/** A labelled field: field('Email', input, 'hint'). */
export function field(labelText, control, hint) {
  const id = control.id || `fld-${control.name}-${Math.random().toString(36).slice(2, 7)}`;
  control.id = id;
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', `${id}-hint`);
  return h('div', { class: 'field' }, h('label', { for: id }, labelText), control, hintEl);
}

// ---- pagination ----

/** Prev / page n of m / next links that keep the current query string. */
export function pager({ count, page, pageSize }, label = 'Pages', name = 'page', hash = '') {
  const pages = Math.max(1, Math.ceil(count / pageSize));
  if (pages <= 1) return null;
  const href = (p) => {
    const q = new URLSearchParams(location.search);
    q.set(name, String(p));
    return `?${q}${hash}`;
  };
  const items = [];
  items.push(
    page > 1
      ? h('a', { href: href(page - 1), rel: 'prev', class: 'btn btn-secondary' }, '← Previous')
      : h('span', { class: 'btn btn-secondary', 'aria-disabled': 'true' }, '← Previous'),
  );
  items.push(h('span', { class: 'pager-status' }, `Page ${page} of ${pages}`));
  items.push(
    page < pages
      ? h('a', { href: href(page + 1), rel: 'next', class: 'btn btn-secondary' }, 'Next →')
      : h('span', { class: 'btn btn-secondary', 'aria-disabled': 'true' }, 'Next →'),
  );
  return h('nav', { class: 'pager', 'aria-label': label }, items);
}

export function pageParam(name = 'page') {
  const p = parseInt(param(name) || '1', 10);
  return Number.isFinite(p) && p >= 1 ? p : 1;
}

// ---- dates ----

const TZ = 'Asia/Kolkata'; // the platform's time zone (PUNYAKA_TZ_OFFSET_MINUTES, default +05:30)

/** Today's date in the platform's zone, "YYYY-MM-DD". */
export function todayLocal(offsetDays = 0) {
  const d = new Date(Date.now() + offsetDays * 86400000);
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
  return parts; // en-CA formats as YYYY-MM-DD
}

/** "2026-12-01" ⇒ "Tue, 1 Dec 2026" */
export function formatDate(ymd) {
  if (!ymd) return '';
  const [y, m, d] = ymd.split('-').map(Number);
  const dt = new Date(Date.UTC(y, m - 1, d));
  return new Intl.DateTimeFormat('en-IN', { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' }).format(dt);
}

/** "18:30" or "18:30:00" ⇒ "6:30 pm" */
export function formatTime(hm) {
  if (!hm) return '';
  const [hh, mm] = hm.split(':').map(Number);
  const suffix = hh < 12 ? 'am' : 'pm';
  const h12 = hh % 12 === 0 ? 12 : hh % 12;
  return `${h12}:${String(mm).padStart(2, '0')} ${suffix}`;
}

/** ISO timestamp ⇒ "1 Dec 2026, 6:30 pm" in the platform's zone. */
export function formatStamp(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat('en-IN', { timeZone: TZ, day: 'numeric', month: 'short', year: 'numeric', hour: 'numeric', minute: '2-digit' }).format(d);
}

export function stars(avg, count) {
  const n = Number.parseFloat(avg || '0');
  const full = Math.round(n);
  const label = count ? `Rated ${avg} out of 5 from ${count} rating${count === 1 ? '' : 's'}` : 'Not rated yet';
  return h(
    'span',
    { class: 'stars', title: label },
    h('span', { 'aria-hidden': 'true' }, '★'.repeat(full) + '☆'.repeat(5 - full)),
    h('span', { class: 'stars-text' }, count ? ` ${avg} (${count})` : ' New'),
    h('span', { class: 'visually-hidden' }, label),
  );
}

/** A status word as a coloured badge. */
export function badge(text, kind = text) {
  const words = String(text).replace(/_/g, ' ');
  return h('span', { class: `badge badge-${String(kind).replace(/[^a-z_]/g, '')}` }, words.charAt(0).toUpperCase() + words.slice(1));
}

// ---- validation helpers mirroring the API's (common/validate.c) ----

export const rules = {
  required: (v) => (v === undefined || v === null || String(v).trim() === '' ? 'This field is required.' : null),
  username: (v) =>
    v.length < 3 || v.length > 150
      ? 'Must be 3 to 150 characters.'
      : /^[A-Za-z0-9@.+\-_]+$/.test(v)
        ? null
        : 'May contain only letters, digits and @ . + - _',
  email: (v) => (/^[^\s@]+@[^\s@]+\.[^\s@.][^\s@]*$/.test(v) && v.length <= 254 ? null : 'Enter a valid email address.'),
  password: (v) =>
    v.length < 8 ? 'Must be at least 8 characters.' : v.length > 128 ? 'Must be at most 128 characters.' : /^\d+$/.test(v) ? 'Must not be entirely numeric.' : null,
  phone: (v) => {
    if (!/^\+?[\d -]+$/.test(v)) return 'Enter a valid phone number.';
    const n = v.replace(/\D/g, '').length;
    return n >= 7 && n <= 15 ? null : 'Enter a valid phone number (7 to 15 digits).';
  },
  pincode: (v) => (/^[1-9]\d{5}$/.test(v) ? null : 'Enter a 6-digit PIN code (not starting with 0).'),
  intRange: (min, max) => (v) => (/^\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? null : `Enter a whole number from ${min} to ${max}.`),
  maxLen: (n) => (v) => (new TextEncoder().encode(v).length > n ? `Must be at most ${n} characters.` : null),
};

/** validateWith(data, {field: [rule, …]}) ⇒ {field: message}; empty optional fields are skipped unless `required` is listed. */
export function validateWith(data, spec) {
  const errors = {};
  for (const [name, list] of Object.entries(spec)) {
    const v = data[name] ?? '';
    const isRequired = list.includes(rules.required);
    if (!isRequired && v === '') continue;
    for (const rule of list) {
      const msg = rule(v);
      if (msg) {
        errors[name] = msg;
        break;
      }
    }
  }
  return errors;
}
