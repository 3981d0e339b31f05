/* stream.c — GET /api/stream/, live updates as Server-Sent Events
 * (stream.h says what and why; common/live.h is the contract).
 *
 * Ownership. A live_stream is calloc'd by the handler and freed when both
 * (a) its request is gone — h2o freed the request's pool, where live_gen
 * lives (its dispose callback clears gen) — and (b) no query that will call
 * back with it is in flight (refs). live_gen holds the bytes h2o is sending
 * (h2o reads them until it calls proceed), so they outlive the stream if
 * the loop's state is torn down first. A live_user groups one user's
 * streams on this loop and is freed when it has none and no read in
 * flight. Nothing here is shared between threads except the process-wide
 * bounds (a mutex, taken only when a stream opens or closes). */
#include "api/stream.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/http.h"
#include "api/pg.h"
#include "api/query.h"
#include "api/reads.h"
#include "api/routes.h"
#include "api/session.h"
#include "common/live.h"
#include "common/log.h"

#define BUCKETS 1024
#define DIGITS_MAX 18   /* a positive bigint that cannot overflow */

typedef struct live_stream live_stream;
typedef struct live_user live_user;

typedef struct {
    h2o_generator_t super;   /* first: h2o hands it back to proceed/stop */
    live_stream *s;          /* NULL once the loop's state is gone (shutdown) */
    char *inflight;          /* what h2o is sending now */
} live_gen;

struct live_stream {
    live_gen *gen;           /* NULL once the request is gone */
    h2o_req_t *req;
    live_user *user;
    h2o_linklist_t link;     /* in user->streams */
    int64_t last_id;         /* the newest notification id sent (or the start) */
    uint64_t seq;            /* process-wide opening order: the per-user bound ends the oldest */
    int refs;                /* callbacks still to come with this stream */
    bool started;            /* headers sent, last_id known */
    bool sending;            /* an h2o_send in flight: wait for proceed */
    bool ending;             /* end the response as soon as h2o allows */
    bool final_sent;
    bool evicted;            /* the per-user bound ends it once it has started */
    char *out;               /* queued behind the send in flight */
    size_t out_len, out_cap, inflight_len;
    uint64_t last_write_ms;
};

struct live_user {
    api_live *live;
    int64_t id;
    live_user *next;         /* hash chain */
    h2o_linklist_t streams;
    int nstreams, pins;
    bool querying;           /* one read at a time per user */
    bool dirty;              /* read again when the current read (or a start) is done */
    uint64_t next_recheck_ms;
};

struct api_live {
    api_thread *t;
    h2o_multithread_receiver_t evictions;   /* another loop's new stream ends one of ours */
    live_user *buckets[BUCKETS];
    h2o_timeout_t tick_timeout;
    h2o_timeout_entry_t tick;
    bool closing;
};

/* ---- settings and process-wide bounds ---- */

static struct {
    int max_streams, max_per_user, recheck_ms, heartbeat_ms;
} cfg = {10000, 4, PK_LIVE_RECHECK_MS, 15000};

static atomic_int open_streams;
static atomic_ullong next_seq = 1;
static atomic_bool stopping;   /* shutdown began on some loop: no evictions across loops any more */

/* A user's open streams in the process (every loop's), oldest findable. */
typedef struct {
    int thread;
    uint64_t seq;
} slot;

typedef struct user_count {
    int64_t id;
    int n;
    slot slots[64];   /* cfg.max_per_user ≤ 64 */
    struct user_count *next;
} user_count;

static pthread_mutex_t counts_mu = PTHREAD_MUTEX_INITIALIZER;
static user_count *counts[BUCKETS];

static int env_int(const char *name, int def, int min, int max)
{
    const char *v = getenv(name);
    char *end;
    long n = v && *v ? strtol(v, &end, 10) : def;
    if (v && *v && (*end || n < min || n > max)) {
        pk_warn(NULL, "%s must be an integer in [%d, %d]; using %d", name, min, max, def);
        return def;
    }
    return (int)n;
}

void api_live_init(void)
{
    cfg.max_streams = env_int("PUNYAKA_LIVE_MAX_STREAMS", 10000, 1, 1000000);
    cfg.max_per_user = env_int("PUNYAKA_LIVE_MAX_PER_USER", 4, 1, 64);
    cfg.recheck_ms = env_int("PUNYAKA_LIVE_RECHECK_MS", PK_LIVE_RECHECK_MS, 100, 3600000);
    cfg.heartbeat_ms = env_int("PUNYAKA_LIVE_HEARTBEAT_MS", 15000, 100, 3600000);
}

