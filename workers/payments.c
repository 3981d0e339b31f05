/* payments.c — the simulated payment gateway: a ledger row per money
 * movement, in the command's transaction (payments.h). */
#include "workers/payments.h"

#include <stdio.h>
#include <stdlib.h>
#include "workers/db.h"

static wk_result record(wk_ctx *ctx, const wk_payment *p, const char *kind)
{
    if (p->amount_paise <= 0)
        return WK_DONE;   /* nothing moves: no zero rows in the ledger */
    char id[24], amount[24];
    snprintf(id, sizeof(id), "%lld", (long long)p->subject_id);
    snprintf(amount, sizeof(amount), "%lld", (long long)p->amount_paise);
    char *replay = wk_new_ids(ctx, p->out, "payments", 1);
    const char *params[] = {p->subject == PAY_BOOKING ? id : NULL, p->subject == PAY_ORDER ? id : NULL, kind,
                            amount, p->purpose, p->at, p->command_id, replay};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "payment",
                           "INSERT INTO payments (id, booking_id, order_id, kind, amount_paise, purpose, created_at,"
                           " command_id) VALUES (" WK_NEW_IDS("$8", "1", "payments") ", $1, $2, $3, $4, $5, $6, $7)"
                           " RETURNING id",
                           8, params, &fail);
    free(replay);
    if (!r)
        return fail;
    wk_created_append(p->out, "payments", strtoll(PQgetvalue(r, 0, 0), NULL, 10));
    PQclear(r);
    return WK_DONE;
}

static wk_result ledger_capture(wk_ctx *ctx, const wk_payment *p)
{
    return record(ctx, p, "captured");
}

static wk_result ledger_refund(wk_ctx *ctx, const wk_payment *p)
{
    return record(ctx, p, "refunded");
}

static const wk_gateway SIMULATED = {"simulated-ledger", ledger_capture, ledger_refund};

const wk_gateway *wk_gateway_current(void)
{
    return &SIMULATED;
}

wk_result wk_payments_net(wk_ctx *ctx, wk_pay_subject subject, int64_t subject_id, int64_t *net)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)subject_id);
    const char *params[] = {id};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "payments net",
                           subject == PAY_BOOKING
                               ? "SELECT coalesce(sum(CASE kind WHEN 'captured' THEN amount_paise ELSE -amount_paise END), 0)"
                                 " FROM payments WHERE booking_id = $1"
                               : "SELECT coalesce(sum(CASE kind WHEN 'captured' THEN amount_paise ELSE -amount_paise END), 0)"
                                 " FROM payments WHERE order_id = $1",
                           1, params, &fail);
    if (!r)
        return fail;
    *net = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return WK_DONE;
}
