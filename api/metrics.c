#include "api/metrics.h"
#include "common/process_metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include "api/hardening.h"
#include "api/hasher.h"
#include "api/http.h"
#include "api/pg.h"
#include "api/redis.h"
#include "api/replica.h"
#include "api/resets.h"
#include "api/framing.h"
#include "api/routes.h"
#include "api/server.h"

/* Up to 10 s: `Prefer: wait` holds a write request that long (api/command.c). */
#define NBUCKETS 13
static const double BUCKETS[NBUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
/* The standard methods by name (an unknown route is labelled by the method it
 * was asked with), anything else "other": the label set stays bounded. */
static const char *const METHODS[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"};
#define NMETHODS 8
/* Every status the API answers with has a slot of its own; any other is
 * counted in its class, labelled "1xx" … "5xx" (the last five slots). */
static const int STATUSES[] = {200, 201, 202, 204, 304, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 431, 500, 503};
#define NCODES 18
#define NSTATUS (NCODES + 5)
#define MAX_TYPES 64

typedef struct {
    atomic_ullong count;
    atomic_ullong sum_us;
    atomic_ullong bucket[NBUCKETS];
} histogram;

typedef struct {
    atomic_ullong requests[NMETHODS][NSTATUS];
    histogram latency;
} route_stats;

struct api_metrics {
    route_stats routes[API_METRICS_ROUTES];
    histogram produce;
    atomic_ullong produced_ok[MAX_TYPES], produced_err[MAX_TYPES];
    atomic_ullong cache_hits[2];   /* [0] public answers, [1] a caller's own (api/reads.h) */
};

/* Command type names: append-only, shared by all threads. */
static struct {
    pthread_mutex_t lock;
    char names[MAX_TYPES][48];
    atomic_int n;
} types = {.lock = PTHREAD_MUTEX_INITIALIZER};

static const char *const *route_names;
static int nroutes;

void api_metrics_set_route_names(const char *const *patterns, int n)
{
    route_names = patterns;
    nroutes = n < API_METRICS_ROUTES - 1 ? n : API_METRICS_ROUTES - 1;
}

api_metrics *api_metrics_create(void)
{
    return calloc(1, sizeof(api_metrics));
}

void api_metrics_destroy(api_metrics *m)
{
    free(m);
}

static void observe(histogram *h, double seconds)
{
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, (unsigned long long)(seconds * 1e6), memory_order_relaxed);
    for (int i = 0; i < NBUCKETS; i++)
        if (seconds <= BUCKETS[i])
            atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
}

static int type_index(const char *type)
{
    int n = atomic_load_explicit(&types.n, memory_order_acquire);
    for (int i = 0; i < n; i++)
        if (strcmp(types.names[i], type) == 0)
            return i;
    pthread_mutex_lock(&types.lock);
    n = atomic_load(&types.n);
    int found = -1;
    for (int i = 0; i < n && found < 0; i++)
        if (strcmp(types.names[i], type) == 0)
            found = i;
    if (found < 0 && n < MAX_TYPES) {
        snprintf(types.names[n], sizeof(types.names[n]), "%s", type);
        atomic_store_explicit(&types.n, n + 1, memory_order_release);
        found = n;
    }
    pthread_mutex_unlock(&types.lock);
    return found;
}

void api_metrics_produced(api_metrics *m, const char *type, bool ok, double seconds)
{
    int i = type_index(type);
    observe(&m->produce, seconds);
    if (i >= 0)
        atomic_fetch_add_explicit(ok ? &m->produced_ok[i] : &m->produced_err[i], 1, memory_order_relaxed);
}

void api_metrics_cache_hit(api_metrics *m, bool own)
{
    atomic_fetch_add_explicit(&m->cache_hits[own ? 1 : 0], 1, memory_order_relaxed);
}

/* ---- per request ---- */

typedef struct {
    h2o_req_t *req;
    int route;
    int method;
} tracker;

static void on_request_done(void *p)
{
    tracker *t = p;
    api_thread *th = api_thread_of(t->req);
    struct timeval now;
    gettimeofday(&now, NULL);
    double secs = (double)(now.tv_sec - t->req->timestamps.request_begin_at.tv_sec) +
                  (double)(now.tv_usec - t->req->timestamps.request_begin_at.tv_usec) / 1e6;
    int status = t->req->res.status, s = -1;
    for (int i = 0; i < NCODES && s < 0; i++)
        if (STATUSES[i] == status)
            s = i;
    if (s < 0)   /* its class; h2o never answers outside 100-599 */
        s = NCODES + (status >= 100 && status < 600 ? status / 100 - 1 : 4);
    route_stats *r = &th->metrics->routes[t->route];
    atomic_fetch_add_explicit(&r->requests[t->method][s], 1, memory_order_relaxed);
    observe(&r->latency, secs);
}

void api_metrics_track(h2o_req_t *req, int route, const char *method)
{
    tracker *t = h2o_mem_alloc_shared(&req->pool, sizeof(*t), on_request_done);
    t->req = req;
    t->route = route >= 0 && route < nroutes ? route : API_METRICS_ROUTES - 1;
    t->method = NMETHODS - 1;
    for (int i = 0; i < NMETHODS - 1; i++)
        if (strcmp(METHODS[i], method) == 0)
            t->method = i;
}

/* ---- exposition ---- */

typedef struct {
    char *buf;
    size_t len, cap;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap *= 2;
        t->buf = realloc(t->buf, t->cap);
    }
}