static size_t bucket_of(int64_t id)
{
    return (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ull >> 54) % BUCKETS;
}

/* Takes a slot of the per-user bound for stream `seq` on loop `thread`.
 * When the user already has the most, the oldest stream's slot is taken
 * over: *evicted says which stream must end (true returned). */
static bool user_claim(int64_t id, int thread, uint64_t seq, slot *evicted)
{
    bool evict = false;
    pthread_mutex_lock(&counts_mu);
    user_count **p = &counts[bucket_of(id)];
    while (*p && (*p)->id != id)
        p = &(*p)->next;
    if (!*p) {
        *p = calloc(1, sizeof(**p));
        if (!*p)
            abort();
        (*p)->id = id;
    }
    user_count *c = *p;
    if (c->n >= cfg.max_per_user) {
        int oldest = 0;
        for (int i = 1; i < c->n; i++)
            if (c->slots[i].seq < c->slots[oldest].seq)
                oldest = i;
        *evicted = c->slots[oldest];
        c->slots[oldest] = c->slots[--c->n];
        evict = true;
    }
    c->slots[c->n++] = (slot){thread, seq};
    pthread_mutex_unlock(&counts_mu);
    return evict;
}

/* Gives stream seq's slot back (none when it was evicted: its slot went to
 * the stream that evicted it). */
static void user_unclaim(int64_t id, uint64_t seq)
{
    pthread_mutex_lock(&counts_mu);
    user_count **p = &counts[bucket_of(id)];
    while (*p && (*p)->id != id)
        p = &(*p)->next;
    user_count *c = *p;
    for (int i = 0; c && i < c->n; i++) {
        if (c->slots[i].seq == seq) {
            c->slots[i] = c->slots[--c->n];
            break;
        }
    }
    if (c && c->n == 0) {
        *p = c->next;
        free(c);
    }
    pthread_mutex_unlock(&counts_mu);
}

/* ---- users (per loop) ---- */

static live_user *user_find(api_live *l, int64_t id)
{
    live_user *u = l->buckets[bucket_of(id)];
    while (u && u->id != id)
        u = u->next;
    return u;
}

static live_user *user_get(api_live *l, int64_t id)
{
    live_user *u = user_find(l, id);
    if (u)
        return u;
    u = calloc(1, sizeof(*u));
    if (!u)
        abort();
    u->live = l;
    u->id = id;
    h2o_linklist_init_anchor(&u->streams);
    u->next_recheck_ms = api_now_ms() + (uint64_t)cfg.recheck_ms;
    u->next = l->buckets[bucket_of(id)];
    l->buckets[bucket_of(id)] = u;
    return u;
}

static void user_release_if_idle(live_user *u)
{
    if (u->nstreams || u->querying || u->pins)
        return;
    live_user **p = &u->live->buckets[bucket_of(u->id)];
    while (*p != u)
        p = &(*p)->next;
    *p = u->next;
    free(u);
}

/* ---- sending ---- */

static void stream_free_if_done(live_stream *s)
{
    if (s->gen || s->refs)
        return;
    free(s->out);
    free(s);
}

/* Hands what is queued to h2o (one send in flight at a time). Never ends
 * the response: callers may go on using the stream. */
static void flush(live_stream *s)
{
    if (!s->gen || s->sending || s->final_sent || !s->out_len)
        return;
    free(s->gen->inflight);
    s->gen->inflight = s->out;
    s->inflight_len = s->out_len;
    s->out = NULL;
    s->out_len = s->out_cap = 0;
    s->sending = true;
    s->last_write_ms = api_now_ms();
    h2o_iovec_t buf = h2o_iovec_init(s->gen->inflight, s->inflight_len);
    h2o_send(s->req, &buf, 1, H2O_SEND_STATE_IN_PROGRESS);
}

/* Ends the response once nothing is in flight. The caller must not touch
 * the stream afterwards unless it holds a ref: h2o may free the request. */
static void end_if_due(live_stream *s)
{
    if (!s->gen || !s->started || !s->ending || s->sending || s->final_sent)
        return;
    s->final_sent = true;
    h2o_send(s->req, NULL, 0, H2O_SEND_STATE_FINAL);
}

