/* main.c — punyaka-worker: a consumer-group member that applies commands.
 *
 * Offsets: enable.auto.offset.store=false, and an offset is stored only after
 * its message's transaction committed and, for a dead letter, the dlq topic
 * acknowledged it (process.c, batch.h); librdkafka auto-commits
 * stored offsets, and we commit synchronously when partitions are revoked
 * and at shutdown. A crash therefore redelivers, and the processed-commands
 * table turns the redelivery into a no-op.
 *
 * Beside the consumer loop run two threads: the outbox relay (relay.h),
 * which publishes journal rows to the events topic, and, when
 * PUNYAKA_METRICS_PORT is set, the /metrics HTTP server (metrics.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "common/config.h"
#include "common/kafka_util.h"
#include "common/log.h"
#include "workers/db.h"
#include "workers/batch.h"
#include "workers/credentials.h"
#include "workers/dead_letters.h"
#include "workers/fields.h"
#include "workers/process.h"
#include "common/clock.h"

static volatile sig_atomic_t stopping;
/* Bumped by every revocation (on_rebalance, which runs inside
 * rd_kafka_consumer_poll): take_batch then drops what it holds of
 * partitions no longer ours. */
static unsigned revocations;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

/* A file left by an earlier run of this container would make its
 * healthcheck pass before this run joined the group. */
static void clear_ready(void)
{
    const char *path = getenv("PUNYAKA_READY_FILE");
    if (path && *path)
        unlink(path);
}

static void mark_ready(void)
{
    const char *path = getenv("PUNYAKA_READY_FILE");
    FILE *f = path && *path ? fopen(path, "w") : NULL;
    if (f) {
        fputs("ready\n", f);
        fclose(f);
    }
}

/* Partitions this member owns now (for the log). */
static int assigned_count(rd_kafka_t *rk)
{
    rd_kafka_topic_partition_list_t *now = NULL;
    int n = 0;
    if (rd_kafka_assignment(rk, &now) == RD_KAFKA_RESP_ERR_NO_ERROR && now)
        n = now->cnt;
    if (now)
        rd_kafka_topic_partition_list_destroy(now);
    return n;
}

static void log_rebalance_error(const char *what, rd_kafka_error_t *e)
{
    if (e) {
        pk_error(NULL, "rebalance: %s: %s", what, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
}

/* The group uses the cooperative-sticky assignor (make_consumer): a
 * rebalance hands over only the partitions that move, one increment at a
 * time, and every other partition keeps being consumed meanwhile. */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    (void)opaque;
    int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (cooperative)
            log_rebalance_error("incremental assign", rd_kafka_incremental_assign(rk, parts));
        else
            rd_kafka_assign(rk, parts);
        pk_info(NULL, "assigned %d partitions, now %d", parts->cnt, assigned_count(rk));
        mark_ready();
    } else {
        /* Hand over cleanly: what we finished is committed before another
         * member starts. Lost partitions (session timed out) may already be
         * someone else's: nothing of ours to commit there. */
        int lost = rd_kafka_assignment_lost(rk);
        revocations++;
        if (!lost)
            rd_kafka_commit(rk, NULL, 0);
        if (cooperative)
            log_rebalance_error("incremental unassign", rd_kafka_incremental_unassign(rk, parts));
        else
            rd_kafka_assign(rk, NULL);
        pk_info(NULL, "%s %d partitions, keeps %d", lost ? "lost" : "revoked", parts->cnt, assigned_count(rk));
    }
}

static int conf_set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(c, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        pk_error(NULL, "kafka config %s: %s", k, err);
        return -1;
    }
    return 0;
}

static int conf_security(rd_kafka_conf_t *c)
{
    char err[256];
    if (pk_kafka_conf_security(c, err, sizeof(err)) != 0) {
        pk_error(NULL, "kafka config %s", err);
        return -1;
    }
    return 0;
}

/* fetch.wait.max.ms: a real broker answers a fetch as soon as data arrives
 * (long polling), so Kafka's 500 ms only paces idle fetches. The dev Kafka
 * (the mock cluster) does not: it answers an empty fetch after this wait
 * whatever arrives meanwhile, so every command would wait up to it —
 * scripts/lib/stack.sh sets 5 ms there (one command: ≈ 51 ms ⇒ ≈ 6 ms,
 * bench/README.md).
 *
 * Group membership: the cooperative-sticky assignor moves only the
 * partitions that change owner when a member joins or leaves (the others are
 * never paused, on_rebalance); a member that stops heartbeating (kill -9,
 * SIGSTOP, a cut network) loses its partitions after session.timeout.ms
 * (6 s), and heartbeats every second let the others learn of a rebalance
 * quickly. */
