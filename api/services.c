/* services.c — the puja service catalog (what a priest can be booked for):
 *   GET   /api/services/?service_type=…      active services, by name; ETag
 *   GET   /api/services/{id}/                one active service; ETag
 *   GET   /api/admin/services/?service_type=…&is_active=true|false
 *                                            admin: retired ones too (absent:
 *                                            both); never cached
 *   POST  /api/admin/services/               service.create   (admin)
 *   PATCH /api/admin/services/{id}/          service.update   (admin)
 * Commands travel on topic "catalog" (create keyed by the name, update by
 * the id; schemas/commands/bookings.md). A retired service (is_active false)
 * disappears from the public reads but keeps its bookings and their prices. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/bookings.h"
#include "api/command.h"
#include "api/http.h"
#include "api/routes.h"
#include "common/booking_rules.h"
#include "common/json_util.h"
#include "common/mp.h"
#include "common/validate.h"

#define NAME_MAX_BYTES 200   /* the worker's limits (workers/services.c) */
#define TYPE_MAX_BYTES 50

/* ---- reads ---- */

/* `active`: "true" for the public list, else the admin's filter. */
static void list_services(h2o_req_t *req, const api_match *m, const char *type, const char *active, const api_page *page,
                          bool public_read)
{
    char limit[24], offset[24];
    snprintf(limit, sizeof(limit), "%lld", (long long)page->size);
    snprintf(offset, sizeof(offset), "%lld", (long long)page->offset);
    const char *params[] = {type, limit, offset, active};
    api_read_page(req, m, page,
                  "WITH f AS (SELECT * FROM services WHERE ($4 = '' OR is_active = ($4 = 'true'))"
                  "  AND ($1 = '' OR service_type = $1)),"
                  " pg AS (SELECT * FROM f ORDER BY name, id LIMIT $2::bigint OFFSET $3::bigint)"
                  " SELECT (SELECT count(*) FROM f),"
                  " coalesce((SELECT json_agg(" PK_SERVICE_JSON("s") " ORDER BY s.name, s.id) FROM pg s), '[]')::text",
                  4, params, public_read ? API_READ_PUBLIC : API_READ_PLAIN);
}

int api_services_list(h2o_req_t *req, const api_match *m)
{
    char type[TYPE_MAX_BYTES + 1];
    api_page page;
    if (api_query_text_or_reply(req, "service_type", type, sizeof(type)) || api_page_or_reply(req, &page))
        return 0;
    list_services(req, m, type, "true", &page, true);
    return 0;
}

int api_admin_services_list(h2o_req_t *req, const api_match *m)
{
    char type[TYPE_MAX_BYTES + 1], active[6];
    api_page page;
    if (api_query_text_or_reply(req, "service_type", type, sizeof(type)) ||
        api_query_bool_or_reply(req, "is_active", active) || api_page_or_reply(req, &page))
        return 0;
    list_services(req, m, type, active, &page, false);
    return 0;
}

int api_services_show(h2o_req_t *req, const api_match *m)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)api_param_id(m, 0));
    const char *params[] = {id};
    api_read_json(req, m, "SELECT " PK_SERVICE_JSON("s") "::text FROM services s WHERE s.id = $1 AND s.is_active", 1,
                  params, API_READ_PUBLIC, "no such service");
    return 0;
}

/* ---- admin commands ---- */

/* service_type is a slug ("griha_pravesh"): clients filter by it. */
static int slug_ok(const char *s)
{
    if (!*s || strlen(s) > TYPE_MAX_BYTES)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}


/* The validated fields of a create or update; `n` counts those present. */
typedef struct {
    const char *name, *description, *type;
    int64_t duration, price;
    bool has_duration, has_price, has_active, active;
    size_t n;
} service_fields;

/* check: pk_check_line (the name) or pk_check_text (the description), the
 * worker's rule for the field (workers/services.c). */
static void check_text(json_t *body, json_t *errors, const char *key, size_t min, size_t max, const char **out,
                       const char *(*check)(const char *, size_t))
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return;
    const char *s = json_string_value(v);
    if (!s || strlen(s) < min || check(s, max)) {
        char msg[80];
        snprintf(msg, sizeof(msg), "must be text of %zu to %zu bytes", min, max);
        api_field_error(errors, key, msg);
        return;
    }
    *out = s;
}

