/* reads.h — GET endpoints whose answer PostgreSQL builds whole.
 *
 * The query does the JSON (json_build_object / json_agg) and returns one
 * text column, so a read costs one round trip and one copy to the wire;
 * these helpers own the async context, the "client went away" check and the
 * error answers, so a resource file only writes its SQL.
 *
 * Public catalog reads (priests, services) answer with a strong ETag
 * (api_reply_json_etag): clients revalidate with If-None-Match and get 304,
 * and the answer is kept in the per-loop cache (api/cache.h). Per-user
 * reads get the same validator from their body (api_reply_json_private);
 * the caller's bookings and orders (API_READ_OWN) are kept in the same
 * cache under the caller's own key, with the catalog's invalidation: every
 * applied command a process hears of, its own or (through the workers'
 * broadcast, common/changed.h) another process's, drops every entry, and
 * PUNYAKA_CACHE_MS bounds an entry whose broadcast was lost. A caller who
 * wrote in the last PUNYAKA_READ_PRIMARY_AFTER_WRITE_MS (the session's
 * stamp, api/session.h) reads PostgreSQL, whichever process answers: a
 * writer always sees their own write (docs/performance.md, "Per-user cache").
 *
 * `m` picks the database (api/replica.h: api_read_pool): the read replica
 * when the route allows it and the caller has not written recently, else
 * the primary. A caller pinned to the primary also skips the cache, which
 * may hold a replica's answer. */
#ifndef PUNYAKA_API_READS_H
#define PUNYAKA_API_READS_H

#include <stdbool.h>
#include <h2o.h>
#include "api/query.h"
#include "api/routes.h"

/* Money, timestamps and every resource's shape: common/shapes.h. */
#include "common/shapes.h"

/* How an answer may be validated and kept. */
typedef enum {
    API_READ_PLAIN = 0,     /* no ETag (admin views) */
    API_READ_PUBLIC = 1,    /* the same for every caller: ETag, cached per loop */
    API_READ_PRIVATE = 2,   /* the caller's own: ETag, private, never cached */
    API_READ_OWN = 3,       /* the caller's own: ETag, private, cached per loop under the caller's key */
} api_read_kind;

/* One document: the query returns one row whose first column is the JSON
 * text, or no row ⇒ 404 `not_found` with `missing` as the detail. */
void api_read_json(h2o_req_t *req, const api_match *m, const char *sql, int nparams, const char *const *params,
                   api_read_kind kind,
                   const char *missing);

/* One list page: the query returns one row (total count, JSON array text of
 * this page's items) ⇒ {count, next, previous, results}. */
void api_read_page(h2o_req_t *req, const api_match *m, const api_page *page, const char *sql, int nparams,
                   const char *const *params, api_read_kind kind);

/* The per-loop cache key of the caller's own answer to this request,
 * "own:<user>:<role>:<path?query>" (length returned), or 0 when it may be
 * neither served from nor kept in the cache: no signed-in caller, a caller
 * who wrote recently (the session's stamp), a read bound for the replica. */
#define API_OWN_KEY_MAX 600
size_t api_read_own_key(const h2o_req_t *req, const api_match *m, char buf[API_OWN_KEY_MAX]);

/* Database failure / full query queue ⇒ 503 (the shared wording). */
void api_reply_db_unavailable(h2o_req_t *req);
void api_reply_overloaded(h2o_req_t *req);

#endif
