/* health.c — /healthz (the process answers) and /readyz (it can do its job:
 * PostgreSQL, Redis and Kafka reachable from this loop). */
#include <stdatomic.h>
#include "api/http.h"
#include "api/pg.h"
#include "api/redis.h"
#include "api/routes.h"

int api_healthz(h2o_req_t *req, const api_match *m)
{
    (void)m;
    api_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
    return 0;
}

int api_readyz(h2o_req_t *req, const api_match *m)
{
    (void)m;
    api_thread *t = api_thread_of(req);
    int pg = api_pg_ready_count(t->pg) > 0;
    int redis = api_redis_ready(t->redis);
    int kafka = atomic_load(&g_api.kafka_up);
    int ok = pg && redis && kafka;
    api_reply_json(req, ok ? 200 : 503,
                   json_pack("{s:s, s:b, s:b, s:b}", "status", ok ? "ready" : "not ready", "postgres", pg,
                             "redis", redis, "kafka", kafka));
    return 0;
}
