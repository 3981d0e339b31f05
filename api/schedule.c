/* schedule.c — a priest's own schedule over HTTP (issue 17):
 *   GET    /api/priest/schedule/       his week of working hours (the default when never set)
 *   PUT    /api/priest/schedule/       priest.set_hours   {hours: {mon: [["09:00","13:00"], …], …, sun: []}}
 *   GET    /api/priest/blocks/         his blocked periods that have not ended, earliest first (paginated)
 *   POST   /api/priest/blocks/         priest.block       {start, end, reason?}
 *   DELETE /api/priest/blocks/{id}/    priest.unblock     (answers the block as it was)
 *
 * Priests only (routes.c: ROLE_PRIEST, so customers and admins get 403),
 * and only their own: the profile is the caller's, found by his user id,
 * and another priest's block id is 404 like an id never used. Every body is
 * validated with common/schedule_rules.h before anything is published
 * (422 naming the field); the worker (workers/schedules.c) checks it all
 * again and alone decides. Commands go to "bookings" keyed by the priest,
 * so they are ordered with his bookings. Blocks and bookings answer with
 * `conflicting_bookings`: his pending or confirmed bookings inside the
 * block, which stay booked until he or the customer cancels them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "api/bookings.h"
#include "api/command.h"
#include "api/http.h"
#include "api/pg.h"
#include "api/query.h"
#include "api/routes.h"
#include "common/mp.h"
#include "common/schedule_rules.h"
#include "common/shapes.h"
#include "common/validate.h"

/* ---- reads ---- */

int api_priest_schedule_show(h2o_req_t *req, const api_match *m)
{
    char caller[24];
    snprintf(caller, sizeof(caller), "%lld", (long long)m->session->user_id);
    const char *params[] = {caller};
    api_read_json(req, m, "SELECT " PK_SCHEDULE_JSON("p", "s") "::text" PK_SCHEDULE_FROM " WHERE p.user_id = $1", 1,
                  params, API_READ_PRIVATE, "no priest profile");
    return 0;
}

#define BLOCK_ORDER "lower(k.period), k.id"

int api_priest_blocks_list(h2o_req_t *req, const api_match *m)
{
    char caller[24], limit[24], offset[24];
    api_page page;
    if (api_page_or_reply(req, &page))
        return 0;
    snprintf(caller, sizeof(caller), "%lld", (long long)m->session->user_id);
    snprintf(limit, sizeof(limit), "%lld", (long long)page.size);
    snprintf(offset, sizeof(offset), "%lld", (long long)page.offset);
    const char *params[] = {caller, limit, offset};
    api_read_page(req, m, &page,
                  "WITH f AS (SELECT k.id, row_number() OVER (ORDER BY " BLOCK_ORDER ") AS n FROM priest_blocks k"
                  "  JOIN priest_profiles p ON p.id = k.priest_id WHERE p.user_id = $1 AND upper(k.period) > now()),"
                  " pg AS (SELECT id, n FROM f ORDER BY n LIMIT $2::bigint OFFSET $3::bigint)"
                  " SELECT (SELECT count(*) FROM f), coalesce((SELECT json_agg(" PK_PRIEST_BLOCK_JSON("k")
                  " ORDER BY pg.n) FROM pg JOIN priest_blocks k ON k.id = pg.id), '[]')::text",
                  3, params, API_READ_PRIVATE);
    return 0;
}

/* ---- writes: validate, find the caller's profile (the key), publish ---- */

typedef struct {
    api_async async;   /* first */
    const char *type;  /* static string */
    int64_t actor_id;
    char role[16];
    json_t *fields;    /* owned: the payload without "priest" */
} write_ctx;

static void write_free(write_ctx *w)
{
    json_decref(w->fields);
    api_async_free(&w->async);
}

static void reply_errors(h2o_req_t *req, json_t *errors)
{
    api_reply_problem(req, 422, "validation_error", "Invalid request", "some fields are invalid", errors);
}

static void publish(h2o_req_t *req, const write_ctx *w, int64_t priest)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    const char *key;
    json_t *v;
    pk_mp_start_map(&sb, &pk, 1 + (uint32_t)json_object_size(w->fields));
    pk_mp_kv_i64(&pk, "priest", priest);
    json_object_foreach(w->fields, key, v) {
        pk_mp_pack_cstr(&pk, key);
        api_pack_json(&pk, v);
    }
    api_command cmd = {.type = w->type, .key_ids = {.priest_id = priest}, .actor_id = w->actor_id,
                       .actor_role = w->role, .payload = &sb};
    api_command_submit(req, &cmd);
    msgpack_sbuffer_destroy(&sb);
}

/* Row: the caller's priest profile id and how many of his blocks have not
 * ended (the worker's limit, answered early); no row ⇒ 404. */
