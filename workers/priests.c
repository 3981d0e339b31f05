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
#include "workers/resource.h"

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

bool wk_priest_row_found(PGresult *r, wk_outcome *out)
{
    bool found = PQntuples(r) == 1;
    PQclear(r);
    if (!found)
        wk_reject(out, "not_found", "priest_id", "no such priest");
    return found;
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
                           "UPDATE priest_profiles SET is_verified = $2, verification_notes = $3,"
                           " verified_at = $4, verified_by = $5, updated_at = $4 WHERE id = $1 RETURNING id",
                           5, params, &fail);
    if (!r)
        return fail;
    if (!wk_priest_row_found(r, out))
        return WK_DONE;
    /* The admin's view of the priest: a GET /api/admin/priests/ item (no kyc). */
    return wk_applied_resource(ctx, out, 200, WK_RES_PRIEST_ADMIN, req.priest, req.priest);
}
