// responses.js — with PUNYAKA_RESPONSE_LOG set (ctest sets it), every API
// answer the browser tests receive is appended to that file as one JSON line
// {source, method, path, status, content_type, body}, the format the C
// tests' client writes (tests/support/http.c); after the suite
// tests/support/check_responses.sh checks each against the OpenAPI document
// (issue 15).
import { appendFileSync } from 'node:fs';

const LOG = process.env.PUNYAKA_RESPONSE_LOG || '';
const SOURCE = `browser:${process.argv[1] ? process.argv[1].split('/').pop() : 'node'}`;

// A body read can wait forever once its page has navigated away (the
// browser drops it): give up after this long, the test must not hang on it.
const BODY_WAIT_MS = 1500;
const within = (promise, ms) => {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
};

const isApi = (url) => {
  const { pathname } = new URL(url);
  return pathname.startsWith('/api/') || pathname === '/healthz' || pathname === '/readyz';
};

function write(method, url, status, contentType, body) {
  const { pathname, search } = new URL(url);
  appendFileSync(LOG, `${JSON.stringify({ source: SOURCE, method, path: pathname + search, status, content_type: contentType, body })}\n`);
}

/** Logs an answer of playwright's APIRequestContext (set-up calls); `text` is its body, already read. */
export function logApiResponse(method, res, text) {
  if (!LOG || !isApi(res.url())) return;
  write(method, res.url(), res.status(), res.headers()['content-type'] || null, text);
}

/** Logs every /api/ answer a browser context's pages receive. Pending body
 * reads are kept in `pending`, so `flush()` (before the context closes) does
 * not lose the last ones; each read gives up after BODY_WAIT_MS. */
export function logContextResponses(ctx) {
  if (!LOG) return { flush: async () => {} };
  const pending = new Set();
  // A test's ctx.route() handler may fulfill a request in the server's place
  // (a mocked 503): that is not the API's answer, so it is not logged (a
  // request it lets continue to the server is).
  const routed = new WeakSet();
  const route = ctx.route.bind(ctx);
  ctx.route = (url, handler, options) =>
    route(url, (r, request) => {
      const fulfill = r.fulfill.bind(r);
      r.fulfill = (opts) => {
        routed.add(request);
        return fulfill(opts);
      };
      return handler(r, request);
    }, options);
  ctx.on('response', (res) => {
    if (!isApi(res.url()) || routed.has(res.request())) return;
    const req = res.request();
    const p = (async () => {
      let body;
      try {
        // Redirects and 304s have no body to read.
        body = res.status() >= 300 && res.status() < 400 ? '' : await within(res.text(), BODY_WAIT_MS);
      } catch {
        return;   // the page went away before the body was read: nothing to check
      }
      const type = (await within(res.allHeaders(), BODY_WAIT_MS))['content-type'] || null;
      // The catalog's answers are `no-cache` with an ETag: Chromium revalidates
      // them, and when the server answers 304 it hands the page its cached 200
      // with the 304's headers (no Content-Type). Log what the server sent.
      if (res.status() === 200 && !type && body) write(req.method(), res.url(), 304, null, '');
      else write(req.method(), res.url(), res.status(), type, body);
    })().catch(() => {});
    pending.add(p);
    p.finally(() => pending.delete(p));
  });
  // Every pending read settles within BODY_WAIT_MS (errors are caught above).
  return { flush: () => Promise.all([...pending]) };
}
