/* notifier.c — the outcome notification thread (notifier.h). */
#include "workers/notifier.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <hiredis/hiredis.h>
#include <sodium.h>
#include "common/changed.h"
#include "common/log.h"
#include "common/clock.h"

#define TIMEOUT_S 1
#define RECONNECT_MS 1000     /* after a failed connect, drop instead of retrying for this long */
#define PING_MS 5000
#define STOP_BUDGET_MS 1000

#define CHANGED_LATE_MS 20   /* the longest a change broadcast waits behind queued outcomes */
#define STALE_MS 11000        /* no API waits longer (Prefer: wait ≤ 10 s): older ones are dropped */

typedef struct note {
    struct note *next;
    char *channel;
    char *text;
    int64_t posted_ms;
} note;

struct wk_notifier {
    pk_redis_addr addr;       /* host, port, AUTH credentials */
    wk_metrics *metrics;
    redisContext *redis;
    int64_t retry_at_ms;
    int64_t ping_at_ms;
    atomic_int outage_logged;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    note *head, *tail;
    int queued;
    int stopping;
    int changed;              /* wk_notifier_changed since the last broadcast */
    int64_t changed_ms;       /* when it was first marked */
    atomic_ulong dropped;
};

static void note_free(note *x)
{
    free(x->channel);
    free(x->text);
    free(x);
}

static void drop(wk_notifier *n, note *x)
{
    atomic_fetch_add(&n->dropped, 1);
    if (atomic_exchange(&n->outage_logged, 1) == 0)
        pk_warn(NULL, "outcome notifications are being dropped (Redis slow or down); clients poll instead");
    note_free(x);
}

/* ---- Redis (thread only) ---- */

static void disconnect(wk_notifier *n)
{
    if (n->redis)
        redisFree(n->redis);
    n->redis = NULL;
    wk_metrics_redis_up(n->metrics, 0);
}

/* AUTH on every new connection, when REDIS_URL carries a password. */
static int authenticate(wk_notifier *n)
{
    const pk_redis_addr *a = &n->addr;
    if (!a->password[0])
        return 1;
    const char *argv[] = {"AUTH", a->user[0] ? a->user : a->password, a->password};
    redisReply *r = redisCommandArgv(n->redis, a->user[0] ? 3 : 2, argv, NULL);
    int ok = r && r->type != REDIS_REPLY_ERROR;
    if (r && !ok && atomic_exchange(&n->outage_logged, 1) == 0)
        pk_error(NULL, "redis refused AUTH (check REDIS_URL's credentials): %s", r->str);
    if (r)
        freeReplyObject(r);
    return ok;
}

static int connected(wk_notifier *n)
{
    if (n->redis)
        return 1;
    if (pk_monotonic_ms() < n->retry_at_ms)
        return 0;
    struct timeval tv = {TIMEOUT_S, 0};
    n->redis = redisConnectWithTimeout(n->addr.host, n->addr.port, tv);
    if (n->redis && !n->redis->err && redisSetTimeout(n->redis, tv) == REDIS_OK && authenticate(n))
        return 1;
    disconnect(n);
    n->retry_at_ms = pk_monotonic_ms() + RECONNECT_MS;
    return 0;
}

/* One command; 1 when Redis answered without an error. */
static int command_ok(wk_notifier *n, redisReply *r)
{
    int ok = r && r->type != REDIS_REPLY_ERROR;
    if (r)
        freeReplyObject(r);
    if (!ok)
        disconnect(n);
    wk_metrics_redis_up(n->metrics, ok);
    if (ok)
        atomic_store(&n->outage_logged, 0);
    return ok;
}

/* Two tries: a connection Redis closed (a restart) fails the first
 * command, and a fresh one is made at once for the second. */
static void publish(wk_notifier *n, note *x)
{
    for (int attempt = 0; attempt < 2 && pk_monotonic_ms() - x->posted_ms <= STALE_MS; attempt++) {
        if (connected(n) && command_ok(n, redisCommand(n->redis, "PUBLISH %s %s", x->channel, x->text))) {
            note_free(x);
            return;
        }
    }
    drop(n, x);
}

/* The coalesced "public reads changed" broadcast: one try, as a lost one
 * costs only the API caches' TTL. */
static void broadcast_changed(wk_notifier *n)
{
    if (connected(n))
        command_ok(n, redisCommand(n->redis, "PUBLISH %s 1", PK_CHANGED_CHANNEL));
}

