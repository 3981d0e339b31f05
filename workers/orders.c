/* orders.c — the orders family: order.checkout, order.cancel, order.set_status.
 *
 * Topic "orders", key = the customer's user id, so one customer's commands
 * apply in order; different customers race only on product rows, which
 * checkout locks FOR UPDATE in ascending id order (kits with their
 * components), so two checkouts never deadlock and never oversell. The
 * products_stock_nonnegative CHECK is the last guard behind that.
 *
 * Choices (schemas/commands/shop.md documents them for clients):
 *  - a new order is `pending` with payment `paid`: the payment is captured
 *    at checkout, the shop then confirms, ships, delivers;
 *  - the price rule charges the current price when it is not above the one
 *    the customer was shown (never more than shown), else `price_changed`;
 *  - order.cancel is the owning customer's (anyone else: `not_found`, as
 *    the API answers 404 for other users' orders); an admin cancels through
 *    order.set_status {status: "cancelled"}; both restock exactly what the
 *    checkout took (its stock_movements, kit components as they were) and
 *    refund the ledger's net amount;
 *  - order.set_status moves one step at a time (shop_order_can_transition).
 * Rejections return WK_DONE with the outcome rejected (wk_rejected); txn.c
 * rolls back to its savepoint, so a rejected command changes nothing. A
 * failed statement answers with its class from wk_db_failure (db.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/money.h"
#include "common/mp.h"
#include "common/shop_rules.h"
#include "common/validate.h"
#include "common/log.h"
#include "workers/db.h"
#include "workers/payments.h"
#include "workers/resource.h"
#include "workers/shop.h"
#include "workers/worker.h"

/* ---- the checkout command ---- */

typedef struct {
    int64_t product_id;
    int32_t quantity;
    int64_t shown;              /* unit price the customer was shown (paise) */
} checkout_line;

typedef struct {
    checkout_line lines[SHOP_CART_MAX_LINES];
    size_t n;
    char address[512], city[128], state[128], pincode[8], phone[32];
} checkout_cmd;

static int decode_line(const msgpack_object *o, checkout_line *l)
{
    int64_t id, qty, price;
    if (!wk_field_keys_distinct(o) || wk_field_int(o, "product_id", 1, INT64_MAX, &id) != WK_FIELD_SET ||
        wk_field_int(o, "quantity", SHOP_QTY_MIN, SHOP_QTY_MAX, &qty) != WK_FIELD_SET ||
        wk_field_int(o, "unit_price", 0, MONEY_MAX_PAISE, &price) != WK_FIELD_SET)
        return -1;
    *l = (checkout_line){.product_id = id, .quantity = (int32_t)qty, .shown = price};
    return 0;
}

static int decode_lines(const msgpack_object *p, checkout_cmd *c)
{
    const msgpack_object *a = pk_mp_get(p, "lines");
    if (!a || a->type != MSGPACK_OBJECT_ARRAY || !shop_cart_size_valid(a->via.array.size))
        return -1;
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        if (decode_line(&a->via.array.ptr[i], &c->lines[i]) != 0)
            return -1;
        for (uint32_t j = 0; j < i; j++)   /* a cart holds each product once */
            if (c->lines[j].product_id == c->lines[i].product_id)
                return -1;
    }
    c->n = a->via.array.size;
    return 0;
}

static int decode_checkout(const msgpack_object *p, checkout_cmd *c)
{
    memset(c, 0, sizeof(*c));
    if (!wk_field_keys_distinct(p) || decode_lines(p, c) != 0 ||
        wk_field_text(p, "shipping_address", 1, c->address, sizeof(c->address)) != WK_FIELD_SET ||
        wk_field_line(p, "shipping_city", 1, c->city, sizeof(c->city)) != WK_FIELD_SET ||
        wk_field_line(p, "shipping_state", 1, c->state, sizeof(c->state)) != WK_FIELD_SET ||
        wk_field_line(p, "shipping_pincode", 6, c->pincode, sizeof(c->pincode)) != WK_FIELD_SET ||
        wk_field_line(p, "shipping_phone", 7, c->phone, sizeof(c->phone)) != WK_FIELD_SET)
        return -1;
    return shop_pincode_valid(c->pincode) && !pk_check_phone(c->phone) ? 0 : -1;
}

