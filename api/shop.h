/* shop.h — what the shop's resource files share (catalog.c, cart.c,
 * orders.c, admin_catalog.c): the Redis cart.
 *
 * How a product, a category and an order are shown is common/shapes.h
 * (PK_PRODUCT_JSON with PK_PRODUCT_AVAIL_JOIN, PK_CATEGORY_JSON,
 * PK_ORDER_JSON), which the worker's outcomes use too, so a GET and a
 * command outcome show the same object: money as decimal strings, `stock`
 * derived for kits (min over the components of floor(stock / quantity); a
 * kit's own stock column is always 0) and, for kits only, `components`.
 *
 * The cart (DESIGN §3, §4) lives in Redis, one hash per user, named by the
 * session's user id only — nobody can name someone else's cart:
 *   punyaka:cart:<uid>          field <product id> = "<quantity>:<shown paise>"
 *   punyaka:cart:<uid>:pending  zset of checkout command ids (score: ms) whose
 *                               outcome this API has not seen yet (a 202)
 *   punyaka:cart:<uid>:done     zset of checkout command ids whose lines were
 *                               already removed (so a replayed outcome — an
 *                               Idempotency-Key retry — never removes twice)
 *   punyaka:cart:<uid>:gen      the cart's generation: a random id when first
 *                               read, then the id of the last checkout whose
 *                               outcome the cart has taken in (applied or not)
 * "Shown paise" is the unit price the customer agreed to when the line was
 * added or last updated; checkout sends it as the line's `unit_price`, so a
 * price raised since is rejected `price_changed` and a price dropped since
 * is passed on (shop_check_price()). All four keys slide: 30 days after
 * the last read or write.
 *
 * Double submits: a checkout without Idempotency-Key takes as its intent
 * "this generation of the cart with exactly these lines", so a second click
 * while the first is in flight is the same command (one order, both
 * answered with it). Once a checkout's outcome is taken in, the generation
 * changes, so checking out the same lines again after a rejection (say,
 * out_of_stock, then a restock) is a new command. */
#ifndef PUNYAKA_API_SHOP_H
#define PUNYAKA_API_SHOP_H

#include <stdint.h>
#include <h2o.h>
#include <jansson.h>
#include "api/reads.h"
#include "api/users.h"
#include "common/shop_rules.h"
#include "common/uuid.h"

/* ---- the cart (cart.c) ---- */

typedef struct {
    int64_t product_id;
    int32_t quantity;
    int64_t shown_paise;   /* the unit price agreed when added / last updated */
} api_cart_line;

typedef struct {
    api_cart_line lines[SHOP_CART_MAX_LINES];
    size_t n;
    int64_t user_id;                        /* its owner; also the cart's id */
    char generation[PK_UUID_STR_LEN + 1];   /* "" when Redis had none */
} api_cart;

/* Loads the caller's cart, first removing the lines of earlier checkouts
 * whose outcome arrived after their request was answered (202): those are
 * looked up in PostgreSQL. `cart` is NULL when Redis or PostgreSQL failed;
 * otherwise it lives until the callback returns. Never calls back after
 * the client went away, so `data` must not need freeing: allocate it from
 * req->pool. */
typedef void (*api_cart_cb)(h2o_req_t *req, const api_cart *cart, void *data);
void api_cart_load(h2o_req_t *req, int64_t user_id, api_cart_cb cb, void *data);

/* A checkout command was published: remember it, so a later load can
 * reconcile the cart when this request never sees the outcome. */
void api_cart_checkout_pending(h2o_req_t *req, int64_t user_id, const char *command_id);

/* The checkout `command_id` was rejected: the cart takes in that outcome
 * (the id leaves `pending` and a new generation starts; no line changes),
 * so checking out the same lines again is a new command even when the
 * pending entry was never written. Then answers the rejection (`outcome`,
 * the outcome message, is borrowed). */
void api_cart_reject_and_reply(h2o_req_t *req, int64_t user_id, const char *command_id, json_t *outcome);

/* The checkout `command_id` was applied: removes the ordered lines listed in
 * the order resource's `items` (product, quantity) — each only if its
 * quantity is still the one ordered, so lines added or changed meanwhile
 * stay — at most once per command id. Then answers `status` with the order
 * (`order` is borrowed; its text is copied before anything waits). */
void api_cart_consume_and_reply(h2o_req_t *req, int64_t user_id, const char *command_id, json_t *order,
                                int status);

/* Answers 200 with the cart as GET /api/cart/ shows it. */
void api_cart_reply(h2o_req_t *req, int64_t user_id);

#endif
