/* login.c — sessions over HTTP: login, logout, logout_all, me, csrf.
 *
 * Login never says which half was wrong: unknown user, wrong password and a
 * deactivated account get the same 401 body, and an unknown user is checked
 * against a dummy Argon2id hash so the timing matches too. Attempts are
 * reserved in Redis per account and per client address before the hash
 * (api/throttle.h), so the limits hold under parallel requests. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "api/hasher.h"
#include "api/cache.h"
#include "api/http.h"
#include "api/metrics.h"
#include "api/pg.h"
#include "api/reads.h"
#include "api/redis.h"
#include "api/routes.h"
#include "api/session.h"
#include "api/throttle.h"
#include "api/users.h"

typedef struct {
    api_async async;
    api_thread *thread;       /* the loop this request runs on (its Redis connection) */
    char login[256];          /* username or email, as typed */
    char password[256];
    api_bucket buckets[2];    /* [0] the account, [1] the client address */
    int64_t user_id;
    char role[16];
    char *hash;               /* malloc'd; NULL: unknown or inactive (checked against the dummy) */
    char *user_json;          /* malloc'd */
} login_ctx;

static void login_free(login_ctx *l)
{
    sodium_memzero(l->password, sizeof(l->password));
    free(l->hash);
    free(l->user_json);
    api_async_free(&l->async);
}

static void reply_invalid_credentials(h2o_req_t *req)
{
    api_reply_problem(req, 401, "invalid_credentials", "Invalid credentials",
                      "the username or password is incorrect", NULL);
}

/* The attempt did not happen (shed, or its client left): give both back. */
static void refund_attempt(const login_ctx *l)
{
    api_throttle_refund(l->thread, l->buckets[0].key);
    api_throttle_refund(l->thread, l->buckets[1].key);
}

/* ---- step 4: a session for the user ---- */

void api_reply_user_with_csrf(h2o_req_t *req, int status, const char *user_json, const char *csrf)
{
    json_error_t e;
    json_t *user = json_loads(user_json, 0, &e);
    api_reply_json(req, status, json_pack("{s:o, s:s}", "user", user ? user : json_null(), "csrf_token", csrf));
}

static void on_session_created(void *ctx, const api_session *s)
{
    login_ctx *l = ctx;
    if (!s)
        api_reply_problem(l->async.req, 503, "redis_unavailable", "Service unavailable", NULL, NULL);
    else
        api_reply_user_with_csrf(l->async.req, 200, l->user_json, s->csrf);
    login_free(l);
}

/* ---- step 3: the password ---- */

static void on_verified(api_hash_job *job, const char *unused)
{
    login_ctx *l = job->data;
    (void)unused;
    h2o_req_t *req = l->async.req;
    if (!req) {
        if (job->skipped)
            refund_attempt(l);   /* no guess was checked */
        login_free(l);
        return;
    }
    if (!job->ok || !l->user_json) {
        reply_invalid_credentials(req);   /* the reservation stays: it counts as the failure */
        login_free(l);
        return;
    }
    api_throttle_forgive(l->thread, l->buckets[0].key);   /* a success forgives the account's failures */
    api_throttle_refund(l->thread, l->buckets[1].key);
    api_session_create(req, l->user_id, l->role, on_session_created, l);
}

/* ---- step 2: one attempt reserved for the account and the address ---- */

static void on_reserved(void *ctx, int admitted, long long retry_after_s)
{
    login_ctx *l = ctx;
    h2o_req_t *req = l->async.req;
    if (!req) {
        if (admitted == 1)
            refund_attempt(l);
        login_free(l);
        return;
    }
    if (admitted < 0) {
        api_reply_problem(req, 503, "redis_unavailable", "Service unavailable", NULL, NULL);
    } else if (admitted == 0) {
        api_reply_throttled(req, retry_after_s, g_api.cfg.login_window_s, "too many failed logins; try again later");
    } else if (api_verify_password(req, &l->async, l->password, l->hash, on_verified, l) == 0) {
        return;
    } else {
        refund_attempt(l);
        api_reply_hasher_busy(req);
    }
    login_free(l);
}

/* ---- step 1: who is asking to be whom ---- */

/* The account bucket is the resolved user id, so a username and its email
 * share one limit; a name that matches nobody gets a bucket of its own
 * (lower-cased), so guessing unknown names is limited the same way. */
