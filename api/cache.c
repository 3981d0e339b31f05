#include "api/cache.h"
#include "api/compress.h"
#include "api/http.h"
#include "common/clock.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS 2048
#define REFRESH_MS 250   /* how long an expired entry is served while one request refreshes it */
#define MAX_BODY (256 * 1024)
/* What one loop thread's entries may hold in all (keys, bodies and their
 * gzip copies): public lists are few, but every signed-in user may add a
 * few pages of their own (reads.h, API_READ_OWN). */
#define BUDGET_BYTES (8u * 1024 * 1024)

typedef struct {
    char *key;
    size_t key_len;
    char *body;
    size_t body_len;
    char *gz;   /* the body gzipped, once asked for (api_cache_get_gzip) */
    size_t gz_len;
    int64_t expires_ms;   /* pk_monotonic_ms() */
    int64_t refresh_from_ms;   /* past expires_ms: when a request went to refresh it (fresh()) */
    uint64_t generation;
    char etag[API_ETAG_SIZE];   /* the body's, made once: a hit does not hash it again */
} entry;

static __thread entry table[SLOTS];
static __thread size_t held_bytes;
static atomic_uint_least64_t generation = 1;

uint64_t api_cache_generation(void)
{
    return atomic_load_explicit(&generation, memory_order_acquire);
}

void api_cache_invalidate(void)
{
    atomic_fetch_add_explicit(&generation, 1, memory_order_acq_rel);
}

static uint64_t ttl_ms(void)
{
    static uint64_t ttl;   /* read once; a benign race between threads */
    if (!ttl) {
        const char *v = getenv("PUNYAKA_CACHE_MS");
        long ms = v ? strtol(v, NULL, 10) : 500;
        ttl = ms < 0 ? 1 : ms > 1000 ? 1000 : (uint64_t)(ms ? ms : 1);
    }
    return ttl;
}

static entry *slot_of(h2o_iovec_t key)
{
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (size_t i = 0; i < key.len; i++)
        h = (h ^ (unsigned char)key.base[i]) * 1099511628211ULL;
    return &table[h % SLOTS];
}

/* key's entry if it may be served. Of the current generation only (an
 * applied command anywhere drops everything at once). Past its TTL it is
 * refreshed by one request — the first to `claim` it is told "miss" and
 * queries — while the others keep getting it, for at most REFRESH_MS: an
 * entry expiring under load costs one query, not one per waiting client. */
static entry *fresh(h2o_iovec_t key, bool claim)
{
    entry *e = slot_of(key);
    if (!e->key || e->key_len != key.len || memcmp(e->key, key.base, key.len) != 0 ||
        e->generation != api_cache_generation())
        return NULL;
    int64_t now = pk_monotonic_ms();
    if (now < e->expires_ms || (e->refresh_from_ms && now - e->refresh_from_ms < REFRESH_MS))
        return e;
    if (claim)
        e->refresh_from_ms = now;
    return NULL;
}

const char *api_cache_get(h2o_iovec_t key, size_t *len)
{
    entry *e = fresh(key, true);
    if (!e)
        return NULL;
    *len = e->body_len;
    return e->body;
}

const char *api_cache_get_gzip(h2o_iovec_t key, size_t *len)
{
    entry *e = fresh(key, false);
    if (!e)
        return NULL;
    if (!e->gz) {
        e->gz = api_gzip(e->body, e->body_len, API_COMPRESS_STORED_LEVEL, &e->gz_len);
        held_bytes += e->gz ? e->gz_len : 0;
    }
    *len = e->gz_len;
    return e->gz;
}

const char *api_cache_get_etag(h2o_iovec_t key)
{
    entry *e = fresh(key, false);
    return e ? e->etag : NULL;
}

static void drop(entry *e)
{
    if (e->key)
        held_bytes -= e->key_len + e->body_len + 1 + (e->gz ? e->gz_len : 0);
    free(e->key);
    free(e->body);
    free(e->gz);
    memset(e, 0, sizeof(*e));
}

/* Over the budget: free what can no longer be served (expired, or of an
 * older generation) before refusing to keep anything new. */
static bool room_for(size_t bytes, const entry *replaced)
{
    size_t freed = replaced->key ? replaced->key_len + replaced->body_len + 1 + (replaced->gz ? replaced->gz_len : 0) : 0;
    if (held_bytes - freed + bytes <= BUDGET_BYTES)
        return true;
    int64_t now = pk_monotonic_ms();
    uint64_t current = api_cache_generation();
    for (int i = 0; i < SLOTS; i++)
        if (table[i].key && &table[i] != replaced && (now >= table[i].expires_ms || table[i].generation != current))
            drop(&table[i]);
    return held_bytes - freed + bytes <= BUDGET_BYTES;
}

void api_cache_put(h2o_iovec_t key, const char *body, size_t len, uint64_t gen)
{
    if (len > MAX_BODY || gen != api_cache_generation())
        return;
    entry *e = slot_of(key);
    if (!room_for(key.len + len + 1, e))
        return;
    drop(e);
    e->key = malloc(key.len);
    e->body = malloc(len + 1);
    memcpy(e->key, key.base, key.len);
    memcpy(e->body, body, len);
    e->body[len] = 0;
    e->key_len = key.len;
    e->body_len = len;
    held_bytes += key.len + len + 1;
    e->expires_ms = pk_monotonic_ms() + (int64_t)ttl_ms();
    e->generation = gen;
    api_etag(e->body, len, e->etag);
}

void api_cache_clear(void)
{
    for (int i = 0; i < SLOTS; i++)
        drop(&table[i]);
}
