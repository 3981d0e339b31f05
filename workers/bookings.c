/* bookings.c — the booking family: create, confirm, complete,
 * customer_confirm, cancel, rate (DESIGN §4; rules in common/booking_rules.h,
 * payloads in schemas/commands/bookings.md).
 *
 * Topic "bookings" is keyed by the priest id, so one priest's commands are
 * applied one after another by one worker. The row locks below keep every
 * rule true even when that ordering does not hold (a mis-keyed message, a
 * rebalance while the previous owner still commits):
 *   - create locks the priest's profile row FOR UPDATE, so "is the slot
 *     free?" and the insert are atomic per priest; the exclusion constraint
 *     bookings_priest_no_overlap is the last guard (23P01 ⇒ slot_taken);
 *   - every other command locks its booking row FOR UPDATE, decides on the
 *     state it holds, and updates with the expected state in the WHERE
 *     clause (compare-and-swap), so two confirmations cannot both win.
 * Money moves only through the payment gateway seam (payments.h), in the
 * same transaction as the booking change it pays for. */
#include "workers/bookings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/booking_rules.h"
#include "common/money.h"
#include "common/mp.h"
#include "common/schedule_rules.h"
#include "workers/db.h"
#include "workers/fields.h"
#include "workers/payments.h"
#include "workers/resource.h"

/* The booking as the API shows it (PK_BOOKING_JSON, resource.h). */
static wk_result applied(wk_ctx *ctx, int64_t id, int http_status, wk_outcome *out)
{
    return wk_applied_resource(ctx, out, http_status, WK_RES_BOOKING, id, id);
}

/* ---- booking.create ---- */

typedef struct {
    int64_t priest, service;
    booking_date date;
    int minute;
    char date_text[11], time_text[6];
    char address[BOOKING_ADDRESS_MAX + 1], instructions[BOOKING_NOTE_MAX + 1];
    char lat[24], lng[24];   /* "" = not given */
} create_req;

static int decode_create(const msgpack_object *p, create_req *r)
{
    char date[16], time[16];
    double lat, lng;
    memset(r, 0, sizeof(*r));
    if (!wk_field_keys_distinct(p) || wk_field_id(p, "priest", &r->priest) != WK_FIELD_SET ||
        wk_field_id(p, "service", &r->service) != WK_FIELD_SET ||
        wk_field_str(p, "booking_date", date, sizeof(date)) != WK_FIELD_SET ||
        wk_field_str(p, "booking_time", time, sizeof(time)) != WK_FIELD_SET || booking_parse_date(date, &r->date) ||
        booking_parse_slot_time(time, &r->minute))
        return -1;
    /* Optional: nil is the same as absent. */
    wk_field_status has_lat = wk_field_number(p, "location_latitude", -90, 90, &lat);
    wk_field_status has_lng = wk_field_number(p, "location_longitude", -180, 180, &lng);
    if (has_lat == WK_FIELD_BAD || has_lng == WK_FIELD_BAD ||
        wk_field_text(p, "location_address", 0, r->address, sizeof(r->address)) == WK_FIELD_BAD ||
        wk_field_text(p, "special_instructions", 0, r->instructions, sizeof(r->instructions)) == WK_FIELD_BAD)
        return -1;
    if (has_lat == WK_FIELD_SET)
        snprintf(r->lat, sizeof(r->lat), "%.6f", lat);
    if (has_lng == WK_FIELD_SET)
        snprintf(r->lng, sizeof(r->lng), "%.6f", lng);
    booking_format_date(r->date, r->date_text);
    booking_format_time(r->minute, r->time_text);
    return 0;
}

/* Only an active customer books (the envelope's role and the users row agree). */
static wk_result check_customer(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    char id[24];
    wf_itoa(cmd->env.actor_id, id);
    const char *params[] = {id};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "customer",
                           "SELECT 1 FROM users WHERE id = $1 AND role = 'customer' AND is_active", 1, params, &fail);
    if (!r)
        return fail;
    if (strcmp(cmd->env.actor_role, "customer") != 0 || PQntuples(r) != 1)
        wk_reject(out, "forbidden", NULL, "only customers can book a priest");
    PQclear(r);
    return WK_DONE;
}

