#include "common/pg_session.h"

#include <stddef.h>

/* -c settings per role. The worker's idle-in-transaction bound is short: a
 * command transaction never waits for anything outside PostgreSQL.
 *
 * The API's statements are prepared once per connection and run with
 * generic plans (plan_cache_mode): under the default the planner kept
 * choosing a custom plan for every execution of the per-user reads, and
 * planning was 57 % of the whole machine's CPU under GET /api/cart/ and a
 * third under GET /api/bookings/ (perf, docs/performance.md "Profile");
 * generic plans made those reads 2–3× faster. The reads are written for
 * it: a caller's rows are branches on their own index, not an OR over
 * parameters (api/bookings.c, api/orders.c). */
static const char *const OPTIONS[] = {
    [PK_PG_API] = "-c statement_timeout=5s -c lock_timeout=2s -c idle_in_transaction_session_timeout=10s"
                  " -c plan_cache_mode=force_generic_plan",
    [PK_PG_WORKER] = "-c statement_timeout=30s -c lock_timeout=5s -c idle_in_transaction_session_timeout=10s",
};

void pk_pg_params_init(pk_pg_params *p, const char *dsn, pk_pg_role role)
{
    static const char *const KEYS[] = {"dbname", "options", "keepalives", "keepalives_idle",
                                       "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                                       "connect_timeout", NULL};
    const char *values[] = {dsn, OPTIONS[role], "1", "10", "5", "3", "30000", "10", NULL};
    size_t i = 0;
    for (; KEYS[i]; i++) {
        p->keys[i] = KEYS[i];
        p->values[i] = values[i];
    }
    p->keys[i] = p->values[i] = NULL;
}