/* ---- locked product rows ---- */

typedef struct {
    int64_t id;
    const char *name;           /* points into `rows` */
    bool is_kit, is_active;
    int64_t price, discount, stock;
} product_row;

typedef struct {
    PGresult *rows;             /* the FOR UPDATE result; owns the names */
    product_row *products;      /* ascending by id */
    size_t n_products;
    shop_kit_part *parts;       /* kit_components of the kit lines, read under the locks */
    size_t n_parts;
} locked_set;

static void locked_free(locked_set *s)
{
    PQclear(s->rows);
    free(s->products);
    free(s->parts);
    memset(s, 0, sizeof(*s));
}

static const product_row *find_product(const locked_set *s, int64_t id)
{
    for (size_t i = 0; i < s->n_products; i++)
        if (s->products[i].id == id)
            return &s->products[i];
    return NULL;
}

/* kit_components rows of the given kits (ids as a bigint[] literal). */
static wk_result read_parts(wk_ctx *ctx, const char *kit_ids, shop_kit_part **parts, size_t *n)
{
    const char *params[] = {kit_ids};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "kit composition",
                           "SELECT kit_id, component_id, quantity FROM kit_components"
                           " WHERE kit_id = ANY($1::bigint[]) ORDER BY kit_id, component_id",
                           1, params, &fail);
    if (!r)
        return fail;
    *n = (size_t)PQntuples(r);
    *parts = calloc(*n ? *n : 1, sizeof(**parts));
    for (size_t i = 0; i < *n; i++)
        (*parts)[i] = (shop_kit_part){wf_col_i64(r, (int)i, 0), wf_col_i64(r, (int)i, 1),
                                      (int32_t)wf_col_i64(r, (int)i, 2)};
    PQclear(r);
    return WK_DONE;
}

/* Locks every row in `ids` in ascending id order (one statement, so the
 * order is the ORDER BY's) and keeps what the checks need. */
static wk_result lock_products(wk_ctx *ctx, const char *ids, locked_set *s)
{
    const char *params[] = {ids};
    wk_result fail = WK_DONE;
    s->rows = wk_query(ctx, "lock products",
                       "SELECT id, name, product_type = 'kit', is_active, price_paise,"
                       " coalesce(discount_price_paise, -1), stock"
                       " FROM products WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
                       1, params, &fail);
    if (!s->rows)
        return fail;
    s->n_products = (size_t)PQntuples(s->rows);
    s->products = calloc(s->n_products ? s->n_products : 1, sizeof(*s->products));
    for (int i = 0; i < (int)s->n_products; i++)
        s->products[i] = (product_row){
            .id = wf_col_i64(s->rows, i, 0), .name = PQgetvalue(s->rows, i, 1),
            .is_kit = PQgetvalue(s->rows, i, 2)[0] == 't', .is_active = PQgetvalue(s->rows, i, 3)[0] == 't',
            .price = wf_col_i64(s->rows, i, 4), .discount = wf_col_i64(s->rows, i, 5),
            .stock = wf_col_i64(s->rows, i, 6)};
    return WK_DONE;
}

/* Every product id the cart touches: its lines and their kits' components. */
static char *touched_ids(const checkout_cmd *c, const shop_kit_part *parts, size_t n_parts)
{
    int64_t *ids = malloc((c->n + n_parts + 1) * sizeof(*ids));
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++)
        ids[n++] = c->lines[i].product_id;
    for (size_t i = 0; i < n_parts; i++)
        ids[n++] = parts[i].component_id;
    char *text = wk_int_array(ids, n);
    free(ids);
    return text;
}

static char *line_ids(const checkout_cmd *c)
{
    int64_t ids[SHOP_CART_MAX_LINES];
    for (size_t i = 0; i < c->n; i++)
        ids[i] = c->lines[i].product_id;
    return wk_int_array(ids, c->n);
}

