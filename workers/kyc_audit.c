/* kyc_audit.c — priest.kyc_reveal: an admin asks to see a priest's KYC data
 * in full. The worker holds no key and reveals nothing; it records who asked,
 * when, and for which priest (outcome + journal), and only once that record is
 * committed does the API decrypt and answer. So every full view is audited. */
#include <stdio.h>
#include "workers/bookings.h"
#include "workers/db.h"
#include "workers/fields.h"
#include "workers/apply.h"

wk_result wk_priest_kyc_reveal(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    int64_t priest_id;
    if (wk_field_id(cmd->payload, "priest_id", &priest_id) != WK_FIELD_SET)
        return WK_POISON;
    wk_result admin = wf_require_admin(ctx, cmd, out);
    if (admin != WK_DONE || wk_rejected(out))
        return admin;
    char id[24];
    wf_itoa(priest_id, id);
    const char *params[] = {id};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "kyc reveal", "SELECT id FROM priest_profiles WHERE id = $1", 1, params, &fail);
    if (!r)
        return fail;
    if (!wk_priest_row_found(r, out))
        return WK_DONE;
    wk_applied(out, 200, "priest", priest_id,
               json_pack("{s:I, s:I}", "priest_id", (json_int_t)priest_id, "revealed_by", (json_int_t)cmd->env.actor_id));
    return WK_DONE;
}