static void name_buckets(h2o_req_t *req, login_ctx *l, const char *user_id)
{
    char ip[64];
    if (user_id)
        snprintf(l->buckets[0].key, sizeof(l->buckets[0].key), "punyaka:rl:login:user:%s", user_id);
    else
        snprintf(l->buckets[0].key, sizeof(l->buckets[0].key), "punyaka:rl:login:name:%s", l->login);
    for (char *c = l->buckets[0].key; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    l->buckets[0].limit = g_api.cfg.login_max_per_user;
    api_client_address(req, ip, sizeof(ip));
    snprintf(l->buckets[1].key, sizeof(l->buckets[1].key), "punyaka:rl:login:ip:%s", ip);
    l->buckets[1].limit = g_api.cfg.login_max_per_ip;
}

static void on_user(void *ctx, const PGresult *res, const char *err)
{
    login_ctx *l = ctx;
    h2o_req_t *req = l->async.req;
    if (!req) {
        login_free(l);
        return;
    }
    if (err || PQresultStatus(res) != PGRES_TUPLES_OK) {
        api_reply_problem(req, 503, "database_unavailable", "Service unavailable", NULL, NULL);
        login_free(l);
        return;
    }
    bool found = PQntuples(res) == 1;
    if (found && strcmp(PQgetvalue(res, 0, 2), "t") == 0) {
        l->user_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(l->role, sizeof(l->role), "%s", PQgetvalue(res, 0, 1));
        l->hash = strdup(PQgetvalue(res, 0, 3));
        l->user_json = strdup(PQgetvalue(res, 0, 4));
    }
    name_buckets(req, l, found ? PQgetvalue(res, 0, 0) : NULL);
    if (api_throttle_reserve(l->thread, l->buckets, 2, g_api.cfg.login_window_s, on_reserved, l) != 0) {
        api_reply_problem(req, 503, "redis_unavailable", "Service unavailable", NULL, NULL);
        login_free(l);
    }
}

static const char *string_field(json_t *body, const char *name, size_t max, const char **out)
{
    json_t *v = json_object_get(body, name);
    if (!v || json_is_null(v))
        return "this field is required";
    if (!json_is_string(v))
        return "must be a string";
    if (json_string_length(v) == 0)
        return "this field is required";
    if (json_string_length(v) > max)
        return "is too long";
    *out = json_string_value(v);
    return NULL;
}

int api_auth_login(h2o_req_t *req, const api_match *m)
{
    (void)m;
    json_t *body = api_json_body_or_reply(req);
    if (!body)
        return 0;
    const char *login = NULL, *password = NULL, *msg;
    if ((msg = string_field(body, "username", 254, &login)) != NULL) {
        api_reply_field_error(req, "username", msg);
    } else if ((msg = string_field(body, "password", 128, &password)) != NULL) {
        api_reply_field_error(req, "password", msg);
    } else {
        login_ctx *l = api_async_new(req, sizeof(*l));
        l->thread = api_thread_of(req);
        snprintf(l->login, sizeof(l->login), "%s", login);
        snprintf(l->password, sizeof(l->password), "%s", password);
        const char *params[] = {l->login};
        if (api_pg_query_for(l->thread->pg, &l->async,
                         "SELECT u.id, u.role, u.is_active, u.password_hash, " PK_USER_JSON "::text FROM users u" PK_USER_JOINS
                         " WHERE lower(u.username) = lower($1) OR lower(u.email) = lower($1)"
                         " ORDER BY lower(u.username) = lower($1) DESC LIMIT 1",
                         1, params, on_user, l) != 0) {
            api_reply_problem(req, 503, "overloaded", "Service unavailable", NULL, NULL);
            login_free(l);
        }
    }
    json_decref(body);
    return 0;
}

/* ---- logout, logout_all ---- */

static void reply_logged_out(h2o_req_t *req, bool ok)
{
    if (ok)
        api_reply_json(req, 200, json_pack("{s:s}", "detail", "logged out"));
    else
        api_reply_problem(req, 503, "redis_unavailable", "Service unavailable", "the session could not be ended", NULL);
}

int api_auth_logout(h2o_req_t *req, const api_match *m)
{
    api_session_destroy(req, m->session, reply_logged_out);
    return 0;
}

int api_auth_logout_all(h2o_req_t *req, const api_match *m)
{
    api_session_destroy_all(req, m->session->user_id, reply_logged_out);
    return 0;
}

/* ---- me ---- */

typedef struct {
    api_async async;
    char csrf[API_TOKEN_CHARS];
    json_t *applied;   /* the resource a just-applied command returned, or NULL */
    uint64_t generation;   /* of the cache when the query was sent */
    size_t key_len;        /* GET by a caller who may use the cache: the entry to fill */
    char key[API_OWN_KEY_MAX];
} me_ctx;

/* The user's JSON (PK_USER_JSON, an object with fields) with the session's
 * CSRF token as its last member, spliced as text: the user part is the
 * same for every session of the user, and kept in the per-loop cache. */
static void reply_me_text(h2o_req_t *req, const char *user, size_t len, const char *csrf)
{
    while (len && user[len - 1] != '}')
        len--;
    if (len < 2) {
        api_reply_problem(req, 503, "database_unavailable", "Service unavailable", NULL, NULL);
        return;
    }
    size_t cap = len + strlen(csrf) + 32;
    char *out = h2o_mem_alloc_pool(&req->pool, cap);
    int n = snprintf(out, cap, "%.*s,\"csrf_token\":\"%s\"}", (int)(len - 1), user, csrf);
    api_reply_json_private(req, out, (size_t)n);   /* GET: ETag/304; PATCH's answer: 200 */
}

static void me_free(me_ctx *c)
{
    json_decref(c->applied);
    api_async_free(&c->async);
}

/* PostgreSQL cannot be read: after an applied command the answer is what
 * the command's outcome carried (the change happened: never a 503). */
static void reply_unreadable(h2o_req_t *req, me_ctx *c, const char *code)
{
    if (!c->applied) {
        api_reply_problem(req, 503, code, "Service unavailable", NULL, NULL);
        return;
    }
    json_t *user = json_deep_copy(c->applied);
    json_object_set_new(user, "csrf_token", json_string(c->csrf));
    api_reply_json(req, 200, user);
}

static void on_me(void *ctx, const PGresult *res, const char *err)
{
    me_ctx *c = ctx;
    h2o_req_t *req = c->async.req;
    if (req && (err || PQresultStatus(res) != PGRES_TUPLES_OK)) {
        reply_unreadable(req, c, "database_unavailable");
    } else if (req && PQntuples(res) == 0) {
        api_reply_problem(req, 401, "not_authenticated", "Authentication required", "log in first", NULL);
    } else if (req) {
        /* Compact, as every other answer of ours (clients and scripts may
         * match the text): made once per cache entry. */
        json_error_t e;
        json_t *user = json_loads(PQgetvalue(res, 0, 0), 0, &e);
        char *text = user ? json_dumps(user, JSON_COMPACT) : NULL;
        json_decref(user);
        if (!text) {
            reply_unreadable(req, c, "database_unavailable");
        } else {
            if (c->key_len)
                api_cache_put(h2o_iovec_init(c->key, c->key_len), text, strlen(text), c->generation);
            reply_me_text(req, text, strlen(text), c->csrf);
            free(text);
        }
    }
    me_free(c);
}

static void query_me(h2o_req_t *req, me_ctx *c, int64_t user_id)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)user_id);
    c->generation = api_cache_generation();
    const char *params[] = {id};
    if (api_pg_query(api_thread_of(req)->pg,
                     "SELECT " PK_USER_JSON "::text FROM users u" PK_USER_JOINS " WHERE u.id = $1 AND u.is_active", 1,
                     params, on_me, c) != 0) {
        reply_unreadable(req, c, "overloaded");
        me_free(c);
    }
}