static void queue_bytes(live_stream *s, const char *data, size_t len)
{
    if (!s->gen || !s->started || s->ending)
        return;
    if (s->out_len + s->inflight_len + len > API_LIVE_BUFFER_MAX) {
        pk_warn(NULL, "live stream of user %lld: client reads too slowly (%zu bytes queued); ending it",
                (long long)s->user->id, s->out_len + s->inflight_len);
        s->ending = true;   /* ended by on_proceed or the tick */
        return;
    }
    if (s->out_len + len > s->out_cap) {
        size_t cap = s->out_cap ? s->out_cap : 1024;
        while (cap < s->out_len + len)
            cap *= 2;
        char *grown = realloc(s->out, cap);
        if (!grown)
            abort();
        s->out = grown;
        s->out_cap = cap;
    }
    memcpy(s->out + s->out_len, data, len);
    s->out_len += len;
    flush(s);
}

static void queue_text(live_stream *s, const char *text)
{
    queue_bytes(s, text, strlen(text));
}

/* One notification: the JSON came from PostgreSQL, whose JSON has no raw
 * line breaks; a line break would end the data field early, so any is made
 * a space anyway. */
static void queue_event(live_stream *s, const char *id, const char *json)
{
    size_t len = strlen(json);
    char *line = malloc(len + 96);
    if (!line)
        abort();
    int n = snprintf(line, 96, "id: %s\nevent: notification\ndata: ", id);
    for (size_t i = 0; i < len; i++)
        line[n + (int)i] = json[i] == '\n' || json[i] == '\r' ? ' ' : json[i];
    memcpy(line + n + len, "\n\n", 2);
    queue_bytes(s, line, (size_t)n + len + 2);
    free(line);
}

static void on_proceed(h2o_generator_t *g, h2o_req_t *req)
{
    live_gen *gen = (live_gen *)g;
    (void)req;
    free(gen->inflight);
    gen->inflight = NULL;
    live_stream *s = gen->s;
    if (!s)
        return;
    s->sending = false;
    s->inflight_len = 0;
    flush(s);
    end_if_due(s);
}

static void on_stop(h2o_generator_t *g, h2o_req_t *req)
{
    (void)g, (void)req;   /* the pool's dispose (on_gen_dispose) follows and does the work */
}

static void detach(live_stream *s)
{
    live_user *u = s->user;
    h2o_linklist_unlink(&s->link);
    u->nstreams--;
    user_unclaim(u->id, s->seq);
    atomic_fetch_sub(&open_streams, 1);
    user_release_if_idle(u);
    s->user = NULL;
}

/* The request's pool is going: the client left, or the response ended. */
static void on_gen_dispose(void *p)
{
    live_gen *gen = p;
    free(gen->inflight);
    gen->inflight = NULL;
    live_stream *s = gen->s;
    if (!s)
        return;
    s->gen = NULL;
    s->req = NULL;
    detach(s);
    stream_free_if_done(s);
}

/* ---- reading notifications ---- */

/* The same shape as GET /api/notifications/ (common/shapes.h). */
static const char ROWS_SQL[] =
    "SELECT n.id, " PK_NOTIFICATION_JSON "::text"
    " FROM notifications n WHERE n.user_id = $1 AND n.id > $2 ORDER BY n.id LIMIT 100";

static void user_read(live_user *u);

static void on_rows(void *ctx, const PGresult *res, const char *err)
{
    live_user *u = ctx;
    u->querying = false;
    if (err || PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 2) {
        pk_warn(NULL, "live: reading notifications of user %lld failed: %s", (long long)u->id,
                err ? err : PQresultErrorMessage(res));
    } else {
        int rows = PQntuples(res);
        for (int i = 0; i < rows; i++) {
            const char *id = PQgetvalue(res, i, 0);
            int64_t n = strtoll(id, NULL, 10);
            for (h2o_linklist_t *node = u->streams.next; node != &u->streams; node = node->next) {
                live_stream *s = H2O_STRUCT_FROM_MEMBER(live_stream, link, node);
                if (s->started && s->last_id < n && !s->ending) {
                    queue_event(s, id, PQgetvalue(res, i, 1));
                    s->last_id = n;
                }
            }
        }
        if (rows >= API_LIVE_BATCH)
            u->dirty = true;   /* more waiting: the next batch */
    }
    if (u->dirty && u->nstreams && !u->live->closing)
        user_read(u);
    user_release_if_idle(u);
}