static unsigned long long sum_over_threads(size_t offset)
{
    unsigned long long total = 0;
    for (int i = 0; i < g_api.nthreads; i++)
        total += atomic_load_explicit((atomic_ullong *)((char *)g_api.threads[i].metrics + offset), memory_order_relaxed);
    return total;
}

#define SUM(field) sum_over_threads(offsetof(api_metrics, field))

static void put_histogram(text *t, const char *name, const char *labels, size_t base)
{
    const char *sep = *labels ? "," : "";
    for (int b = 0; b < NBUCKETS; b++)
        put(t, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, BUCKETS[b],
            sum_over_threads(base + offsetof(histogram, bucket) + (size_t)b * sizeof(atomic_ullong)));
    unsigned long long count = sum_over_threads(base + offsetof(histogram, count));
    put(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, count);
    put(t, "%s_sum{%s} %.6f\n", name, labels, (double)sum_over_threads(base + offsetof(histogram, sum_us)) / 1e6);
    put(t, "%s_count{%s} %llu\n", name, labels, count);
}

static void put_http(text *t)
{
    put(t, "# HELP punyaka_http_requests_total HTTP requests by route, method and status (the code, or its class"
           " 1xx-5xx for a code without a slot of its own; route \"unmatched\" for unknown paths and methods).\n"
           "# TYPE punyaka_http_requests_total counter\n");
    for (int r = 0; r < API_METRICS_ROUTES; r++) {
        if (r >= nroutes && r != API_METRICS_ROUTES - 1)
            continue;
        const char *name = r < nroutes ? route_names[r] : "unmatched";
        for (int m = 0; m < NMETHODS; m++)
            for (int s = 0; s < NSTATUS; s++) {
                unsigned long long v = SUM(routes[r].requests[m][s]);
                if (!v)
                    continue;
                if (s < NCODES)
                    put(t, "punyaka_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n", name,
                        METHODS[m], STATUSES[s], v);
                else
                    put(t, "punyaka_http_requests_total{route=\"%s\",method=\"%s\",status=\"%dxx\"} %llu\n", name,
                        METHODS[m], s - NCODES + 1, v);
            }
    }
    put(t, "# HELP punyaka_http_request_duration_seconds Time from request start to completion.\n"
           "# TYPE punyaka_http_request_duration_seconds histogram\n");
    for (int r = 0; r < nroutes; r++) {
        if (!SUM(routes[r].latency.count))
            continue;
        char labels[160];
        snprintf(labels, sizeof(labels), "route=\"%s\"", route_names[r]);
        put_histogram(t, "punyaka_http_request_duration_seconds", labels,
                      offsetof(api_metrics, routes) + (size_t)r * sizeof(route_stats) + offsetof(route_stats, latency));
    }
}