static void ping(wk_notifier *n)
{
    n->ping_at_ms = pk_monotonic_ms() + PING_MS;
    n->retry_at_ms = 0;   /* the health check always tries */
    if (connected(n))
        command_ok(n, redisCommand(n->redis, "PING"));
}

/* ---- the thread ---- */

static note *take(wk_notifier *n)
{
    note *x = n->head;
    if (x) {
        n->head = x->next;
        if (!n->head)
            n->tail = NULL;
        n->queued--;
    }
    return x;
}

static void wait_for_work(wk_notifier *n)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 1;
    pthread_cond_timedwait(&n->cond, &n->lock, &until);
}

static void *run(void *arg)
{
    wk_notifier *n = arg;
    int64_t stop_by = 0;
    pthread_mutex_lock(&n->lock);
    for (;;) {
        if (!n->head && !n->changed && !n->stopping)
            wait_for_work(n);
        if (n->stopping && !stop_by)
            stop_by = pk_monotonic_ms() + STOP_BUDGET_MS;
        /* The broadcast waits for the outcomes queued before it (the
         * writer's own answer first), but never more than CHANGED_LATE_MS
         * behind a queue that does not empty under load. */
        int changed = n->changed && !stop_by && (!n->head || pk_monotonic_ms() - n->changed_ms >= CHANGED_LATE_MS);
        if (changed)
            n->changed = 0;
        note *x = changed ? NULL : take(n);
        pthread_mutex_unlock(&n->lock);
        if (x && stop_by && pk_monotonic_ms() > stop_by)
            drop(n, x);
        else if (x)
            publish(n, x);
        else if (changed)
            broadcast_changed(n);
        else if (stop_by)
            return NULL;
        else if (pk_monotonic_ms() >= n->ping_at_ms)
            ping(n);
        pthread_mutex_lock(&n->lock);
    }
}

wk_notifier *wk_notifier_start(const pk_redis_addr *addr, wk_metrics *metrics)
{
    wk_notifier *n = calloc(1, sizeof(*n));
    n->addr = *addr;
    n->metrics = metrics;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&n->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&n->lock, NULL);
    if (pthread_create(&n->thread, NULL, run, n) != 0) {
        pthread_cond_destroy(&n->cond);
        pthread_mutex_destroy(&n->lock);
        sodium_memzero(&n->addr, sizeof(n->addr));
        free(n);
        return NULL;
    }
    return n;
}

static void enqueue(wk_notifier *n, note *x)
{
    x->posted_ms = pk_monotonic_ms();
    pthread_mutex_lock(&n->lock);
    int full = n->queued >= WK_NOTIFY_QUEUE_MAX || !x->text || !x->channel;
    if (!full) {
        if (n->tail)
            n->tail->next = x;
        else
            n->head = x;
        n->tail = x;
        n->queued++;
        pthread_cond_signal(&n->cond);
    }
    pthread_mutex_unlock(&n->lock);
    if (full)
        drop(n, x);
}

void wk_notifier_post(wk_notifier *n, const char *reply_to, const json_t *msg)
{
    if (!n || !reply_to || !*reply_to)
        return;
    note *x = calloc(1, sizeof(*x));
    size_t cap = strlen(reply_to) + 32;
    x->channel = malloc(cap);
    snprintf(x->channel, cap, "punyaka:outcome:%s", reply_to);
    x->text = json_dumps(msg, JSON_COMPACT);
    enqueue(n, x);
}

void wk_notifier_publish(wk_notifier *n, const char *channel, const char *text)
{
    if (!n || !channel || !text)
        return;
    note *x = calloc(1, sizeof(*x));
    x->channel = strdup(channel);
    x->text = strdup(text);
    enqueue(n, x);
}

void wk_notifier_changed(wk_notifier *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->lock);
    if (!n->changed) {
        n->changed = 1;
        n->changed_ms = pk_monotonic_ms();
        pthread_cond_signal(&n->cond);
    }
    pthread_mutex_unlock(&n->lock);
}

void wk_notifier_stop(wk_notifier *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->lock);
    n->stopping = 1;
    pthread_cond_signal(&n->cond);
    pthread_mutex_unlock(&n->lock);
    pthread_join(n->thread, NULL);
    for (note *x = take(n); x; x = take(n))
        note_free(x);
    disconnect(n);
    pthread_cond_destroy(&n->cond);
    pthread_mutex_destroy(&n->lock);
    sodium_memzero(&n->addr, sizeof(n->addr));
    free(n);
}

unsigned long wk_notifier_dropped(wk_notifier *n)
{
    return n ? atomic_load(&n->dropped) : 0;
}
