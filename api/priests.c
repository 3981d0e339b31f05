/* priests.c — the public priest directory (DESIGN §5):
 *   GET /api/priests/                      verified priests; filters, ordering, pages
 *   GET /api/priests/{id}/                 one verified priest + active services + 10 latest reviews
 *   GET /api/priests/{id}/availability/?date=YYYY-MM-DD&service={id}
 *                                          free start times of that local day,
 *                                          within the priest's own hours and
 *                                          outside his blocks (issue 17)
 * All three are public and answered with an ETag (If-None-Match ⇒ 304).
 * Only verified priests with an active account exist here: anyone else is
 * 404, exactly like an id that was never used. Never shown: KYC columns,
 * verification notes, e-mail, phone, username. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "api/bookings.h"
#include "api/http.h"
#include "api/pg.h"
#include "api/replica.h"
#include "api/routes.h"
#include "common/booking_rules.h"
#include "common/money.h"
#include "common/schedule_rules.h"

#define FILTER_MAX 100   /* bytes of a text filter */

/* The public fields (common/shapes.h), as the inside of a json_build_object. */
#define PRIEST_FIELDS PK_PRIEST_PUBLIC_FIELDS("p", "u")

#define LISTED " p.is_verified AND u.is_active"

/* ---- GET /api/priests/ ---- */

typedef struct {
    const char *name, *sql;   /* ?ordering= value ⇒ ORDER BY over the columns of `f` below */
} ordering;

/* Ties are broken by id so pages never overlap or skip. */
static const ordering ORDERINGS[] = {
    {"-rating", "average_rating DESC, rating_count DESC, id"},
    {"rating", "average_rating, rating_count, id"},
    {"-experience", "experience_years DESC, id"},
    {"experience", "experience_years, id"},
};

/* "%text%" for ILIKE, with the pattern characters of the user's text escaped
 * (backslash is ILIKE's default escape), so "50%" matches literally. "" stays "". */
static void contains_pattern(const char *text, char *out, size_t cap)
{
    size_t n = 0;
    if (!*text) {
        out[0] = 0;
        return;
    }
    out[n++] = '%';
    for (; *text && n + 3 < cap; text++) {
        if (*text == '%' || *text == '_' || *text == '\\')
            out[n++] = '\\';
        out[n++] = *text;
    }
    out[n++] = '%';
    out[n] = 0;
}

/* ?min_rating=4.5 ⇒ 450 (hundredths, exact: the money parser reads two decimals). */
static int min_rating_or_reply(h2o_req_t *req, char out[24])
{
    char text[16];
    int64_t v = 0;
    if (api_query_text_or_reply(req, "min_rating", text, sizeof(text)))
        return -1;
    if (*text && (money_parse(text, strlen(text), &v) != MONEY_OK || v > 500)) {
        api_reply_field_error(req, "min_rating", "must be a number from 0 to 5 with at most two decimals");
        return -1;
    }
    snprintf(out, 24, "%lld", (long long)v);
    return 0;
}

static const ordering *ordering_or_reply(h2o_req_t *req)
{
    char text[16];
    if (api_query_text_or_reply(req, "ordering", text, sizeof(text)))
        return NULL;
    if (!*text)
        return &ORDERINGS[0];
    for (size_t i = 0; i < sizeof(ORDERINGS) / sizeof(ORDERINGS[0]); i++)
        if (strcmp(text, ORDERINGS[i].name) == 0)
            return &ORDERINGS[i];
    api_reply_field_error(req, "ordering", "must be one of rating, -rating, experience, -experience");
    return NULL;
}

/* The three text filters as ILIKE patterns: specialization, language, q. */
static int filters_or_reply(h2o_req_t *req, char pat[3][2 * FILTER_MAX + 3])
{
    static const char *const NAMES[] = {"specialization", "language", "q"};
    for (int i = 0; i < 3; i++) {
        char text[FILTER_MAX + 1];
        if (api_query_text_or_reply(req, NAMES[i], text, sizeof(text)))
            return -1;
        contains_pattern(text, pat[i], sizeof(pat[i]));
    }
    return 0;
}