/* Reads the kits' composition, locks lines + components, then re-reads the
 * composition under the kit rows' locks (product.set_kit takes the same
 * lock). A composition that changed in between names components we did not
 * lock: WK_TRANSIENT retries the whole command, which then sees the new one
 * (a race with product.set_kit, not a database failure). */
static wk_result lock_cart(wk_ctx *ctx, const checkout_cmd *c, locked_set *s)
{
    char *kits = line_ids(c);
    shop_kit_part *before = NULL;
    size_t n_before = 0;
    wk_result res = read_parts(ctx, kits, &before, &n_before);
    if (res == WK_DONE) {
        char *ids = touched_ids(c, before, n_before);
        res = lock_products(ctx, ids, s);
        if (res == WK_DONE)
            res = read_parts(ctx, kits, &s->parts, &s->n_parts);
        for (size_t i = 0; res == WK_DONE && i < s->n_parts; i++)
            if (!find_product(s, s->parts[i].component_id)) {
                pk_info(NULL, "a kit's composition changed while checkout locked it: retrying");
                res = WK_TRANSIENT;
            }
        free(ids);
    }
    free(before);
    free(kits);
    return res;
}

/* ---- verifying the cart ---- */

static void add_error(json_t **errors, int64_t product_id, const char *field, const char *message)
{
    char key[64], text[256];
    snprintf(key, sizeof(key), "items.%lld.%s", (long long)product_id, field);
    snprintf(text, sizeof(text), "%s", message);
    wk_utf8_trim(text);
    if (!*errors)
        *errors = json_object();
    json_t *list = json_object_get(*errors, key);
    if (!list)
        json_object_set_new(*errors, key, list = json_array());
    json_array_append_new(list, json_string(text));
}

/* `detail` (char[256], like the outcome's) may have been cut inside a
 * multibyte product name: trimmed to valid UTF-8 before it is stored. */
static void reject_with(wk_outcome *out, const char *code, char *detail, json_t *errors)
{
    wk_utf8_trim(detail);
    wk_reject(out, code, NULL, detail);
    out->errors = errors;
}

/* A kit is for sale only while every component is: selling it would take
 * the stock of a product the shop withdrew. */
static bool kit_components_active(const locked_set *s, int64_t kit_id)
{
    for (size_t i = 0; i < s->n_parts; i++) {
        if (s->parts[i].kit_id != kit_id)
            continue;
        const product_row *c = find_product(s, s->parts[i].component_id);
        if (!c || !c->is_active)
            return false;
    }
    return true;
}

/* Unknown and deactivated products alike (and kits with a deactivated
 * component): no longer for sale. */
static int check_available(const checkout_cmd *c, const locked_set *s, wk_outcome *out)
{
    json_t *errors = NULL;
    char detail[256] = "";
    for (size_t i = 0; i < c->n; i++) {
        int64_t id = c->lines[i].product_id;
        const product_row *p = find_product(s, id);
        if (p && p->is_active && (!p->is_kit || kit_components_active(s, id)))
            continue;
        if (!errors && p)
            snprintf(detail, sizeof(detail), "%s (product %lld) is no longer available", p->name, (long long)id);
        else if (!errors)
            snprintf(detail, sizeof(detail), "product %lld is no longer available", (long long)id);
        add_error(&errors, id, "product_id", "this product is no longer available");
    }
    if (!errors)
        return 0;
    reject_with(out, "inactive_product", detail, errors);
    return 1;
}

/* The cart as the pure rules see it (kit or not comes from the locked row). */
static void cart_lines(const checkout_cmd *c, const locked_set *s, shop_line *lines)
{
    for (size_t i = 0; i < c->n; i++)
        lines[i] = (shop_line){c->lines[i].product_id, c->lines[i].quantity,
                               find_product(s, c->lines[i].product_id)->is_kit};
}

static bool kit_is_empty(const locked_set *s, int64_t kit_id)
{
    for (size_t i = 0; i < s->n_parts; i++)
        if (s->parts[i].kit_id == kit_id)
            return false;
    return true;
}

/* Errors on every line that draws on the short product, so a client can
 * mark each affected cart line; the detail names the first short product. */
