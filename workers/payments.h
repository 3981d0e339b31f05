/* payments.h — the payment gateway seam.
 *
 * Money movements are simulated inside our own `payments` ledger: a capture
 * or refund is a ledger row written in the command's transaction, so it
 * commits or rolls back with the booking/order change it pays for. A real
 * gateway plugs in behind the same calls (charge first, then record the row
 * with the gateway's reference); callers never write `payments` themselves.
 * Statuses (booking partial/full/refunded, order paid/refunded) are derived
 * from the ledger by the caller, never stored from guesses. */
#ifndef PUNYAKA_WORKER_PAYMENTS_H
#define PUNYAKA_WORKER_PAYMENTS_H

#include <stdint.h>
#include "workers/worker.h"

typedef enum { PAY_BOOKING, PAY_ORDER } wk_pay_subject;

typedef struct {
    wk_pay_subject subject;
    int64_t subject_id;        /* bookings.id or orders.id */
    const char *purpose;       /* advance | balance | dakshina | order | refund */
    int64_t amount_paise;      /* > 0 */
    const char *command_id;    /* the command moving the money (UUID text) */
    const char *at;            /* the command's issued_at (wk_timestamp) */
    wk_outcome *out;           /* the ledger row's id is recorded in out->created_ids["payments"] */
} wk_payment;

typedef struct {
    const char *name;
    wk_result (*capture)(wk_ctx *ctx, const wk_payment *p);
    wk_result (*refund)(wk_ctx *ctx, const wk_payment *p);
} wk_gateway;

/* The gateway in use (today: the simulated ledger). */
const wk_gateway *wk_gateway_current(void);

/* Sum of captured minus refunded paise for a subject into *net: WK_DONE,
 * or the failed statement's class (db.h). */
wk_result wk_payments_net(wk_ctx *ctx, wk_pay_subject subject, int64_t subject_id, int64_t *net);

#endif
