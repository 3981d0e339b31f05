#include "common/pg_session.h"

#include <stddef.h>

/* -c settings per role. The worker's idle-in-transaction bound is short: a
 * command transaction never waits for anything outside PostgreSQL. */
static const char *const OPTIONS[] = {
    [PK_PG_API] = "-c statement_timeout=5s -c lock_timeout=2s -c idle_in_transaction_session_timeout=10s",
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