/* Reads the user's rows newer than the oldest point any of its streams is
 * at; a read already in flight is followed by another. */
static void user_read(live_user *u)
{
    if (u->live->closing)
        return;
    if (u->querying) {
        u->dirty = true;
        return;
    }
    int64_t from = INT64_MAX;
    for (h2o_linklist_t *node = u->streams.next; node != &u->streams; node = node->next) {
        live_stream *s = H2O_STRUCT_FROM_MEMBER(live_stream, link, node);
        if (s->started && !s->ending && s->last_id < from)
            from = s->last_id;
    }
    if (from == INT64_MAX) {
        u->dirty = true;   /* only streams still starting: they read when started */
        return;
    }
    char uid[24], after[24];
    snprintf(uid, sizeof(uid), "%lld", (long long)u->id);
    snprintf(after, sizeof(after), "%lld", (long long)from);
    const char *params[] = {uid, after};
    u->dirty = false;
    u->querying = true;
    if (api_pg_query(u->live->t->pg, ROWS_SQL, 2, params, on_rows, u) != 0) {
        u->querying = false;   /* the queue is full: the next re-check tries again */
        u->dirty = true;
    }
}

/* ---- the per-user bound: the oldest stream ends ---- */

/* Tells the client why, so its EventSource does not reconnect (which would
 * end another of the user's streams in turn). */
static void evict(live_stream *s)
{
    s->evicted = true;
    if (!s->started || s->ending)
        return;   /* a stream still starting is ended by on_hello */
    queue_text(s, "event: closed\ndata: {\"reason\": \"too_many_streams\"}\n\n");
    s->ending = true;
    s->refs++;
    end_if_due(s);
    s->refs--;
    stream_free_if_done(s);
}

static void evict_local(api_live *l, int64_t user, uint64_t seq)
{
    live_user *u = user_find(l, user);
    for (h2o_linklist_t *node = u ? u->streams.next : NULL; node && node != &u->streams; node = node->next) {
        live_stream *s = H2O_STRUCT_FROM_MEMBER(live_stream, link, node);
        if (s->seq == seq) {
            evict(s);
            return;
        }
    }
}

typedef struct {
    h2o_multithread_message_t super;
    int64_t user;
    uint64_t seq;
} evict_msg;

static void on_evictions(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages)
{
    api_live *l = H2O_STRUCT_FROM_MEMBER(api_live, evictions, rx);
    while (!h2o_linklist_is_empty(messages)) {
        evict_msg *m = H2O_STRUCT_FROM_MEMBER(evict_msg, super.link, messages->next);
        h2o_linklist_unlink(&m->super.link);
        evict_local(l, m->user, m->seq);
        free(m);
    }
}

/* The stream `victim` names ends, on whichever loop holds it. */
static void evict_anywhere(api_live *l, int64_t user, slot victim)
{
    if (victim.thread == l->t->index) {
        evict_local(l, user, victim.seq);
        return;
    }
    if (atomic_load(&stopping))
        return;   /* every loop is ending its streams anyway */
    evict_msg *m = calloc(1, sizeof(*m));
    if (!m)
        abort();
    m->user = user;
    m->seq = victim.seq;
    h2o_multithread_send_message(&g_api.threads[victim.thread].live->evictions, &m->super);
}

/* ---- starting a stream ---- */

static void start(live_stream *s, const char *first)
{
    h2o_req_t *req = s->req;
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/event-stream"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    api_add_header(req, "x-accel-buffering", "no");   /* a proxy in front must not hold events back */
    req->compress_hint = H2O_COMPRESS_HINT_DISABLE;
    /* An HTTP/1 connection that carried a stream is closed when it ends
     * (at shutdown, logout, a slow client): nothing waits on it for more. */
    req->http1_is_persistent = 0;
    h2o_start_response(req, &s->gen->super);
    s->started = true;
    /* Something at once, so the client sees the headers (EventSource's open). */
    queue_text(s, "retry: 3000\n\n");
    if (first)
        queue_text(s, first);
    live_user *u = s->user;
    if (u->dirty)
        user_read(u);
}

static const char HELLO_SQL[] =
    "SELECT (SELECT coalesce(max(id), 0) FROM notifications WHERE user_id = $1),"
    " (SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL)";