static rd_kafka_t *make_consumer(const pk_config *cfg)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char err[256], fetch_wait[16];
    snprintf(fetch_wait, sizeof(fetch_wait), "%d", cfg->kafka_fetch_wait_ms);
    if (conf_set(c, "bootstrap.servers", cfg->kafka_brokers) || conf_set(c, "group.id", cfg->group_id) ||
        conf_set(c, "client.id", cfg->instance_id) || conf_set(c, "enable.auto.offset.store", "false") ||
        conf_set(c, "enable.auto.commit", "true") || conf_set(c, "auto.commit.interval.ms", "500") ||
        conf_set(c, "auto.offset.reset", "earliest") || conf_set(c, "fetch.wait.max.ms", fetch_wait) ||
        conf_set(c, "partition.assignment.strategy", "cooperative-sticky") ||
        conf_set(c, "session.timeout.ms", "6000") || conf_set(c, "heartbeat.interval.ms", "1000") ||
        conf_set(c, "max.poll.interval.ms", "300000") || conf_security(c)) {
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    rd_kafka_conf_set_rebalance_cb(c, on_rebalance);
    rd_kafka_conf_set_log_cb(c, pk_kafka_log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
    if (!rk) {
        pk_error(NULL, "kafka consumer: %s", err);
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    const char *names[16];
    size_t n = wk_topics(names, 16);
    return pk_kafka_subscribe(rk, cfg, names, n);
}

/* The dead-letter producer. Each send waits for its delivery report
 * (dead_letters.h), which must come within the wait: message.timeout.ms
 * stays below WK_DEAD_LETTER_ACK_WAIT_MS. */
static rd_kafka_t *make_producer(const pk_config *cfg)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char err[256], timeout[16];
    snprintf(timeout, sizeof(timeout), "%d", WK_DEAD_LETTER_ACK_WAIT_MS / 2);
    if (conf_set(c, "bootstrap.servers", cfg->kafka_brokers) || conf_set(c, "enable.idempotence", "true") ||
        conf_set(c, "linger.ms", "1") || conf_set(c, "message.timeout.ms", timeout) || conf_security(c)) {
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(c, wk_dead_letter_on_delivery);
    rd_kafka_conf_set_log_cb(c, pk_kafka_log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    if (!rk)
        rd_kafka_conf_destroy(c);
    return rk;
}

/* Blocking connect with retries bounded by `stopping`. */
static PGconn *connect_db(const char *dsn)
{
    return wk_connect_db(dsn, &stopping);
}

/* Every few seconds, even when idle: the connection gauges stay true. */
static void health_tick(wk_worker *w, int64_t *next)
{
    if (pk_monotonic_ms() < *next)
        return;
    *next = pk_monotonic_ms() + 5000;
    if (PQstatus(w->ctx.db) != CONNECTION_OK)
        PQreset(w->ctx.db);
    wk_metrics_postgres_up(w->metrics, PQstatus(w->ctx.db) == CONNECTION_OK);
}

/* Messages of partitions revoked while a batch was being taken are handed
 * back (not applied): the new owner starts from the committed offset. */
static size_t keep_assigned(rd_kafka_t *rk, rd_kafka_message_t **msgs, size_t n)
{
    rd_kafka_topic_partition_list_t *now = NULL;
    size_t kept = 0;
    if (rd_kafka_assignment(rk, &now) != RD_KAFKA_RESP_ERR_NO_ERROR)
        now = NULL;
    for (size_t i = 0; i < n; i++) {
        if (now && rd_kafka_topic_partition_list_find(now, rd_kafka_topic_name(msgs[i]->rkt), msgs[i]->partition))
            msgs[kept++] = msgs[i];
        else
            rd_kafka_message_destroy(msgs[i]);
    }
    if (now)
        rd_kafka_topic_partition_list_destroy(now);
    return kept;
}

/* A message to apply, or NULL (none within wait_ms; errors are logged). */
static rd_kafka_message_t *next_message(rd_kafka_t *rk, int wait_ms)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, wait_ms);
    if (m && m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            pk_warn(NULL, "consume: %s", rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        m = NULL;
    }
    return m;
}

/* The batch (batch.h): the message waited for, then only what is already
 * buffered (a zero wait), so a lone command is applied as soon as it
 * arrives. */
static size_t take_batch(wk_worker *w, rd_kafka_message_t **msgs, size_t max)
{
    unsigned revoked = revocations;
    size_t n = 0;
    rd_kafka_message_t *m = next_message(w->consumer, 200);
    if (m)
        msgs[n++] = m;
    while (n > 0 && n < max && (m = next_message(w->consumer, 0)) != NULL)
        msgs[n++] = m;
    return revoked == revocations ? n : keep_assigned(w->consumer, msgs, n);
}

static void run(wk_worker *w)
{
    size_t max = (size_t)wk_batch_max();
    rd_kafka_message_t *msgs[WK_BATCH_MAX_LIMIT];
    int64_t next_tick = 0;
    pk_info(NULL, "batches of up to %zu commands (PUNYAKA_WORKER_BATCH_MAX)", max);
    while (!stopping) {
        health_tick(w, &next_tick);
        size_t n = take_batch(w, msgs, max);
        rd_kafka_poll(w->producer, 0);
        wk_batch_apply(w, msgs, n, &stopping);
        for (size_t i = 0; i < n; i++)
            rd_kafka_message_destroy(msgs[i]);
    }
}

int main(void)
{
    pk_config cfg;
    char err[256];
    pk_log_init("worker");
    clear_ready();
    if (pk_config_load(&cfg, err, sizeof(err)) != 0) {
        pk_error(NULL, "configuration: %s", err);
        return 1;
    }
    if (wk_credentials_init(err, sizeof(err)) != 0) {   /* no key: no account command could be applied */
        pk_error(NULL, "configuration: %s", err);
        return 1;
    }
    /* Without the key every command would be dead-lettered: refuse to start instead. */
    pk_command_keys keys;
    if (pk_command_keys_from_env(&keys, err, sizeof(err)) != 0) {
        pk_error(NULL, "configuration: %s", err);
        return 1;
    }
    if (wf_tz_offset_init() != 0) {   /* bookings must never be placed at the wrong instant */
        pk_error(NULL, "configuration: PUNYAKA_TZ_OFFSET_MINUTES must be minutes east of UTC, -720..840");
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    wk_worker w = {.ctx.cfg = &cfg, .keys = &keys};
    pk_redis_addr redis;
    if (pk_redis_addr_parse(cfg.redis_url, &redis) != 0) {
        pk_error(NULL, "REDIS_URL is malformed");
        return 1;
    }
    w.metrics = wk_metrics_create();
    w.notifier = wk_notifier_start(&redis, w.metrics);
    sodium_memzero(&redis, sizeof(redis));
    w.ctx.db = connect_db(cfg.database_url);
    w.producer = make_producer(&cfg);
    w.consumer = w.ctx.db && w.producer ? make_consumer(&cfg) : NULL;
    /* A configured endpoint that cannot listen is a deployment error: say so by exiting. */
    int metrics_ok = !w.consumer || cfg.metrics_port <= 0 ||
                     (w.metrics && wk_metrics_serve(w.metrics, cfg.metrics_port, w.consumer) == 0);
    w.relay = w.consumer && metrics_ok ? wk_relay_start(&cfg, w.metrics) : NULL;
    if (w.consumer && w.relay) {
        pk_info(NULL, "consuming as %s in group %s", cfg.instance_id, cfg.group_id);
        run(&w);
        rd_kafka_commit(w.consumer, NULL, 0);   /* what we finished, before leaving the group */
    }
    wk_relay_stop(w.relay);   /* a last round publishes what we just committed */
    wk_notifier_stop(w.notifier);   /* before the metrics it updates */
    wk_metrics_destroy(w.metrics);
    if (w.consumer) {
        rd_kafka_consumer_close(w.consumer);
        rd_kafka_destroy(w.consumer);
    }
    if (w.producer) {
        rd_kafka_flush(w.producer, 5000);
        rd_kafka_destroy(w.producer);
    }
    PQfinish(w.ctx.db);
    pk_command_keys_wipe(&keys);
    pk_info(NULL, "stopped");
    return w.consumer && w.relay ? 0 : 1;
}
