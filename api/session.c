#include "api/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <time.h>
#include "api/http.h"
#include "api/redis.h"
#include "common/kyc.h"
#include "common/log.h"

#define COOKIE_NAME "punyaka_session"
#define ANON_TTL_S 3600
#define MAC_HEX (2 * crypto_auth_BYTES + 1)

/* ---- record authentication ----
 * Whoever can write to Redis could otherwise HSET a record {uid 1, role
 * admin} under any key and be that user. Each record therefore carries a MAC
 * (HMAC-SHA-512-256, PUNYAKA_SESSION_KEY) over its key's hash, uid, role,
 * csrf and absolute expiry `exp`: a record is only believed when the MAC
 * verifies, so Redis alone can neither mint a session, nor move a record to
 * another key, nor change its user or role, nor keep a copied record alive
 * past `exp` (refreshed with the MAC on every use, like the TTL). */

_Static_assert(crypto_auth_KEYBYTES == crypto_secretbox_KEYBYTES, "PUNYAKA_SESSION_KEY is parsed like PUNYAKA_DATA_KEY");
static unsigned char session_key[crypto_auth_KEYBYTES];

bool api_session_init(void)
{
    return pk_kyc_key_load(getenv("PUNYAKA_SESSION_KEY"), session_key) == 0;
}

static void record_mac(const char *hash, const char *uid, const char *role, const char *csrf, const char *exp,
                       char out[MAC_HEX])
{
    static const char domain[] = "punyaka.session.v1";
    const char *parts[] = {domain, hash, uid, role, csrf, exp};
    crypto_auth_hmacsha512256_state st;
    unsigned char mac[crypto_auth_BYTES];
    crypto_auth_hmacsha512256_init(&st, session_key, sizeof(session_key));
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)   /* NUL-separated: unambiguous */
        crypto_auth_hmacsha512256_update(&st, (const unsigned char *)parts[i], strlen(parts[i]) + 1);
    crypto_auth_hmacsha512256_final(&st, mac);
    sodium_bin2hex(out, MAC_HEX, mac, sizeof(mac));
}

/* True when the record's MAC is the one this server would have written and
 * `exp` has not passed. */
static bool record_authentic(const char *hash, const char *uid, const char *role, const char *csrf, const char *exp,
                             const char *mac)
{
    char want[MAC_HEX];
    if (!exp || !mac || strlen(mac) != MAC_HEX - 1)
        return false;
    record_mac(hash, uid, role, csrf, exp, want);
    return sodium_memcmp(want, mac, MAC_HEX - 1) == 0 && strtoll(exp, NULL, 10) >= (long long)time(NULL);
}

/* ---- cookies ---- */

h2o_iovec_t api_session_cookie(h2o_req_t *req)
{
    return api_cookie_token(req, COOKIE_NAME);
}

h2o_iovec_t api_cookie_token(h2o_req_t *req, const char *cookie)
{
    return api_cookie_value(req, cookie, API_TOKEN_CHARS - 1, API_TOKEN_CHARS - 1);
}

h2o_iovec_t api_cookie_value(h2o_req_t *req, const char *cookie, size_t min, size_t max)
{
    char name[64];
    size_t nlen = (size_t)snprintf(name, sizeof(name), "%s=", cookie);
    ssize_t i = -1;
    while ((i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) != -1) {
        h2o_iovec_t v = req->headers.entries[i].value;
        for (size_t p = 0; p + nlen <= v.len; p++) {
            if ((p == 0 || v.base[p - 1] == ' ' || v.base[p - 1] == ';') && memcmp(v.base + p, name, nlen) == 0) {
                size_t start = p + nlen, end = start;
                while (end < v.len && v.base[end] != ';')
                    end++;
                if (end - start >= min && end - start <= max)
                    return h2o_iovec_init(v.base + start, end - start);
            }
        }
    }
    return h2o_iovec_init(NULL, 0);
}

static void add_cookie(h2o_req_t *req, const char *name, const char *value, int max_age, bool http_only)
{
    char buf[512];   /* the command owner's list is 200 characters (common/owner_list.h) */
    /* SameSite=None (a frontend on another site) is refused by browsers
     * without Secure, so it implies Secure. */
    const char *samesite = g_api.cfg.cookie_samesite;
    bool secure = g_api.cfg.cookie_secure || strcmp(samesite, "None") == 0;
    snprintf(buf, sizeof(buf), "%s=%s; Path=/; Max-Age=%d; SameSite=%s%s%s", name, value, max_age, samesite,
             http_only ? "; HttpOnly" : "", secure ? "; Secure" : "");
    h2o_iovec_t v = h2o_strdup(&req->pool, buf, strlen(buf));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SET_COOKIE, NULL, v.base, v.len);
}

