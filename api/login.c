/* login.c — sessions over HTTP: login, logout, logout_all, me, csrf.
 *
 * Login never says which half was wrong: unknown user, wrong password and a
 * deactivated account get the same 401 body, and an unknown user is checked
 * against a dummy Argon2id hash so the timing matches too. Failures are
 * counted in Redis per username and per client address (DESIGN §5). */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "api/hasher.h"
#include "api/http.h"
#include "api/pg.h"
#include "api/redis.h"
#include "api/routes.h"
#include "api/session.h"
#include "api/users.h"

typedef struct {
    api_async async;
    char login[256];          /* username or email, as typed */
    char password[256];
    char user_key[300];       /* rate-limit keys */
    char ip_key[96];
    int64_t user_id;
    char role[16];
    char *user_json;          /* malloc'd */
} login_ctx;

static void login_free(login_ctx *l)
{
    sodium_memzero(l->password, sizeof(l->password));
    free(l->user_json);
    api_async_free(&l->async);
}

static void client_address(h2o_req_t *req, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    snprintf(out, cap, "unknown");
    if (len && ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)cap);
    else if (len && ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)cap);
}

static void reply_invalid_credentials(h2o_req_t *req)
{
    api_reply_problem(req, 401, "invalid_credentials", "Invalid credentials",
                      "the username or password is incorrect", NULL);
}

/* ---- step 5: a session for the user ---- */

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

/* ---- step 4: the password ---- */

static const char COUNT_FAILURE[] =
    "for _, k in ipairs(KEYS) do if redis.call('INCR', k) == 1 then redis.call('EXPIRE', k, ARGV[1]) end end "
    "return 1";

static void count_failure(login_ctx *l, api_thread *t)
{
    char window[16];
    snprintf(window, sizeof(window), "%d", g_api.cfg.login_window_s);
    const char *argv[] = {"EVAL", COUNT_FAILURE, "2", l->user_key, l->ip_key, window};
    api_redis_argv(t->redis, NULL, NULL, 6, argv, NULL);
}

static void on_verified(api_hash_job *job, const char *unused)
{
    login_ctx *l = job->data;
    (void)unused;
    h2o_req_t *req = l->async.req;
    if (!req) {
        login_free(l);
        return;
    }
    api_thread *t = api_thread_of(req);
    if (!job->ok || !l->user_json) {
        count_failure(l, t);
        reply_invalid_credentials(req);
        login_free(l);
        return;
    }
    const char *del[] = {"DEL", l->user_key};   /* a success forgives the username's failures */
    api_redis_argv(t->redis, NULL, NULL, 2, del, NULL);
    api_session_create(req, l->user_id, l->role, on_session_created, l);
}

/* ---- step 3: the user ---- */

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
    const char *hash = NULL;
    if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 2), "t") == 0) {
        l->user_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(l->role, sizeof(l->role), "%s", PQgetvalue(res, 0, 1));
        hash = PQgetvalue(res, 0, 3);
        l->user_json = strdup(PQgetvalue(res, 0, 4));
    }
    api_verify_password(api_thread_of(req), l->password, hash, on_verified, l);
}

/* ---- step 2: throttling ---- */

static const char READ_COUNTS[] =
    "return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('TTL', KEYS[1]),"
    " tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('TTL', KEYS[2])}";