static void put_kafka(text *t)
{
    put(t, "# HELP punyaka_commands_published_total Commands acknowledged (ok) or refused (error) by Kafka.\n"
           "# TYPE punyaka_commands_published_total counter\n");
    int n = atomic_load_explicit(&types.n, memory_order_acquire);
    for (int i = 0; i < n; i++) {
        put(t, "punyaka_commands_published_total{type=\"%s\",result=\"ok\"} %llu\n", types.names[i],
            SUM(produced_ok[i]));
        put(t, "punyaka_commands_published_total{type=\"%s\",result=\"error\"} %llu\n", types.names[i],
            SUM(produced_err[i]));
    }
    put(t, "# HELP punyaka_kafka_produce_duration_seconds From produce to delivery report.\n"
           "# TYPE punyaka_kafka_produce_duration_seconds histogram\n");
    put_histogram(t, "punyaka_kafka_produce_duration_seconds", "", offsetof(api_metrics, produce));
}

static void put_cache(text *t)
{
    put(t, "# HELP punyaka_api_cache_hits_total Reads answered from the per-loop cache without PostgreSQL: public"
           " catalog answers, and callers' own bookings and orders (api/reads.h).\n"
           "# TYPE punyaka_api_cache_hits_total counter\n"
           "punyaka_api_cache_hits_total{kind=\"public\"} %llu\npunyaka_api_cache_hits_total{kind=\"own\"} %llu\n",
        SUM(cache_hits[0]), SUM(cache_hits[1]));
}

static void put_hasher(text *t)
{
    put(t, "# HELP punyaka_password_hash_jobs_dropped_total Password hashes not computed: shed (queue full, 503) or"
           " skipped (the client had gone).\n"
           "# TYPE punyaka_password_hash_jobs_dropped_total counter\n"
           "punyaka_password_hash_jobs_dropped_total{reason=\"shed\"} %lu\n"
           "punyaka_password_hash_jobs_dropped_total{reason=\"skipped\"} %lu\n",
        api_hasher_shed_total(), api_hasher_skipped_total());
}

static void put_abandoned(text *t)
{
    unsigned long n = 0;
    for (int i = 0; i < g_api.nthreads; i++)
        if (g_api.threads[i].pg)
            n += api_pg_abandoned(g_api.threads[i].pg);
    put(t, "# HELP punyaka_postgres_queries_abandoned_total Queued reads not run because their client had gone"
           " (closed connection, HTTP/2 stream reset).\n"
           "# TYPE punyaka_postgres_queries_abandoned_total counter\n"
           "punyaka_postgres_queries_abandoned_total %lu\n", n);
    put(t, "# HELP punyaka_http2_connections_reset_guard_total HTTP/2 connections shut down for cancelling too many"
           " requests (api/resets.h).\n"
           "# TYPE punyaka_http2_connections_reset_guard_total counter\n"
           "punyaka_http2_connections_reset_guard_total %lu\n", api_resets_closed_total());
    put(t, "# HELP punyaka_http1_framing_refused_total HTTP/1 connections ended for a request head with an ambiguous"
           " length or over the head bound (api/framing.h).\n"
           "# TYPE punyaka_http1_framing_refused_total counter\n"
           "punyaka_http1_framing_refused_total %lu\n", api_framing_refused_total());
}