static void on_hello(void *ctx, const PGresult *res, const char *err)
{
    live_stream *s = ctx;
    s->refs--;
    if (!s->gen) {
        stream_free_if_done(s);
        return;
    }
    if (err || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || s->user->live->closing) {
        s->ending = true;   /* never started: the problem below is the whole answer */
        api_reply_db_unavailable(s->req);
        return;
    }
    char hello[128];
    s->last_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(hello, sizeof(hello), "id: %lld\nevent: hello\ndata: {\"unread\": %lld}\n\n", (long long)s->last_id,
             strtoll(PQgetvalue(res, 0, 1), NULL, 10));
    start(s, hello);
    if (s->evicted)
        evict(s);   /* a newer stream of the user's took its slot meanwhile */
}

/* Last-Event-ID (what EventSource sends on reconnecting), else
 * ?last_event_id=; -1 when neither. Returns -1 after answering 422. */
static int resume_point_or_reply(h2o_req_t *req, int64_t *from)
{
    h2o_iovec_t h = api_header(req, "last-event-id");
    *from = -1;
    if (!h.len)
        return api_query_int_or_reply(req, "last_event_id", 0, INT64_MAX, -1, from);
    int64_t v = 0;
    bool ok = h.len <= DIGITS_MAX;
    for (size_t i = 0; ok && i < h.len; i++) {
        ok = h.base[i] >= '0' && h.base[i] <= '9';
        v = v * 10 + (h.base[i] - '0');
    }
    if (!ok) {
        api_reply_field_error(req, "Last-Event-ID", "must be the id of an event this stream sent (an integer)");
        return -1;
    }
    *from = v;
    return 0;
}

static void reply_full(h2o_req_t *req)
{
    api_add_header(req, "retry-after", "5");
    api_reply_problem(req, 503, "overloaded", "Service unavailable",
                      "the server holds as many live streams as it may; retry later", NULL);
}

int api_stream(h2o_req_t *req, const api_match *m)
{
    int64_t from;
    if (resume_point_or_reply(req, &from))
        return 0;
    api_live *l = api_thread_of(req)->live;
    int64_t uid = m->session->user_id;
    if (l->closing || atomic_fetch_add(&open_streams, 1) >= cfg.max_streams) {
        if (!l->closing)
            atomic_fetch_sub(&open_streams, 1);
        reply_full(req);
        return 0;
    }
    live_stream *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->seq = atomic_fetch_add(&next_seq, 1);
    slot victim = {0, 0};
    bool full = user_claim(uid, l->t->index, s->seq, &victim);
    s->gen = h2o_mem_alloc_shared(&req->pool, sizeof(*s->gen), on_gen_dispose);
    memset(s->gen, 0, sizeof(*s->gen));
    s->gen->super.proceed = on_proceed;
    s->gen->super.stop = on_stop;
    s->gen->s = s;
    s->req = req;
    s->user = user_get(l, uid);
    h2o_linklist_insert(&s->user->streams, &s->link);
    s->user->nstreams++;
    if (full)
        evict_anywhere(l, uid, victim);
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
        s->ending = true;   /* the headers say what a GET would get; no events */
        s->last_id = 0;
        start(s, NULL);
        end_if_due(s);
        return 0;
    }
    if (from >= 0) {
        s->last_id = from;
        s->user->dirty = true;   /* start() reads what was missed */
        start(s, NULL);
        return 0;
    }
    char uidtext[24];
    snprintf(uidtext, sizeof(uidtext), "%lld", (long long)uid);
    const char *params[] = {uidtext};
    s->refs++;
    if (api_pg_query(l->t->pg, HELLO_SQL, 1, params, on_hello, s) != 0) {
        s->refs--;
        s->ending = true;
        api_reply_overloaded(req);
    }
    return 0;
}

/* ---- wake-ups, the tick, shutdown ---- */

void api_live_on_wakeup(void *data, const char *msg, size_t len)
{
    api_thread *t = data;
    if (!t->live || len == 0 || len > DIGITS_MAX || msg[0] == '0')
        return;
    int64_t id = 0;
    for (size_t i = 0; i < len; i++) {
        if (msg[i] < '0' || msg[i] > '9')
            return;   /* not a user id: nobody is woken */
        id = id * 10 + (msg[i] - '0');
    }
    live_user *u = user_find(t->live, id);
    if (u)
        user_read(u);
}

