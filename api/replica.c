/* replica.c — the read replica's pool and its probe (see replica.h). */
#include "api/replica.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "api/pg.h"
#include "common/log.h"

/* A probe unanswered for this many ticks (1 s each) marks the replica
 * unusable: a replica that cannot answer this in 3 s cannot serve reads. */
#define PROBE_PATIENCE 3

/* Replay lag in ms: 0 on a server that is not a standby (DATABASE_READ_URL
 * pointed at a primary) or that has replayed all it received; else the age
 * of the last transaction it replayed (an idle primary sends nothing, and
 * then the receive and replay positions agree); -1 when unknown. */
static const char PROBE_SQL[] =
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0"
    " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE coalesce((extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::bigint, -1) END";

struct api_replica {
    api_thread *thread;
    h2o_timeout_t every_second;
    h2o_timeout_entry_t tick;
    int probe_age;            /* ticks since the probe in flight was sent; 0 = none in flight */
    atomic_llong lag_ms;      /* the last probe's, -1 unknown (read by /metrics) */
};

bool api_replica_configured(void)
{
    return g_api.cfg.database_read_url != NULL;
}

static void set_usable(api_replica *r, bool usable, const char *why)
{
    api_pg *pg = r->thread->pg_read;
    if (api_pg_usable(pg) != usable) {
        if (usable)
            pk_info(NULL, "read replica usable again (thread %d)", r->thread->index);
        else
            pk_warn(NULL, "read replica not used (thread %d): %s; reads go to the primary", r->thread->index, why);
    }
    api_pg_set_usable(pg, usable);
}

static void on_probe(void *ctx, const PGresult *res, const char *err)
{
    api_replica *r = ctx;
    r->probe_age = 0;
    if (err && strcmp(err, "shutting down") == 0)
        return;
    long long lag = -1;
    if (!err && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        lag = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    atomic_store(&r->lag_ms, lag);
    if (lag < 0)
        set_usable(r, false, err ? err : "its replay lag is unknown");
    else if (lag > g_api.cfg.replica_max_lag_ms)
        set_usable(r, false, "it lags more than PUNYAKA_REPLICA_MAX_LAG_MS");
    else
        set_usable(r, true, NULL);
}

static void on_tick(h2o_timeout_entry_t *e)
{
    api_replica *r = H2O_STRUCT_FROM_MEMBER(api_replica, tick, e);
    if (r->probe_age > 0) {   /* still waiting for the last one */
        if (++r->probe_age > PROBE_PATIENCE) {
            atomic_store(&r->lag_ms, -1);
            set_usable(r, false, "it does not answer");
        }
    } else {
        r->probe_age = 1;   /* before: a connection that fails at once answers inside the call */
        if (api_pg_probe(r->thread->pg_read, PROBE_SQL, on_probe, r) != 0) {
            r->probe_age = 0;
            atomic_store(&r->lag_ms, -1);
            set_usable(r, false, "no connection");
        }
    }
    h2o_timeout_link(r->thread->loop, &r->every_second, &r->tick);
}

void api_replica_start(api_thread *t)
{
    if (!api_replica_configured())
        return;
    t->pg_read = api_pg_create(t->loop, g_api.cfg.database_read_url, g_api.cfg.pg_conns_per_thread);
    api_pg_set_fallback(t->pg_read, t->pg);
    api_pg_set_usable(t->pg_read, false);   /* until its first probe says it is a current copy */
    api_replica *r = calloc(1, sizeof(*r));
    r->thread = t;
    atomic_init(&r->lag_ms, -1);
    h2o_timeout_init(t->loop, &r->every_second, 1000);
    r->tick.cb = on_tick;
    t->replica = r;
    on_tick(&r->tick);   /* the first probe now: reads use the replica within a round trip */
}

void api_replica_stop(api_thread *t)
{
    api_replica *r = t->replica;
    if (!r)
        return;
    if (h2o_timeout_is_linked(&r->tick))
        h2o_timeout_unlink(&r->tick);
    api_pg_destroy(t->pg_read);   /* the probe in flight hears "shutting down" */
    h2o_timeout_dispose(t->loop, &r->every_second);
    free(r);
    t->replica = NULL;
    t->pg_read = NULL;
}

bool api_read_cache_ok(const api_match *m)
{
    return !api_replica_configured() || (m && m->replica);
}

api_pg *api_read_pool(h2o_req_t *req, const api_match *m)
{
    api_thread *t = api_thread_of(req);
    return t->pg_read && m && m->replica ? t->pg_read : t->pg;
}

long long api_replica_lag_ms(const api_thread *t)
{
    return t->replica ? atomic_load(&t->replica->lag_ms) : -1;
}
