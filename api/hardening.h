/* hardening.h — what every response tells the browser, whoever produced it
 * (a handler, the static file handler, h2o's own errors, 304s):
 *   X-Content-Type-Options: nosniff   never guess a type (a JSON answer or
 *                                     an uploaded text is never run as script)
 *   Referrer-Policy: same-origin      URLs (with their ids) stay on the site
 *   Content-Security-Policy           pages: scripts, styles, frames and
 *                                     forms from this origin only, no inline
 *                                     script or style, never framed
 *                                     (frame-ancestors 'none'); API answers:
 *                                     nothing at all (default-src 'none')
 *   Server                            no product version
 * They are set by h2o's headers filter on each path, so they cover answers
 * that never pass through api_reply_*(). */
#ifndef PUNYAKA_API_HARDENING_H
#define PUNYAKA_API_HARDENING_H

#include <h2o.h>

/* The page policy (web/ depends on it: no inline <script>, style="" or on*=). */
#define API_CSP_PAGES                                                                                          \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https:; object-src 'none'; "     \
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
/* JSON, problem+json, metrics: nothing to load, never framed. */
#define API_CSP_DATA "default-src 'none'; frame-ancestors 'none'"

/* No version in the Server header (h2o would say "h2o/2.2.5"). */
void api_harden_globalconf(h2o_globalconf_t *conf);

/* Registers the headers on a path; `pages` chooses the page policy (the
 * static web UI) over the data one. Also call it on a host's fallback_path,
 * which answers h2o's errors for requests that matched no path. */
void api_harden_path(h2o_pathconf_t *pc, int pages);

#endif
