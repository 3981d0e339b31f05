/* notifications.c — the signed-in user's notifications (issue 17;
 * docs/notifications.md), written by punyaka-notifier from the events log:
 *   GET  /api/notifications/?unread=&page=&page_size=   own, newest first
 *   GET  /api/notifications/unread_count/               {"count": N}
 *   POST /api/notifications/{id}/read/                  notification.read {id}
 *   POST /api/notifications/read_all/  [{up_to_id}]     notification.read_all {up_to_id}
 * The API never writes PostgreSQL: marking read is a command on "accounts"
 * keyed by the user (schemas/commands/accounts.md). Ownership is read
 * first: another user's notification is as missing as one that never was
 * (404). read_all without up_to_id marks up to the newest notification the
 * user has now, so one arriving meanwhile stays unread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/command.h"
#include "api/http.h"
#include "api/pg.h"
#include "api/query.h"
#include "api/reads.h"
#include "api/routes.h"
#include "common/mp.h"
#include "common/shapes.h"

#define ID_MAX INT64_C(999999999999999999)   /* 18 digits, as the route's {id} */

int api_notifications_list(h2o_req_t *req, const api_match *m)
{
    char unread[6], user[24], limit[24], offset[24];
    api_page page;
    if (api_query_bool_or_reply(req, "unread", unread) || api_page_or_reply(req, &page))
        return 0;
    snprintf(user, sizeof(user), "%lld", (long long)m->session->user_id);
    snprintf(limit, sizeof(limit), "%lld", (long long)page.size);
    snprintf(offset, sizeof(offset), "%lld", (long long)page.offset);
    const char *params[] = {user, strcmp(unread, "true") == 0 ? "true" : "false", limit, offset};
    api_read_page(req, m, &page,
                  "WITH f AS (SELECT * FROM notifications WHERE user_id = $1::bigint"
                  "  AND (NOT $2::boolean OR read_at IS NULL)),"
                  " pg AS (SELECT * FROM f ORDER BY id DESC LIMIT $3::bigint OFFSET $4::bigint)"
                  " SELECT (SELECT count(*) FROM f),"
                  " coalesce((SELECT json_agg(" PK_NOTIFICATION_JSON " ORDER BY n.id DESC) FROM pg n), '[]')::text",
                  4, params, API_READ_PRIVATE);
    return 0;
}

int api_notifications_unread_count(h2o_req_t *req, const api_match *m)
{
    char user[24];
    snprintf(user, sizeof(user), "%lld", (long long)m->session->user_id);
    const char *params[] = {user};
    api_read_json(req, m,
                  "SELECT json_build_object('count', count(*))::text FROM notifications"
                  " WHERE user_id = $1::bigint AND read_at IS NULL",
                  1, params, API_READ_PRIVATE, "no such user");
    return 0;
}

/* ---- marking read: read the owner's row, then publish ---- */

typedef struct {
    api_async async;   /* first */
    const char *type;  /* notification.read | notification.read_all */
    const char *key;   /* its payload's id key */
    int64_t user_id, id;
    char role[16];
} mark_ctx;

static void submit(h2o_req_t *req, const mark_ctx *c, int64_t id)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    pk_mp_kv_i64(&pk, c->key, id);
    api_command cmd = {.type = c->type, .key_ids = {.user_id = c->user_id}, .actor_id = c->user_id,
                       .actor_role = c->role, .payload = &sb};
    api_command_submit(req, &cmd);
    msgpack_sbuffer_destroy(&sb);
}

/* The row's id (read: the notification if it is the user's; read_all: the
 * user's newest, when no up_to_id was sent). */
static void on_lookup(void *ctx, const PGresult *res, const char *err)
{
    mark_ctx *c = ctx;
    h2o_req_t *req = c->async.req;
    if (!req) {
        /* the client left */
    } else if (err || PQresultStatus(res) != PGRES_TUPLES_OK) {
        api_reply_db_unavailable(req);
    } else if (PQntuples(res) == 0) {
        api_reply_problem(req, 404, "not_found", "Not found", "no such notification", NULL);
    } else {
        int64_t id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        if (id > 0)
            submit(req, c, id);
        else   /* nothing to mark: the answer the command would give, without one */
            api_reply_json(req, 200, json_pack("{sIsb}", c->key, (json_int_t)0, "read", 1));
    }
    api_async_free(&c->async);
}

static mark_ctx *mark_new(h2o_req_t *req, const api_match *m, const char *type, const char *key, int64_t id)
{
    mark_ctx *c = api_async_new(req, sizeof(*c));
    c->type = type;
    c->key = key;
    c->id = id;
    c->user_id = m->session->user_id;
    snprintf(c->role, sizeof(c->role), "%s", m->session->role);
    return c;
}

static void lookup(h2o_req_t *req, mark_ctx *c, const char *sql)
{
    char user[24], id[24];
    snprintf(user, sizeof(user), "%lld", (long long)c->user_id);
    snprintf(id, sizeof(id), "%lld", (long long)c->id);
    const char *params[] = {user, id};
    if (api_pg_query(api_thread_of(req)->pg, sql, 2, params, on_lookup, c) != 0) {
        api_reply_overloaded(req);
        api_async_free(&c->async);
    }
}

int api_notifications_read(h2o_req_t *req, const api_match *m)
{
    mark_ctx *c = mark_new(req, m, "notification.read", "id", api_param_id(m, 0));
    lookup(req, c, "SELECT id::text FROM notifications WHERE user_id = $1::bigint AND id = $2::bigint");
    return 0;
}

/* {up_to_id?}: a positive integer; an empty body is fine. */
int api_notifications_read_all(h2o_req_t *req, const api_match *m)
{
    json_t *body = req->entity.len ? api_json_body_or_reply(req) : json_object();
    if (!body)
        return 0;
    json_t *v = json_object_get(body, "up_to_id");
    int given = v && !json_is_null(v);
    if (!json_is_object(body)) {
        api_reply_problem(req, 422, "validation_error", "Invalid body", "the body must be a JSON object", NULL);
    } else if (given && (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > ID_MAX)) {
        api_reply_field_error(req, "up_to_id", "must be a notification id (a positive integer)");
    } else {
        mark_ctx *c = mark_new(req, m, "notification.read_all", "up_to_id", given ? json_integer_value(v) : 0);
        /* $2 > 0: the client's bound, as sent; else the user's newest now (0 when none) */
        lookup(req, c,
               "SELECT CASE WHEN $2::bigint > 0 THEN $2::bigint"
               " ELSE (SELECT coalesce(max(id), 0) FROM notifications WHERE user_id = $1::bigint) END::text");
    }
    json_decref(body);
    return 0;
}