/* Locks the priest's profile: bookings of one priest are decided one at a time. */
static wk_result lock_priest(wk_ctx *ctx, const char *priest, wk_outcome *out)
{
    const char *params[] = {priest};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "lock priest",
                           "SELECT p.is_verified AND u.is_active FROM priest_profiles p"
                           " JOIN users u ON u.id = p.user_id WHERE p.id = $1 FOR UPDATE OF p",
                           1, params, &fail);
    if (!r)
        return fail;
    if (PQntuples(r) != 1)
        wk_reject(out, "unknown_priest", "priest", "no such priest");
    else if (!wf_col_bool(r, 0, 0))
        wk_reject(out, "not_verified", "priest", "this priest is not verified yet");
    PQclear(r);
    return WK_DONE;
}

/* FOR SHARE: the price and duration used here cannot change before we commit. */
static wk_result load_service(wk_ctx *ctx, const char *service, int *duration,
                              int64_t *price, wk_outcome *out)
{
    const char *params[] = {service};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "service",
                           "SELECT duration_minutes, base_price_paise, is_active FROM services WHERE id = $1 FOR SHARE",
                           1, params, &fail);
    if (!r)
        return fail;
    if (PQntuples(r) != 1) {
        wk_reject(out, "unknown_service", "service", "no such service");
    } else if (!wf_col_bool(r, 0, 2) || booking_check_duration(wf_col_i64(r, 0, 0))) {
        wk_reject(out, "service_inactive", "service", "this service is not offered at the moment");
    } else {
        *duration = (int)wf_col_i64(r, 0, 0);
        *price = wf_col_i64(r, 0, 1);
    }
    PQclear(r);
    return WK_DONE;
}

/* Start rules against issued_at (never the worker's clock), then working hours. */
static void check_timing(const create_req *req, int duration, int64_t issued_at_us, int64_t *start_us, wk_outcome *out)
{
    *start_us = booking_local_to_us(req->date, req->minute, wf_tz_offset());
    const char *why = booking_check_start(*start_us, issued_at_us);
    if (why)
        wk_reject(out, why, "booking_date",
                  strcmp(why, "in_past") == 0 ? "the booking must start in the future"
                                              : "bookings can be made at most 180 days ahead");
    else if (booking_check_hours(req->minute, duration, BOOKING_OPEN_MIN, BOOKING_CLOSE_MIN))
        wk_reject(out, "outside_working_hours", "booking_time", "the service must lie within 06:00–21:00");
}

static void slot_taken(wk_outcome *out)
{
    wk_reject(out, "slot_taken", "booking_time", "overlaps an existing booking");
}

static wk_result check_free(wk_ctx *ctx, const char *priest, const char *from,
                            const char *to, wk_outcome *out)
{
    const char *params[] = {priest, from, to};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "overlap",
                           "SELECT 1 FROM bookings WHERE priest_id = $1 AND status <> 'cancelled'"
                           " AND occupied && tstzrange($2::timestamptz, $3::timestamptz, '[)') LIMIT 1",
                           3, params, &fail);
    if (!r)
        return fail;
    if (PQntuples(r) > 0)
        slot_taken(out);
    PQclear(r);
    return WK_DONE;
}

static void priest_unavailable(wk_outcome *out, const char *message)
{
    wk_reject(out, "priest_unavailable", "booking_time", message);
}

/* The priest's own schedule (issue 17, common/schedule_rules.h): the
 * service inside one of his working intervals that weekday (no row: the
 * default week), its occupancy [from, to) clear of his blocked periods.
 * Read under the profile lock, so a priest.block or priest.set_hours of
 * his is wholly before or wholly after this booking. */
static wk_result check_schedule(wk_ctx *ctx, const char *priest, const create_req *req, int duration,
                                const char *from, const char *to, wk_outcome *out)
{
    const char *params[] = {priest, from, to};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "schedule",
                           "SELECT (SELECT hours FROM priest_schedules WHERE priest_id = $1),"
                           " EXISTS (SELECT 1 FROM priest_blocks WHERE priest_id = $1"
                           "  AND period && tstzrange($2::timestamptz, $3::timestamptz, '[)'))",
                           3, params, &fail);
    if (!r)
        return fail;
    schedule_week week;
    char field[16];
    json_t *hours = PQgetisnull(r, 0, 0) ? NULL : json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    const char *bad = hours ? schedule_week_parse(hours, &week, field) : NULL;
    bool blocked = wf_col_bool(r, 0, 1), stored = !PQgetisnull(r, 0, 0);
    json_decref(hours);
    PQclear(r);
    if (stored && (!hours || bad))   /* priest.set_hours validated it: a bad row is a bug, not weather */
        return WK_POISON;
    if (!stored)
        schedule_week_default(&week);
    if (schedule_check_hours(&week, req->date, req->minute, duration))
        priest_unavailable(out, "outside the priest's working hours that day");
    else if (blocked)
        priest_unavailable(out, "the priest is not available then (a blocked period)");
    return WK_DONE;
}

