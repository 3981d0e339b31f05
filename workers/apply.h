/* apply.h — every command's apply function, in one list beside the table
 * that maps types to them (workers/commands.c), as Redis's server.h lists
 * its command functions. common/commands.def gives each type's topic, key
 * and payload schema; each function has the signature wk_apply_fn
 * (worker.h) and lives in its family's file, named below. Adding a
 * command: a line in commands.def, one here, one in commands.c. */
#ifndef PUNYAKA_WORKER_APPLY_H
#define PUNYAKA_WORKER_APPLY_H

#include "workers/worker.h"

/* accounts.c, accounts_profile.c, kyc_audit.c, priests.c — topic "accounts" */
wk_result wk_user_register(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_user_update(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_user_change_password(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_user_create_admin(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_priest_update_profile(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
/* priest.update_account {user: <user.update payload>, profile: <priest.update_profile
 * payload>}: a priest's PATCH of both in one command, so one transaction applies
 * both or neither (issue 11); the outcome's resource is the user, as user.update's. */
wk_result wk_priest_update_account(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_priest_verify(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_priest_kyc_reveal(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);

/* notifications.c — topic "accounts": marking the actor's own notifications
 * read; decided the same whether the rows exist or not (replay). */
wk_result wk_notification_read(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_notification_read_all(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);

/* bookings.c — topic "bookings" */
wk_result wk_booking_create(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_booking_confirm(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_booking_complete(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_booking_customer_confirm(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_booking_cancel(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_booking_rate(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);

/* schedules.c — topic "bookings", keyed by the priest like his bookings (issue 17) */
wk_result wk_priest_set_hours(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_priest_block(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_priest_unblock(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);

/* orders.c — topic "orders" */
wk_result wk_order_checkout(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_order_cancel(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_order_set_status(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);

/* catalog.c, services.c — topic "catalog" */
wk_result wk_category_create(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_category_update(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_product_create(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_product_update(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_product_set_kit(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_stock_adjust(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_service_create(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
wk_result wk_service_update(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);

#endif