void api_session_set_csrf_cookie(h2o_req_t *req, const char *csrf)
{
    add_cookie(req, "csrftoken", csrf, g_api.cfg.session_idle_s, false);
}

static void clear_cookies(h2o_req_t *req)
{
    add_cookie(req, COOKIE_NAME, "", 0, true);
    add_cookie(req, "csrftoken", "", 0, false);
}

void api_session_hash(const char *token, size_t len, char out[API_HASH_HEX])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof(h), (const unsigned char *)token, len, NULL, 0);
    sodium_bin2hex(out, API_HASH_HEX, h, sizeof(h));
}

static void random_token(char out[API_TOKEN_CHARS])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, API_TOKEN_CHARS, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void api_cookie_set(h2o_req_t *req, const char *cookie, const char *value, int max_age)
{
    add_cookie(req, cookie, value, max_age, true);
}

void api_token_cookie_set(h2o_req_t *req, const char *cookie, int max_age, char token[API_TOKEN_CHARS])
{
    random_token(token);
    add_cookie(req, cookie, token, max_age, true);
}

/* ---- load ---- */

typedef struct {
    api_async async;
    api_session_cb cb;
    void *ctx;
    api_session s;
} loading;

/* Only an existing record is refreshed: a logout that won the race stays a logout. */
static const char TOUCH[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then "
    "redis.call('HSET', KEYS[1], 'exp', ARGV[1], 'mac', ARGV[2]) "
    "redis.call('EXPIRE', KEYS[1], ARGV[3]) end return 0";

static void touch(api_thread *t, const api_session *s)
{
    char key[96], ttl[16], uid[24], exp[24], mac[MAC_HEX];
    int life = s->user_id ? g_api.cfg.session_idle_s : ANON_TTL_S;
    snprintf(key, sizeof(key), "punyaka:sess:%s", s->hash);
    snprintf(ttl, sizeof(ttl), "%d", life);
    snprintf(uid, sizeof(uid), "%lld", (long long)s->user_id);
    snprintf(exp, sizeof(exp), "%lld", (long long)time(NULL) + life);
    record_mac(s->hash, uid, s->role, s->csrf, exp, mac);
    const char *argv[] = {"EVAL", TOUCH, "1", key, exp, mac, ttl};
    api_redis_argv(t->redis, NULL, NULL, 7, argv, NULL);   /* sliding expiry */
}

/* The sliding expiry is refreshed at most every tenth of the idle life (at
 * most every minute): a session in use costs one Redis command per request
 * (the load) instead of two, and its idle life is exact to that slack. A
 * record whose `exp` is further away than life - slack was written or
 * touched less than `slack` seconds ago. */
static bool touch_due(const api_session *s, const char *exp)
{
    long long life = s->user_id ? g_api.cfg.session_idle_s : ANON_TTL_S;
    long long slack = life / 10 < 60 ? life / 10 : 60;
    return strtoll(exp, NULL, 10) - (long long)time(NULL) < life - slack;
}

static const char *field(redisReply *r, const char *name)
{
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, name) == 0 &&
            r->element[i + 1]->type == REDIS_REPLY_STRING)
            return r->element[i + 1]->str;
    return NULL;
}

/* ---- read the primary after a write (session.h, api/replica.h) ---- */

static int64_t window_ms(void)
{
    return g_api.cfg.read_primary_after_write_ms;
}

/* `rpw` as Redis holds it: digits only, and never believed further than one
 * window ahead (Redis is not trusted; see session.h). */
static int64_t primary_until(const char *v)
{
    if (!v || !*v || strlen(v) > 15 || strspn(v, "0123456789") != strlen(v))
        return 0;
    int64_t until = strtoll(v, NULL, 10), cap = (int64_t)api_now_ms() + window_ms();
    return until < cap ? until : cap;
}

bool api_session_reads_primary(const api_session *s)
{
    return s->primary_until_ms > (int64_t)api_now_ms();
}

/* Only an existing record is stamped: a logout that won the race stays one,
 * and no half record without a TTL is ever made. */
