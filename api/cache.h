/* cache.h — a short-lived, per-thread cache of public catalog answers.
 *
 * DESIGN §3 allows hot catalog responses in process with a short TTL; the
 * issue asks that a catalog change be visible within 1 s. Entries live
 * PUNYAKA_CACHE_MS (default 500 ms, at most 1000): under load a popular list
 * costs PostgreSQL about two queries per second per loop thread instead of
 * one per request. Keyed by the full path with its query string; only
 * answers that do not depend on the caller may be stored (reads.h: the
 * `etag` reads). Direct-mapped and bounded: a colliding key replaces the
 * older entry, and large bodies are not kept. Loop-thread only (no locks). */
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
/* `generation`: api_cache_generation() read BEFORE the query that produced
 * body, so an answer that raced with a write is never kept as current. */
void api_cache_put(h2o_iovec_t key, const char *body, size_t len, uint64_t generation);
/* Frees this thread's entries (at shutdown). */
void api_cache_clear(void);

#endif
