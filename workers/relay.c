/* relay.c — the outbox relay thread (relay.h explains the locking). */
#include "workers/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libpq-fe.h>
#include "common/kafka_util.h"
#include "common/log.h"
#include "common/pg_session.h"
#include "workers/db.h"
#include "workers/event.h"
#include "workers/relay_order.h"
#include "workers/worker.h"
#include "common/clock.h"

#define BATCH 200                 /* rows per SELECT */
#define ROUNDS 50                 /* batches per wake-up: bounded even under a flood */
#define FINAL_ROUNDS 5            /* at shutdown */
#define SAFETY_MS 10000           /* the slow poll behind LISTEN: bounds a lost wake-up, costs one cheap statement */
#define COALESCE_MS 10            /* after a wake-up, before the round: commits arriving together share one round */
#define SHORT_MS 250              /* while a seq hole is open or a round failed: nothing will notify us */
#define FLUSH_MS 15000            /* > message.timeout.ms: every delivery report has arrived by then */
#define RECONNECT_MAX_MS 5000

struct wk_relay {
    const pk_config *cfg;
    wk_metrics *metrics;
    rd_kafka_t *producer;
    rd_kafka_topic_t *events;     /* held so the topic's metadata is fetched at start, not at the first event */
    char topic[128];
    PGconn *db;
    int64_t retry_at_ms;          /* no reconnect before (monotonic ms) */
    int backoff_ms;
    pthread_t thread;
    int wake[2];                  /* self-pipe: wk_relay_stop wakes the thread out of poll() */
    _Atomic int stopping;
    int due;                      /* a full round is owed: notified, reconnected, or work left over */
    int short_wait;               /* the next sleep is SHORT_MS: a hole is open or the last round failed */
    int delivered[BATCH];         /* delivery reports of the batch: 1 ok, -1 failed, 0 pending */
    wk_relay_hole hole;           /* the seq hole publication waits on (relay_order.h) */
};

/* ---- producer ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    int *slot = m->_private;
    if (slot)
        *slot = m->err ? -1 : 1;
    if (m->err)
        pk_warn(NULL, "relay: event not delivered: %s", rd_kafka_err2str(m->err));
}

static rd_kafka_t *make_producer(const pk_config *cfg)
{
    static const char *const SETTINGS[][2] = {
        {"enable.idempotence", "true"},   /* acks=all, no duplicates or reordering on retries */
        {"linger.ms", "5"},
        {"compression.codec", "lz4"},     /* events are repetitive: batches shrink several times */
        {"message.timeout.ms", "10000"},
    };
    char err[256], client[160];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    snprintf(client, sizeof(client), "%s-relay", cfg->instance_id);
    int ok = rd_kafka_conf_set(c, "bootstrap.servers", cfg->kafka_brokers, err, sizeof(err)) == RD_KAFKA_CONF_OK &&
             rd_kafka_conf_set(c, "client.id", client, err, sizeof(err)) == RD_KAFKA_CONF_OK;
    for (size_t i = 0; ok && i < sizeof(SETTINGS) / sizeof(SETTINGS[0]); i++)
        ok = rd_kafka_conf_set(c, SETTINGS[i][0], SETTINGS[i][1], err, sizeof(err)) == RD_KAFKA_CONF_OK;
    ok = ok && pk_kafka_conf_security(c, err, sizeof(err)) == 0;
    rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    rd_kafka_conf_set_log_cb(c, pk_kafka_log_cb);
    rd_kafka_t *rk = ok ? rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err)) : NULL;
    if (!rk) {
        pk_error(NULL, "relay producer: %s", err);
        rd_kafka_conf_destroy(c);
    }
    return rk;
}

/* ---- database ---- */

static void drop_db(wk_relay *r)
{
    PQfinish(r->db);
    r->db = NULL;
    r->retry_at_ms = pk_monotonic_ms() + r->backoff_ms;
    r->backoff_ms = r->backoff_ms < RECONNECT_MAX_MS / 2 ? r->backoff_ms * 2 : RECONNECT_MAX_MS;
}

