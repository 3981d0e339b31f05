/* reads.c — one query, one JSON answer (see reads.h). */
#include "api/reads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "api/cache.h"
#include "api/compress.h"
#include "api/http.h"
#include "api/metrics.h"
#include "api/pg.h"
#include "api/replica.h"
#include "api/session.h"

#define OWN_KEY_MAX API_OWN_KEY_MAX

typedef struct {
    api_async async;     /* first: req is NULL once the client is gone */
    api_pg *pg;          /* the primary's or the replica's (api_read_pool) */
    api_read_kind kind;
    bool is_page;
    uint64_t generation;   /* of the cache, when the query was sent */
    api_page page;
    char missing[96];
    size_t own_key_len;    /* API_READ_OWN: the entry to fill, 0 for none */
    char own_key[OWN_KEY_MAX];
} read_ctx;

void api_reply_db_unavailable(h2o_req_t *req)
{
    api_reply_problem(req, 503, "database_unavailable", "Service unavailable", NULL, NULL);
}

void api_reply_overloaded(h2o_req_t *req)
{
    api_reply_problem(req, 503, "overloaded", "Service unavailable", NULL, NULL);
}

static void reply_text(h2o_req_t *req, const read_ctx *r, const char *text)
{
    if (r->kind == API_READ_PUBLIC) {
        api_cache_put(req->path, text, strlen(text), r->generation);   /* public: the same for every caller */
        api_compress_reply_cached(req, req->path, text, strlen(text), false);
    } else if (r->kind == API_READ_OWN && r->own_key_len) {
        h2o_iovec_t key = h2o_iovec_init(r->own_key, r->own_key_len);
        api_cache_put(key, text, strlen(text), r->generation);
        api_compress_reply_cached(req, key, text, strlen(text), true);
    } else if (r->kind == API_READ_PRIVATE || r->kind == API_READ_OWN) {
        api_reply_json_private(req, text, strlen(text));
    } else {
        api_reply_raw(req, 200, "application/json", text, strlen(text));
    }
}

/* The cache key of a caller's own answer (reads.h, API_READ_OWN), or 0
 * when it may be neither served from nor kept in the cache:
 *   - no signed-in caller;
 *   - the caller wrote in the last PUNYAKA_READ_PRIMARY_AFTER_WRITE_MS: the
 *     stamp is in the session record every API process reads, so a writer
 *     reads PostgreSQL whichever process answers, even before the workers'
 *     "changed" broadcast reaches it;
 *   - the read goes to the replica, which may be behind the broadcast. */
size_t api_read_own_key(const h2o_req_t *req, const api_match *m, char buf[API_OWN_KEY_MAX])
{
    const api_session *s = m ? m->session : NULL;
    if (!s || !s->user_id || api_session_reads_primary(s) || (api_replica_configured() && m->replica))
        return 0;
    int n = snprintf(buf, OWN_KEY_MAX, "own:%lld:%s:%.*s", (long long)s->user_id, s->role, (int)req->path.len,
                     req->path.base);
    return n > 0 && n < OWN_KEY_MAX ? (size_t)n : 0;
}

/* A public read, or a caller's own, answered from the short-lived cache if
 * it is there. */
static bool from_cache(h2o_req_t *req, const api_match *m, api_read_kind kind)
{
    size_t len;
    const char *body = NULL;
    char key[OWN_KEY_MAX];
    h2o_iovec_t k = req->path;
    if (kind == API_READ_PUBLIC && api_read_cache_ok(m)) {
        body = api_cache_get(k, &len);
    } else if (kind == API_READ_OWN && (k.len = api_read_own_key(req, m, key)) != 0) {
        k.base = key;
        body = api_cache_get(k, &len);
    }
    if (body) {
        api_metrics_cache_hit(api_thread_of(req)->metrics, kind == API_READ_OWN);
        api_compress_reply_cached(req, k, body, len, kind == API_READ_OWN);
    }
    return body != NULL;
}

static read_ctx *new_read(h2o_req_t *req, const api_match *m, api_read_kind kind)
{
    read_ctx *r = api_async_new(req, sizeof(*r));
    r->pg = api_read_pool(req, m);
    r->kind = kind;
    if (kind == API_READ_OWN)
        r->own_key_len = api_read_own_key(req, m, r->own_key);
    return r;
}

static void reply_page(h2o_req_t *req, const read_ctx *r, const PGresult *res)
{
    char *text = api_page_text(req, &r->page, strtoll(PQgetvalue(res, 0, 0), NULL, 10), PQgetvalue(res, 0, 1));
    if (!text) {
        api_reply_overloaded(req);
        return;
    }
    reply_text(req, r, text);
    free(text);
}

static void on_read(void *ctx, const PGresult *res, const char *err)
{
    read_ctx *r = ctx;
    h2o_req_t *req = r->async.req;
    if (!req) {
        /* the client left: nothing to answer */
    } else if (err || PQresultStatus(res) != PGRES_TUPLES_OK || (r->is_page && PQntuples(res) != 1)) {
        api_reply_db_unavailable(req);
    } else if (r->is_page) {
        reply_page(req, r, res);
    } else if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
        api_reply_problem(req, 404, "not_found", "Not found", r->missing, NULL);
    } else {
        reply_text(req, r, PQgetvalue(res, 0, 0));
    }
    api_async_free(&r->async);
}

static void start(h2o_req_t *req, read_ctx *r, const char *sql, int nparams, const char *const *params)
{
    r->generation = api_cache_generation();
    if (api_pg_query_for(r->pg, &r->async, sql, nparams, params, on_read, r) != 0) {
        api_reply_overloaded(req);
        api_async_free(&r->async);
    }
}

void api_read_json(h2o_req_t *req, const api_match *m, const char *sql, int nparams, const char *const *params,
                   api_read_kind kind, const char *missing)
{
    if (from_cache(req, m, kind))
        return;
    read_ctx *r = new_read(req, m, kind);
    snprintf(r->missing, sizeof(r->missing), "%s", missing);
    start(req, r, sql, nparams, params);
}

void api_read_page(h2o_req_t *req, const api_match *m, const api_page *page, const char *sql, int nparams,
                   const char *const *params, api_read_kind kind)
{
    if (from_cache(req, m, kind))
        return;
    read_ctx *r = new_read(req, m, kind);
    r->is_page = true;
    r->page = *page;
    start(req, r, sql, nparams, params);
}
