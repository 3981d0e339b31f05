/* main.c — punyaka-notifier: consumes the events topic in its own consumer
 * group (PUNYAKA_NOTIFIER_GROUP_ID, default punyaka-notifier) and turns
 * applied events into notifications (notify.h, docs/notifications.md).
 *
 * One event at a time, in log order (the topic has one partition):
 *   - undecodable: logged, counted, skipped (it must not stall the log);
 *   - nothing to notify (rejections, catalog, accounts, notification.*):
 *     skipped without touching PostgreSQL;
 *   - else nf_notify_event's transaction; a transient failure is retried
 *     with backoff (100 ms doubling to 5 s) and never skipped, a
 *     deterministic one is logged, counted and skipped.
 * The offset is stored only after the transaction committed (or the event
 * was skipped), and librdkafka auto-commits stored offsets; a crash
 * redelivers and notified_events turns the redelivery into a no-op. After
 * COMMIT each recipient's id is PUBLISHed on PK_LIVE_CHANNEL (common/live.h)
 * through the workers' bounded Redis thread (workers/notifier.h): best
 * effort, never waited for.
 *
 * SIGTERM: the event in hand is finished (unless PostgreSQL is down: then
 * it is left for the next run), offsets are committed, the group is left,
 * exit 0. The counts are logged every minute and at exit, and served on
 * PUNYAKA_METRICS_PORT (0 = off) with the workers' /metrics server
 * (workers/metrics.h): punyaka_notifier_events_total{result},
 * punyaka_notifier_notifications_total, punyaka_notifier_retries_total, and
 * the shared lag (the events topic), connection, build and process series.
 *
 * A PostgreSQL outage longer than max.poll.interval.ms (5 min) makes the
 * consumer leave its group while it retries; the next poll rejoins and the
 * event in hand is delivered again, which notified_events makes harmless. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include "common/clock.h"
#include "common/config.h"
#include "common/kafka_util.h"
#include "common/live.h"
#include "common/log.h"
#include "workers/db.h"
#include "workers/notifier.h"
#include "workers/notify/notify.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define STATS_EVERY_MS 60000

static volatile sig_atomic_t stopping;

/* Events by what became of them; the order of RESULT_NAMES. */
typedef enum { R_NOTIFIED, R_SKIPPED, R_DUPLICATE, R_FOREIGN, R_UNDECODABLE, R_FAILED, R_COUNT } result;
static const char *const RESULT_NAMES[R_COUNT] = {"notified", "skipped", "duplicate", "foreign", "undecodable", "failed"};

/* Added by the consumer loop, read by the metrics thread. */
typedef struct {
    atomic_ulong events[R_COUNT];
    atomic_ulong notifications, retries;
} counts;

typedef struct {
    wk_ctx ctx;
    rd_kafka_t *consumer;
    wk_notifier *live;
    wk_metrics *metrics;
    counts n;
} notifier;

static void count(notifier *nf, result r)
{
    atomic_fetch_add(&nf->n.events[r], 1);
}

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static void mark_ready(int ready)
{
    const char *path = getenv("PUNYAKA_READY_FILE");
    if (!path || !*path)
        return;
    if (!ready) {
        unlink(path);
        return;
    }
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("ready\n", f);
        fclose(f);
    }
}

/* One partition, one member at a time: the eager protocol is enough. What
 * we finished is committed before another member takes over. */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
        pk_info(NULL, "assigned %d partitions of the events topic", parts->cnt);
        mark_ready(1);
    } else {
        if (!rd_kafka_assignment_lost(rk))
            rd_kafka_commit(rk, NULL, 0);
        rd_kafka_assign(rk, NULL);
    }
}