static void on_session_recheck(void *ctx, const api_session *sess, bool redis_down)
{
    live_stream *s = ctx;   /* alive: the loader calls back only while the request is */
    if (redis_down || !s->user)
        return;   /* Redis is down: no verdict; the next re-check asks again */
    if (!sess || sess->user_id != s->user->id) {
        s->ending = true;
        end_if_due(s);
    }
}

static void tick_user(live_user *u, uint64_t now)
{
    bool recheck = now >= u->next_recheck_ms;
    if (recheck) {
        u->next_recheck_ms = now + (uint64_t)cfg.recheck_ms;
        user_read(u);
    }
    h2o_linklist_t *node = u->streams.next;
    while (node != &u->streams) {
        live_stream *s = H2O_STRUCT_FROM_MEMBER(live_stream, link, node);
        node = node->next;
        if (!s->started)
            continue;
        s->refs++;   /* held across calls that may end the response */
        if (!s->ending && now - s->last_write_ms >= (uint64_t)cfg.heartbeat_ms)
            queue_text(s, ": ping\n\n");
        if (recheck && s->gen && !s->ending)
            api_session_load(s->req, on_session_recheck, s);
        if (s->gen)
            end_if_due(s);
        s->refs--;
        stream_free_if_done(s);
    }
}

static void on_tick(h2o_timeout_entry_t *e)
{
    api_live *l = H2O_STRUCT_FROM_MEMBER(api_live, tick, e);
    uint64_t now = api_now_ms();
    for (size_t b = 0; b < BUCKETS; b++) {
        live_user *u = l->buckets[b];
        while (u) {
            u->pins++;
            tick_user(u, now);
            live_user *next = u->next;
            u->pins--;
            user_release_if_idle(u);
            u = next;
        }
    }
    if (!l->closing)
        h2o_timeout_link(l->t->loop, &l->tick_timeout, &l->tick);
}

api_live *api_live_create(api_thread *t)
{
    api_live *l = calloc(1, sizeof(*l));
    if (!l)
        abort();
    l->t = t;
    h2o_timeout_init(t->loop, &l->tick_timeout, (uint64_t)(cfg.recheck_ms < 1000 ? cfg.recheck_ms : 1000));
    l->tick.cb = on_tick;
    h2o_timeout_link(t->loop, &l->tick_timeout, &l->tick);
    h2o_multithread_register_receiver(g_api.queues[t->index], &l->evictions, on_evictions);
    return l;
}

void api_live_shutdown(api_live *l)
{
    l->closing = true;
    atomic_store(&stopping, true);
    if (h2o_timeout_is_linked(&l->tick))
        h2o_timeout_unlink(&l->tick);
    for (size_t b = 0; b < BUCKETS; b++) {
        live_user *u = l->buckets[b];
        while (u) {
            u->pins++;
            h2o_linklist_t *node = u->streams.next;
            while (node != &u->streams) {
                live_stream *s = H2O_STRUCT_FROM_MEMBER(live_stream, link, node);
                node = node->next;
                s->refs++;
                s->ending = true;
                end_if_due(s);
                s->refs--;
                stream_free_if_done(s);
            }
            live_user *next = u->next;
            u->pins--;
            user_release_if_idle(u);
            u = next;
        }
    }
}

void api_live_destroy(api_live *l)
{
    if (!l)
        return;
    l->closing = true;
    if (h2o_timeout_is_linked(&l->tick))
        h2o_timeout_unlink(&l->tick);
    for (size_t b = 0; b < BUCKETS; b++) {
        while (l->buckets[b]) {
            live_user *u = l->buckets[b];
            u->pins++;   /* detach() must not free it under us */
            while (!h2o_linklist_is_empty(&u->streams)) {
                live_stream *s = H2O_STRUCT_FROM_MEMBER(live_stream, link, u->streams.next);
                if (s->gen)
                    s->gen->s = NULL;   /* h2o may still hold the request: it frees gen's bytes */
                s->gen = NULL;
                s->refs = 0;
                detach(s);
                stream_free_if_done(s);
            }
            l->buckets[b] = u->next;
            free(u);
        }
    }
    h2o_timeout_dispose(l->t->loop, &l->tick_timeout);
    h2o_multithread_unregister_receiver(g_api.queues[l->t->index], &l->evictions);
    free(l);
}