static void short_errors(const shop_need *need, const char *name, const shop_line *lines, size_t n,
                         const locked_set *s, json_t **errors, char *detail, size_t cap)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "%s: %lld needed, %lld in stock", name, (long long)need->need, (long long)need->stock);
    if (!*errors)
        snprintf(detail, cap, "Out of stock: %s: %lld needed, %lld in stock", name, (long long)need->need,
                 (long long)need->stock);   /* for people; `errors` names the product id */
    for (size_t i = 0; i < n; i++)
        if (shop_line_uses(&lines[i], s->parts, s->n_parts, need->product_id))
            add_error(errors, lines[i].product_id, "quantity", msg);
}

/* Sums the cart's needs per product (kits expanded) and compares them with
 * the locked stock. On success `needs` holds what to decrement. */
static int check_stock(const checkout_cmd *c, const locked_set *s, shop_need *needs, size_t *n_needs, wk_outcome *out)
{
    shop_line lines[SHOP_CART_MAX_LINES];
    cart_lines(c, s, lines);
    json_t *errors = NULL;
    char detail[256] = "";
    for (size_t i = 0; i < c->n; i++) {
        if (lines[i].is_kit && kit_is_empty(s, lines[i].product_id)) {
            const char *name = find_product(s, lines[i].product_id)->name;
            if (!errors)
                snprintf(detail, sizeof(detail), "Out of stock: %s has no components yet", name);
            add_error(&errors, lines[i].product_id, "quantity", "this kit cannot be sold yet");
        }
    }
    *n_needs = shop_cart_needs(lines, c->n, s->parts, s->n_parts, needs);
    for (size_t i = 0; i < *n_needs; i++)
        needs[i].stock = find_product(s, needs[i].product_id)->stock;
    for (size_t i = 0; i < *n_needs; i++)
        if (needs[i].need > needs[i].stock)
            short_errors(&needs[i], find_product(s, needs[i].product_id)->name, lines, c->n, s, &errors, detail,
                         sizeof(detail));
    if (!errors)
        return 0;
    reject_with(out, "out_of_stock", detail, errors);
    return 1;
}

/* The price rule per line; charge[i] is what line i costs per unit. */
static int check_prices(const checkout_cmd *c, const locked_set *s, int64_t *charge, wk_outcome *out)
{
    json_t *errors = NULL;
    char detail[256] = "";
    for (size_t i = 0; i < c->n; i++) {
        const product_row *p = find_product(s, c->lines[i].product_id);
        int64_t current = shop_unit_price(p->price, p->discount);
        if (shop_check_price(c->lines[i].shown, current, &charge[i]) == SHOP_PRICE_OK)
            continue;
        char now[MONEY_FMT_CAP], shown[MONEY_FMT_CAP], msg[160];
        money_format(current, now, sizeof(now));
        money_format(c->lines[i].shown, shown, sizeof(shown));
        snprintf(msg, sizeof(msg), "the price is now %s (you were shown %s)", now, shown);
        if (!errors)
            snprintf(detail, sizeof(detail), "The price of %s (product %lld) rose from %s to %s", p->name,
                     (long long)p->id, shown, now);
        add_error(&errors, p->id, "unit_price", msg);
    }
    if (!errors)
        return 0;
    reject_with(out, "price_changed", detail, errors);
    return 1;
}

/* ---- the order as the API shows it ---- */

/* Reads the order back with its items (PK_ORDER_JSON, resource.h), so
 * every command answers with what GET /api/orders/{id}/ renders. */
static wk_result applied_order(wk_ctx *ctx, int64_t order_id, int http_status, wk_outcome *out)
{
    return wk_applied_resource(ctx, out, http_status, WK_RES_ORDER, order_id, order_id);
}

/* ---- creating the order ---- */

typedef struct {
    int64_t id, subtotal, shipping, total;
    char number[SHOP_ORDER_NUMBER_CAP];
} order_totals;