static void on_counts(redisAsyncContext *ac, void *reply, void *privdata)
{
    login_ctx *l = privdata;
    redisReply *r = reply;
    (void)ac;
    h2o_req_t *req = l->async.req;
    if (!req) {
        login_free(l);
        return;
    }
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 4) {
        api_reply_problem(req, 503, "redis_unavailable", "Service unavailable", NULL, NULL);
        login_free(l);
        return;
    }
    long long user_fails = r->element[0]->integer, ip_fails = r->element[2]->integer;
    long long ttl = user_fails >= g_api.cfg.login_max_per_user ? r->element[1]->integer : r->element[3]->integer;
    if (user_fails >= g_api.cfg.login_max_per_user || ip_fails >= g_api.cfg.login_max_per_ip) {
        char retry[24];
        snprintf(retry, sizeof(retry), "%lld", ttl > 0 ? ttl : (long long)g_api.cfg.login_window_s);
        api_add_header(req, "retry-after", retry);
        api_reply_problem(req, 429, "too_many_attempts", "Too many login attempts",
                          "too many failed logins; try again later", NULL);
        login_free(l);
        return;
    }
    const char *params[] = {l->login};
    if (api_pg_query(api_thread_of(req)->pg,
                     "SELECT u.id, u.role, u.is_active, u.password_hash, " API_USER_JSON " FROM users u" API_USER_JOINS
                     " WHERE lower(u.username) = lower($1) OR lower(u.email) = lower($1)"
                     " ORDER BY lower(u.username) = lower($1) DESC LIMIT 1",
                     1, params, on_user, l) != 0) {
        api_reply_problem(req, 503, "overloaded", "Service unavailable", NULL, NULL);
        login_free(l);
    }
}

/* ---- step 1: the request ---- */

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
        char ip[64];
        snprintf(l->login, sizeof(l->login), "%s", login);
        snprintf(l->password, sizeof(l->password), "%s", password);
        snprintf(l->user_key, sizeof(l->user_key), "punyaka:rl:user:%s", login);
        for (char *c = l->user_key; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        client_address(req, ip, sizeof(ip));
        snprintf(l->ip_key, sizeof(l->ip_key), "punyaka:rl:ip:%s", ip);
        const char *argv[] = {"EVAL", READ_COUNTS, "2", l->user_key, l->ip_key};
        if (api_redis_argv(api_thread_of(req)->redis, on_counts, l, 5, argv, NULL) != 0) {
            api_reply_problem(req, 503, "redis_unavailable", "Service unavailable", NULL, NULL);
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
} me_ctx;

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
        json_error_t e;
        json_t *user = json_loads(PQgetvalue(res, 0, 0), 0, &e);
        json_object_set_new(user, "csrf_token", json_string(c->csrf));
        api_reply_json(req, 200, user);
    }
    me_free(c);
}

int api_auth_me(h2o_req_t *req, const api_match *m)
{
    api_reply_me(req, m->session->user_id, m->session->csrf);
    return 0;
}

void api_reply_me_applied(h2o_req_t *req, int64_t user_id, const char *csrf, const json_t *applied)
{
    me_ctx *c = api_async_new(req, sizeof(*c));
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)user_id);
    snprintf(c->csrf, sizeof(c->csrf), "%s", csrf);
    c->applied = applied ? json_deep_copy(applied) : NULL;
    const char *params[] = {id};
    if (api_pg_query(api_thread_of(req)->pg,
                     "SELECT " API_USER_JSON " FROM users u" API_USER_JOINS " WHERE u.id = $1 AND u.is_active", 1,
                     params, on_me, c) != 0) {
        reply_unreadable(req, c, "overloaded");
        me_free(c);
    }
}

void api_reply_me(h2o_req_t *req, int64_t user_id, const char *csrf)
{
    api_reply_me_applied(req, user_id, csrf, NULL);
}

/* ---- csrf (the seed frontend's handshake) ---- */

static void on_anonymous_session(void *ctx, const api_session *s)
{
    h2o_req_t *req = ctx;
    if (!s)
        api_reply_problem(req, 503, "redis_unavailable", "Service unavailable", NULL, NULL);
    else
        api_reply_json(req, 200, json_pack("{s:s}", "csrfToken", s->csrf));
}

int api_auth_csrf(h2o_req_t *req, const api_match *m)
{
    if (m->session) {
        api_session_set_csrf_cookie(req, m->session->csrf);
        api_reply_json(req, 200, json_pack("{s:s}", "csrfToken", m->session->csrf));
        return 0;
    }
    api_session_create(req, 0, "", on_anonymous_session, req);
    return 0;
}