typedef struct {
    const create_req *req;
    char customer[24], priest[24], service[24], from[40], to[40], ts[40];
    int64_t price, advance, balance;
} new_booking;

static wk_result insert_booking(wk_ctx *ctx, const new_booking *nb, int64_t *id,
                                wk_outcome *out)
{
    char price[24], advance[24], balance[24], replay[24];
    wf_itoa(nb->price, price);
    wf_itoa(nb->advance, advance);
    wf_itoa(nb->balance, balance);
    const create_req *q = nb->req;
    const char *params[] = {nb->customer, nb->priest, nb->service, q->date_text, q->time_text, nb->from, nb->to,
                            q->address, q->lat[0] ? q->lat : NULL, q->lng[0] ? q->lng : NULL, q->instructions,
                            price, advance, balance, nb->ts, wk_new_id(ctx, "booking", replay)};
    PGresult *r = wk_exec(ctx,
                          "INSERT INTO bookings (id, customer_id, priest_id, service_id, booking_date, booking_time,"
                          " starts_at, occupied, location_address, location_latitude, location_longitude,"
                          " special_instructions, status, payment_status, service_price_paise, advance_paise,"
                          " balance_paise, created_at, updated_at)"
                          " VALUES (" WK_NEW_ID("$16", "bookings") ", $1, $2, $3, $4, $5, $6,"
                          " tstzrange($6::timestamptz, $7::timestamptz, '[)'), $8, $9,"
                          " $10, $11, 'pending', 'partial', $12, $13, $14, $15, $15) RETURNING id",
                          16, params);
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        *id = wf_col_i64(r, 0, 0);
        PQclear(r);
        return WK_DONE;
    }
    if (strcmp(wk_sqlstate(r), "23P01") == 0) {   /* the exclusion constraint caught a race */
        PQclear(r);
        slot_taken(out);
        return WK_DONE;
    }
    return wk_db_failure(ctx, r, "insert booking");
}

static wk_result capture(wk_ctx *ctx, const pk_envelope_decoded *cmd, int64_t booking, const char *purpose,
                         int64_t amount, const char *ts, wk_outcome *out)
{
    char cmd_id[40];
    wf_command_id(cmd, cmd_id);
    wk_payment p = {PAY_BOOKING, booking, purpose, amount, cmd_id, ts, out};
    return wk_gateway_current()->capture(ctx, &p);
}

/* After the checks: insert, capture the 25 % advance (payment partial). */
static wk_result create_booking(wk_ctx *ctx, const pk_envelope_decoded *cmd, new_booking *nb, wk_outcome *out)
{
    int64_t id = 0;
    money_split(nb->price, &nb->advance, &nb->balance);
    wk_result res = insert_booking(ctx, nb, &id, out);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    wk_created(out, "booking", id);
    if ((res = capture(ctx, cmd, id, "advance", nb->advance, nb->ts, out)) != WK_DONE)
        return res;
    return applied(ctx, id, 201, out);
}

wk_result wk_booking_create(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    create_req req;
    if (decode_create(cmd->payload, &req) != 0)
        return WK_POISON;
    new_booking nb = {.req = &req};
    wf_itoa(cmd->env.actor_id, nb.customer);
    wf_itoa(req.priest, nb.priest);
    wf_itoa(req.service, nb.service);
    wk_timestamp(cmd->env.issued_at_us, nb.ts);
    int duration = 0;
    int64_t start = 0;
    wk_result res = check_customer(ctx, cmd, out);
    if (res == WK_DONE && !wk_rejected(out))
        res = lock_priest(ctx, nb.priest, out);
    if (res == WK_DONE && !wk_rejected(out))
        res = load_service(ctx, nb.service, &duration, &nb.price, out);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    check_timing(&req, duration, cmd->env.issued_at_us, &start, out);
    if (wk_rejected(out))
        return WK_DONE;
    booking_range occ = booking_occupancy(start, duration);
    wk_timestamp(occ.start_us, nb.from);
    wk_timestamp(occ.end_us, nb.to);
    res = check_schedule(ctx, nb.priest, &req, duration, nb.from, nb.to, out);
    if (res == WK_DONE && !wk_rejected(out))
        res = check_free(ctx, nb.priest, nb.from, nb.to, out);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    return create_booking(ctx, cmd, &nb, out);
}

