#include "api/pg.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/log.h"
#include "common/pg_session.h"

/* Each connection prepares the statements it runs, once: PostgreSQL then
 * skips parsing and (once it settles on a generic plan) planning, which
 * were ~90 % of a cart read's server time (parse 0.3 ms + plan 0.8 ms for
 * a 0.07 ms execution). The texts are few and fixed (whitelisted ORDER BY
 * variants included); past this many, statements run unprepared. */
#define PREPARED_MAX 128

typedef struct {
    uint64_t hash;
    char *sql;
} prepared_stmt;

typedef struct pg_query {
    struct pg_query *next;
    char *sql;
    uint64_t hash;   /* of sql */
    int nparams;
    char *params[API_PG_MAX_PARAMS];
    api_pg_cb cb;
    void *ctx;
    const atomic_int *gone;   /* the owning request's api_async.gone, or NULL */
    bool here_only;           /* never handed to the fallback, not counted (api_pg_probe) */
} pg_query;

typedef enum { CONN_DOWN, CONN_CONNECTING, CONN_IDLE, CONN_BUSY } conn_state;

typedef struct pg_conn {
    api_pg *pool;
    PGconn *conn;
    h2o_socket_t *sock;
    conn_state state;
    bool write_pending;     /* h2o allows one notify_write at a time */
    pg_query *current;
    PGresult *result;       /* first result of the current query */
    h2o_timeout_entry_t retry;
    bool preparing;         /* the current query's Parse is in flight */
    int nprepared;
    prepared_stmt prepared[PREPARED_MAX];   /* slot i is statement "pk<i>" */
} pg_conn;

struct api_pg {
    h2o_evloop_t *loop;
    char *conninfo;
    int nconns;
    pg_conn *conns;
    pg_query *head, *tail;
    int queued;
    atomic_ulong abandoned;   /* queued queries dropped because their client had gone (read by /metrics) */
    atomic_ulong answered;    /* queries answered here (read by /metrics) */
    /* A replica's pool: the primary's, which runs whatever this one cannot
     * (api_pg_set_fallback); `usable` false sends every query there. */
    api_pg *fallback;
    atomic_bool usable;
    atomic_ulong handed_over; /* queries given to the fallback (read by /metrics) */
    h2o_timeout_t retry_timeout;
};

static void conn_open(pg_conn *c);
static void dispatch(api_pg *pg);
static int enqueue(api_pg *pg, pg_query *q);

static void query_free(pg_query *q)
{
    for (int i = 0; i < q->nparams; i++)
        free(q->params[i]);
    free(q->sql);
    free(q);
}

