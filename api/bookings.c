/* bookings.c — bookings over HTTP (DESIGN §3 "One booking, end to end"):
 *   POST /api/bookings/                        booking.create            customer
 *   POST /api/bookings/{id}/confirm/           booking.confirm           priest
 *   POST /api/bookings/{id}/complete/          booking.complete          priest   {checklist?}
 *   POST /api/bookings/{id}/customer_confirm/  booking.customer_confirm  customer {dakshina?}
 *   POST /api/bookings/{id}/cancel/            booking.cancel            any      {reason?}
 *   POST /api/bookings/{id}/rate/              booking.rate              customer {rating, feedback?}
 *   GET  /api/bookings/?status=&date=&page=    the caller's bookings (admin: all)
 *   GET  /api/bookings/{id}/
 *
 * Writes: everything the API can judge is judged before publishing, so a
 * bad request never reaches the log: field syntax and limits, then (create)
 * one read of the priest and the service and the time rules of
 * common/booking_rules.h, answered with the worker's own reason codes. The
 * command goes to topic "bookings" keyed by the priest profile id, so one
 * priest's commands are applied in order; the worker re-checks everything
 * and alone decides the slot (409 slot_taken) and the state machine.
 *
 * Privacy (DESIGN §5): a booking exists for its customer, its priest and
 * admins only. Everyone else gets the same 404 for reads and actions, for a
 * booking of someone else as for an id never used. The route's role rule
 * comes first (routes.c), so e.g. a customer asking to confirm gets 403
 * without the booking being looked at. */
#include "api/bookings.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/command.h"
#include "api/http.h"
#include "api/pg.h"
#include "api/routes.h"
#include "api/seed.h"
#include "common/booking_rules.h"
#include "common/json_util.h"
#include "common/mp.h"
#include "common/reasons.h"
#include "common/validate.h"

int api_tz_offset(void)
{
    int minutes;
    if (booking_tz_offset_parse(getenv("PUNYAKA_TZ_OFFSET_MINUTES"), &minutes) != 0)
        minutes = BOOKING_TZ_OFFSET_DEFAULT;
    return minutes;
}

/* ---- the booking resource (schemas/commands/bookings.md "Booking resource") ---- */

/* The booking's shape is PK_BOOKING_JSON (common/shapes.h): the worker's
 * outcome renders the same. */
/* Who may see booking b: its customer, its priest (p = its profile), admins.
 * $1 = caller's user id, $2 = caller's role. */
#define CALLER_SCOPE " ($2 = 'admin' OR b.customer_id = $1::bigint OR p.user_id = $1::bigint)"

static void caller_params(const api_match *m, char id[24], const char **role)
{
    snprintf(id, 24, "%lld", (long long)m->session->user_id);
    *role = m->session->role;
}

/* ---- reads ---- */

int api_bookings_show(h2o_req_t *req, const api_match *m)
{
    char caller[24], id[24];
    const char *role;
    caller_params(m, caller, &role);
    snprintf(id, sizeof(id), "%lld", (long long)api_param_id(m, 0));
    const char *params[] = {caller, role, id};
    api_read_json(req, m, "SELECT " PK_BOOKING_JSON "::text" PK_BOOKING_FROM " WHERE b.id = $3 AND" CALLER_SCOPE,
                  3, params, API_READ_OWN, "no such booking");
    return 0;
}

/* ?status= (a booking status) and ?date= (YYYY-MM-DD), both optional. */
static int list_filters_or_reply(h2o_req_t *req, char status[16], char date[11])
{
    char text[16];
    booking_status st;
    booking_date d;
    if (api_query_text_or_reply(req, "status", status, 16) || api_query_text_or_reply(req, "date", text, sizeof(text)))
        return -1;
    if (*status && booking_status_parse(status, &st) != 0) {
        api_reply_field_error(req, "status", "must be pending, confirmed, completed or cancelled");
        return -1;
    }
    date[0] = 0;
    if (*text && booking_parse_date(text, &d) != 0) {
        api_reply_field_error(req, "date", "use the format YYYY-MM-DD");
        return -1;
    }
    if (*text)
        booking_format_date(d, date);
    return 0;
}