static rd_kafka_t *make_consumer(const pk_config *cfg)
{
    const char *group = getenv("PUNYAKA_NOTIFIER_GROUP_ID");
    char fetch_wait[16], err[256];
    snprintf(fetch_wait, sizeof(fetch_wait), "%d", cfg->kafka_fetch_wait_ms);
    const char *const settings[][2] = {
        {"bootstrap.servers", cfg->kafka_brokers}, {"group.id", group && *group ? group : "punyaka-notifier"},
        {"client.id", cfg->instance_id},           {"enable.auto.offset.store", "false"},
        {"enable.auto.commit", "true"},            {"auto.commit.interval.ms", "500"},
        {"auto.offset.reset", "earliest"},         {"fetch.wait.max.ms", fetch_wait},
        {"session.timeout.ms", "6000"},            {"heartbeat.interval.ms", "1000"},
    };
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    int ok = 1;
    for (size_t i = 0; ok && i < sizeof(settings) / sizeof(settings[0]); i++)
        ok = rd_kafka_conf_set(c, settings[i][0], settings[i][1], err, sizeof(err)) == RD_KAFKA_CONF_OK;
    ok = ok && pk_kafka_conf_security(c, err, sizeof(err)) == 0;
    rd_kafka_conf_set_rebalance_cb(c, on_rebalance);
    rd_kafka_conf_set_log_cb(c, pk_kafka_log_cb);
    rd_kafka_t *rk = ok ? rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err)) : NULL;
    if (!rk) {
        pk_error(NULL, "kafka consumer: %s", err);
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    static const char *const events[] = {"events"};
    return pk_kafka_subscribe(rk, cfg, events, 1);
}

static PGconn *connect_db(const char *dsn)
{
    return wk_connect_db(dsn, &stopping);
}