/* A fresh session LISTENs before its first round, so a commit after that
 * round's snapshot is heard of; the round right after (drain) catches up
 * on whatever committed while there was no session. */
static int listen_journal(wk_relay *r);

static int ensure_db(wk_relay *r)
{
    if (r->db && PQstatus(r->db) == CONNECTION_OK)
        return 0;
    if (r->db)
        drop_db(r);
    if (pk_monotonic_ms() < r->retry_at_ms)
        return -1;
    pk_pg_params params;
    pk_pg_params_init(&params, r->cfg->database_url, PK_PG_WORKER);
    r->db = PQconnectdbParams(params.keys, params.values, 1);
    if (PQstatus(r->db) != CONNECTION_OK || listen_journal(r) != 0) {
        pk_warn(NULL, "relay: postgres: %s", PQerrorMessage(r->db));
        drop_db(r);
        return -1;
    }
    r->backoff_ms = 100;
    return 0;
}

/* Runs sql; 1 when it succeeded and (for a query) the first value is "t". */
static int exec_flag(wk_relay *r, const char *sql)
{
    PGresult *res = PQexec(r->db, sql);
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || (st == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
                                        (PQgetisnull(res, 0, 0) || PQgetvalue(res, 0, 0)[0] != 'f'));
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        pk_warn(NULL, "relay: %s: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
    return ok;
}

static int listen_journal(wk_relay *r)
{
    return exec_flag(r, "LISTEN " WK_RELAY_CHANNEL) ? 0 : -1;
}

/* Takes what the session has heard (notifications arrive during a round's
 * statements too, and libpq keeps them): how many, or -1 when the session
 * is gone. A notification is only a wake-up: the round reads the journal. */
static int take_notifications(wk_relay *r)
{
    if (!r->db || !PQconsumeInput(r->db))
        return -1;
    int n = 0;
    PGnotify *note;
    while ((note = PQnotifies(r->db)) != NULL) {
        PQfreemem(note);
        n++;
    }
    return n;
}

/* The safety poll's one statement: is anything left to publish? (An
 * index-only probe of journal_unpublished_idx.) Errors answer yes, so the
 * round that follows deals with the session. */
static int rows_pending(wk_relay *r)
{
    PGresult *res = PQexec(r->db, "SELECT EXISTS (SELECT 1 FROM journal WHERE published_at IS NULL)");
    int yes = PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQgetvalue(res, 0, 0)[0] != 'f';
    PQclear(res);
    return yes;
}

#define UNPUBLISHED_SQL                                                                                          \
    "SELECT j.seq, j.command_id, j.type, j.entity_type, j.entity_id,"                                            \
    " (extract(epoch FROM j.issued_at) * 1000000)::bigint, j.actor_id, j.actor_role, j.envelope, j.status,"     \
    " j.code, j.created_ids::text, o.http_status,"                                                              \
    " (SELECT json_agg(json_build_array(p.purpose, p.kind, p.amount_paise) ORDER BY p.id)"                       \
    "    FROM payments p WHERE p.command_id = j.command_id)::text,"                                              \
    " pc.topic, pc.kafka_partition, pc.kafka_offset"                                                             \
    " FROM journal j JOIN command_outcomes o ON o.command_id = j.command_id"                                    \
    " JOIN processed_commands pc ON pc.command_id = j.command_id"                                               \
    " WHERE j.published_at IS NULL ORDER BY j.seq LIMIT $1"

static int64_t col_i64(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

#define SNAPSHOT_SQL                                                                                     \
    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text, pg_snapshot_xmax(pg_current_snapshot())::text," \
    " (SELECT coalesce(max(seq), 0) FROM journal WHERE published_at IS NOT NULL)"

static uint64_t col_u64(const PGresult *res, int col)
{
    return strtoull(PQgetvalue(res, 0, col), NULL, 10);
}

/* The snapshot, and the next seq due, as seen by the rows' own snapshot. */
static int read_snapshot(wk_relay *r, wk_snapshot *snap, int64_t *next)
{
    PGresult *res = PQexec(r->db, SNAPSHOT_SQL);
    int ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    if (ok) {
        snap->xmin = col_u64(res, 0);
        snap->xmax = col_u64(res, 1);
        *next = (int64_t)col_u64(res, 2) + 1;
    } else {
        pk_warn(NULL, "relay: snapshot: %s", PQresultErrorMessage(res));
    }
    PQclear(res);
    return ok ? 0 : -1;
}

/* The next unpublished rows and how many of them may go now
 * (relay_order.h): read in one REPEATABLE READ snapshot, which takes no
 * lock any writer could wait on. */
static PGresult *select_unpublished(wk_relay *r, int *publishable)
{
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", BATCH);
    const char *params[] = {limit};
    wk_snapshot snap;
    int64_t next;
    if (!exec_flag(r, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") || read_snapshot(r, &snap, &next) != 0) {
        exec_flag(r, "ROLLBACK");
        return NULL;
    }
    PGresult *res = wk_exec_db(r->db, UNPUBLISHED_SQL, 1, params, NULL, NULL);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pk_warn(NULL, "relay: select: %s", PQresultErrorMessage(res));
        PQclear(res);
        res = NULL;
    }
    if (!exec_flag(r, "COMMIT")) {
        PQclear(res);
        return NULL;
    }
    int n = res ? PQntuples(res) : 0;
    int64_t seqs[BATCH];
    for (int i = 0; i < n; i++)
        seqs[i] = col_i64(res, i, 0);
    *publishable = wk_relay_publishable(seqs, n, next, snap, &r->hole);
    return res;
}

/* ---- one batch ---- */

static void copy_col(const PGresult *res, int row, int col, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

/* Row `row` as an event; the envelope is unescaped into *raw (caller frees). */
static int row_event(const PGresult *res, int row, wk_event *e, unsigned char **raw)
{
    memset(e, 0, sizeof(*e));
    e->seq = col_i64(res, row, 0);
    const char *id = PQgetvalue(res, row, 1);
    copy_col(res, row, 2, e->type, sizeof(e->type));
    copy_col(res, row, 3, e->entity_type, sizeof(e->entity_type));
    e->entity_id = col_i64(res, row, 4);
    e->issued_at_us = col_i64(res, row, 5);
    e->actor_id = col_i64(res, row, 6);
    copy_col(res, row, 7, e->actor_role, sizeof(e->actor_role));
    copy_col(res, row, 9, e->status, sizeof(e->status));
    copy_col(res, row, 10, e->code, sizeof(e->code));
    e->http_status = (int)col_i64(res, row, 12);
    copy_col(res, row, 14, e->src_topic, sizeof(e->src_topic));
    e->src_partition = (int)col_i64(res, row, 15);
    e->src_offset = col_i64(res, row, 16);
    e->created_ids = json_loads(PQgetvalue(res, row, 11), 0, NULL);
    e->money = PQgetisnull(res, row, 13) ? json_array() : json_loads(PQgetvalue(res, row, 13), 0, NULL);
    *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, 8), &e->envelope_len);
    e->envelope = *raw;
    return pk_uuid_parse(id, strlen(id), &e->id) == 0 && e->created_ids && e->money && *raw ? 0 : -1;
}

static int produce_row(wk_relay *r, const PGresult *res, int row)
{
    wk_event e;
    unsigned char *raw = NULL;
    int rc = row_event(res, row, &e, &raw);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    char key[64];
    if (rc == 0) {
        wk_event_encode(&e, &sb);
        wk_event_key(&e, key, sizeof(key));
        rc = rd_kafka_producev(r->producer, RD_KAFKA_V_TOPIC(r->topic), RD_KAFKA_V_KEY(key, strlen(key)),
                               RD_KAFKA_V_VALUE(sb.data, sb.size), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                               RD_KAFKA_V_TIMESTAMP(e.issued_at_us / 1000), RD_KAFKA_V_HEADER("type", e.type, -1),
                               RD_KAFKA_V_HEADER("v", "1", -1), RD_KAFKA_V_OPAQUE(&r->delivered[row]),
                               RD_KAFKA_V_END)
                 ? -1
                 : 0;
    } else {
        pk_error(NULL, "relay: journal row %lld cannot be encoded", (long long)e.seq);
    }
    msgpack_sbuffer_destroy(&sb);
    PQfreemem(raw);
    json_decref(e.created_ids);
    json_decref(e.money);
    return rc;
}

/* Marks rows [0, n) published. */
static int mark_published(wk_relay *r, const PGresult *res, int n)
{
    size_t cap = (size_t)n * 21 + 3, len = 0;
    char *list = malloc(cap);
    list[len++] = '{';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(list + len, cap - len, "%s%s", i ? "," : "", PQgetvalue(res, i, 0));
    snprintf(list + len, cap - len, "}");
    const char *params[] = {list};
    PGresult *u = wk_exec_db(r->db, "UPDATE journal SET published_at = now() WHERE seq = ANY($1::bigint[])", 1,
                             params, NULL, NULL);
    int ok = PQresultStatus(u) == PGRES_COMMAND_OK;
    if (!ok)
        pk_warn(NULL, "relay: marking published: %s", PQresultErrorMessage(u));
    PQclear(u);
    free(list);
    return ok ? 0 : -1;
}

/* Produces rows [0, n), waits for every report, marks the delivered
 * prefix. Returns how many were published, -1 on trouble (stop this round). */
static int publish_rows(wk_relay *r, const PGresult *res, int n)
{
    int produced = 0;
    memset(r->delivered, 0, sizeof(r->delivered));
    while (produced < n && produce_row(r, res, produced) == 0)
        produced++;
    rd_kafka_flush(r->producer, FLUSH_MS);
    int ok = 0;
    while (ok < produced && r->delivered[ok] == 1)
        ok++;
    if (ok > 0 && mark_published(r, res, ok) != 0)
        return -1;
    wk_metrics_published(r->metrics, (unsigned)ok);
    return ok == n ? n : -1;
}

#define BUSY (-2)   /* batch(): another relay holds the publisher lock */

/* One batch under the publisher lock; the number published, BUSY when
 * another relay publishes (it hears of every commit too, so it publishes
 * what we skip), -1 on trouble. */
static int batch(wk_relay *r)
{
    if (!exec_flag(r, "SELECT pg_try_advisory_lock(" WK_RELAY_PUBLISHER_LOCK ")")) {
        if (PQstatus(r->db) != CONNECTION_OK)
            drop_db(r);
        return r->db ? BUSY : -1;
    }
    int publishable = 0;
    PGresult *res = select_unpublished(r, &publishable);
    int n = res ? publish_rows(r, res, publishable) : -1;
    PQclear(res);
    exec_flag(r, "SELECT pg_advisory_unlock(" WK_RELAY_PUBLISHER_LOCK ")");
    if (PQstatus(r->db) != CONNECTION_OK)
        drop_db(r);
    return n;
}

/* Up to `rounds` batches; then decides how soon the next round is owed:
 * at once when batches were cut by the bound (more rows), soon when a seq
 * hole is open or a round failed (no notification will come for those),
 * else only when notified or by the safety poll. */
static void drain(wk_relay *r, int rounds)
{
    int n = -1;
    for (int i = 0; i < rounds; i++) {
        n = ensure_db(r) == 0 ? batch(r) : -1;
        if (n < BATCH)
            break;
    }
    r->due = n == BATCH;
    r->short_wait = n == -1 || r->hole.seq != 0;
}

/* ---- the thread ---- */

/* How long the thread may sleep: not at all when a round is owed; until
 * the reconnect backoff ends without a session; else SHORT_MS or the
 * safety poll. */
static int sleep_ms(const wk_relay *r)
{
    if (r->due)
        return 0;
    if (!r->db) {
        int64_t left = r->retry_at_ms - pk_monotonic_ms();
        return left <= 0 ? 0 : left < SAFETY_MS ? (int)left : SAFETY_MS;
    }
    return r->short_wait ? SHORT_MS : SAFETY_MS;
}

/* Sleeps in poll() on the session's socket and the stop pipe. A
 * notification (already held by libpq, or arriving) makes a round due;
 * so does a lost session (reconnect, LISTEN, catch up). Returns 1 when it
 * slept the whole time out. */
static int sleep_until_woken(wk_relay *r)
{
    int heard = take_notifications(r);
    if (heard != 0 && r->db)
        r->due = 1;   /* heard > 0, or consuming input failed on a live handle */
    int ms = sleep_ms(r);
    if (ms == 0)
        return 0;
    struct pollfd fds[2] = {{.fd = r->wake[0], .events = POLLIN},
                            {.fd = r->db ? PQsocket(r->db) : -1, .events = POLLIN}};
    int ready = poll(fds, 2, ms);
    if (ready < 0 && errno != EINTR)
        pk_warn(NULL, "relay: poll: %s", strerror(errno));
    if (fds[0].revents) {
        char buf[16];
        while (read(r->wake[0], buf, sizeof(buf)) > 0) {
        }
    }
    if (fds[1].revents && take_notifications(r) != 0)
        r->due = 1;
    return ready == 0;
}

static void *run(void *arg)
{
    wk_relay *r = arg;
    r->due = 1;   /* the first round catches up on what committed while we were down */
    for (;;) {
        int timed_out = sleep_until_woken(r);
        if (atomic_load(&r->stopping)) {
            drain(r, FINAL_ROUNDS);
            return NULL;
        }
        if (timed_out && !r->due)
            r->due = !r->db || r->short_wait || rows_pending(r);
        else if (!timed_out && r->due)
            poll(&(struct pollfd){.fd = r->wake[0], .events = POLLIN}, 1, COALESCE_MS);
        if (r->due)
            drain(r, ROUNDS);
    }
}

wk_relay *wk_relay_start(const pk_config *cfg, wk_metrics *metrics)
{
    wk_relay *r = calloc(1, sizeof(*r));
    r->cfg = cfg;
    r->metrics = metrics;
    r->backoff_ms = 100;
    r->wake[0] = r->wake[1] = -1;
    pk_topic(cfg, "events", r->topic, sizeof(r->topic));
    r->producer = make_producer(cfg);
    r->events = r->producer ? rd_kafka_topic_new(r->producer, r->topic, NULL) : NULL;
    if (!r->producer || pipe2(r->wake, O_CLOEXEC | O_NONBLOCK) != 0 || pthread_create(&r->thread, NULL, run, r) != 0) {
        if (r->events)
            rd_kafka_topic_destroy(r->events);
        if (r->producer)
            rd_kafka_destroy(r->producer);
        if (r->wake[0] >= 0) {
            close(r->wake[0]);
            close(r->wake[1]);
        }
        free(r);
        return NULL;
    }
    return r;
}

void wk_relay_stop(wk_relay *r)
{
    if (!r)
        return;
    atomic_store(&r->stopping, 1);
    if (write(r->wake[1], "s", 1) < 0)
        pk_warn(NULL, "relay: waking the thread: %s", strerror(errno));
    pthread_join(r->thread, NULL);
    rd_kafka_flush(r->producer, 5000);
    if (r->events)
        rd_kafka_topic_destroy(r->events);
    rd_kafka_destroy(r->producer);
    PQfinish(r->db);
    close(r->wake[0]);
    close(r->wake[1]);
    free(r);
}