/* Newest appointment first; ties by id so pages are stable. */
#define LIST_ORDER "booking_date DESC, booking_time DESC, id DESC"
/* ?status= ($3) and ?date= ($4), '' for any. */
#define LIST_FILTERS " AND ($3 = '' OR b.status = $3) AND ($4 = '' OR b.booking_date = nullif($4, '')::date)"

int api_bookings_list(h2o_req_t *req, const api_match *m)
{
    char caller[24], status[16], date[11], limit[24], offset[24];
    const char *role;
    api_page page;
    if (list_filters_or_reply(req, status, date) || api_page_or_reply(req, &page))
        return 0;
    caller_params(m, caller, &role);
    snprintf(limit, sizeof(limit), "%lld", (long long)page.size);
    snprintf(offset, sizeof(offset), "%lld", (long long)page.offset);
    const char *params[] = {caller, role, status, date, limit, offset};
    /* The caller's rows as three branches, not CALLER_SCOPE's OR: one
     * prepared statement gets one generic plan, and an OR over parameters
     * plans as a scan of every booking (19 ms with 10,000 bookings), where
     * each branch uses its own index (≈ 1 ms). Only one of admin / customer
     * or priest runs; a user is never both a booking's customer and its
     * priest, and `customer_id <> $1` keeps the last branch disjoint anyway. */
    api_read_page(req, m, &page,
                  "WITH f AS (SELECT b.id, b.booking_date, b.booking_time FROM bookings b WHERE $2 = 'admin'" LIST_FILTERS
                  "  UNION ALL SELECT b.id, b.booking_date, b.booking_time FROM bookings b"
                  "  WHERE $2 <> 'admin' AND b.customer_id = $1::bigint" LIST_FILTERS
                  "  UNION ALL SELECT b.id, b.booking_date, b.booking_time FROM bookings b WHERE $2 <> 'admin'"
                  "  AND b.priest_id = (SELECT id FROM priest_profiles WHERE user_id = $1::bigint)"
                  "  AND b.customer_id <> $1::bigint" LIST_FILTERS "),"
                  " pg AS (SELECT id, row_number() OVER (ORDER BY " LIST_ORDER ") AS n FROM f"
                  "  ORDER BY " LIST_ORDER " LIMIT $5::bigint OFFSET $6::bigint)"
                  " SELECT (SELECT count(*) FROM f), coalesce((SELECT json_agg(" PK_BOOKING_JSON " ORDER BY pg.n)"
                  "  FROM pg JOIN bookings b ON b.id = pg.id" PK_BOOKING_JOINS "), '[]')::text",
                  6, params, API_READ_OWN);
    return 0;
}

/* ---- shared by the writes ---- */


static void reply_errors(h2o_req_t *req, json_t *errors)
{
    api_reply_problem(req, 422, "validation_error", "Invalid request", "some fields are invalid", errors);
}

/* A rejection the worker would also give, answered early with its code. */
static void reply_reason(h2o_req_t *req, const char *code, const char *field, const char *detail)
{
    const pk_reason *r = pk_reason_find(code);
    api_reply_problem(req, r->http_status, code, r->title, detail, field ? json_pack("{s:[s]}", field, detail) : NULL);
}