/* A replay takes the recorded id (the order number derives from it). */
static wk_result next_order_id(wk_ctx *ctx, int64_t *id)
{
    char replay[24];
    const char *params[] = {wk_new_id(ctx, "order", replay)};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "order id", "SELECT " WK_NEW_ID("$1", "orders"), 1, params, &fail);
    if (!r)
        return fail;
    *id = wf_col_i64(r, 0, 0);
    PQclear(r);
    return WK_DONE;
}

/* The id is drawn first because the order number is derived from it.
 * The row is written once, with its final status: pending (the shop has
 * yet to confirm it) and paid. That is no guess (payments.h): capture()
 * writes the ledger row in this same transaction, and if it fails the
 * whole command rolls back, so no committed order is paid without its
 * capture. (It was inserted payment `pending` and updated `paid` after the
 * capture: two writes of one row, the same state at commit — issue 16.) */
static wk_result insert_order(wk_ctx *ctx, const pk_envelope_decoded *cmd, const checkout_cmd *c, order_totals *t)
{
    wk_result res = next_order_id(ctx, &t->id);
    if (res != WK_DONE)
        return res;
    shop_order_number(t->id, t->number, sizeof(t->number));
    char id[24], user[24], sub[24], ship[24], total[24], ts[40];
    wf_itoa(t->id, id);
    wf_itoa(cmd->env.actor_id, user);
    wf_itoa(t->subtotal, sub);
    wf_itoa(t->shipping, ship);
    wf_itoa(t->total, total);
    wk_timestamp(cmd->env.issued_at_us, ts);
    const char *params[] = {id, user, t->number, sub, ship, total, c->address, c->city, c->state, c->pincode,
                            c->phone, ts};
    return wk_write(ctx, "insert order",
                    "INSERT INTO orders (id, user_id, order_number, status, payment_status, subtotal_paise,"
                    " shipping_paise, total_paise, shipping_address, shipping_city, shipping_state,"
                    " shipping_pincode, shipping_phone, created_at, updated_at)"
                    " VALUES ($1, $2, $3, 'pending', 'paid', $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
                    12, params);
}

/* The new item ids in cart line order (a cart holds each product once),
 * which is the order a replay hands the recorded ids out in. */
static void record_items(const checkout_cmd *c, PGresult *r, wk_outcome *out)
{
    for (size_t i = 0; i < c->n; i++)
        for (int row = 0; row < PQntuples(r); row++)
            if (wf_col_i64(r, row, 1) == c->lines[i].product_id)
                wk_created_append(out, "order_items", wf_col_i64(r, row, 0));
}

/* Lines with the product name as it is now (the row is locked), so later
 * catalog edits never rewrite what was bought. Item ids go to created_ids. */
static wk_result insert_items(wk_ctx *ctx, const checkout_cmd *c, const int64_t *charge, int64_t order_id,
                              wk_outcome *out)
{
    int64_t ids[SHOP_CART_MAX_LINES], qty[SHOP_CART_MAX_LINES];
    for (size_t i = 0; i < c->n; i++) {
        ids[i] = c->lines[i].product_id;
        qty[i] = c->lines[i].quantity;
    }
    char order[24];
    wf_itoa(order_id, order);
    char *pids = wk_int_array(ids, c->n), *units = wk_int_array(charge, c->n), *qtys = wk_int_array(qty, c->n);
    char *replay = wk_new_ids(ctx, out, "order_items", c->n);
    const char *params[] = {order, pids, units, qtys, replay};
    wk_result res = WK_DONE;
    PGresult *r = wk_query(ctx, "insert order items",
                           "INSERT INTO order_items (id, order_id, product_id, product_name, unit_price_paise,"
                           " quantity, line_total_paise)"
                           " SELECT " WK_NEW_IDS("$5", "l.ord", "order_items") ","
                           "   $1, l.product_id, p.name, l.unit, l.qty, l.unit * l.qty"
                           " FROM unnest($2::bigint[], $3::bigint[], $4::int[])"
                           "   WITH ORDINALITY AS l(product_id, unit, qty, ord)"
                           " JOIN products p ON p.id = l.product_id ORDER BY l.ord RETURNING id, product_id",
                           5, params, &res);
    free(pids);
    free(units);
    free(qtys);
    free(replay);
    if (!r)
        return res;
    if (PQntuples(r) == (int)c->n) {
        record_items(c, r, out);
    } else {   /* every product row is locked: one cannot have gone */
        pk_error(NULL, "order %s: %d of %zu items inserted", order, PQntuples(r), c->n);
        res = WK_POISON;
    }
    PQclear(r);
    return res;
}

