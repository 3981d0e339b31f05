/* users.h — answering with a user. The user's shape (never the password
 * hash or KYC data) is PK_USER_JSON in common/shapes.h, built by PostgreSQL
 * so the read path copies one text column to the wire, and the same shape
 * is the accounts commands' outcome. Use as
 *   "SELECT u.id, u.role, u.is_active, u.password_hash, " PK_USER_JSON "::text FROM users u"
 *   PK_USER_JOINS " WHERE …". */
#ifndef PUNYAKA_API_USERS_H
#define PUNYAKA_API_USERS_H

#include "common/shapes.h"

#include <stdint.h>
#include <h2o.h>
#include <jansson.h>

/* {"user": <user_json>, "csrf_token": csrf} — what login and register answer
 * (the seed's {user, message} shape plus the token). */
void api_reply_user_with_csrf(h2o_req_t *req, int status, const char *user_json, const char *csrf);

/* The caller's own account (GET /api/auth/me/ shape, with csrf_token). */
void api_reply_me(h2o_req_t *req, int64_t user_id, const char *csrf);
/* The same right after a command changed the account: when PostgreSQL
 * cannot be read, `applied` (the outcome's resource, copied) is the answer
 * instead of a 503 — the change happened, and a 503 would say it did not. */
void api_reply_me_applied(h2o_req_t *req, int64_t user_id, const char *csrf, const json_t *applied);

/* A priest's specializations or languages (a JSON array): at most
 * PK_LIST_MAX_ITEMS strings, each passing pk_check_list_item — the rule the
 * worker applies. NULL when acceptable, else the message. (api/auth.c) */
const char *api_check_string_list(json_t *items);

#endif
