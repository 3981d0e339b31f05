/* priests.c — priest.verify: an admin verifies (or unverifies) a priest.
 *
 * Travels on "accounts" keyed by the priest *profile* id (common/commands.def;
 * the API knows it from the URL /api/admin/priests/{id}/verify/). It
 * touches only the verification columns, so its order relative to the
 * priest's own profile updates (keyed by the user id) does not matter; the
 * row lock makes each change atomic.
 *
 * verified_at / verified_by record the latest decision either way (who
 * verified or unverified, and when), for audit. Unverifying hides the
 * priest from listings and blocks new bookings; existing bookings stay. */
#include <string.h>
#include "common/booking_rules.h"
#include "workers/bookings.h"
#include "workers/db.h"
#include "workers/fields.h"

typedef struct {
    int64_t priest;
    bool verified;
    char notes[BOOKING_NOTE_MAX + 1];
} verify_req;

static int decode(const msgpack_object *p, verify_req *r)
{
    memset(r, 0, sizeof(*r));
    return wk_field_keys_distinct(p) && wk_field_id(p, "priest_id", &r->priest) == WK_FIELD_SET &&
                   wk_field_bool(p, "verified", &r->verified) == WK_FIELD_SET &&
                   wk_field_text(p, "notes", 0, r->notes, sizeof(r->notes)) != WK_FIELD_BAD
               ? 0
               : -1;
}

/* The priest as the API lists it (DESIGN §5 priest fields) plus the
 * verification columns an admin sees. */
static json_t *priest_resource(const PGresult *r)
{
    json_t *p = json_object();
    json_object_set_new(p, "id", json_integer(wf_col_i64(r, 0, 0)));
    json_object_set_new(p, "user", json_string(PQgetvalue(r, 0, 1)));
    json_object_set_new(p, "user_id", json_integer(wf_col_i64(r, 0, 2)));
    json_object_set_new(p, "username", json_string(PQgetvalue(r, 0, 3)));
    json_object_set_new(p, "specializations", json_loads(PQgetvalue(r, 0, 4), 0, NULL));
    json_object_set_new(p, "languages", json_loads(PQgetvalue(r, 0, 5), 0, NULL));
    json_object_set_new(p, "experience_years", json_integer(wf_col_i64(r, 0, 6)));
    json_object_set_new(p, "service_radius_km", json_integer(wf_col_i64(r, 0, 7)));
    json_object_set_new(p, "is_verified", json_boolean(wf_col_bool(r, 0, 8)));
    json_object_set_new(p, "verification_notes", wf_col_str_or_null(r, 0, 9));
    json_object_set_new(p, "verified_at", wf_col_str_or_null(r, 0, 10));
    json_object_set_new(p, "verified_by", PQgetisnull(r, 0, 11) ? json_null() : json_integer(wf_col_i64(r, 0, 11)));
    json_object_set_new(p, "average_rating", json_string(PQgetvalue(r, 0, 12)));
    json_object_set_new(p, "total_ratings", json_integer(wf_col_i64(r, 0, 13)));
    return p;
}

wk_result wk_priest_verify(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    verify_req req;
    if (decode(cmd->payload, &req) != 0)
        return WK_POISON;
    wk_result admin = wf_require_admin(ctx, cmd, out);
    if (admin != WK_DONE || wk_rejected(out))
        return admin;
    char id[24], actor[24], ts[40];
    wf_itoa(req.priest, id);
    wf_itoa(cmd->env.actor_id, actor);
    wk_timestamp(cmd->env.issued_at_us, ts);
    const char *params[] = {id, req.verified ? "true" : "false", req.notes[0] ? req.notes : NULL, ts, actor};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "verify priest",
                           "WITH p AS (UPDATE priest_profiles SET is_verified = $2, verification_notes = $3,"
                           " verified_at = $4, verified_by = $5, updated_at = $4 WHERE id = $1 RETURNING *)"
                           " SELECT p.id, coalesce(nullif(btrim(u.first_name || ' ' || u.last_name), ''), u.username),"
                           " u.id, u.username, to_json(p.specializations)::text, to_json(p.languages)::text,"
                           " p.experience_years, p.service_radius_km, p.is_verified, p.verification_notes, "
                           WF_SQL_ISO("p.verified_at") ", p.verified_by,"
                           " p.average_rating::text, p.rating_count FROM p JOIN users u ON u.id = p.user_id",
                           5, params, &fail);
    if (!r)
        return fail;
    if (PQntuples(r) != 1)
        wk_reject(out, "not_found", "priest_id", "no such priest");
    else
        wk_applied(out, 200, "priest", req.priest, priest_resource(r));
    PQclear(r);
    return WK_DONE;
}