/* Reads every field present; errors collects what is wrong with each. */
static void read_fields(json_t *body, json_t *errors, service_fields *f)
{
    memset(f, 0, sizeof(*f));
    check_text(body, errors, "name", 1, NAME_MAX_BYTES, &f->name, pk_check_line);
    check_text(body, errors, "description", 0, BOOKING_NOTE_MAX, &f->description, pk_check_text);
    json_t *type = json_object_get(body, "service_type");
    if (type && !slug_ok(json_is_string(type) ? json_string_value(type) : ""))
        api_field_error(errors, "service_type", "must be 1-50 characters of a-z, 0-9, _ and -");
    else if (type)
        f->type = json_string_value(type);
    int rc = pk_json_get_int(body, "duration_minutes", &f->duration);
    if (rc == -2 || (rc == 0 && booking_check_duration(f->duration)))
        api_field_error(errors, "duration_minutes", "must be an integer from 1 to 1440");
    f->has_duration = rc == 0;
    money_err why = MONEY_OK;
    rc = pk_json_get_money(body, "base_price", &f->price, &why);
    if (rc == -2)
        api_field_error(errors, "base_price", why != MONEY_OK ? money_strerror(why) : "must be a decimal string like \"1500.00\"");
    f->has_price = rc == 0;
    rc = pk_json_get_bool(body, "is_active", &f->active);
    if (rc == -2)
        api_field_error(errors, "is_active", "must be true or false");
    f->has_active = rc == 0;
    f->n = (f->name != NULL) + (f->description != NULL) + (f->type != NULL) + f->has_duration + f->has_price +
           f->has_active;
}

static void pack_fields(msgpack_packer *pk, const service_fields *f)
{
    if (f->name)
        pk_mp_kv_str(pk, "name", f->name);
    if (f->description)
        pk_mp_kv_str(pk, "description", f->description);
    if (f->type)
        pk_mp_kv_str(pk, "service_type", f->type);
    if (f->has_duration)
        pk_mp_kv_i64(pk, "duration_minutes", f->duration);
    if (f->has_price)
        pk_mp_kv_i64(pk, "base_price", f->price);
    if (f->has_active)
        pk_mp_kv_bool(pk, "is_active", f->active);
}

static void reply_errors(h2o_req_t *req, json_t *errors)
{
    api_reply_problem(req, 422, "validation_error", "Invalid request", "some fields are invalid", errors);
}

/* id: the service's (update), 0 for a create. */
static void submit(h2o_req_t *req, const api_match *m, const char *type, int64_t id, const service_fields *f)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    pk_mp_start_map(&sb, &pk, f->n + (id > 0));
    if (id > 0)
        pk_mp_kv_i64(&pk, "service_id", id);
    pack_fields(&pk, f);
    api_command cmd = {.type = type, .key_ids = {.service_id = id, .name = f->name}, .actor_id = m->session->user_id,
                       .actor_role = m->session->role, .payload = &sb};
    api_command_submit(req, &cmd);
    msgpack_sbuffer_destroy(&sb);
}

/* A create names every field but description and is_active. */
static void require_create_fields(const service_fields *f, json_t *errors)
{
    const char *const required[] = {f->name ? NULL : "name", f->type ? NULL : "service_type",
                                    f->has_duration ? NULL : "duration_minutes", f->has_price ? NULL : "base_price"};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (required[i] && !json_object_get(errors, required[i]))
            api_field_error(errors, required[i], "this field is required");
}

/* An update changes at least one field. */
static void require_some_field(const service_fields *f, json_t *errors)
{
    if (!json_object_size(errors) && f->n == 0)
        api_field_error(errors, "non_field_errors", "send at least one of name, description, service_type,"
                                              " duration_minutes, base_price, is_active");
}

/* Create and update read, check and answer alike; only which fields they
 * demand (require) differs. id: the service's (update), 0 for a create. */
static int write_service(h2o_req_t *req, const api_match *m, const char *type, int64_t id,
                         void (*require)(const service_fields *, json_t *))
{
    json_t *body = api_json_body_or_reply(req);
    if (!body)
        return 0;
    json_t *errors = json_object();
    service_fields f;
    read_fields(body, errors, &f);
    require(&f, errors);
    if (json_object_size(errors)) {
        reply_errors(req, errors);
    } else {
        json_decref(errors);
        submit(req, m, type, id, &f);
    }
    json_decref(body);
    return 0;
}

int api_admin_services_create(h2o_req_t *req, const api_match *m)
{
    return write_service(req, m, "service.create", 0, require_create_fields);
}

int api_admin_services_update(h2o_req_t *req, const api_match *m)
{
    return write_service(req, m, "service.update", api_param_id(m, 0), require_some_field);
}
