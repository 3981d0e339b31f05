/* schedules.c — a priest's own schedule (issue 17): priest.set_hours,
 * priest.block, priest.unblock (rules in common/schedule_rules.h, payloads
 * in schemas/commands/bookings.md).
 *
 * They travel on "bookings" keyed by the priest, so they are applied in
 * order with that priest's bookings; each also locks the priest's profile
 * row FOR UPDATE, as booking.create does, so a booking and a block set at
 * the same moment are decided one after the other even if that ordering
 * does not hold. booking.create (bookings.c) then honours both.
 *
 * Only the priest himself changes his schedule: the envelope says priest
 * and the users row agrees (an active priest), and the profile in the
 * payload is his; another priest's profile or block is "not_found", as the
 * API answers 404 for it. A block never cancels a booking: bookings it
 * covers stay, and its answer lists them (conflicting_bookings). */
#include <stdlib.h>
#include <string.h>
#include "common/mp.h"
#include "common/schedule_rules.h"
#include "common/shapes.h"
#include "workers/apply.h"
#include "workers/db.h"
#include "workers/fields.h"
#include "workers/resource.h"

/* Locks priest profile `priest` when the actor is that priest (active). */
static wk_result lock_own_profile(wk_ctx *ctx, const pk_envelope_decoded *cmd, const char *priest, wk_outcome *out)
{
    char actor[24];
    wf_itoa(cmd->env.actor_id, actor);
    const char *params[] = {priest, actor};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "lock own profile",
                           "SELECT u.role = 'priest' AND u.is_active, p.user_id = u.id FROM priest_profiles p, users u"
                           " WHERE p.id = $1 AND u.id = $2 FOR UPDATE OF p",
                           2, params, &fail);
    if (!r)
        return fail;
    if (strcmp(cmd->env.actor_role, "priest") != 0 || (PQntuples(r) == 1 && !wf_col_bool(r, 0, 0)))
        wk_reject(out, "forbidden", NULL, "only a priest can change his schedule");
    else if (PQntuples(r) != 1 || !wf_col_bool(r, 0, 1))
        wk_reject(out, "not_found", "priest", "no such priest");
    PQclear(r);
    return WK_DONE;
}

/* ---- priest.set_hours {priest, hours} ---- */

static int decode_hours(const msgpack_object *p, int64_t *priest, schedule_week *w)
{
    char field[16];
    const msgpack_object *hours = wk_field_keys_distinct(p) ? pk_mp_get(p, "hours") : NULL;
    if (!hours || wk_field_id(p, "priest", priest) != WK_FIELD_SET)
        return -1;
    json_t *doc = wf_json_from_mp(hours);
    const char *why = doc ? schedule_week_parse(doc, w, field) : "not JSON";
    json_decref(doc);
    return why ? -1 : 0;
}

wk_result wk_priest_set_hours(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    int64_t priest;
    schedule_week week;
    if (decode_hours(cmd->payload, &priest, &week) != 0)
        return WK_POISON;
    char id[24], ts[40];
    wf_itoa(priest, id);
    wk_timestamp(cmd->env.issued_at_us, ts);
    wk_result res = lock_own_profile(ctx, cmd, id, out);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    char *text = schedule_week_format(&week);
    if (!text)
        return WK_TRANSIENT;
    const char *params[] = {id, text, ts};
    res = wk_write(ctx, "set hours",
                   "INSERT INTO priest_schedules (priest_id, hours, updated_at) VALUES ($1, $2, $3)"
                   " ON CONFLICT (priest_id) DO UPDATE SET hours = excluded.hours, updated_at = excluded.updated_at",
                   3, params);
    free(text);
    if (res != WK_DONE)
        return res;
    return wk_applied_resource(ctx, out, 200, WK_RES_SCHEDULE, priest, priest);
}

/* ---- priest.block {priest, start, end, reason} ---- */

typedef struct {
    int64_t priest, start_us, end_us;
    char reason[SCHEDULE_BLOCK_REASON_MAX + 1];
} block_req;