int api_priests_list(h2o_req_t *req, const api_match *m)
{
    (void)m;
    char pat[3][2 * FILTER_MAX + 3], min_rating[24], limit[24], offset[24], sql[4096];
    api_page page;
    const ordering *order;
    if (filters_or_reply(req, pat) || min_rating_or_reply(req, min_rating) || !(order = ordering_or_reply(req)) ||
        api_page_or_reply(req, &page))
        return 0;
    snprintf(limit, sizeof(limit), "%lld", (long long)page.size);
    snprintf(offset, sizeof(offset), "%lld", (long long)page.offset);
    /* specialization / language: a case-insensitive substring of any element
     * (the seed's icontains); q: the name, the bio or a specialization. */
    int len = snprintf(sql, sizeof(sql),
                       "WITH f AS (SELECT p.id, p.average_rating, p.rating_count, p.experience_years"
                       "  FROM priest_profiles p JOIN users u ON u.id = p.user_id WHERE" LISTED
                       "  AND ($1 = '' OR EXISTS (SELECT 1 FROM unnest(p.specializations) x WHERE x ILIKE $1))"
                       "  AND ($2 = '' OR EXISTS (SELECT 1 FROM unnest(p.languages) x WHERE x ILIKE $2))"
                       "  AND p.average_rating >= $3::numeric / 100"
                       "  AND ($4 = '' OR (u.first_name || ' ' || u.last_name) ILIKE $4 OR p.bio ILIKE $4"
                       "       OR EXISTS (SELECT 1 FROM unnest(p.specializations) x WHERE x ILIKE $4))),"
                       " pg AS (SELECT id, row_number() OVER (ORDER BY %s) AS n FROM f ORDER BY %s"
                       "  LIMIT $5::bigint OFFSET $6::bigint)"
                       " SELECT (SELECT count(*) FROM f), coalesce((SELECT json_agg(json_build_object(" PRIEST_FIELDS
                       ") ORDER BY pg.n) FROM pg JOIN priest_profiles p ON p.id = pg.id JOIN users u ON u.id = p.user_id),"
                       " '[]')::text",
                       order->sql, order->sql);
    if (len < 0 || (size_t)len >= sizeof(sql)) {   /* cannot happen with the fixed orderings; never run a cut query */
        api_reply_overloaded(req);
        return 0;
    }
    const char *params[] = {pat[0], pat[1], min_rating, pat[2], limit, offset};
    api_read_page(req, m, &page, sql, 6, params, API_READ_PUBLIC);
    return 0;
}

/* ---- GET /api/priests/{id}/ ---- */

/* Reviews show the customer's first name only (privacy), newest first. */
#define REVIEWS_SQL                                                                                             \
    "coalesce((SELECT json_agg(json_build_object('rating', r.rating, 'feedback', r.feedback,"                  \
    " 'customer_name', r.customer_name, 'rated_at', " PK_SQL_TIMESTAMP("r.rated_at") ")"                      \
    " ORDER BY r.rated_at DESC, r.id DESC) FROM (SELECT b.id, b.rating, b.feedback, b.rated_at,"               \
    " coalesce(nullif(btrim(c.first_name), ''), 'Customer') AS customer_name"                                 \
    " FROM bookings b JOIN users c ON c.id = b.customer_id WHERE b.priest_id = p.id AND b.rating IS NOT NULL"  \
    " ORDER BY b.rated_at DESC, b.id DESC LIMIT 10) r), '[]'::json)"

/* Services are a platform catalog: every verified priest can be booked for
 * every active one, so the priest's page lists them all. */
#define SERVICES_SQL                                                                                            \
    "coalesce((SELECT json_agg(" PK_SERVICE_JSON("s") " ORDER BY s.name, s.id) FROM services s"                \
    " WHERE s.is_active), '[]'::json)"