static wk_result take_stock(wk_ctx *ctx, const pk_envelope_decoded *cmd, const shop_need *needs, size_t n,
                            int64_t order_id, wk_outcome *out, bool *short_of_stock)
{
    int64_t *ids = malloc((n + 1) * sizeof(*ids)), *deltas = malloc((n + 1) * sizeof(*deltas));
    for (size_t i = 0; i < n; i++) {
        ids[i] = needs[i].product_id;
        deltas[i] = -needs[i].need;
    }
    wk_result res = wk_stock_apply(ctx, ids, deltas, n, "checkout", order_id, cmd, out, short_of_stock);
    free(ids);
    free(deltas);
    return res;
}

/* Captures the total through the gateway seam, after the order row (the
 * ledger row references it), which insert_order wrote already paid. */
static wk_result capture(wk_ctx *ctx, const pk_envelope_decoded *cmd, const order_totals *t, wk_outcome *out)
{
    char command_id[40], ts[40];
    wf_command_id(cmd, command_id);
    wk_timestamp(cmd->env.issued_at_us, ts);
    wk_payment pay = {PAY_ORDER, t->id, "order", t->total, command_id, ts, out};
    return wk_gateway_current()->capture(ctx, &pay);
}

static void compute_totals(const checkout_cmd *c, const int64_t *charge, order_totals *t)
{
    t->subtotal = 0;
    for (size_t i = 0; i < c->n; i++)
        t->subtotal += charge[i] * c->lines[i].quantity;
    t->shipping = shop_shipping(t->subtotal);
    t->total = t->subtotal + t->shipping;
}

static wk_result create_order(wk_ctx *ctx, const pk_envelope_decoded *cmd, const checkout_cmd *c,
                              const int64_t *charge, const shop_need *needs, size_t n_needs, wk_outcome *out)
{
    order_totals t;
    compute_totals(c, charge, &t);
    wk_result res = insert_order(ctx, cmd, c, &t);
    if (res != WK_DONE)
        return res;
    wk_created(out, "order", t.id);
    bool short_of_stock = false;
    if ((res = insert_items(ctx, c, charge, t.id, out)) != WK_DONE ||
        (res = take_stock(ctx, cmd, needs, n_needs, t.id, out, &short_of_stock)) != WK_DONE)
        return res;
    if (short_of_stock) {   /* cannot happen under our locks; the CHECK says so if it ever does */
        wk_reject(out, "out_of_stock", NULL, "a product ran out of stock");
        return WK_DONE;
    }
    res = capture(ctx, cmd, &t, out);
    return res == WK_DONE ? applied_order(ctx, t.id, 201, out) : res;
}

/* ---- order.checkout ---- */

/* Only an active user orders; anyone else is rejected forbidden. */
static wk_result require_user(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    bool active = false;
    wk_result res = WK_DONE;
    if (cmd->env.actor_id > 0) {
        char id[24];
        wf_itoa(cmd->env.actor_id, id);
        res = wk_row_exists(ctx, "orderer", "SELECT 1 FROM users WHERE id = $1 AND is_active", id, &active);
    }
    if (res == WK_DONE && !active)
        wk_reject(out, "forbidden", NULL, "sign in to place an order");
    return res;
}

/* Verifies and applies a non-empty cart under the row locks. */
static wk_result checkout_locked(wk_ctx *ctx, const pk_envelope_decoded *cmd, const checkout_cmd *c, wk_outcome *out)
{
    locked_set s = {0};
    wk_result res = lock_cart(ctx, c, &s);
    if (res != WK_DONE) {
        locked_free(&s);
        return res;
    }
    size_t cap = c->n + s.n_parts, n_needs = 0;
    shop_need *needs = malloc((cap ? cap : 1) * sizeof(*needs));
    int64_t charge[SHOP_CART_MAX_LINES];
    if (!check_available(c, &s, out) && !check_stock(c, &s, needs, &n_needs, out) && !check_prices(c, &s, charge, out))
        res = create_order(ctx, cmd, c, charge, needs, n_needs, out);
    free(needs);
    locked_free(&s);
    return res;
}