static void store_offset(rd_kafka_t *rk, const rd_kafka_message_t *m)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)->offset = m->offset + 1;
    rd_kafka_offsets_store(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

static void wake_up(notifier *nf, const nf_outcome *out)
{
    char id[24];
    for (int i = 0; i < out->nusers; i++) {
        snprintf(id, sizeof(id), "%lld", (long long)out->users[i]);
        wk_notifier_publish(nf->live, PK_LIVE_CHANNEL, id);
    }
}

/* The transaction, retried while transient. 1 when the event is finished
 * (committed or skipped), 0 when stopping interrupted the retries. */
static int notify_with_retries(notifier *nf, const wk_event *e)
{
    nf_outcome out;
    for (int backoff = BACKOFF_MIN_MS;; backoff = backoff < BACKOFF_MAX_MS ? backoff * 2 : BACKOFF_MAX_MS) {
        wk_result r = nf_notify_event(&nf->ctx, e, &out);
        if (r == WK_POISON) {
            count(nf, R_FAILED);
            pk_error(NULL, "event seq %lld (%s): cannot be notified, skipped", (long long)e->seq, e->type);
            return 1;
        }
        if (r == WK_DONE)
            break;
        atomic_fetch_add(&nf->n.retries, 1);
        wk_metrics_postgres_up(nf->metrics, PQstatus(nf->ctx.db) == CONNECTION_OK);
        if (stopping)
            return 0;
        usleep((useconds_t)backoff * 1000);
        if (PQstatus(nf->ctx.db) != CONNECTION_OK)
            PQreset(nf->ctx.db);
    }
    count(nf, out.duplicate ? R_DUPLICATE : out.foreign ? R_FOREIGN : R_NOTIFIED);
    atomic_fetch_add(&nf->n.notifications, (unsigned long)out.nusers);
    wk_metrics_postgres_up(nf->metrics, 1);
    if (out.foreign)
        pk_warn(NULL, "event seq %lld matches no journal row of this database: ignored", (long long)e->seq);
    wake_up(nf, &out);
    return 1;
}

static void handle(notifier *nf, const rd_kafka_message_t *m)
{
    wk_event e;
    char err[64];
    if (wk_event_decode(m->payload, m->len, &e, err, sizeof(err)) != 0) {
        count(nf, R_UNDECODABLE);
        pk_warn(NULL, "events offset %lld: %s: skipped", (long long)m->offset, err);
        store_offset(nf->consumer, m);
        return;
    }
    int skip = nr_entity_for(e.type, e.status) == NR_ENTITY_NONE;
    if (skip)
        count(nf, R_SKIPPED);
    int finished = skip || notify_with_retries(nf, &e);
    if (finished)
        store_offset(nf->consumer, m);
    wk_event_free(&e);
}

static void log_counts(notifier *nf)
{
    counts *c = &nf->n;
    unsigned long v[R_COUNT];
    for (int i = 0; i < R_COUNT; i++)
        v[i] = atomic_load(&c->events[i]);
    pk_info(NULL,
            "events: notified %lu, skipped %lu, duplicate %lu, foreign %lu, undecodable %lu, failed %lu;"
            " notifications %lu, retries %lu",
            v[R_NOTIFIED], v[R_SKIPPED], v[R_DUPLICATE], v[R_FOREIGN], v[R_UNDECODABLE], v[R_FAILED],
            atomic_load(&c->notifications), atomic_load(&c->retries));
}

/* The notifier's series on /metrics (metrics thread). */
static void render_series(FILE *f, void *arg)
{
    counts *c = &((notifier *)arg)->n;
    fputs("# HELP punyaka_notifier_events_total Events of the events topic finished, by result.\n"
          "# TYPE punyaka_notifier_events_total counter\n", f);
    for (int i = 0; i < R_COUNT; i++)
        fprintf(f, "punyaka_notifier_events_total{result=\"%s\"} %lu\n", RESULT_NAMES[i], atomic_load(&c->events[i]));
    fprintf(f, "# HELP punyaka_notifier_notifications_total Notifications written.\n"
               "# TYPE punyaka_notifier_notifications_total counter\n"
               "punyaka_notifier_notifications_total %lu\n",
            atomic_load(&c->notifications));
    fprintf(f, "# HELP punyaka_notifier_retries_total Transient failures retried with backoff.\n"
               "# TYPE punyaka_notifier_retries_total counter\n"
               "punyaka_notifier_retries_total %lu\n",
            atomic_load(&c->retries));
}

static void run(notifier *nf)
{
    int64_t next_stats = pk_monotonic_ms() + STATS_EVERY_MS;
    while (!stopping) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(nf->consumer, 200);
        if (m && m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
            handle(nf, m);
        else if (m && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            pk_warn(NULL, "consume: %s", rd_kafka_message_errstr(m));
        if (m)
            rd_kafka_message_destroy(m);
        if (pk_monotonic_ms() >= next_stats) {
            next_stats = pk_monotonic_ms() + STATS_EVERY_MS;
            log_counts(nf);
        }
    }
}

int main(void)
{
    pk_config cfg;
    pk_redis_addr redis;
    char err[256];
    pk_log_init("notifier");
    mark_ready(0);
    if (pk_config_load(&cfg, err, sizeof(err)) != 0) {
        pk_error(NULL, "configuration: %s", err);
        return 1;
    }
    if (pk_redis_addr_parse(cfg.redis_url, &redis) != 0) {
        pk_error(NULL, "REDIS_URL is malformed");
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    static notifier nf;   /* the metrics thread reads its counts */
    nf.ctx.cfg = &cfg;
    nf.metrics = wk_metrics_create();
    wk_metrics_set_series(nf.metrics, render_series, &nf);
    nf.live = wk_notifier_start(&redis, nf.metrics);
    sodium_memzero(&redis, sizeof(redis));
    nf.ctx.db = connect_db(cfg.database_url);
    wk_metrics_postgres_up(nf.metrics, nf.ctx.db != NULL);
    nf.consumer = nf.ctx.db && nf.live ? make_consumer(&cfg) : NULL;
    /* A configured endpoint that cannot listen is a deployment error: say so by exiting. */
    int metrics_ok = !nf.consumer || cfg.metrics_port <= 0 ||
                     (nf.metrics && wk_metrics_serve(nf.metrics, cfg.metrics_port, nf.consumer) == 0);
    if (nf.consumer && metrics_ok) {
        pk_info(NULL, "notifying from the events topic as %s", cfg.instance_id);
        run(&nf);
        rd_kafka_commit(nf.consumer, NULL, 0);   /* what we finished, before leaving the group */
    }
    wk_notifier_stop(nf.live);     /* before the metrics it updates */
    wk_metrics_destroy(nf.metrics);   /* before the consumer it reads */
    if (nf.consumer) {
        rd_kafka_consumer_close(nf.consumer);
        rd_kafka_destroy(nf.consumer);
    }
    PQfinish(nf.ctx.db);
    log_counts(&nf);
    pk_info(NULL, "stopped");
    return nf.consumer && metrics_ok ? 0 : 1;
}