int api_priests_show(h2o_req_t *req, const api_match *m)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)api_param_id(m, 0));
    const char *params[] = {id};
    api_read_json(req, m,
                  "SELECT json_build_object(" PRIEST_FIELDS ", 'services', " SERVICES_SQL ", 'reviews', " REVIEWS_SQL
                  ")::text FROM priest_profiles p JOIN users u ON u.id = p.user_id WHERE p.id = $1 AND" LISTED,
                  1, params, API_READ_PUBLIC, "no such priest");
    return 0;
}

/* ---- GET /api/priests/{id}/availability/ ---- */

typedef struct {
    api_async async;
    booking_date date;
    int64_t priest, service, now_us;
} avail_ctx;

/* busy = [[start_us, end_us], …] ⇒ ranges (malloc'd; caller frees). */
static booking_range *busy_ranges(const char *json, size_t *n)
{
    json_t *arr = json_loads(json, 0, NULL);
    *n = json_array_size(arr);
    booking_range *r = calloc(*n ? *n : 1, sizeof(*r));
    for (size_t i = 0; r && i < *n; i++) {
        json_t *pair = json_array_get(arr, i);
        r[i].start_us = json_integer_value(json_array_get(pair, 0));
        r[i].end_us = json_integer_value(json_array_get(pair, 1));
    }
    json_decref(arr);
    return r;
}

/* The priest's week: his stored hours (NULL: the default). -1 when the
 * stored text does not parse (the worker wrote it validated: never). */
static int week_of(const char *hours_text, schedule_week *w)
{
    char field[16];
    if (!hours_text) {
        schedule_week_default(w);
        return 0;
    }
    json_t *doc = json_loads(hours_text, 0, NULL);
    const char *why = doc ? schedule_week_parse(doc, w, field) : "not JSON";
    json_decref(doc);
    return why ? -1 : 0;
}

/* busy_json: his live bookings near the day; blocks_json: his blocks near it. */
static void reply_slots(h2o_req_t *req, const avail_ctx *a, int duration, const char *busy_json,
                        const char *hours_text, const char *blocks_json)
{
    size_t nbusy, nblocks;
    schedule_week week;
    booking_range *busy = busy_ranges(busy_json, &nbusy), *blocks = busy_ranges(blocks_json, &nblocks);
    booking_day_query q = {.date = a->date, .tz_offset_min = api_tz_offset(), .open_min = BOOKING_OPEN_MIN,
                           .close_min = BOOKING_CLOSE_MIN, .duration_min = duration, .now_us = a->now_us,
                           .busy = busy, .busy_count = nbusy};
    int starts[BOOKING_SLOTS_PER_DAY];
    int n = busy && blocks && week_of(hours_text, &week) == 0
                ? schedule_free_starts(&q, &week, blocks, nblocks, starts, BOOKING_SLOTS_PER_DAY)
                : -1;
    free(busy);
    free(blocks);
    if (n < 0) {
        api_reply_overloaded(req);
        return;
    }
    char date[11], hhmm[6];
    booking_format_date(a->date, date);
    json_t *slots = json_array();
    for (int i = 0; i < n; i++) {
        booking_format_time(starts[i], hhmm);
        json_array_append_new(slots, json_string(hhmm));
    }
    json_t *doc = json_pack("{s:s, s:I, s:I, s:i, s:o}", "date", date, "service", (json_int_t)a->service, "priest",
                            (json_int_t)a->priest, "duration_minutes", duration, "slots", slots);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    api_reply_json_etag(req, text, strlen(text));
    free(text);
}

/* Row: priest listed?, service duration (-1 retired, NULL unknown), busy
 * ranges, his hours (NULL: the default), his blocked ranges. */