void api_reply_me_applied(h2o_req_t *req, int64_t user_id, const char *csrf, const json_t *applied)
{
    me_ctx *c = api_async_new(req, sizeof(*c));
    snprintf(c->csrf, sizeof(c->csrf), "%s", csrf);
    c->applied = applied ? json_deep_copy(applied) : NULL;
    query_me(req, c, user_id);
}

void api_reply_me(h2o_req_t *req, int64_t user_id, const char *csrf)
{
    api_reply_me_applied(req, user_id, csrf, NULL);
}

/* GET /api/auth/me/: the user part from the per-loop cache when the caller
 * may use it (api/reads.h, API_READ_OWN's rules), else from PostgreSQL. */
int api_auth_me(h2o_req_t *req, const api_match *m)
{
    char key[API_OWN_KEY_MAX];
    size_t key_len = api_read_own_key(req, m, key), len;
    const char *user = key_len ? api_cache_get(h2o_iovec_init(key, key_len), &len) : NULL;
    if (user) {
        api_metrics_cache_hit(api_thread_of(req)->metrics, true);
        reply_me_text(req, user, len, m->session->csrf);
        return 0;
    }
    me_ctx *c = api_async_new(req, sizeof(*c));
    snprintf(c->csrf, sizeof(c->csrf), "%s", m->session->csrf);
    c->key_len = key_len;
    memcpy(c->key, key, key_len);
    query_me(req, c, m->session->user_id);
    return 0;
}

/* ---- csrf (the seed frontend's handshake) ---- */

int api_auth_csrf(h2o_req_t *req, const api_match *m)
{
    if (m->session) {
        api_session_set_csrf_cookie(req, m->session->csrf);
        api_reply_json(req, 200, json_pack("{s:s}", "csrfToken", m->session->csrf));
        return 0;
    }
    char token[API_TOKEN_CHARS];
    api_csrf_anonymous_token(token);   /* stateless: nothing is stored for a visitor */
    api_csrf_anonymous_set_cookie(req, token);
    api_reply_json(req, 200, json_pack("{s:s}", "csrfToken", token));
    return 0;
}