/* ---- actions on an existing booking ---- */

/* The locked booking and who is acting on it. */
typedef struct {
    int64_t id, priest_id, start_us, balance;
    booking_status status;
    bool paid, rated;
    booking_actor who;
    char id_text[24], ts[40];
} locked_booking;

static const char *const ACTION_VERBS[BOOKING_ACTION_COUNT] = {
    [BOOKING_CONFIRM] = "confirm", [BOOKING_COMPLETE] = "complete",
    [BOOKING_CUSTOMER_CONFIRM] = "confirm completion of", [BOOKING_CANCEL] = "cancel", [BOOKING_RATE] = "rate",
};

/* One wording for a missing booking and someone else's, so they cannot be told apart. */
static void not_found(wk_outcome *out)
{
    wk_reject(out, "not_found", NULL, "no such booking");
}

static wk_result lock_booking(wk_ctx *ctx, const pk_envelope_decoded *cmd, int64_t id, locked_booking *b,
                              wk_outcome *out)
{
    memset(b, 0, sizeof(*b));
    b->id = id;
    wf_itoa(id, b->id_text);
    wk_timestamp(cmd->env.issued_at_us, b->ts);
    const char *params[] = {b->id_text};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "lock booking",
                           "SELECT b.customer_id, p.user_id, b.priest_id, b.status,"
                           " b.customer_confirmed_at IS NOT NULL, b.rating IS NOT NULL,"
                           " (extract(epoch FROM b.starts_at) * 1000000)::bigint, b.balance_paise"
                           " FROM bookings b JOIN priest_profiles p ON p.id = b.priest_id"
                           " WHERE b.id = $1 FOR UPDATE OF b",
                           1, params, &fail);
    if (!r)
        return fail;
    if (PQntuples(r) != 1 || booking_status_parse(PQgetvalue(r, 0, 3), &b->status) != 0) {
        PQclear(r);
        not_found(out);
        return WK_DONE;
    }
    b->who = booking_actor_of(cmd->env.actor_id, cmd->env.actor_role, wf_col_i64(r, 0, 0), wf_col_i64(r, 0, 1));
    b->priest_id = wf_col_i64(r, 0, 2);
    b->paid = wf_col_bool(r, 0, 4);
    b->rated = wf_col_bool(r, 0, 5);
    b->start_us = wf_col_i64(r, 0, 6);
    b->balance = wf_col_i64(r, 0, 7);
    PQclear(r);
    return WK_DONE;
}

static void reject_decision(wk_outcome *out, const char *why, booking_action action, booking_status status)
{
    char detail[160];
    if (strcmp(why, "not_found") == 0) {
        not_found(out);
        return;
    }
    if (strcmp(why, "forbidden") == 0)
        snprintf(detail, sizeof(detail), "you may not %s this booking", ACTION_VERBS[action]);
    else if (strcmp(why, "not_completed") == 0)
        snprintf(detail, sizeof(detail), "the booking is %s, not completed yet", booking_status_name(status));
    else if (strcmp(why, "already_rated") == 0)
        snprintf(detail, sizeof(detail), "the booking has already been rated");
    else if (strcmp(why, "already_confirmed_by_customer") == 0)
        snprintf(detail, sizeof(detail), "the booking's completion has already been confirmed");
    else
        snprintf(detail, sizeof(detail), "cannot %s a %s booking", ACTION_VERBS[action], booking_status_name(status));
    wk_reject(out, why, NULL, detail);
}

/* An UPDATE that must hit the locked row in its expected state. */
static wk_result update_one(wk_ctx *ctx, const char *what, const char *sql, int n,
                            const char *const *params, wk_outcome *out)
{
    PGresult *r = wk_exec(ctx, sql, n, params);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return wk_db_failure(ctx, r, what);
    if (strcmp(PQcmdTuples(r), "1") != 0)
        wk_reject(out, "invalid_transition", NULL, "the booking changed meanwhile");
    PQclear(r);
    return WK_DONE;
}

typedef wk_result (*action_fn)(wk_ctx *ctx, const pk_envelope_decoded *cmd, const locked_booking *b, const void *req,
                               wk_outcome *out);

/* Lock, decide with the pure state machine, apply, answer with the booking. */
static wk_result run_action(wk_ctx *ctx, const pk_envelope_decoded *cmd, int64_t id, booking_action action,
                            action_fn apply, const void *req, wk_outcome *out)
{
    locked_booking b;
    wk_result res = lock_booking(ctx, cmd, id, &b, out);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    const char *why = booking_decide(booking_stage_of(b.status, b.paid, b.rated), action, b.who);
    if (why) {
        reject_decision(out, why, action, b.status);
        return WK_DONE;
    }
    res = apply(ctx, cmd, &b, req, out);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    return applied(ctx, b.id, 200, out);
}