/* Optional text: absent or null ⇒ NULL (and 0); else ≤ max bytes, no control characters. */
static int optional_text(json_t *body, json_t *errors, const char *key, size_t max, const char **out)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    const char *msg = json_is_string(v) ? pk_check_text(json_string_value(v), max) : "must be a string";
    if (msg) {
        char text[96];
        snprintf(text, sizeof(text), "%s (at most %zu bytes)", msg, max);
        api_field_error(errors, key, text);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

void api_pack_json(msgpack_packer *pk, json_t *v)
{
    const char *key;
    json_t *item;
    size_t i;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        msgpack_pack_map(pk, json_object_size(v));
        json_object_foreach(v, key, item) {
            pk_mp_pack_cstr(pk, key);
            api_pack_json(pk, item);
        }
        break;
    case JSON_ARRAY:
        msgpack_pack_array(pk, json_array_size(v));
        json_array_foreach(v, i, item) api_pack_json(pk, item);
        break;
    case JSON_STRING: pk_mp_pack_strn(pk, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: msgpack_pack_int64(pk, json_integer_value(v)); break;
    case JSON_REAL: msgpack_pack_double(pk, json_real_value(v)); break;
    case JSON_TRUE: msgpack_pack_true(pk); break;
    case JSON_FALSE: msgpack_pack_false(pk); break;
    default: msgpack_pack_nil(pk); break;
    }
}

/* Publishes a booking command as the caller about the booking's priest
 * (commands.def keys booking commands by it). */
static void submit(h2o_req_t *req, const char *type, int64_t priest_id, int64_t actor_id, const char *role,
                   const msgpack_sbuffer *payload)
{
    api_command cmd = {.type = type, .key_ids = {.priest_id = priest_id}, .actor_id = actor_id,
                       .actor_role = role, .payload = payload};
    api_command_submit(req, &cmd);
}

/* ---- POST /api/bookings/ ---- */

typedef struct {
    api_async async;          /* first */
    int64_t actor_id;
    char role[16];
    int64_t priest, service, now_us;
    booking_date date;
    int minute;
    bool has_lat, has_lng;
    double lat, lng;
    char address[BOOKING_ADDRESS_MAX + 1], instructions[BOOKING_NOTE_MAX + 1];
} create_ctx;

/* An id: a JSON integer ≥ 1, or its digits as a string (as Django's
 * PrimaryKeyRelatedField takes it, so seed forms keep working). */
static int id_field(json_t *body, json_t *errors, const char *key, int64_t *out)
{
    json_t *v = json_object_get(body, key);
    const char *s = json_string_value(v);
    *out = json_is_integer(v) ? json_integer_value(v) : 0;
    if (s && *s && strlen(s) <= 18 && strspn(s, "0123456789") == strlen(s))
        *out = strtoll(s, NULL, 10);
    if (*out >= 1)
        return 0;
    api_field_error(errors, key, v && !json_is_null(v) ? "must be a positive integer id" : "this field is required");
    return -1;
}

/* A coordinate: a JSON number or a decimal string within ±limit; absent or null ⇒ none. */
static void coordinate(json_t *body, json_t *errors, const char *key, double limit, bool *has, double *out)
{
    json_t *v = json_object_get(body, key);
    *has = false;
    if (!v || json_is_null(v))
        return;
    char *end = NULL;
    errno = 0;
    if (json_is_number(v))
        *out = json_number_value(v);
    else if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) < 32)
        *out = strtod(json_string_value(v), &end);
    if ((!json_is_number(v) && (!end || *end || errno)) || !isfinite(*out) || *out < -limit || *out > limit) {
        char msg[64];
        snprintf(msg, sizeof(msg), "must be a number from %g to %g", -limit, limit);
        api_field_error(errors, key, msg);
        return;
    }
    *has = true;
}

/* The place the priest comes to: required (issue 15 — a booking once went
 * through with none). The worker still takes commands without one, so
 * older journals replay unchanged (common/validate.h). */
