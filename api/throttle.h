/* throttle.h — attempt limits that hold under parallel requests.
 *
 * An attempt is reserved *before* the expensive or guessable step (the
 * Argon2id check) with one Lua script, so Redis decides atomically: either
 * every bucket has room and each is incremented, or none is touched and the
 * caller answers 429. Reading the counters first and counting the failure
 * after the hash (as login once did) let 40 parallel wrong passwords all
 * reach the hash under a limit of 10.
 *
 * Buckets are Redis counters "punyaka:rl:<kind>:<subject>" that expire a
 * window after their first attempt. A success may refund its reservation
 * (the address bucket) or forgive the subject (the account bucket). */
#ifndef PUNYAKA_API_THROTTLE_H
#define PUNYAKA_API_THROTTLE_H

#include <h2o.h>
#include "api/server.h"

#define API_THROTTLE_KEY_MAX 320
#define API_THROTTLE_MAX_BUCKETS 2

typedef struct {
    char key[API_THROTTLE_KEY_MAX];
    int limit;
} api_bucket;

/* admitted: 1 reserved, 0 refused (retry_after_s set), -1 Redis unavailable. */
typedef void (*api_throttle_cb)(void *ctx, int admitted, long long retry_after_s);

/* Reserves one attempt in every bucket (n ≤ API_THROTTLE_MAX_BUCKETS), or
 * none. cb runs later on this loop; returns -1 (cb not called) when Redis
 * is down. */
int api_throttle_reserve(api_thread *t, const api_bucket *b, int n, int window_s, api_throttle_cb cb, void *ctx);
/* Gives one reservation back (never below zero). Fire and forget. */
void api_throttle_refund(api_thread *t, const char *key);
/* Clears a bucket (a success forgives the account's earlier failures). */
void api_throttle_forgive(api_thread *t, const char *key);

/* 429 too_many_attempts with Retry-After (the window when unknown). */
void api_reply_throttled(h2o_req_t *req, long long retry_after_s, int window_s, const char *detail);

/* The peer's address as text ("unknown" when h2o cannot tell). */
void api_client_address(h2o_req_t *req, char *out, size_t cap);

#endif
