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

/* 1 set, 0 absent, -1 bad: one text field into buf, by the API's rule
 * for it (wf_line for the name, wf_text for the description). */
static int text_field(const msgpack_object *p, const char *key, size_t max, char *buf,
                      int (*read)(const msgpack_object *, const char *, size_t, char *))
{
    int rc = read(p, key, max, buf);
    return rc == 0 ? 1 : rc == -1 ? 0 : -1;
}

static int int_field(const msgpack_object *p, const char *key, int64_t min, int64_t max, char buf[24])
{
    int64_t v;
    int rc = wf_int(p, key, min, max, &v);
    if (rc == 0)
        wf_itoa(v, buf);
    return rc == 0 ? 1 : rc == -1 ? 0 : -1;
}

/* Reads every field that is present; -1 when one is malformed. */
static int decode_fields(const msgpack_object *p, service_req *r)
{
    bool active;
    int name = text_field(p, "name", NAME_MAX_BYTES, r->name, wf_line);
    int desc = text_field(p, "description", BOOKING_NOTE_MAX, r->description, wf_text);
    int type = text_field(p, "service_type", TYPE_MAX_BYTES, r->type, wf_line);
    int dur = int_field(p, "duration_minutes", 1, BOOKING_MAX_DURATION_MIN, r->duration);
    int price = int_field(p, "base_price", 0, MONEY_MAX_PAISE, r->price);
    int act = wf_bool(p, "is_active", &active);
    if (wf_check_keys(p) || name < 0 || desc < 0 || type < 0 || dur < 0 || price < 0 || act == -2 ||
        (name && !r->name[0]) || (type && !slug_ok(r->type)))
        return -1;
    r->has_name = name, r->has_description = desc, r->has_type = type;
    r->is_active = act == 0 ? (active ? "true" : "false") : NULL;
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
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "create service",
                           "INSERT INTO services (id, name, description, service_type, duration_minutes,"
                           " base_price_paise, is_active, created_at, updated_at)"
                           " VALUES (" WK_NEW_ID("$8", "services") ", $1, $2, $3, $4, $5, $6, $7, $7)"
                           " RETURNING id",
                           8, params, &fail);
    if (!r)
        return fail;
    int64_t id = wf_col_i64(r, 0, 0);
    PQclear(r);
    wk_created(out, "service", id);
    return wk_applied_resource(ctx, out, 201, WK_RES_SERVICE, id, id);
}

/* Absent fields keep their value (coalesce with NULL). */
wk_result wk_service_update(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    service_req req = {0};
    if (wf_id(cmd->payload, "service_id", &req.id) != 0 || decode_fields(cmd->payload, &req) != 0)
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
