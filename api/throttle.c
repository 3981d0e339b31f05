#include "api/throttle.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include "api/http.h"
#include "api/redis.h"

/* KEYS: the buckets; ARGV[1]: window (s); ARGV[1+i]: KEYS[i]'s limit.
 * Returns {1, 0} when reserved, {0, ttl} when a bucket is full. */
static const char RESERVE[] =
    "for i, k in ipairs(KEYS) do"
    "  if tonumber(redis.call('GET', k) or '0') >= tonumber(ARGV[i + 1]) then"
    "    return {0, redis.call('TTL', k)} end end "
    "for _, k in ipairs(KEYS) do"
    "  if redis.call('INCR', k) == 1 then redis.call('EXPIRE', k, ARGV[1]) end end "
    "return {1, 0}";

static const char REFUND[] =
    "if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end return 1";

typedef struct {
    api_throttle_cb cb;
    void *ctx;
} reservation;

static void on_reserved(redisAsyncContext *ac, void *reply, void *privdata)
{
    reservation *rv = privdata;
    redisReply *r = reply;
    (void)ac;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_INTEGER)
        rv->cb(rv->ctx, -1, 0);
    else
        rv->cb(rv->ctx, r->element[0]->integer == 1, r->element[1]->integer);
    free(rv);
}

int api_throttle_reserve(api_thread *t, const api_bucket *b, int n, int window_s, api_throttle_cb cb, void *ctx)
{
    char nkeys[8], window[16], limits[API_THROTTLE_MAX_BUCKETS][16];
    const char *argv[4 + 2 * API_THROTTLE_MAX_BUCKETS] = {"EVAL", RESERVE, nkeys};
    if (n < 1 || n > API_THROTTLE_MAX_BUCKETS)
        abort();   /* a programming error, not input */
    snprintf(nkeys, sizeof(nkeys), "%d", n);
    snprintf(window, sizeof(window), "%d", window_s);
    int argc = 3;
    for (int i = 0; i < n; i++)
        argv[argc++] = b[i].key;
    argv[argc++] = window;
    for (int i = 0; i < n; i++) {
        snprintf(limits[i], sizeof(limits[i]), "%d", b[i].limit);
        argv[argc++] = limits[i];
    }
    reservation *rv = malloc(sizeof(*rv));
    if (!rv)
        abort();
    rv->cb = cb;
    rv->ctx = ctx;
    if (api_redis_argv(t->redis, on_reserved, rv, argc, argv, NULL) != 0) {
        free(rv);
        return -1;
    }
    return 0;
}

void api_throttle_refund(api_thread *t, const char *key)
{
    const char *argv[] = {"EVAL", REFUND, "1", key};
    api_redis_argv(t->redis, NULL, NULL, 4, argv, NULL);
}

void api_throttle_forgive(api_thread *t, const char *key)
{
    const char *argv[] = {"DEL", key};
    api_redis_argv(t->redis, NULL, NULL, 2, argv, NULL);
}

void api_reply_throttled(h2o_req_t *req, long long retry_after_s, int window_s, const char *detail)
{
    char retry[24];
    snprintf(retry, sizeof(retry), "%lld", retry_after_s > 0 ? retry_after_s : (long long)window_s);
    api_add_header(req, "retry-after", retry);
    api_reply_problem(req, 429, "too_many_attempts", "Too many attempts", detail, NULL);
}

void api_client_address(h2o_req_t *req, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    snprintf(out, cap, "unknown");
    if (len && ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)cap);
    else if (len && ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)cap);
}
