/* pg.h — nonblocking PostgreSQL inside one h2o loop.
 *
 * Each loop thread owns a few libpq connections driven by socket readiness
 * (PQconnectStart/PQconnectPoll, PQsendPrepare/PQsendQueryPrepared,
 * PQconsumeInput); each connection prepares a statement text the first time
 * it runs it (a pooler in transaction mode would need that turned off, so
 * point DATABASE_URL at PostgreSQL itself). Queries queue when every
 * connection is busy; the queue is bounded so overload
 * answers 503 instead of growing memory. A broken connection is re-opened
 * every 500 ms (h2o 2.2's timeouts have one fixed delay per list); queries in flight on it fail with an error string.
 *
 * A read replica's pool (DATABASE_READ_URL, docs/operations.md "Read
 * replica") names the primary's pool of its loop as its fallback: a query
 * it cannot take (marked unusable — lagging or not answering its probe —,
 * no connection up, queue full) goes to the primary at once, and one whose
 * replica connection breaks mid-run is run again there (every API query is
 * a read), so the caller gets one answer either way. */
#ifndef PUNYAKA_API_PG_H
#define PUNYAKA_API_PG_H

#include <stdbool.h>
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

/* Replica pools (see above): the pool that runs what this one cannot. */
void api_pg_set_fallback(api_pg *pg, api_pg *fallback);
/* false: every query goes to the fallback, and what waits in the queue goes
 * there now; probes stay. Loop thread only. */
void api_pg_set_usable(api_pg *pg, bool usable);
bool api_pg_usable(api_pg *pg);
/* A query of the pool's own (the replica's lag probe): runs on this pool
 * even when unusable, never handed over, not counted. 0, or -1 when no
 * connection is up (cb is not called). */
int api_pg_probe(api_pg *pg, const char *sql, api_pg_cb cb, void *ctx);
/* Counters for /metrics (any thread): queries answered by this pool (not
 * probes), and queries this pool handed to its fallback. */
unsigned long api_pg_answered(api_pg *pg);
unsigned long api_pg_handed_over(api_pg *pg);

#endif
