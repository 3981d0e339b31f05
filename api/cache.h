/* cache.h — a short-lived, per-thread cache of read answers.
 *
 * DESIGN §3 allows hot catalog responses in process with a short TTL; the
 * issue asks that a catalog change be visible within 1 s. Every applied
 * command drops every entry (the generation below); entries also live only
 * PUNYAKA_CACHE_MS (default 500 ms, at most 1000), the bound when that news
 * is lost. Once expired, an entry is refreshed by the first request that
 * asks and served to the others meanwhile, for at most 250 ms: under load a
 * popular answer costs PostgreSQL about two queries per second per loop
 * thread instead of one per request, and no burst of queries at expiry.
 * Keyed by the full path with its query string for public answers (the
 * same for every caller), by the caller and the path for a caller's own
 * (api/reads.h, API_READ_OWN). Direct-mapped and bounded: a colliding key
 * replaces the older entry, bodies over 256 KiB are not kept, and one
 * thread's entries hold at most 8 MiB. Loop-thread only (no locks). */
#ifndef PUNYAKA_API_CACHE_H
#define PUNYAKA_API_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <h2o.h>

/* Read-your-writes inside one API process: every applied command this
 * process hears about bumps a generation, and entries of an older
 * generation are misses. Other API processes hear of it through the
 * workers' change broadcast (common/changed.h, api/redis.h): milliseconds,
 * or the TTL when that message is lost. */
uint64_t api_cache_generation(void);
void api_cache_invalidate(void);

/* The fresh body for key, or NULL. Valid until the next put on this thread. */
const char *api_cache_get(h2o_iovec_t key, size_t *len);
/* The gzip of key's fresh body (gzip -9, made on the first call for this
 * entry and kept with it: once per entry per TTL instead of once per
 * answer), or NULL. Valid until the next put on this thread. */
const char *api_cache_get_gzip(h2o_iovec_t key, size_t *len);
/* The ETag of key's fresh body (api_etag, made when it was put), or NULL. */
const char *api_cache_get_etag(h2o_iovec_t key);
/* `generation`: api_cache_generation() read BEFORE the query that produced
 * body, so an answer that raced with a write is never kept as current. */
void api_cache_put(h2o_iovec_t key, const char *body, size_t len, uint64_t generation);
/* Frees this thread's entries (at shutdown). */
void api_cache_clear(void);

#endif
