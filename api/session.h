/* session.h — server-side sessions in Redis, the CSRF token, cookies.
 *
 * A session is a 256-bit random token (libsodium) in the HttpOnly cookie
 * `punyaka_session`, SameSite=Lax unless PUNYAKA_COOKIE_SAMESITE says
 * Strict or None (a frontend on another site; None adds Secure). Redis
 * never sees the token itself, only its BLAKE2b hash, so a Redis dump
 * cannot be replayed as logins:
 *   punyaka:sess:<hash>   hash {uid, role, csrf, exp, mac}; idle TTL, refreshed on use
 *                         (at most every tenth of the idle life, at most every minute)
 * `mac` authenticates hash, uid, role, csrf and the absolute expiry `exp`
 * with PUNYAKA_SESSION_KEY (HMAC-SHA-512-256): a record Redis holds but this
 * server did not write — forged by anyone with Redis write access, copied to
 * another key, edited, or kept past `exp` — is no session (401), and logged.
 *   punyaka:usess:<uid>   set of the user's session hashes (logout_all)
 * The record also holds `rpw`, "read PostgreSQL's primary until" (Unix
 * ms): stamped when the session publishes a command (and at login, with a
 * read replica), read with the record by every API process. While it runs
 * the caller's reads skip the replica (api/replica.h) and the per-loop
 * cache of their own bookings and orders (api/reads.h, API_READ_OWN). It is
 * outside the MAC on purpose: it only picks where a read is answered from,
 * both allowed to the caller; a forged value is clamped to one window
 * ahead, so the worst Redis can do with it is a few stale reads.
 * Anonymous visitors get no session: GET /api/auth/csrf/ without one answers
 * a stateless token (signed with PUNYAKA_SESSION_KEY, an hour's life) in the
 * `csrftoken` cookie and the body, so Redis does not grow with anonymous
 * traffic. Every unsafe request that carries a live session must send its
 * CSRF token in X-CSRF-Token (or Django's X-CSRFToken), else 403; one without
 * a session that sends a token must send a valid anonymous one that matches
 * its `csrftoken` cookie (double submit), else 403. */
#ifndef PUNYAKA_API_SESSION_H
#define PUNYAKA_API_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include "api/server.h"

#define API_TOKEN_CHARS 44    /* base64url of 32 bytes, plus NUL */
#define API_HASH_HEX 65       /* BLAKE2b-256 hex, plus NUL */

typedef struct {
    int64_t user_id;          /* 0 = anonymous session (CSRF only) */
    char role[16];            /* customer | priest | admin | "" */
    char csrf[API_TOKEN_CHARS];
    char hash[API_HASH_HEX];  /* Redis key suffix */
    int64_t primary_until_ms; /* `rpw`: this session's reads skip the replica until then (0: none) */
} api_session;

/* Loads PUNYAKA_SESSION_KEY (64 hex characters); false when it is missing
 * or malformed — the API then refuses to start. */
bool api_session_init(void);

/* The session token from the Cookie header, or an empty iovec. */
h2o_iovec_t api_session_cookie(h2o_req_t *req);
void api_session_hash(const char *token, size_t len, char out[API_HASH_HEX]);

/* Loads the session named by the request's cookie. cb gets NULL when there
 * is none (or Redis is unavailable: `redis_down` tells which). */
typedef void (*api_session_cb)(void *ctx, const api_session *s, bool redis_down);
void api_session_load(h2o_req_t *req, api_session_cb cb, void *ctx);

/* Creates a session for user (0 = anonymous), replacing the request's old
 * one (no fixation), and sets both cookies on the response. */
typedef void (*api_session_created_cb)(void *ctx, const api_session *s);   /* NULL s: Redis failed */
void api_session_create(h2o_req_t *req, int64_t user_id, const char *role, api_session_created_cb cb, void *ctx);

/* Deletes one session / every session of a user and clears the cookies.
 * `done` (may be NULL) runs once Redis has executed the deletion (ok = 0 when
 * it could not): answer the client only then, because its next request may
 * be served by another loop thread on another Redis connection. */
typedef void (*api_session_done_cb)(h2o_req_t *req, bool ok);
void api_session_destroy(h2o_req_t *req, const api_session *s, api_session_done_cb done);
void api_session_destroy_all(h2o_req_t *req, int64_t user_id, api_session_done_cb done);

/* True while the session's reads must go to the primary (it wrote recently). */
bool api_session_reads_primary(const api_session *s);
/* The request's session published a command: its reads go to the primary
 * for PUNYAKA_READ_PRIMARY_AFTER_WRITE_MS from now, in every API process,
 * and skip the per-loop cache. Does nothing without a session cookie or
 * with a window of 0. The write is not
 * awaited: it is queued on this loop's Redis connection before the answer
 * that lets the client read (which waits at least for Kafka's ack). */
void api_session_mark_write(h2o_req_t *req);

/* Constant-time check of X-CSRF-Token / X-CSRFToken against the session. */
bool api_session_csrf_ok(h2o_req_t *req, const api_session *s);

/* Another random token cookie (e.g. api/command.c's command owner): the
 * value of `cookie` when it has a token's shape, else an empty iovec. */
h2o_iovec_t api_cookie_token(h2o_req_t *req, const char *cookie);
/* The value of `cookie` when it is min..max characters long, else an empty
 * iovec (an oversized value is nobody's). */
h2o_iovec_t api_cookie_value(h2o_req_t *req, const char *cookie, size_t min, size_t max);
/* Sets the HttpOnly cookie `cookie` to `value` (at most 400 characters),
 * with the session cookie's attributes, for max_age seconds. */
void api_cookie_set(h2o_req_t *req, const char *cookie, const char *value, int max_age);
/* Draws a new token into `token` and sets it as the HttpOnly cookie `cookie`
 * (the session cookie's attributes) for max_age seconds. */
void api_token_cookie_set(h2o_req_t *req, const char *cookie, int max_age, char token[API_TOKEN_CHARS]);

/* The anonymous CSRF token (stateless, see above), its cookie, and the
 * check for an unsafe request without a session. api_csrf_sent: the request
 * names a CSRF token at all. */
void api_csrf_anonymous_token(char out[API_TOKEN_CHARS]);
void api_csrf_anonymous_set_cookie(h2o_req_t *req, const char *token);
bool api_csrf_anonymous_ok(h2o_req_t *req);
bool api_csrf_sent(h2o_req_t *req);

/* Adds the `csrftoken` cookie (readable by scripts, for the seed's frontend). */
void api_session_set_csrf_cookie(h2o_req_t *req, const char *csrf);

#endif