/* Instants are µs since the epoch; the limits are checked against issued_at. */
static int decode_block(const pk_envelope_decoded *cmd, block_req *r)
{
    const msgpack_object *p = cmd->payload;
    const char *field;
    memset(r, 0, sizeof(*r));
    return wk_field_keys_distinct(p) && wk_field_id(p, "priest", &r->priest) == WK_FIELD_SET &&
                   wk_field_int(p, "start", 0, INT64_MAX / 2, &r->start_us) == WK_FIELD_SET &&
                   wk_field_int(p, "end", 0, INT64_MAX / 2, &r->end_us) == WK_FIELD_SET &&
                   wk_field_text(p, "reason", 0, r->reason, sizeof(r->reason)) != WK_FIELD_BAD &&
                   !schedule_check_block(r->start_us, r->end_us, cmd->env.issued_at_us, &field)
               ? 0
               : -1;
}

/* At most SCHEDULE_MAX_FUTURE_BLOCKS blocks that have not ended yet. */
static wk_result check_block_count(wk_ctx *ctx, const char *priest, const char *now, wk_outcome *out)
{
    const char *params[] = {priest, now};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "count blocks",
                           "SELECT count(*) FROM priest_blocks WHERE priest_id = $1 AND upper(period) > $2::timestamptz",
                           2, params, &fail);
    if (!r)
        return fail;
    if (wf_col_i64(r, 0, 0) >= SCHEDULE_MAX_FUTURE_BLOCKS)
        wk_reject(out, "too_many_blocks", "start", "at most 200 blocked periods that have not ended yet");
    PQclear(r);
    return WK_DONE;
}

wk_result wk_priest_block(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    block_req req;
    if (decode_block(cmd, &req) != 0)
        return WK_POISON;
    char id[24], ts[40], from[40], to[40], replay[24];
    wf_itoa(req.priest, id);
    wk_timestamp(cmd->env.issued_at_us, ts);
    wk_timestamp(req.start_us, from);
    wk_timestamp(req.end_us, to);
    wk_result res = lock_own_profile(ctx, cmd, id, out);
    if (res == WK_DONE && !wk_rejected(out))
        res = check_block_count(ctx, id, ts, out);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    const char *params[] = {id, from, to, req.reason, ts, wk_new_id(ctx, "priest_block", replay)};
    return wk_insert_created(ctx, out, "insert block",
                             "INSERT INTO priest_blocks (id, priest_id, period, reason, created_at)"
                             " VALUES (" WK_NEW_ID("$6", "priest_blocks") ", $1,"
                             " tstzrange($2::timestamptz, $3::timestamptz, '[)'), $4, $5) RETURNING id",
                             6, params, "priest_block", WK_RES_PRIEST_BLOCK);
}

/* ---- priest.unblock {priest, block_id} ---- */

wk_result wk_priest_unblock(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    const msgpack_object *p = cmd->payload;
    int64_t priest, block;
    if (!wk_field_keys_distinct(p) || wk_field_id(p, "priest", &priest) != WK_FIELD_SET ||
        wk_field_id(p, "block_id", &block) != WK_FIELD_SET)
        return WK_POISON;
    char id[24], block_id[24];
    wf_itoa(priest, id);
    wf_itoa(block, block_id);
    wk_result res = lock_own_profile(ctx, cmd, id, out);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    /* The answer is the block as it was, read before it goes. */
    const char *params[] = {block_id, id};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "unblock",
                           "SELECT " PK_PRIEST_BLOCK_JSON("k") "::text FROM priest_blocks k"
                           " WHERE k.id = $1 AND k.priest_id = $2",
                           2, params, &fail);
    if (!r)
        return fail;
    json_t *resource = PQntuples(r) == 1 ? json_loads(PQgetvalue(r, 0, 0), 0, NULL) : NULL;
    PQclear(r);
    if (!resource) {
        wk_reject(out, "not_found", "block_id", "no such block");
        return WK_DONE;
    }
    res = wk_write(ctx, "delete block", "DELETE FROM priest_blocks WHERE id = $1 AND priest_id = $2", 2, params);
    if (res != WK_DONE) {
        json_decref(resource);
        return res;
    }
    wk_applied(out, 200, "priest_block", block, resource);
    return WK_DONE;
}