static uint64_t sql_hash(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

static int prepared_find(const pg_conn *c, const pg_query *q)
{
    for (int i = 0; i < c->nprepared; i++)
        if (c->prepared[i].hash == q->hash && strcmp(c->prepared[i].sql, q->sql) == 0)
            return i;
    return -1;
}

/* A new connection has no prepared statements. */
static void prepared_forget(pg_conn *c)
{
    for (int i = 0; i < c->nprepared; i++)
        free(c->prepared[i].sql);
    c->nprepared = 0;
    c->preparing = false;
}

static void stmt_name(int slot, char out[16])
{
    snprintf(out, 16, "pk%d", slot);
}

static void query_finish(pg_query *q, const PGresult *res, const char *err)
{
    q->cb(q->ctx, res, err);
    query_free(q);
}

/* A query this pool cannot run (or whose connection broke mid-run: every
 * API query is a read, so running it again is harmless) goes to the
 * fallback, so its caller still gets one answer; without one it fails. */
static void hand_over(api_pg *pg, pg_query *q, const char *why)
{
    q->next = NULL;
    if (pg->fallback && !q->here_only) {
        atomic_fetch_add(&pg->handed_over, 1);
        if (enqueue(pg->fallback, q) == 0)
            return;
        why = "database unavailable";
    }
    query_finish(q, NULL, why);
}

/* With no usable connection nobody would ever run the queue: hand it over
 * (a replica's) or answer now; at shutdown (hand = false) just answer. */
static void fail_queue(api_pg *pg, const char *why, bool hand)
{
    while (pg->head) {
        /* Popped as queue_pop does, tail included: a callback run below (the
         * probe's) may queue again. */
        pg_query *q = pg->head;
        pg->head = q->next;
        if (!pg->head)
            pg->tail = NULL;
        pg->queued--;
        if (hand)
            hand_over(pg, q, why);
        else
            query_finish(q, NULL, why);
    }
}

static void conn_close_socket(pg_conn *c)
{
    c->write_pending = false;
    if (c->sock) {
        h2o_socket_read_stop(c->sock);
        h2o_socket_close(c->sock);   /* closes our dup() of libpq's fd */
        c->sock = NULL;
    }
}

/* The connection broke: fail what it was running, reconnect later. */
static void conn_fail(pg_conn *c, const char *why)
{
    pk_warn(NULL, "postgres connection lost: %s", why);
    if (c->result) {
        PQclear(c->result);
        c->result = NULL;
    }
    if (c->current) {
        pg_query *q = c->current;
        c->current = NULL;
        hand_over(c->pool, q, "database unavailable");
    }
    conn_close_socket(c);
    if (c->conn)
        PQfinish(c->conn);
    c->conn = NULL;
    prepared_forget(c);
    c->state = CONN_DOWN;
    if (!h2o_timeout_is_linked(&c->retry))   /* reopened every 500 ms (retry_timeout) */
        h2o_timeout_link(c->pool->loop, &c->pool->retry_timeout, &c->retry);
    if (api_pg_ready_count(c->pool) == 0)
        fail_queue(c->pool, "database unavailable", true);
}

static void on_retry(h2o_timeout_entry_t *entry)
{
    pg_conn *c = H2O_STRUCT_FROM_MEMBER(pg_conn, retry, entry);
    conn_open(c);
}

static void on_io(h2o_socket_t *sock, const char *err);
static void on_writable(h2o_socket_t *sock, const char *err);

static void wait_writable(pg_conn *c)
{
    if (!c->write_pending) {
        c->write_pending = true;
        h2o_socket_notify_write(c->sock, on_writable);
    }
}

static void flush_or_wait(pg_conn *c)
{
    int r = PQflush(c->conn);
    if (r < 0)
        conn_fail(c, PQerrorMessage(c->conn));
    else if (r > 0)
        wait_writable(c);
}

static int send_prepared(pg_conn *c, int slot)
{
    char name[16];
    stmt_name(slot, name);
    return PQsendQueryPrepared(c->conn, name, c->current->nparams, (const char *const *)c->current->params, NULL,
                               NULL, 0);
}

/* Runs q prepared (preparing it first when new: read_results then sends
 * the execution), or unprepared once the connection holds PREPARED_MAX. */
static void start_query(pg_conn *c, pg_query *q)
{
    c->current = q;
    c->state = CONN_BUSY;
    int slot = prepared_find(c, q), ok;
    if (slot >= 0) {
        ok = send_prepared(c, slot);
    } else if (c->nprepared < PREPARED_MAX) {
        char name[16];
        stmt_name(c->nprepared, name);
        c->preparing = true;
        ok = PQsendPrepare(c->conn, name, q->sql, q->nparams, NULL);
    } else {
        ok = PQsendQueryParams(c->conn, q->sql, q->nparams, NULL, (const char *const *)q->params, NULL, NULL, 0);
    }
    if (!ok) {
        conn_fail(c, PQerrorMessage(c->conn));
        return;
    }
    flush_or_wait(c);
}

/* The Parse of the current query finished: remember the statement and send
 * its execution (1), or leave its error as the query's result (0). */
static int prepared_then_execute(pg_conn *c)
{
    c->preparing = false;
    if (!c->result || PQresultStatus(c->result) != PGRES_COMMAND_OK)
        return 0;   /* e.g. a syntax error: answered as if run unprepared */
    PQclear(c->result);
    c->result = NULL;
    int slot = c->nprepared++;
    c->prepared[slot] = (prepared_stmt){c->current->hash, strdup(c->current->sql)};
    if (!send_prepared(c, slot))
        conn_fail(c, PQerrorMessage(c->conn));
    else
        flush_or_wait(c);
    return 1;
}

/* A standby cancels a query whose rows replay must remove (SQLSTATE 40001,
 * "conflict with recovery"; 40P01 for a lock): on a replica's pool that
 * is the replica's trouble, not the query's, so the primary runs it. */
static bool recovery_conflict(const PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return PQresultStatus(res) == PGRES_FATAL_ERROR && state &&
           (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0);
}

/* Reads every available result; the query is done when PQgetResult is NULL. */
static void read_results(pg_conn *c)
{
    if (!PQconsumeInput(c->conn)) {
        conn_fail(c, PQerrorMessage(c->conn));
        return;
    }
    while (c->current && !PQisBusy(c->conn)) {
        PGresult *r = PQgetResult(c->conn);
        if (r) {
            if (!c->result)
                c->result = r;
            else
                PQclear(r);
            continue;
        }
        if (c->preparing && prepared_then_execute(c))
            continue;   /* the execution's results come next (or the connection failed) */
        pg_query *q = c->current;
        PGresult *res = c->result;
        c->current = NULL;
        c->result = NULL;
        c->state = CONN_IDLE;
        if (res && c->pool->fallback && !q->here_only && recovery_conflict(res)) {
            hand_over(c->pool, q, "database unavailable");   /* the primary has no such conflicts */
            PQclear(res);
            continue;
        }
        if (res && !q->here_only)
            atomic_fetch_add(&c->pool->answered, 1);
        query_finish(q, res, res ? NULL : "no result");
        PQclear(res);
    }
}

static void connect_poll(pg_conn *c)
{
    switch (PQconnectPoll(c->conn)) {
    case PGRES_POLLING_READING:
        return;   /* on_io fires on readability */
    case PGRES_POLLING_WRITING:
        wait_writable(c);
        return;
    case PGRES_POLLING_OK:
        if (PQsetnonblocking(c->conn, 1) != 0) {
            conn_fail(c, "setnonblocking");
            return;
        }
        c->state = CONN_IDLE;
        dispatch(c->pool);
        return;
    default:
        conn_fail(c, PQerrorMessage(c->conn));
    }
}

/* What readiness in either direction does first: a socket error ends the
 * connection (CONN_DOWN), and while connecting either one advances the
 * handshake. Whether it did either; if not, the connection is up and the
 * event is the caller's own direction's work. */
static bool took_error_or_handshake(pg_conn *c, const char *err)
{
    if (err)
        conn_fail(c, err);
    else if (c->state == CONN_CONNECTING)
        connect_poll(c);
    else
        return false;
    return true;
}

static void on_io(h2o_socket_t *sock, const char *err)
{
    pg_conn *c = sock->data;
    if (!took_error_or_handshake(c, err)) {
        if (c->state == CONN_BUSY)
            read_results(c);
        else if (!PQconsumeInput(c->conn))   /* idle: only notices or a server goodbye */
            conn_fail(c, PQerrorMessage(c->conn));
    }
    if (c->state == CONN_IDLE)   /* never after a failure: that leaves it CONN_DOWN */
        dispatch(c->pool);
}

static void on_writable(h2o_socket_t *sock, const char *err)
{
    pg_conn *c = sock->data;
    c->write_pending = false;
    if (!took_error_or_handshake(c, err) && c->state == CONN_BUSY)
        flush_or_wait(c);
}

static void conn_open(pg_conn *c)
{
    pk_pg_params params;
    pk_pg_params_init(&params, c->pool->conninfo, PK_PG_API);
    c->conn = PQconnectStartParams(params.keys, params.values, 1);
    if (!c->conn || PQstatus(c->conn) == CONNECTION_BAD || PQsocket(c->conn) < 0) {
        conn_fail(c, c->conn ? PQerrorMessage(c->conn) : "out of memory");
        return;
    }
    int fd = dup(PQsocket(c->conn));
    c->sock = h2o_evloop_socket_create(c->pool->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    c->sock->data = c;
    c->state = CONN_CONNECTING;
    h2o_socket_read_start(c->sock, on_io);
    connect_poll(c);
}

static pg_query *queue_pop(api_pg *pg)
{
    pg_query *q = pg->head;
    pg->head = q->next;
    if (!pg->head)
        pg->tail = NULL;
    pg->queued--;
    return q;
}

/* Queries whose client has gone (an HTTP/2 stream reset, a closed
 * connection) leave the head of the queue unrun: a client that opens and
 * cancels streams in a loop costs a queue entry each, not a query each. */
static void drop_abandoned(api_pg *pg)
{
    while (pg->head && pg->head->gone && atomic_load(pg->head->gone)) {
        atomic_fetch_add(&pg->abandoned, 1);
        query_finish(queue_pop(pg), NULL, "client gone");
    }
}

static void dispatch(api_pg *pg)
{
    for (int i = 0; i < pg->nconns; i++) {
        pg_conn *c = &pg->conns[i];
        if (c->state != CONN_IDLE)
            continue;
        drop_abandoned(pg);
        if (!pg->head)
            break;
        start_query(c, queue_pop(pg));
    }
}

api_pg *api_pg_create(h2o_evloop_t *loop, const char *conninfo, int nconns)
{
    api_pg *pg = calloc(1, sizeof(*pg));
    pg->loop = loop;
    pg->conninfo = strdup(conninfo);
    pg->nconns = nconns;
    pg->conns = calloc((size_t)nconns, sizeof(pg_conn));
    atomic_init(&pg->usable, true);
    h2o_timeout_init(loop, &pg->retry_timeout, 500);
    for (int i = 0; i < nconns; i++) {
        pg->conns[i].pool = pg;
        pg->conns[i].retry.cb = on_retry;
        conn_open(&pg->conns[i]);
    }
    return pg;
}

void api_pg_destroy(api_pg *pg)
{
    for (int i = 0; i < pg->nconns; i++) {
        pg_conn *c = &pg->conns[i];
        if (h2o_timeout_is_linked(&c->retry))
            h2o_timeout_unlink(&c->retry);
        if (c->current)
            query_finish(c->current, NULL, "shutting down");
        if (c->result)
            PQclear(c->result);
        conn_close_socket(c);
        if (c->conn)
            PQfinish(c->conn);
        prepared_forget(c);
    }
    fail_queue(pg, "shutting down", false);
    h2o_timeout_dispose(pg->loop, &pg->retry_timeout);
    free(pg->conns);
    free(pg->conninfo);
    free(pg);
}

int api_pg_query(api_pg *pg, const char *sql, int nparams, const char *const *params,
                 api_pg_cb cb, void *ctx)
{
    return api_pg_query_for(pg, NULL, sql, nparams, params, cb, ctx);
}

/* Appends q to pg's queue and runs what it can: 0, or -1 when the queue is
 * full or no connection is even trying (nothing would run it before the
 * next reconnect); q is then still the caller's. */
static int enqueue(api_pg *pg, pg_query *q)
{
    if (pg->queued >= API_PG_QUEUE_MAX)
        return -1;
    int alive = 0;
    for (int i = 0; i < pg->nconns; i++)
        alive += pg->conns[i].state != CONN_DOWN;
    if (!alive)
        return -1;
    if (pg->tail)
        pg->tail->next = q;
    else
        pg->head = q;
    pg->tail = q;
    pg->queued++;
    dispatch(pg);
    return 0;
}

static pg_query *query_new(const api_async *owner, const char *sql, int nparams, const char *const *params,
                           api_pg_cb cb, void *ctx)
{
    pg_query *q = calloc(1, sizeof(*q));
    q->sql = strdup(sql);
    q->hash = sql_hash(sql);
    q->nparams = nparams;
    for (int i = 0; i < nparams; i++)
        q->params[i] = params[i] ? strdup(params[i]) : NULL;
    q->cb = cb;
    q->ctx = ctx;
    q->gone = owner ? &owner->gone : NULL;
    return q;
}

int api_pg_query_for(api_pg *pg, const api_async *owner, const char *sql, int nparams, const char *const *params,
                     api_pg_cb cb, void *ctx)
{
    if (nparams > API_PG_MAX_PARAMS)
        return -1;
    pg_query *q = query_new(owner, sql, nparams, params, cb, ctx);
    if (atomic_load(&pg->usable) && enqueue(pg, q) == 0)
        return 0;
    if (pg->fallback) {   /* a replica that is lagging, down or full */
        atomic_fetch_add(&pg->handed_over, 1);
        if (enqueue(pg->fallback, q) == 0)
            return 0;
    }
    query_free(q);
    return -1;
}

int api_pg_probe(api_pg *pg, const char *sql, api_pg_cb cb, void *ctx)
{
    pg_query *q = query_new(NULL, sql, 0, NULL, cb, ctx);
    q->here_only = true;
    if (enqueue(pg, q) == 0)
        return 0;
    query_free(q);
    return -1;
}

void api_pg_set_fallback(api_pg *pg, api_pg *fallback)
{
    pg->fallback = fallback;
}

void api_pg_set_usable(api_pg *pg, bool usable)
{
    atomic_store(&pg->usable, usable);
    if (!usable && pg->fallback) {   /* what waits here would wait for a replica we gave up on */
        pg_query *keep = NULL, **tail = &keep;
        while (pg->head) {
            pg_query *q = queue_pop(pg);
            if (q->here_only) {
                q->next = NULL;
                *tail = q;
                tail = &q->next;
            } else {
                hand_over(pg, q, "database unavailable");
            }
        }
        for (pg_query *q = keep, *next; q; q = next) {   /* probes stay, in order */
            next = q->next;
            q->next = NULL;
            if (enqueue(pg, q) != 0)
                query_finish(q, NULL, "database unavailable");
        }
    }
}

bool api_pg_usable(api_pg *pg)
{
    return atomic_load(&pg->usable);
}

unsigned long api_pg_answered(api_pg *pg)
{
    return atomic_load(&pg->answered);
}

unsigned long api_pg_handed_over(api_pg *pg)
{
    return atomic_load(&pg->handed_over);
}

int api_pg_ready_count(api_pg *pg)
{
    int n = 0;
    for (int i = 0; i < pg->nconns; i++)
        n += pg->conns[i].state == CONN_IDLE || pg->conns[i].state == CONN_BUSY;
    return n;
}

unsigned long api_pg_abandoned(api_pg *pg)
{
    return atomic_load(&pg->abandoned);
}
