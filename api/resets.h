/* resets.h — a bound on HTTP/2 streams a client opens and abandons.
 *
 * Debian's h2o 2.2.5 predates the fix for "rapid reset" (CVE-2023-44487):
 * a client may open a stream and cancel it at once, thousands of times a
 * second, on one connection. Abandoned reads no longer run their queries
 * (api/pg.h api_pg_query_for); this guard also ends the connection: each
 * request whose client went before its answer is counted against its
 * HTTP/2 connection, and once a connection has abandoned more than
 * PUNYAKA_H2_RESET_MAX requests within PUNYAKA_H2_RESET_WINDOW_S, its next
 * request is answered 429 and the connection is shut down (h2o then
 * closes it on its own path, releasing every stream).
 * Browsers cancel a few streams when a page is left; the default bound
 * (200 in 10 s) is far above that.
 *
 * State is per loop thread (a connection lives on one thread): a small
 * table, the oldest entry replaced when full. */
#ifndef PUNYAKA_API_RESETS_H
#define PUNYAKA_API_RESETS_H

#include <stdbool.h>
#include <stdint.h>
#include <h2o.h>

/* Every accepted socket, before h2o takes it (main.c on_accept). */
void api_resets_accepted(h2o_socket_t *sock);
/* A request of HTTP/2 connection `conn_id` was abandoned by its client. */
void api_resets_abandoned(uint64_t conn_id);
/* Called as each request starts: true when its connection is over the
 * bound; then the connection is being shut down and the caller answers 429. */
bool api_resets_over_bound(h2o_req_t *req);
/* Connections closed by the guard (all threads). */
unsigned long api_resets_closed_total(void);

#endif