wk_result wk_order_checkout(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    checkout_cmd c;
    if (decode_checkout(cmd->payload, &c) != 0)
        return WK_POISON;
    wk_result res = require_user(ctx, cmd, out);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    if (c.n == 0) {
        wk_reject(out, "empty_cart", NULL, "the cart is empty");
        return WK_DONE;
    }
    return checkout_locked(ctx, cmd, &c, out);
}

/* ---- order.cancel and order.set_status ---- */

typedef struct {
    int64_t user_id;
    shop_order_status status;
} order_row;

/* Locks the order row. Its user and status in *o, *found = 0 when missing. */
static wk_result lock_order(wk_ctx *ctx, int64_t order_id, order_row *o, bool *found)
{
    char id[24];
    wf_itoa(order_id, id);
    const char *params[] = {id};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "lock order", "SELECT user_id, status FROM orders WHERE id = $1 FOR UPDATE", 1, params,
                           &fail);
    if (!r)
        return fail;
    *found = PQntuples(r) == 1;
    if (*found)
        *o = (order_row){wf_col_i64(r, 0, 0), shop_order_status_parse(PQgetvalue(r, 0, 1))};
    PQclear(r);
    return WK_DONE;
}

/* Puts back exactly what the checkout took: the net of the order's stock
 * movements per product (kit components as they were at checkout). */
static wk_result restock(wk_ctx *ctx, const pk_envelope_decoded *cmd, int64_t order_id, wk_outcome *out)
{
    char id[24];
    wf_itoa(order_id, id);
    const char *params[] = {id};
    wk_result res = WK_DONE;
    PGresult *r = wk_query(ctx, "order stock movements",
                           "SELECT product_id, -sum(delta) FROM stock_movements WHERE order_id = $1"
                           " GROUP BY product_id HAVING sum(delta) <> 0 ORDER BY product_id",
                           1, params, &res);
    if (!r)
        return res;
    size_t n = (size_t)PQntuples(r);
    int64_t *ids = malloc((n + 1) * sizeof(*ids)), *deltas = malloc((n + 1) * sizeof(*deltas));
    for (size_t i = 0; i < n; i++) {
        ids[i] = wf_col_i64(r, (int)i, 0);
        deltas[i] = wf_col_i64(r, (int)i, 1);
    }
    PQclear(r);
    char *id_list = wk_int_array(ids, n);
    const char *lock_params[] = {id_list};
    r = wk_query(ctx, "lock restocked products",
                 "SELECT id FROM products WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE", 1, lock_params, &res);
    bool short_of_stock = false;
    if (r)
        res = wk_stock_apply(ctx, ids, deltas, n, "cancel", order_id, cmd, out, &short_of_stock);
    if (res == WK_DONE && short_of_stock) {   /* only adds stock: the CHECK cannot refuse it */
        pk_error(NULL, "order %s: restocking was refused by the stock check", id);
        res = WK_POISON;
    }
    PQclear(r);
    free(id_list);
    free(ids);
    free(deltas);
    return res;
}

/* Refunds whatever the ledger still holds for the order; *refunded says
 * whether there was anything. */
static wk_result refund(wk_ctx *ctx, const pk_envelope_decoded *cmd, int64_t order_id, wk_outcome *out,
                        bool *refunded)
{
    int64_t net = 0;
    wk_result res = wk_payments_net(ctx, PAY_ORDER, order_id, &net);
    *refunded = res == WK_DONE && net > 0;
    if (!*refunded)
        return res;
    char command_id[40], ts[40];
    wf_command_id(cmd, command_id);
    wk_timestamp(cmd->env.issued_at_us, ts);
    wk_payment pay = {PAY_ORDER, order_id, "refund", net, command_id, ts, out};
    return wk_gateway_current()->refund(ctx, &pay);
}