/* Every action's payload names the booking; extra fields are action-specific. */
static int decode_booking_id(const msgpack_object *p, int64_t *id)
{
    return wk_field_keys_distinct(p) && wk_field_id(p, "booking_id", id) == WK_FIELD_SET ? 0 : -1;
}

/* ---- booking.confirm ---- */

static wk_result do_confirm(wk_ctx *ctx, const pk_envelope_decoded *cmd, const locked_booking *b, const void *req,
                            wk_outcome *out)
{
    (void)cmd;   /* an action_fn: every action gets the command */
    (void)req;
    const char *params[] = {b->id_text, b->ts};
    return update_one(ctx, "confirm",
                      "UPDATE bookings SET status = 'confirmed', confirmed_at = $2, updated_at = $2"
                      " WHERE id = $1 AND status = 'pending'",
                      2, params, out);
}

wk_result wk_booking_confirm(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    int64_t id;
    if (decode_booking_id(cmd->payload, &id) != 0)
        return WK_POISON;
    return run_action(ctx, cmd, id, BOOKING_CONFIRM, do_confirm, NULL, out);
}

/* ---- booking.complete ---- */

/* The optional checklist (a map or an array) as compact JSON text, or NULL
 * when absent; -1 when malformed or larger than BOOKING_CHECKLIST_MAX. */
