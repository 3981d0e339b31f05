#include "api/cache.h"
#include "api/compress.h"
#include "common/clock.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS 512
#define MAX_BODY (256 * 1024)

typedef struct {
    char *key;
    size_t key_len;
    char *body;
    size_t body_len;
    char *gz;   /* the body gzipped, once asked for (api_cache_get_gzip) */
    size_t gz_len;
    int64_t expires_ms;   /* pk_monotonic_ms() */
    uint64_t generation;
} entry;

static __thread entry table[SLOTS];
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

static entry *fresh(h2o_iovec_t key)
{
    entry *e = slot_of(key);
    if (!e->key || e->key_len != key.len || memcmp(e->key, key.base, key.len) != 0 || pk_monotonic_ms() >= e->expires_ms ||
        e->generation != api_cache_generation())
        return NULL;
    return e;
}

const char *api_cache_get(h2o_iovec_t key, size_t *len)
{
    entry *e = fresh(key);
    if (!e)
        return NULL;
    *len = e->body_len;
    return e->body;
}

const char *api_cache_get_gzip(h2o_iovec_t key, size_t *len)
{
    entry *e = fresh(key);
    if (!e)
        return NULL;
    if (!e->gz)
        e->gz = api_gzip(e->body, e->body_len, API_COMPRESS_STORED_LEVEL, &e->gz_len);
    *len = e->gz_len;
    return e->gz;
}

static void drop(entry *e)
{
    free(e->key);
    free(e->body);
    free(e->gz);
    memset(e, 0, sizeof(*e));
}

void api_cache_put(h2o_iovec_t key, const char *body, size_t len, uint64_t gen)
{
    if (len > MAX_BODY || gen != api_cache_generation())
        return;
    entry *e = slot_of(key);
    drop(e);
    e->key = malloc(key.len);
    e->body = malloc(len + 1);
    memcpy(e->key, key.base, key.len);
    memcpy(e->body, body, len);
    e->body[len] = 0;
    e->key_len = key.len;
    e->body_len = len;
    e->expires_ms = pk_monotonic_ms() + (int64_t)ttl_ms();
    e->generation = gen;
}

void api_cache_clear(void)
{
    for (int i = 0; i < SLOTS; i++)
        drop(&table[i]);
}