static void on_profile(void *ctx, const PGresult *res, const char *err)
{
    write_ctx *w = ctx;
    h2o_req_t *req = w->async.req;
    if (!req) {
        /* the client left before anything was published: nothing happened */
    } else if (err || PQresultStatus(res) != PGRES_TUPLES_OK) {
        api_reply_db_unavailable(req);
    } else if (PQntuples(res) != 1) {
        api_reply_problem(req, 404, "not_found", "Not found",
                          strcmp(w->type, "priest.unblock") == 0 ? "no such block" : "no priest profile", NULL);
    } else if (strcmp(w->type, "priest.block") == 0 && atoll(PQgetvalue(res, 0, 1)) >= SCHEDULE_MAX_FUTURE_BLOCKS) {
        api_reply_problem(req, 422, "too_many_blocks", "Too many blocked periods",
                          "at most 200 blocked periods that have not ended yet",
                          json_pack("{s:[s]}", "start", "at most 200 blocked periods that have not ended yet"));
    } else {
        publish(req, w, strtoll(PQgetvalue(res, 0, 0), NULL, 10));
    }
    write_free(w);
}

/* Takes `fields`. $1 = the caller's user id, $2 = the block id (unblock). */
static void lookup_and_publish(h2o_req_t *req, const api_match *m, const char *type, json_t *fields, int64_t block)
{
    write_ctx *w = api_async_new(req, sizeof(*w));
    w->type = type;
    w->actor_id = m->session->user_id;
    snprintf(w->role, sizeof(w->role), "%s", m->session->role);
    w->fields = fields;
    char caller[24], id[24];
    snprintf(caller, sizeof(caller), "%lld", (long long)w->actor_id);
    snprintf(id, sizeof(id), "%lld", (long long)block);
    const char *params[] = {caller, id};
    const char *sql = block ? "SELECT k.priest_id, 0 FROM priest_blocks k JOIN priest_profiles p ON p.id = k.priest_id"
                              " WHERE p.user_id = $1 AND k.id = $2::bigint"
                            : "SELECT p.id, (SELECT count(*) FROM priest_blocks k WHERE k.priest_id = p.id"
                              "  AND upper(k.period) > now()) FROM priest_profiles p WHERE p.user_id = $1";
    if (api_pg_query(api_thread_of(req)->pg, sql, block ? 2 : 1, params, on_profile, w) != 0) {
        api_reply_overloaded(req);
        write_free(w);
    }
}

/* ---- PUT /api/priest/schedule/ ---- */

int api_priest_schedule_put(h2o_req_t *req, const api_match *m)
{
    json_t *body = api_json_body_or_reply(req);
    if (!body)
        return 0;
    schedule_week week;
    char field[16];
    const char *why = schedule_week_parse(json_object_get(body, "hours"), &week, field);
    json_decref(body);
    if (why) {
        json_t *errors = json_object();
        api_field_error(errors, field, why);
        reply_errors(req, errors);
        return 0;
    }
    /* The canonical week (times as HH:MM), which the worker reads again. */
    lookup_and_publish(req, m, "priest.set_hours", json_pack("{s:o}", "hours", schedule_week_json(&week)), 0);
    return 0;
}

/* ---- POST /api/priest/blocks/ ---- */

/* start / end: required instants (schedule_parse_instant). */
static void instant_field(json_t *body, json_t *errors, const char *key, int64_t *us)
{
    const char *s = json_string_value(json_object_get(body, key));
    if (!s || schedule_parse_instant(s, api_tz_offset(), us) != 0)
        api_field_error(errors, key,
                        "required, an ISO date and time: 2026-12-07T09:00 (platform time), …Z or …+05:30");
}

static void read_block(json_t *body, json_t *errors, json_t *fields)
{
    int64_t start = 0, end = 0;
    instant_field(body, errors, "start", &start);
    instant_field(body, errors, "end", &end);
    const char *field, *why;
    if (!json_object_size(errors) &&
        (why = schedule_check_block(start, end, (int64_t)api_now_ms() * 1000, &field)) != NULL)
        api_field_error(errors, field, why);
    json_t *reason = json_object_get(body, "reason");
    const char *text = json_string_value(reason);
    if (reason && !json_is_null(reason) &&
        (!text || pk_check_text(text, SCHEDULE_BLOCK_REASON_MAX)))
        api_field_error(errors, "reason", "a text of at most 500 bytes without control characters");
    json_object_set_new(fields, "start", json_integer(start));
    json_object_set_new(fields, "end", json_integer(end));
    json_object_set_new(fields, "reason", json_string(text ? text : ""));
}

int api_priest_blocks_create(h2o_req_t *req, const api_match *m)
{
    json_t *body = api_json_body_or_reply(req);
    if (!body)
        return 0;
    json_t *errors = json_object(), *fields = json_object();
    read_block(body, errors, fields);
    json_decref(body);
    if (json_object_size(errors)) {
        reply_errors(req, errors);
        json_decref(fields);
        return 0;
    }
    json_decref(errors);
    lookup_and_publish(req, m, "priest.block", fields, 0);
    return 0;
}

/* ---- DELETE /api/priest/blocks/{id}/ ---- */

int api_priest_blocks_delete(h2o_req_t *req, const api_match *m)
{
    int64_t block = api_param_id(m, 0);
    lookup_and_publish(req, m, "priest.unblock", json_pack("{s:I}", "block_id", (json_int_t)block), block);
    return 0;
}