static int decode_checklist(const msgpack_object *p, char **text)
{
    *text = NULL;
    const msgpack_object *v = pk_mp_get(p, "checklist");
    if (!v || v->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (v->type != MSGPACK_OBJECT_MAP && v->type != MSGPACK_OBJECT_ARRAY)
        return -1;
    json_t *j = wf_json_from_mp(v);
    *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (*text && strlen(*text) <= BOOKING_CHECKLIST_MAX)
        return 0;
    free(*text);
    *text = NULL;
    return -1;
}

static wk_result do_complete(wk_ctx *ctx, const pk_envelope_decoded *cmd, const locked_booking *b, const void *req,
                             wk_outcome *out)
{
    if (booking_check_complete(b->start_us, cmd->env.issued_at_us)) {
        wk_reject(out, "not_started", NULL, "the booking has not started yet");
        return WK_DONE;
    }
    const char *params[] = {b->id_text, b->ts, req};
    return update_one(ctx, "complete",
                      "UPDATE bookings SET status = 'completed', completed_at = $2, updated_at = $2,"
                      " completion_checklist = $3::jsonb WHERE id = $1 AND status = 'confirmed'",
                      3, params, out);
}

wk_result wk_booking_complete(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    int64_t id;
    char *checklist;
    if (decode_booking_id(cmd->payload, &id) != 0 || decode_checklist(cmd->payload, &checklist) != 0)
        return WK_POISON;
    wk_result res = run_action(ctx, cmd, id, BOOKING_COMPLETE, do_complete, checklist, out);
    free(checklist);
    return res;
}

/* ---- booking.customer_confirm ---- */

/* The customer confirms the service happened: the 75 % balance and the
 * optional dakshina (a gift to the priest) are captured, payment is full. */
static wk_result do_customer_confirm(wk_ctx *ctx, const pk_envelope_decoded *cmd, const locked_booking *b,
                                     const void *req, wk_outcome *out)
{
    int64_t dakshina = *(const int64_t *)req;
    char amount[24];
    wf_itoa(dakshina, amount);
    const char *params[] = {b->id_text, b->ts, amount};
    wk_result res = update_one(ctx, "customer confirm",
                               "UPDATE bookings SET payment_status = 'full', dakshina_paise = $3,"
                               " customer_confirmed_at = $2, updated_at = $2"
                               " WHERE id = $1 AND status = 'completed' AND customer_confirmed_at IS NULL",
                               3, params, out);
    if (res == WK_DONE && !wk_rejected(out))
        res = capture(ctx, cmd, b->id, "balance", b->balance, b->ts, out);
    if (res == WK_DONE && !wk_rejected(out))
        res = capture(ctx, cmd, b->id, "dakshina", dakshina, b->ts, out);
    return res;
}

wk_result wk_booking_customer_confirm(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    int64_t id, dakshina = 0;
    if (decode_booking_id(cmd->payload, &id) != 0 ||
        wk_field_int(cmd->payload, "dakshina", 0, MONEY_MAX_PAISE, &dakshina) == WK_FIELD_BAD)
        return WK_POISON;
    return run_action(ctx, cmd, id, BOOKING_CUSTOMER_CONFIRM, do_customer_confirm, &dakshina, out);
}

/* ---- booking.cancel ---- */

/* Refund rule (booking_cancel_payment_status): what was captured goes back,
 * or the advance stays as the cancellation fee. Only the advance can have
 * been captured, since a cancellable booking is not completed. */
static wk_result refund_if_due(wk_ctx *ctx, const pk_envelope_decoded *cmd, const locked_booking *b,
                               const char *payment_status, wk_outcome *out)
{
    if (strcmp(payment_status, "refunded") != 0)
        return WK_DONE;
    int64_t net = 0;
    wk_result res = wk_payments_net(ctx, PAY_BOOKING, b->id, &net);
    if (res != WK_DONE)
        return res;
    char cmd_id[40];
    wf_command_id(cmd, cmd_id);
    wk_payment p = {PAY_BOOKING, b->id, "refund", net, cmd_id, b->ts, out};
    return wk_gateway_current()->refund(ctx, &p);
}

static wk_result do_cancel(wk_ctx *ctx, const pk_envelope_decoded *cmd, const locked_booking *b, const void *req,
                           wk_outcome *out)
{
    const char *reason = req;
    const char *payment_status = booking_cancel_payment_status(b->who, b->start_us, cmd->env.issued_at_us);
    char actor[24];
    wf_itoa(cmd->env.actor_id, actor);
    const char *params[] = {b->id_text, b->ts, payment_status, *reason ? reason : NULL, actor};
    wk_result res = update_one(ctx, "cancel",
                               "UPDATE bookings SET status = 'cancelled', payment_status = $3, cancel_reason = $4,"
                               " cancelled_by = $5, cancelled_at = $2, updated_at = $2"
                               " WHERE id = $1 AND status IN ('pending', 'confirmed')",
                               5, params, out);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    return refund_if_due(ctx, cmd, b, payment_status, out);
}

wk_result wk_booking_cancel(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    int64_t id;
    char reason[BOOKING_NOTE_MAX + 1] = "";
    if (decode_booking_id(cmd->payload, &id) != 0 || wk_field_text(cmd->payload, "reason", 0, reason, sizeof(reason)) == WK_FIELD_BAD)
        return WK_POISON;
    return run_action(ctx, cmd, id, BOOKING_CANCEL, do_cancel, reason, out);
}

/* ---- booking.rate ---- */

typedef struct {
    int64_t rating;
    char feedback[BOOKING_NOTE_MAX + 1];
} rate_req;

/* The rating and the priest's aggregate change in one transaction, once:
 * the booking row's rating IS NULL guard and processed_commands make a
 * second delivery or a second rating a no-op or a rejection. */
static wk_result do_rate(wk_ctx *ctx, const pk_envelope_decoded *cmd, const locked_booking *b, const void *req,
                         wk_outcome *out)
{
    (void)cmd;   /* an action_fn: every action gets the command */
    const rate_req *q = req;
    char rating[24], priest[24];
    wf_itoa(q->rating, rating);
    wf_itoa(b->priest_id, priest);
    const char *params[] = {b->id_text, b->ts, rating, q->feedback[0] ? q->feedback : NULL};
    wk_result res = update_one(ctx, "rate",
                               "UPDATE bookings SET rating = $3, feedback = $4, rated_at = $2, updated_at = $2"
                               " WHERE id = $1 AND status = 'completed' AND rating IS NULL",
                               4, params, out);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    const char *pp[] = {priest, rating, b->ts};
    return wk_write(ctx, "rate priest",
                      "UPDATE priest_profiles SET rating_count = rating_count + 1, rating_sum = rating_sum + $2,"
                      " updated_at = $3 WHERE id = $1",
                      3, pp);
}

wk_result wk_booking_rate(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    int64_t id;
    rate_req req = {0};
    if (decode_booking_id(cmd->payload, &id) != 0 || wk_field_int(cmd->payload, "rating", 1, 5, &req.rating) != WK_FIELD_SET ||
        wk_field_text(cmd->payload, "feedback", 0, req.feedback, sizeof(req.feedback)) == WK_FIELD_BAD)
        return WK_POISON;
    return run_action(ctx, cmd, id, BOOKING_RATE, do_rate, &req, out);
}
