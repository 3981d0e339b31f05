/* services.c — the service catalog: service.create and service.update,
 * admin only. Topic "catalog", keyed by the service id (create, which has no
 * id yet, by the service's name).
 *
 * A booking snapshots the price (bookings.service_price_paise) and its
 * occupied range when it is made, so changing a service's price or duration
 * never rewrites existing bookings; deactivating (is_active false) only
 * stops new bookings. */
#include <stdbool.h>
#include <string.h>
#include "common/booking_rules.h"
#include "common/money.h"
#include "workers/bookings.h"
#include "workers/db.h"
#include "workers/fields.h"
#include "workers/resource.h"

#define NAME_MAX_BYTES 200
#define TYPE_MAX_BYTES 50

/* Parsed fields; a pointer is NULL / a flag false when the field is absent. */
typedef struct {
    int64_t id;
    char name[NAME_MAX_BYTES + 1], description[BOOKING_NOTE_MAX + 1], type[TYPE_MAX_BYTES + 1];
    char duration[24], price[24];
    const char *is_active;   /* "true" | "false" | NULL */
    bool has_name, has_description, has_type;
} service_req;

/* service_type is a slug ("griha_pravesh"): clients filter by it. */
static int slug_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

/* Every field of a service is optional and not nullable: nil keeps the
 * stored value, like an absent key. */
static wk_field_status optional(wk_field_status s)
{
    return s == WK_FIELD_NULL ? WK_FIELD_ABSENT : s;
}

static wk_field_status int_field(const msgpack_object *p, const char *key, int64_t min, int64_t max, char buf[24])
{
    int64_t v;
    wk_field_status s = optional(wk_field_int(p, key, min, max, &v));
    if (s == WK_FIELD_SET)
        wf_itoa(v, buf);
    return s;
}

/* Reads every field that is present; -1 when one is malformed. */
static int decode_fields(const msgpack_object *p, service_req *r)
{
    bool active;
    /* By the API's rule for each: wk_field_line for the name, wk_field_text for the description. */
    wk_field_status name = optional(wk_field_line(p, "name", 0, r->name, sizeof(r->name)));
    wk_field_status desc = optional(wk_field_text(p, "description", 0, r->description, sizeof(r->description)));
    wk_field_status type = optional(wk_field_line(p, "service_type", 0, r->type, sizeof(r->type)));
    wk_field_status dur = int_field(p, "duration_minutes", 1, BOOKING_MAX_DURATION_MIN, r->duration);
    wk_field_status price = int_field(p, "base_price", 0, MONEY_MAX_PAISE, r->price);
    wk_field_status act = optional(wk_field_bool(p, "is_active", &active));
    if (!wk_field_keys_distinct(p) || name == WK_FIELD_BAD || desc == WK_FIELD_BAD || type == WK_FIELD_BAD ||
        dur == WK_FIELD_BAD || price == WK_FIELD_BAD || act == WK_FIELD_BAD ||
        (name == WK_FIELD_SET && !r->name[0]) || (type == WK_FIELD_SET && !slug_ok(r->type)))
        return -1;
    r->has_name = name == WK_FIELD_SET, r->has_description = desc == WK_FIELD_SET, r->has_type = type == WK_FIELD_SET;
    r->is_active = act == WK_FIELD_SET ? (active ? "true" : "false") : NULL;
    return 0;
}

wk_result wk_service_create(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    service_req req = {0};
    if (decode_fields(cmd->payload, &req) != 0 || !req.has_name || !req.has_type || !req.duration[0] ||
        !req.price[0])
        return WK_POISON;
    wk_result admin = wf_require_admin(ctx, cmd, out);
    if (admin != WK_DONE || wk_rejected(out))
        return admin;
    char ts[40], replay[24];
    wk_timestamp(cmd->env.issued_at_us, ts);
    const char *params[] = {req.name, req.description, req.type, req.duration, req.price,
                            req.is_active ? req.is_active : "true", ts, wk_new_id(ctx, "service", replay)};
    return wk_insert_created(ctx, out, "create service",
                             "INSERT INTO services (id, name, description, service_type, duration_minutes,"
                             " base_price_paise, is_active, created_at, updated_at)"
                             " VALUES (" WK_NEW_ID("$8", "services") ", $1, $2, $3, $4, $5, $6, $7, $7)"
                             " RETURNING id",
                             8, params, "service", WK_RES_SERVICE);
}

/* Absent fields keep their value (coalesce with NULL). */
wk_result wk_service_update(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    service_req req = {0};
    if (wk_field_id(cmd->payload, "service_id", &req.id) != WK_FIELD_SET || decode_fields(cmd->payload, &req) != 0)
        return WK_POISON;
    wk_result admin = wf_require_admin(ctx, cmd, out);
    if (admin != WK_DONE || wk_rejected(out))
        return admin;
    char id[24], ts[40];
    wf_itoa(req.id, id);
    wk_timestamp(cmd->env.issued_at_us, ts);
    const char *params[] = {id,
                            req.has_name ? req.name : NULL,
                            req.has_description ? req.description : NULL,
                            req.has_type ? req.type : NULL,
                            req.duration[0] ? req.duration : NULL,
                            req.price[0] ? req.price : NULL,
                            req.is_active,
                            ts};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "update service",
                           "UPDATE services SET name = coalesce($2, name), description = coalesce($3, description),"
                           " service_type = coalesce($4, service_type),"
                           " duration_minutes = coalesce($5::int, duration_minutes),"
                           " base_price_paise = coalesce($6::bigint, base_price_paise),"
                           " is_active = coalesce($7::boolean, is_active), updated_at = $8"
                           " WHERE id = $1 RETURNING id",
                           8, params, &fail);
    if (!r)
        return fail;
    int found = PQntuples(r) == 1;
    PQclear(r);
    if (!found) {
        wk_reject(out, "not_found", "service_id", "no such service");
        return WK_DONE;
    }
    return wk_applied_resource(ctx, out, 200, WK_RES_SERVICE, req.id, req.id);
}