static const char STAMP[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'rpw', ARGV[1]) end return 0";

void api_session_mark_write(h2o_req_t *req)
{
    h2o_iovec_t token = api_session_cookie(req);
    if (!token.len || window_ms() == 0)
        return;
    char hash[API_HASH_HEX], key[96], until[24];
    api_session_hash(token.base, token.len, hash);
    snprintf(key, sizeof(key), "punyaka:sess:%s", hash);
    snprintf(until, sizeof(until), "%lld", (long long)api_now_ms() + window_ms());
    const char *argv[] = {"EVAL", STAMP, "1", key, until};
    api_redis_argv(api_thread_of(req)->redis, NULL, NULL, 5, argv, NULL);
}

static void on_loaded(redisAsyncContext *ac, void *reply, void *privdata)
{
    loading *l = privdata;
    redisReply *r = reply;
    (void)ac;
    if (l->async.req) {
        const char *uid = r && r->type == REDIS_REPLY_ARRAY ? field(r, "uid") : NULL;
        const char *role = uid ? field(r, "role") : NULL;
        const char *csrf = uid ? field(r, "csrf") : NULL;
        bool shaped = uid && role && csrf && strlen(csrf) == API_TOKEN_CHARS - 1;
        if (shaped && !record_authentic(l->s.hash, uid, role, csrf, field(r, "exp"), field(r, "mac"))) {
            /* Not written by us (or expired, or under another key): no session,
             * and gone, so it is reported once. Only the hash's head is logged. */
            pk_warn(NULL, "session record %.12s… has a missing or bad MAC or is expired: deleted (uid %.20s, role %.15s)",
                    l->s.hash, uid, role);
            char key[96];
            snprintf(key, sizeof(key), "punyaka:sess:%s", l->s.hash);
            const char *del[] = {"DEL", key};
            api_redis_argv(api_thread_of(l->async.req)->redis, NULL, NULL, 2, del, NULL);
            shaped = false;
        }
        if (shaped) {
            l->s.user_id = strtoll(uid, NULL, 10);
            l->s.primary_until_ms = primary_until(field(r, "rpw"));
            snprintf(l->s.role, sizeof(l->s.role), "%s", role);
            memcpy(l->s.csrf, csrf, API_TOKEN_CHARS);
            if (touch_due(&l->s, field(r, "exp")))
                touch(api_thread_of(l->async.req), &l->s);
            l->cb(l->ctx, &l->s, false);
        } else {
            l->cb(l->ctx, NULL, r == NULL);
        }
    }
    api_async_free(&l->async);
}

void api_session_load(h2o_req_t *req, api_session_cb cb, void *ctx)
{
    h2o_iovec_t token = api_session_cookie(req);
    if (!token.len) {
        cb(ctx, NULL, false);
        return;
    }
    loading *l = api_async_new(req, sizeof(*l));
    l->cb = cb;
    l->ctx = ctx;
    api_session_hash(token.base, token.len, l->s.hash);
    char key[96];
    snprintf(key, sizeof(key), "punyaka:sess:%s", l->s.hash);
    const char *argv[] = {"HGETALL", key};
    if (api_redis_argv(api_thread_of(req)->redis, on_loaded, l, 2, argv, NULL) != 0) {
        api_async_free(&l->async);
        cb(ctx, NULL, true);
    }
}

/* ---- create ---- */

typedef struct {
    api_async async;
    api_session_created_cb cb;
    void *ctx;
    api_session s;
} creating;

static void on_created(redisAsyncContext *ac, void *reply, void *privdata)
{
    creating *c = privdata;
    redisReply *r = reply;
    (void)ac;
    if (c->async.req)
        c->cb(c->ctx, r && r->type != REDIS_REPLY_ERROR ? &c->s : NULL);
    api_async_free(&c->async);
}

static void drop_old_session(h2o_req_t *req)
{
    h2o_iovec_t old = api_session_cookie(req);
    if (!old.len)
        return;
    char hash[API_HASH_HEX], key[96];
    api_session_hash(old.base, old.len, hash);
    snprintf(key, sizeof(key), "punyaka:sess:%s", hash);
    const char *argv[] = {"DEL", key};
    api_redis_argv(api_thread_of(req)->redis, NULL, NULL, 2, argv, NULL);
}

