/* shop.h — the shop's command families (orders.c, catalog.c): their apply
 * functions, and what they share beyond fields.h (whose wk_field_* readers
 * they use; nil clears a nullable field such as discount_price and is
 * malformed elsewhere): stock changes with their stock_movements rows, and
 * small conversions. */
#ifndef PUNYAKA_WORKER_SHOP_H
#define PUNYAKA_WORKER_SHOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "workers/db.h"
#include "workers/fields.h"
#include "workers/worker.h"
#include "workers/apply.h"   /* this family's apply functions */

/* The rejection of a non-admin's catalog or order-status command
 * (wf_require_admin_for). */
#define WK_SHOP_ADMIN_ONLY "only an admin may change the catalog or an order's status"

/* Applies stock deltas in one statement and records one stock_movements
 * row per product (reason, the command, optional order, issued_at); their
 * ids go to out->created_ids["stock_movements"] in product id order (a
 * replay re-inserts them in that order). The product ids are distinct. The
 * caller holds the rows' locks and has checked the result stays >= 0.
 * WK_DONE, with *short_of_stock set when the stock CHECK (23514) still
 * fired and nothing changed (the caller rejects as out of stock); or the
 * failed statement's class (db.h). */
wk_result wk_stock_apply(wk_ctx *ctx, const int64_t *product_ids, const int64_t *deltas, size_t n, const char *reason,
                         int64_t order_id, const pk_envelope_decoded *cmd, wk_outcome *out, bool *short_of_stock);

/* Cuts s back to its last complete UTF-8 character: a message that
 * snprintf truncated inside a multibyte product name must still be valid
 * text for PostgreSQL and JSON. */
void wk_utf8_trim(char *s);

/* PostgreSQL array literal "{1,2,3}" of the values; malloc'd, caller frees. */
char *wk_int_array(const int64_t *values, size_t n);

#endif
