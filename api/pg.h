/* pg.h — nonblocking PostgreSQL inside one h2o loop.
 *
 * Each loop thread owns a few libpq connections driven by socket readiness
 * (PQconnectStart/PQconnectPoll, PQsendPrepare/PQsendQueryPrepared,
 * PQconsumeInput); each connection prepares a statement text the first time
 * it runs it (a pooler in transaction mode would need that turned off, so
 * point DATABASE_URL at PostgreSQL itself). Queries queue when every
 * connection is busy; the queue is bounded so overload
 * answers 503 instead of growing memory. A broken connection is re-opened
 * every 500 ms (h2o 2.2's timeouts have one fixed delay per list); queries in flight on it fail with an error string. */
#ifndef PUNYAKA_API_PG_H
#define PUNYAKA_API_PG_H

#include <libpq-fe.h>
#include "api/server.h"

#define API_PG_MAX_PARAMS 16
#define API_PG_QUEUE_MAX 4096

/* Called on the loop thread exactly once: res (freed by the pool after the
 * callback returns) on success, else res == NULL and err says why. */
typedef void (*api_pg_cb)(void *ctx, const PGresult *res, const char *err);

api_pg *api_pg_create(h2o_evloop_t *loop, const char *conninfo, int nconns);
void api_pg_destroy(api_pg *pg);

/* Queues one statement with text parameters (copied). Returns 0, or -1 when
 * the queue is full (the callback is not called). */
int api_pg_query(api_pg *pg, const char *sql, int nparams, const char *const *params,
                 api_pg_cb cb, void *ctx);

/* The same for work done on behalf of `owner`'s request: if its client goes
 * (an HTTP/2 stream reset, a closed connection) while the query still waits
 * in the queue, the query is not run and cb gets err "client gone". */
int api_pg_query_for(api_pg *pg, const api_async *owner, const char *sql, int nparams, const char *const *params,
                     api_pg_cb cb, void *ctx);
/* Queued queries dropped unrun because their client had gone. */
unsigned long api_pg_abandoned(api_pg *pg);

/* Connections currently usable (for /readyz and /metrics). */
int api_pg_ready_count(api_pg *pg);

#endif