void api_session_create(h2o_req_t *req, int64_t user_id, const char *role, api_session_created_cb cb, void *ctx)
{
    api_thread *t = api_thread_of(req);
    char token[API_TOKEN_CHARS], key[96], uid[24], ttl[16], ukey[64], exp[24], mac[MAC_HEX];
    creating *c = api_async_new(req, sizeof(*c));
    c->cb = cb;
    c->ctx = ctx;
    c->s.user_id = user_id;
    snprintf(c->s.role, sizeof(c->s.role), "%s", role);
    random_token(token);
    random_token(c->s.csrf);
    api_session_hash(token, strlen(token), c->s.hash);
    snprintf(key, sizeof(key), "punyaka:sess:%s", c->s.hash);
    snprintf(uid, sizeof(uid), "%lld", (long long)user_id);
    snprintf(ttl, sizeof(ttl), "%d", user_id ? g_api.cfg.session_idle_s : ANON_TTL_S);
    snprintf(ukey, sizeof(ukey), "punyaka:usess:%s", uid);
    snprintf(exp, sizeof(exp), "%lld", (long long)time(NULL) + (user_id ? g_api.cfg.session_idle_s : ANON_TTL_S));
    record_mac(c->s.hash, uid, c->s.role, c->s.csrf, exp, mac);
    drop_old_session(req);
    /* A new login reads the primary for a window too: the account it just
     * proved (perhaps registered a moment ago) may not be on the replica yet. */
    char until[24];
    int64_t until_ms = (int64_t)api_now_ms() + window_ms();
    snprintf(until, sizeof(until), "%lld", (long long)until_ms);
    c->s.primary_until_ms = g_api.cfg.database_read_url ? until_ms : 0;
    const char *hset[] = {"HSET", key, "uid", uid, "role", c->s.role, "csrf", c->s.csrf, "exp", exp, "mac", mac,
                          "rpw", until};
    const char *expire[] = {"EXPIRE", key, ttl};
    const char *sadd[] = {"SADD", ukey, c->s.hash};
    const char *uexpire[] = {"EXPIRE", ukey, ttl};
    int rc = api_redis_argv(t->redis, NULL, NULL, g_api.cfg.database_read_url ? 14 : 12, hset, NULL);
    if (rc == 0 && user_id) {
        api_redis_argv(t->redis, NULL, NULL, 3, sadd, NULL);
        api_redis_argv(t->redis, NULL, NULL, 3, uexpire, NULL);
    }
    /* The last command's reply tells the whole pipeline went through. */
    if (rc != 0 || api_redis_argv(t->redis, on_created, c, 3, expire, NULL) != 0) {
        api_async_free(&c->async);
        cb(ctx, NULL);
        return;
    }
    add_cookie(req, COOKIE_NAME, token, user_id ? g_api.cfg.session_idle_s : ANON_TTL_S, true);
    api_session_set_csrf_cookie(req, c->s.csrf);
}

/* ---- destroy ---- */

typedef struct {
    api_async async;
    api_session_done_cb done;
} destroying;

static void on_destroyed(redisAsyncContext *ac, void *reply, void *privdata)
{
    destroying *d = privdata;
    redisReply *r = reply;
    (void)ac;
    if (d->async.req)
        d->done(d->async.req, r && r->type != REDIS_REPLY_ERROR);
    api_async_free(&d->async);
}

/* Sends the last command of a deletion, with the completion callback. */
static void send_last(h2o_req_t *req, int argc, const char **argv, api_session_done_cb done)
{
    if (!done) {
        api_redis_argv(api_thread_of(req)->redis, NULL, NULL, argc, argv, NULL);
        return;
    }
    destroying *d = api_async_new(req, sizeof(*d));
    d->done = done;
    if (api_redis_argv(api_thread_of(req)->redis, on_destroyed, d, argc, argv, NULL) != 0) {
        api_async_free(&d->async);
        done(req, false);
    }
}

void api_session_destroy(h2o_req_t *req, const api_session *s, api_session_done_cb done)
{
    char key[96], ukey[64];
    snprintf(key, sizeof(key), "punyaka:sess:%s", s->hash);
    snprintf(ukey, sizeof(ukey), "punyaka:usess:%lld", (long long)s->user_id);
    const char *del[] = {"DEL", key};
    const char *srem[] = {"SREM", ukey, s->hash};
    clear_cookies(req);
    api_redis_argv(api_thread_of(req)->redis, NULL, NULL, 3, srem, NULL);
    send_last(req, 2, del, done);
}