static void on_availability(void *ctx, const PGresult *res, const char *err)
{
    avail_ctx *a = ctx;
    h2o_req_t *req = a->async.req;
    if (!req) {
        /* the client left */
    } else if (err || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        api_reply_db_unavailable(req);
    } else if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        api_reply_problem(req, 404, "not_found", "Not found", "no such priest", NULL);
    } else if (PQgetisnull(res, 0, 1)) {
        api_reply_field_error(req, "service", "no such service");
    } else if (booking_check_duration(atoi(PQgetvalue(res, 0, 1)))) {   /* -1: retired */
        api_reply_field_error(req, "service", "this service is not offered at the moment");
    } else {
        reply_slots(req, a, atoi(PQgetvalue(res, 0, 1)), PQgetvalue(res, 0, 2),
                    PQgetisnull(res, 0, 3) ? NULL : PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4));
    }
    api_async_free(&a->async);
}

/* ?date= and ?service=, both required. */
static int availability_params_or_reply(h2o_req_t *req, booking_date *date, int64_t *service)
{
    char text[16];
    if (api_query_get(req, "date", text, sizeof(text)) != 1 || booking_parse_date(text, date) != 0) {
        api_reply_field_error(req, "date", "required, as YYYY-MM-DD");
        return -1;
    }
    if (api_query_int_or_reply(req, "service", 1, INT64_MAX, 0, service))
        return -1;
    if (*service == 0) {
        api_reply_field_error(req, "service", "this field is required");
        return -1;
    }
    return 0;
}

/* A past day (or one beyond 180 days) is not an error: it simply has no free
 * start, the way a calendar greys out days one cannot pick. */
int api_priests_availability(h2o_req_t *req, const api_match *m)
{
    booking_date date;
    int64_t service;
    if (availability_params_or_reply(req, &date, &service))
        return 0;
    avail_ctx *a = api_async_new(req, sizeof(*a));
    a->date = date;
    a->priest = api_param_id(m, 0);
    a->service = service;
    a->now_us = (int64_t)api_now_ms() * 1000;
    /* Bookings that can reach into the day: a service lasts at most 24 h (+15 min buffer). */
    int64_t midnight = booking_local_to_us(date, 0, api_tz_offset()) / 1000000;
    char priest[24], svc[24], from[24], to[24];
    snprintf(priest, sizeof(priest), "%lld", (long long)a->priest);
    snprintf(svc, sizeof(svc), "%lld", (long long)service);
    snprintf(from, sizeof(from), "%lld", (long long)(midnight - 2 * 86400));
    snprintf(to, sizeof(to), "%lld", (long long)(midnight + 2 * 86400));
    const char *params[] = {priest, svc, from, to};
    /* The replica may answer (routes.c): a slot shown free that was just taken
     * is refused by the worker, which decides on the primary. */
    if (api_pg_query_for(api_read_pool(req, m), &a->async,
                     "SELECT EXISTS (SELECT 1 FROM priest_profiles p JOIN users u ON u.id = p.user_id"
                     "  WHERE p.id = $1 AND" LISTED "),"
                     " (SELECT CASE WHEN is_active THEN duration_minutes ELSE -1 END FROM services WHERE id = $2),"
                     " coalesce((SELECT json_agg(json_build_array("
                     "  (extract(epoch FROM lower(occupied)) * 1000000)::bigint,"
                     "  (extract(epoch FROM upper(occupied)) * 1000000)::bigint))"
                     "  FROM bookings WHERE priest_id = $1 AND status <> 'cancelled'"
                     "  AND occupied && tstzrange(to_timestamp($3::bigint), to_timestamp($4::bigint), '[)')),"
                     " '[]')::text,"
                     " (SELECT hours FROM priest_schedules WHERE priest_id = $1),"
                     " coalesce((SELECT json_agg(json_build_array("
                     "  (extract(epoch FROM lower(period)) * 1000000)::bigint,"
                     "  (extract(epoch FROM upper(period)) * 1000000)::bigint))"
                     "  FROM priest_blocks WHERE priest_id = $1"
                     "  AND period && tstzrange(to_timestamp($3::bigint), to_timestamp($4::bigint), '[)')),"
                     " '[]')::text",
                     4, params, on_availability, a) != 0) {
        api_reply_overloaded(req);
        api_async_free(&a->async);
    }
    return 0;
}
