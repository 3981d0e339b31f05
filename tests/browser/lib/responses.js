// responses.js — with PUNYAKA_RESPONSE_LOG set (ctest sets it), every API
// answer the browser tests receive is appended to that file as one JSON line
// {source, method, path, status, content_type, body}, the format the C
// tests' client writes (tests/support/http.c); after the suite
// tests/support/check_responses.sh checks each against the OpenAPI document
// (issue 15).
import { appendFileSync } from 'node:fs';

const LOG = process.env.PUNYAKA_RESPONSE_LOG || '';
const SOURCE = `browser:${process.argv[1] ? process.argv[1].split('/').pop() : 'node'}`;

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
 * not lose the last ones. */
export function logContextResponses(ctx) {
  if (!LOG) return { flush: async () => {} };
  const pending = new Set();
  ctx.on('response', (res) => {
    if (!isApi(res.url())) return;
    const req = res.request();
    const p = (async () => {
      let body;
      try {
        // Redirects and 304s have no body to read.
        body = res.status() >= 300 && res.status() < 400 ? '' : await res.text();
      } catch {
        return;   // the page went away before the body was read: nothing to check
      }
      write(req.method(), res.url(), res.status(), (await res.allHeaders())['content-type'] || null, body);
    })().catch(() => {});
    pending.add(p);
    p.finally(() => pending.delete(p));
  });
  return { flush: () => Promise.all([...pending]) };
}