/* Deleting every session key of the set and the set itself is one Lua script,
 * so a concurrent login cannot slip a session in between the two steps. */
static const char DROP_ALL[] =
    "local s = redis.call('SMEMBERS', KEYS[1]) "
    "for _, h in ipairs(s) do redis.call('DEL', 'punyaka:sess:' .. h) end "
    "redis.call('DEL', KEYS[1]) return #s";

void api_session_destroy_all(h2o_req_t *req, int64_t user_id, api_session_done_cb done)
{
    char ukey[64];
    snprintf(ukey, sizeof(ukey), "punyaka:usess:%lld", (long long)user_id);
    const char *argv[] = {"EVAL", DROP_ALL, "1", ukey};
    clear_cookies(req);
    send_last(req, 4, argv, done);
}

static h2o_iovec_t csrf_header(h2o_req_t *req)
{
    h2o_iovec_t given = api_header(req, "x-csrf-token");
    return given.len ? given : api_header(req, "x-csrftoken");
}

bool api_session_csrf_ok(h2o_req_t *req, const api_session *s)
{
    h2o_iovec_t given = csrf_header(req);
    size_t want = strlen(s->csrf);
    return given.len == want && want > 0 && sodium_memcmp(given.base, s->csrf, want) == 0;
}

/* ---- the anonymous CSRF token: stateless ----
 * 32 bytes, base64url (43 characters, the shape of a session's token):
 * nonce (8) | expiry, Unix seconds, big-endian (4) | HMAC-SHA-512-256 of the
 * first 12 under PUNYAKA_SESSION_KEY, truncated (20). Nothing is stored:
 * anonymous visitors cost Redis nothing. */

#define ANON_NONCE 8
#define ANON_SIGNED 12
#define ANON_TAG 20
#define ANON_CSRF_LIFETIME_S 3600

static void anon_tag(const unsigned char *signed_part, unsigned char tag[ANON_TAG])
{
    static const char domain[] = "punyaka.csrf.anonymous.v1";
    crypto_auth_hmacsha512256_state st;
    unsigned char mac[crypto_auth_BYTES];
    crypto_auth_hmacsha512256_init(&st, session_key, sizeof(session_key));
    crypto_auth_hmacsha512256_update(&st, (const unsigned char *)domain, sizeof(domain));
    crypto_auth_hmacsha512256_update(&st, signed_part, ANON_SIGNED);
    crypto_auth_hmacsha512256_final(&st, mac);
    memcpy(tag, mac, ANON_TAG);
}

void api_csrf_anonymous_token(char out[API_TOKEN_CHARS])
{
    unsigned char raw[ANON_SIGNED + ANON_TAG];
    uint32_t exp = (uint32_t)(time(NULL) + ANON_CSRF_LIFETIME_S);
    randombytes_buf(raw, ANON_NONCE);
    for (int i = 0; i < 4; i++)
        raw[ANON_NONCE + i] = (unsigned char)(exp >> (24 - 8 * i));
    anon_tag(raw, raw + ANON_SIGNED);
    sodium_bin2base64(out, API_TOKEN_CHARS, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void api_csrf_anonymous_set_cookie(h2o_req_t *req, const char *token)
{
    add_cookie(req, "csrftoken", token, ANON_CSRF_LIFETIME_S, false);
}

bool api_csrf_anonymous_ok(h2o_req_t *req)
{
    h2o_iovec_t given = csrf_header(req), cookie = api_cookie_token(req, "csrftoken");
    unsigned char raw[ANON_SIGNED + ANON_TAG], want[ANON_TAG];
    size_t len = 0;
    if (given.len != API_TOKEN_CHARS - 1 || cookie.len != given.len || sodium_memcmp(given.base, cookie.base, given.len))
        return false;   /* double submit: the page that read our cookie sent it back */
    if (sodium_base642bin(raw, sizeof(raw), given.base, given.len, NULL, &len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || len != sizeof(raw))
        return false;
    anon_tag(raw, want);
    uint32_t exp = 0;
    for (int i = 0; i < 4; i++)
        exp = exp << 8 | raw[ANON_NONCE + i];
    return sodium_memcmp(want, raw + ANON_SIGNED, ANON_TAG) == 0 && (time_t)exp >= time(NULL);
}

bool api_csrf_sent(h2o_req_t *req)
{
    return csrf_header(req).len > 0;
}
