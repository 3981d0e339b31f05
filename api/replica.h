/* replica.h — which PostgreSQL answers a read: the primary, or the read
 * replica named by DATABASE_READ_URL (docs/operations.md "Read replica").
 *
 * Unset, every query goes to the primary exactly as before. Set, each loop
 * thread opens a second pool to the replica (api/pg.h: it hands whatever
 * it cannot run to the loop's primary pool) and the route table marks the
 * reads that may be a moment stale (routes.c, API_READS_REPLICA: public
 * catalog and per-user lists and details). Such a read goes to the replica
 * unless
 *   - the caller's session wrote recently: a published command stamps the
 *     session record with "read the primary until now +
 *     PUNYAKA_READ_PRIMARY_AFTER_WRITE_MS" (api/session.h), every API
 *     process reads it with the session, so the writer sees their write
 *     whichever process answers next;
 *   - the replica is unusable: every second each loop probes it (its replay
 *     lag, or "not a standby" = 0); no answer, an error, or a lag over
 *     PUNYAKA_REPLICA_MAX_LAG_MS ⇒ reads go to the primary until a probe
 *     is good again.
 * Admin views, anything a write decision rests on (ownership checks,
 * products before a cart line, the checkout's phone), command status,
 * sessions and logins always read the primary.
 * Metrics: punyaka_api_reads_total{target}, punyaka_api_replica_fallbacks_total,
 * punyaka_api_replica_usable, punyaka_api_replica_lag_seconds. */
#ifndef PUNYAKA_API_REPLICA_H
#define PUNYAKA_API_REPLICA_H

#include <stdbool.h>
#include <h2o.h>
#include "api/routes.h"
#include "api/server.h"

/* On the loop's thread, after t->pg exists: opens t->pg_read and starts the
 * probe when DATABASE_READ_URL is set (else nothing). */
void api_replica_start(api_thread *t);
/* Before t->pg is destroyed: closes the replica's pool. */
void api_replica_stop(api_thread *t);

/* The pool a read of this request goes to (see above). m NULL: the primary. */
api_pg *api_read_pool(h2o_req_t *req, const api_match *m);

/* True when a replica is configured (DATABASE_READ_URL). */
bool api_replica_configured(void);
/* May this request's public read come from the per-loop cache (api/cache.h)?
 * Not when a replica is configured and the caller is pinned to the primary:
 * an entry may be a replica's answer from before their write. */
bool api_read_cache_ok(const api_match *m);

/* The last probe's lag in ms (-1: none yet or failed), for /metrics. */
long long api_replica_lag_ms(const api_thread *t);

#endif