static int required_address(json_t *body, json_t *errors, const char **out)
{
    json_t *v = json_object_get(body, "location_address");
    const char *msg = !v || json_is_null(v) ? "this field is required"
                      : json_is_string(v)  ? pk_check_address(json_string_value(v), BOOKING_ADDRESS_MAX)
                                           : "must be a string";
    if (msg) {
        char text[96];
        snprintf(text, sizeof(text), "%s (the address for the puja, at most %d bytes)", msg, BOOKING_ADDRESS_MAX);
        api_field_error(errors, "location_address", text);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

/* The seed frontend's names for the fields of POST /api/bookings/ (issue 15). */
static const api_alias CREATE_ALIASES[] = {
    {"priest_id", "priest"},
    {"service_id", "service"},
    {"location", "location_address"},
    {"special_requirements", "special_instructions"},
};

static void read_create(json_t *body, json_t *errors, create_ctx *c)
{
    api_seed_aliases(body, errors, CREATE_ALIASES, sizeof(CREATE_ALIASES) / sizeof(CREATE_ALIASES[0]));
    const char *address, *instructions;
    id_field(body, errors, "priest", &c->priest);
    id_field(body, errors, "service", &c->service);
    const char *date = json_string_value(json_object_get(body, "booking_date"));
    const char *time = json_string_value(json_object_get(body, "booking_time"));
    if (!date || booking_parse_date(date, &c->date) != 0)
        api_field_error(errors, "booking_date", "required, a real date as YYYY-MM-DD");
    if (!time || booking_parse_slot_time(time, &c->minute) != 0)
        api_field_error(errors, "booking_time", "required, a time as HH:MM on the 30-minute grid (10:00, 10:30)");
    if (required_address(body, errors, &address) == 0)
        snprintf(c->address, sizeof(c->address), "%s", address);
    if (optional_text(body, errors, "special_instructions", BOOKING_NOTE_MAX, &instructions) == 0 && instructions)
        snprintf(c->instructions, sizeof(c->instructions), "%s", instructions);
    coordinate(body, errors, "location_latitude", 90, &c->has_lat, &c->lat);
    coordinate(body, errors, "location_longitude", 180, &c->has_lng, &c->lng);
}

static void publish_create(h2o_req_t *req, const create_ctx *c)
{
    char date[11], time[6];
    booking_format_date(c->date, date);
    booking_format_time(c->minute, time);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    pk_mp_start_map(&sb, &pk, 6 + c->has_lat + c->has_lng);
    pk_mp_kv_i64(&pk, "priest", c->priest);
    pk_mp_kv_i64(&pk, "service", c->service);
    pk_mp_kv_str(&pk, "booking_date", date);
    pk_mp_kv_str(&pk, "booking_time", time);
    pk_mp_kv_str(&pk, "location_address", c->address);
    pk_mp_kv_str(&pk, "special_instructions", c->instructions);
    if (c->has_lat) {
        pk_mp_pack_cstr(&pk, "location_latitude");
        msgpack_pack_double(&pk, c->lat);
    }
    if (c->has_lng) {
        pk_mp_pack_cstr(&pk, "location_longitude");
        msgpack_pack_double(&pk, c->lng);
    }
    submit(req, "booking.create", c->priest, c->actor_id, c->role, &sb);
    msgpack_sbuffer_destroy(&sb);
}

/* The worker's checks that need the database, in the worker's order, then
 * the clock: "now" here is the request's arrival; the worker measures
 * against issued_at, a moment later, and has the last word. */
static void judge_create(h2o_req_t *req, const create_ctx *c, const PGresult *res)
{
    int tz = api_tz_offset();
    int duration = PQgetisnull(res, 0, 1) ? 0 : atoi(PQgetvalue(res, 0, 1));
    int64_t start = booking_local_to_us(c->date, c->minute, tz);
    const char *why;
    if (PQgetisnull(res, 0, 0))
        reply_reason(req, "unknown_priest", "priest", "no such priest");
    else if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
        reply_reason(req, "not_verified", "priest", "this priest is not verified yet");
    else if (PQgetisnull(res, 0, 1))
        reply_reason(req, "unknown_service", "service", "no such service");
    else if (booking_check_duration(duration))   /* -1: retired */
        reply_reason(req, "service_inactive", "service", "this service is not offered at the moment");
    else if ((why = booking_check_start(start, c->now_us)) != NULL)
        reply_reason(req, why, "booking_date",
                     strcmp(why, "in_past") == 0 ? "the booking must start in the future"
                                                 : "bookings can be made at most 180 days ahead");
    else if (booking_check_hours(c->minute, duration, BOOKING_OPEN_MIN, BOOKING_CLOSE_MIN))
        reply_reason(req, "outside_working_hours", "booking_time", "the service must lie within 06:00–21:00");
    else
        publish_create(req, c);
}

static void on_create_checked(void *ctx, const PGresult *res, const char *err)
{
    create_ctx *c = ctx;
    h2o_req_t *req = c->async.req;
    if (!req) {
        /* the client left before anything was published: nothing happened */
    } else if (err || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        api_reply_db_unavailable(req);
    } else {
        judge_create(req, c, res);
    }
    api_async_free(&c->async);
}

int api_bookings_create(h2o_req_t *req, const api_match *m)
{
    json_t *body = api_json_body_or_reply(req);
    if (!body)
        return 0;
    create_ctx *c = api_async_new(req, sizeof(*c));
    json_t *errors = json_object();
    read_create(body, errors, c);
    json_decref(body);
    if (json_object_size(errors)) {
        reply_errors(req, errors);
        api_async_free(&c->async);
        return 0;
    }
    json_decref(errors);
    c->actor_id = m->session->user_id;
    snprintf(c->role, sizeof(c->role), "%s", m->session->role);
    c->now_us = (int64_t)api_now_ms() * 1000;
    char priest[24], service[24];
    snprintf(priest, sizeof(priest), "%lld", (long long)c->priest);
    snprintf(service, sizeof(service), "%lld", (long long)c->service);
    const char *params[] = {priest, service};
    /* (verified and active | NULL = no such priest, duration | -1 retired | NULL = no such service) */
    if (api_pg_query(api_thread_of(req)->pg,
                     "SELECT (SELECT p.is_verified AND u.is_active FROM priest_profiles p"
                     "  JOIN users u ON u.id = p.user_id WHERE p.id = $1),"
                     " (SELECT CASE WHEN is_active THEN duration_minutes ELSE -1 END FROM services WHERE id = $2)",
                     2, params, on_create_checked, c) != 0) {
        api_reply_overloaded(req);
        api_async_free(&c->async);
    }
    return 0;
}

/* ---- actions on an existing booking ---- */

/* Validates an action's body; adds its payload fields (already converted:
 * money in paise) to `extras`, or its complaints to `errors`. */
typedef void (*extras_fn)(json_t *body, json_t *errors, json_t *extras);

static void no_extras(json_t *body, json_t *errors, json_t *extras)
{
    (void)body, (void)errors, (void)extras;
}

static void checklist_extras(json_t *body, json_t *errors, json_t *extras)
{
    json_t *v = json_object_get(body, "checklist");
    if (!v || json_is_null(v))
        return;
    char *text = json_is_object(v) || json_is_array(v) ? pk_json_dump(v) : NULL;
    if (!text || strlen(text) > BOOKING_CHECKLIST_MAX)
        api_field_error(errors, "checklist", "must be an object or a list, at most 16384 bytes as JSON");
    else
        json_object_set(extras, "checklist", v);
    free(text);
}

static void dakshina_extras(json_t *body, json_t *errors, json_t *extras)
{
    int64_t paise;
    money_err why = MONEY_OK;
    int rc = pk_json_get_money(body, "dakshina", &paise, &why);
    const char *msg = rc == -2 ? (why != MONEY_OK ? money_strerror(why) : "must be a decimal string like \"501.00\"")
                      : rc == 0 ? booking_check_dakshina(paise)
                                : NULL;
    if (msg)
        api_field_error(errors, "dakshina", msg);
    else if (rc == 0)
        json_object_set_new(extras, "dakshina", json_integer(paise));
}

static void text_extra(json_t *body, json_t *errors, json_t *extras, const char *key)
{
    const char *text;
    if (optional_text(body, errors, key, BOOKING_NOTE_MAX, &text) == 0 && text)
        json_object_set_new(extras, key, json_string(text));
}

static void reason_extras(json_t *body, json_t *errors, json_t *extras)
{
    text_extra(body, errors, extras, "reason");
}

/* rating: a JSON integer 1–5; "5" (a string) or 4.5 is refused, as the worker would. */
static void rating_extras(json_t *body, json_t *errors, json_t *extras)
{
    json_t *v = json_object_get(body, "rating");
    if (!json_is_integer(v) || booking_check_rating(json_integer_value(v)))
        api_field_error(errors, "rating", v ? "must be an integer from 1 to 5" : "this field is required");
    else
        json_object_set_new(extras, "rating", json_integer(json_integer_value(v)));
    text_extra(body, errors, extras, "feedback");
}

typedef struct {
    api_async async;   /* first */
    const char *type;  /* static string */
    int64_t booking, actor_id;
    char role[16];
    json_t *extras;    /* owned */
} action_ctx;

static void action_free(action_ctx *a)
{
    json_decref(a->extras);
    api_async_free(&a->async);
}

static void publish_action(h2o_req_t *req, const action_ctx *a, int64_t priest_id)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    const char *key;
    json_t *v;
    pk_mp_start_map(&sb, &pk, 1 + json_object_size(a->extras));
    pk_mp_kv_i64(&pk, "booking_id", a->booking);
    json_object_foreach(a->extras, key, v) {
        pk_mp_pack_cstr(&pk, key);
        api_pack_json(&pk, v);
    }
    submit(req, a->type, priest_id, a->actor_id, a->role, &sb);
    msgpack_sbuffer_destroy(&sb);
}

/* The booking as the caller may see it: its priest id (the command's key), or no row. */
static void on_booking_found(void *ctx, const PGresult *res, const char *err)
{
    action_ctx *a = ctx;
    h2o_req_t *req = a->async.req;
    if (!req) {
        /* the client left before anything was published */
    } else if (err || PQresultStatus(res) != PGRES_TUPLES_OK) {
        api_reply_db_unavailable(req);
    } else if (PQntuples(res) != 1) {
        api_reply_problem(req, 404, "not_found", "Not found", "no such booking", NULL);
    } else {
        publish_action(req, a, strtoll(PQgetvalue(res, 0, 0), NULL, 10));
    }
    action_free(a);
}

/* Actions may come with no body at all (confirm): that is an empty object. */
static json_t *body_or_empty(h2o_req_t *req)
{
    return req->entity.len == 0 ? json_object() : api_json_body_or_reply(req);
}

static int run_action(h2o_req_t *req, const api_match *m, const char *type, extras_fn read_extras)
{
    json_t *body = body_or_empty(req);
    if (!body)
        return 0;
    json_t *errors = json_object(), *extras = json_object();
    read_extras(body, errors, extras);
    json_decref(body);
    if (json_object_size(errors)) {
        reply_errors(req, errors);
        json_decref(extras);
        return 0;
    }
    json_decref(errors);
    action_ctx *a = api_async_new(req, sizeof(*a));
    a->type = type;
    a->booking = api_param_id(m, 0);
    a->actor_id = m->session->user_id;
    snprintf(a->role, sizeof(a->role), "%s", m->session->role);
    a->extras = extras;
    char caller[24], id[24];
    const char *role;
    caller_params(m, caller, &role);
    snprintf(id, sizeof(id), "%lld", (long long)a->booking);
    const char *params[] = {caller, role, id};
    if (api_pg_query(api_thread_of(req)->pg,
                     "SELECT b.priest_id FROM bookings b JOIN priest_profiles p ON p.id = b.priest_id"
                     " WHERE b.id = $3 AND" CALLER_SCOPE,
                     3, params, on_booking_found, a) != 0) {
        api_reply_overloaded(req);
        action_free(a);
    }
    return 0;
}

int api_bookings_confirm(h2o_req_t *req, const api_match *m)
{
    return run_action(req, m, "booking.confirm", no_extras);
}

int api_bookings_complete(h2o_req_t *req, const api_match *m)
{
    return run_action(req, m, "booking.complete", checklist_extras);
}

int api_bookings_customer_confirm(h2o_req_t *req, const api_match *m)
{
    return run_action(req, m, "booking.customer_confirm", dakshina_extras);
}

int api_bookings_cancel(h2o_req_t *req, const api_match *m)
{
    return run_action(req, m, "booking.cancel", reason_extras);
}

int api_bookings_rate(h2o_req_t *req, const api_match *m)
{
    return run_action(req, m, "booking.rate", rating_extras);
}