/* Where the API's queries ran (api/replica.h): every API query is a read. */
static void put_replica(text *t, h2o_req_t *req)
{
    unsigned long primary = 0, replica = 0, handed = 0;
    for (int i = 0; i < g_api.nthreads; i++) {
        if (g_api.threads[i].pg)
            primary += api_pg_answered(g_api.threads[i].pg);
        if (g_api.threads[i].pg_read) {
            replica += api_pg_answered(g_api.threads[i].pg_read);
            handed += api_pg_handed_over(g_api.threads[i].pg_read);
        }
    }
    put(t, "# HELP punyaka_api_reads_total PostgreSQL queries the API ran (all are reads), by the database that"
           " answered: the primary (DATABASE_URL) or the read replica (DATABASE_READ_URL).\n"
           "# TYPE punyaka_api_reads_total counter\n"
           "punyaka_api_reads_total{target=\"primary\"} %lu\npunyaka_api_reads_total{target=\"replica\"} %lu\n",
        primary, replica);
    put(t, "# HELP punyaka_api_replica_fallbacks_total Reads meant for the read replica that the primary ran instead"
           " (replica down, lagging, not answering its probe, or its connection broke mid-query).\n"
           "# TYPE punyaka_api_replica_fallbacks_total counter\npunyaka_api_replica_fallbacks_total %lu\n", handed);
    api_thread *th = api_thread_of(req);
    if (!th->pg_read)
        return;
    long long lag = api_replica_lag_ms(th);
    put(t, "# HELP punyaka_api_replica_usable 1 when the API thread that answered this scrape sends reads to the"
           " read replica (its last probe was good).\n"
           "# TYPE punyaka_api_replica_usable gauge\npunyaka_api_replica_usable{thread=\"%d\"} %d\n",
        th->index, api_pg_usable(th->pg_read) ? 1 : 0);
    put(t, "# HELP punyaka_api_replica_lag_seconds The read replica's replay lag at the last probe of the API thread"
           " that answered this scrape (-1: unknown).\n"
           "# TYPE punyaka_api_replica_lag_seconds gauge\npunyaka_api_replica_lag_seconds{thread=\"%d\"} %.3f\n",
        th->index, lag < 0 ? -1.0 : (double)lag / 1000.0);
}

static void put_connections(text *t, h2o_req_t *req)
{
    api_thread *th = api_thread_of(req);
    put(t, "# HELP punyaka_postgres_connections_ready PostgreSQL read connections ready, of the API thread that"
           " answered this scrape.\n"
           "# TYPE punyaka_postgres_connections_ready gauge\npunyaka_postgres_connections_ready{thread=\"%d\"} %d\n",
        th->index, api_pg_ready_count(th->pg));
    put(t, "# HELP punyaka_redis_ready 1 when the Redis connection of the API thread that answered this scrape is"
           " usable.\n"
           "# TYPE punyaka_redis_ready gauge\npunyaka_redis_ready{thread=\"%d\"} %d\n", th->index,
        api_redis_ready(th->redis) ? 1 : 0);
    put(t, "# HELP punyaka_kafka_up 1 when the API's Kafka producer reaches a broker.\n"
           "# TYPE punyaka_kafka_up gauge\npunyaka_kafka_up %d\n", atomic_load(&g_api.kafka_up));
}

/* PUNYAKA_VERSION and PUNYAKA_REVISION: compile definitions (CMakeLists.txt). */
static void put_build_info(text *t)
{
    put(t, "# HELP punyaka_build_info The running build: project version and git revision at configure time.\n"
           "# TYPE punyaka_build_info gauge\n"
           "punyaka_build_info{version=\"%s\",revision=\"%s\"} 1\n", PUNYAKA_VERSION, PUNYAKA_REVISION);
}

static void serve(h2o_req_t *req)
{
    text t = {.buf = malloc(16384), .cap = 16384};
    put_http(&t);
    put_kafka(&t);
    put_cache(&t);
    put_hasher(&t);
    put_abandoned(&t);
    put_connections(&t, req);
    put_replica(&t, req);
    put_build_info(&t);
    char process[1536];
    if (pk_process_metrics(process, sizeof(process)))
        put(&t, "%s", process);
    api_reply_raw(req, 200, "text/plain; version=0.0.4", t.buf, t.len);
    free(t.buf);
}

/* ---- the metrics port ---- */

static int on_metrics_port(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    api_request_id(req);
    if (!h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/metrics")))
        api_reply_problem(req, 404, "not_found", "Not found", "this port serves GET /metrics only", NULL);
    else if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
        api_add_header(req, "allow", "GET");
        api_reply_problem(req, 405, "method_not_allowed", "Method not allowed", "only GET", NULL);
    } else
        serve(req);
    return 0;
}

void api_metrics_register(h2o_globalconf_t *conf)
{
    api_harden_globalconf(conf);
    conf->max_request_entity_size = 4096;   /* a scrape has no body */
    h2o_hostconf_t *host = h2o_config_register_host(conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pc = h2o_config_register_path(host, "/", 0);
    h2o_create_handler(pc, sizeof(h2o_handler_t))->on_req = on_metrics_port;
    api_harden_path(pc, 0);
    api_harden_path(&host->fallback_path, 0);
}