static wk_result set_status(wk_ctx *ctx, const pk_envelope_decoded *cmd, int64_t order_id, shop_order_status to,
                            bool refunded)
{
    char id[24], ts[40];
    wf_itoa(order_id, id);
    wk_timestamp(cmd->env.issued_at_us, ts);
    const char *params[] = {id, shop_order_status_name(to), ts, refunded ? "refunded" : NULL};
    return wk_write(ctx, "order status",
                    "UPDATE orders SET status = $2, payment_status = coalesce($4, payment_status),"
                    " updated_at = greatest(updated_at, $3::timestamptz) WHERE id = $1",
                    4, params);
}

static void reject_transition(wk_outcome *out, shop_order_status from, shop_order_status to)
{
    char msg[128];
    snprintf(msg, sizeof(msg), "an order that is %s cannot become %s", shop_order_status_name(from),
             shop_order_status_name(to));
    wk_reject(out, "invalid_transition", "status", msg);
}

/* The order row is locked. Before it ships: restock, refund, cancelled. */
static wk_result cancel_locked(wk_ctx *ctx, const pk_envelope_decoded *cmd, int64_t order_id,
                               const order_row *o, wk_outcome *out)
{
    if (!shop_order_can_transition(o->status, ORDER_CANCELLED)) {
        reject_transition(out, o->status, ORDER_CANCELLED);
        return WK_DONE;
    }
    bool refunded = false;
    wk_result res = restock(ctx, cmd, order_id, out);
    if (res == WK_DONE)
        res = refund(ctx, cmd, order_id, out, &refunded);
    if (res == WK_DONE)
        res = set_status(ctx, cmd, order_id, ORDER_CANCELLED, refunded);
    return res == WK_DONE ? applied_order(ctx, order_id, 200, out) : res;
}

static int decode_order_id(const msgpack_object *p, int64_t *id)
{
    char reason[520];
    /* reason is optional free text; the journal keeps it with the envelope */
    return wk_field_keys_distinct(p) && wk_field_int(p, "order_id", 1, INT64_MAX, id) == WK_FIELD_SET &&
                   wk_field_text(p, "reason", 0, reason, sizeof(reason)) != WK_FIELD_BAD
               ? 0
               : -1;
}

wk_result wk_order_cancel(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    int64_t order_id;
    if (decode_order_id(cmd->payload, &order_id) != 0)
        return WK_POISON;
    order_row o;
    bool found = false;
    wk_result res = lock_order(ctx, order_id, &o, &found);
    if (res != WK_DONE)
        return res;
    /* Someone else's order does not exist, as far as this customer knows. */
    if (!found || cmd->env.actor_id <= 0 || o.user_id != cmd->env.actor_id) {
        wk_reject(out, "not_found", NULL, "no such order");
        return WK_DONE;
    }
    return cancel_locked(ctx, cmd, order_id, &o, out);
}

wk_result wk_order_set_status(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    int64_t order_id;
    char status[16];
    if (decode_order_id(cmd->payload, &order_id) != 0 ||
        wk_field_text(cmd->payload, "status", 1, status, sizeof(status)) != WK_FIELD_SET)
        return WK_POISON;
    shop_order_status to = shop_order_status_parse(status);
    if (to == ORDER_INVALID)
        return WK_POISON;
    order_row o;
    bool found = false;
    wk_result res = wf_require_admin_for(ctx, cmd, out, WK_SHOP_ADMIN_ONLY);
    if (res == WK_DONE && !wk_rejected(out))
        res = lock_order(ctx, order_id, &o, &found);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    if (!found) {
        wk_reject(out, "not_found", NULL, "no such order");
        return WK_DONE;
    }
    if (to == ORDER_CANCELLED)
        return cancel_locked(ctx, cmd, order_id, &o, out);
    if (!shop_order_can_transition(o.status, to)) {
        reject_transition(out, o.status, to);
        return WK_DONE;
    }
    res = set_status(ctx, cmd, order_id, to, false);
    return res == WK_DONE ? applied_order(ctx, order_id, 200, out) : res;
}
