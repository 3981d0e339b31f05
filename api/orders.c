/* orders.c — checkout and orders over HTTP (DESIGN §4 Stock, §5):
 *   POST /api/orders/checkout/            order.checkout   customer, priest
 *   POST /api/orders/                     order.checkout   the seed frontend's checkout (below)
 *   GET  /api/orders/?status=&page=       own orders (admin: everyone's)
 *   GET  /api/orders/{id}/                own order (admin: any), else 404
 *   POST /api/orders/{id}/cancel/         order.cancel     the order's owner  {reason?}
 *   POST /api/admin/orders/{id}/status/   order.set_status admin            {status}
 * Commands go to topic "orders" keyed by the order's user id, so one
 * customer's checkout, cancel and status changes apply in order
 * (schemas/commands/shop.md).
 *
 * Checkout snapshots the Redis cart into the command: each line's product,
 * quantity and the unit price the customer agreed to (api/shop.h). The
 * worker alone decides — all or nothing, rows locked in id order — and
 * answers 201 with the order, or out_of_stock / price_changed /
 * inactive_product / empty_cart. Only an applied checkout touches the
 * cart's lines: the hook removes exactly the ordered ones (lines added or
 * changed meanwhile stay) and then answers; a rejection leaves the lines as
 * they were but starts a new cart generation before it is answered. When the answer is a 202 (the worker was
 * slower than Prefer: wait), the next read of the cart removes the lines.
 *
 * A second click on "place order" while the first is in flight must not
 * order twice: without an Idempotency-Key the command id is derived from
 * the cart's generation and its exact lines (intent_of(), api/shop.h), so
 * both requests are one command and get the same order.
 *
 * An empty cart is refused here (422 empty_cart, nothing published) —
 * except with an Idempotency-Key: a retry of a checkout that already
 * emptied the cart must get that checkout's answer, which only the command
 * log has, so it is published under the same command id and the worker
 * answers with the stored outcome (or empty_cart when there was none). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/command.h"
#include "api/http.h"
#include "api/pg.h"
#include "api/routes.h"
#include "api/shop.h"
#include "common/mp.h"
#include "common/uuid.h"
#include "common/validate.h"

#define ADDRESS_MAX 511   /* the worker's limits (schemas/commands/shop.md) */
#define CITY_MAX 127
#define REASON_MAX 519

static int is_admin(const api_match *m)
{
    return api_role_bit(m->session->role) == ROLE_ADMIN;
}


/* ---- checkout ---- */

typedef struct {
    int64_t user_id;
    char role[16];
    char command_id[PK_UUID_STR_LEN + 1];   /* known once published */
    bool has_idempotency_key;
    char address[ADDRESS_MAX + 1], city[CITY_MAX + 1], state[CITY_MAX + 1], pincode[8], phone[32];
} checkout_ctx;   /* from req->pool: lives exactly as long as the request */

/* Required text of 1..max bytes; NULL message when fine (copied into out).
 * check: pk_check_text (multi-line) or pk_check_line, as the worker's reader. */
static const char *text_field(json_t *body, const char *name, size_t max, char *out,
                              const char *(*check)(const char *, size_t))
{
    json_t *v = json_object_get(body, name);
    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        return "this field is required";
    if (!json_is_string(v))
        return "must be a string";
    const char *msg = check(json_string_value(v), max);
    if (msg)
        return msg;
    snprintf(out, max + 1, "%s", json_string_value(v));
    return NULL;
}

static json_t *address_errors(json_t *body, checkout_ctx *c)
{
    json_t *errors = json_object();
    const char *msg;
    if ((msg = text_field(body, "shipping_address", ADDRESS_MAX, c->address, pk_check_text)))
        api_field_error(errors, "shipping_address", msg);
    if ((msg = text_field(body, "shipping_city", CITY_MAX, c->city, pk_check_line)))
        api_field_error(errors, "shipping_city", msg);
    if ((msg = text_field(body, "shipping_state", CITY_MAX, c->state, pk_check_line)))
        api_field_error(errors, "shipping_state", msg);
    if ((msg = text_field(body, "shipping_pincode", sizeof(c->pincode) - 1, c->pincode, pk_check_line)) ||
        !shop_pincode_valid(c->pincode))
        api_field_error(errors, "shipping_pincode", msg ? msg : "must be a 6-digit PIN code");
    if ((msg = text_field(body, "shipping_phone", sizeof(c->phone) - 1, c->phone, pk_check_line)) ||
        (msg = pk_check_phone(c->phone)))
        api_field_error(errors, "shipping_phone", msg);
    return errors;
}

static void on_checkout_applied(h2o_req_t *req, json_t *resource, int status, void *data)
{
    checkout_ctx *c = data;
    api_cart_consume_and_reply(req, c->user_id, c->command_id, resource, status);
}

static void on_checkout_rejected(h2o_req_t *req, json_t *outcome, void *data)
{
    checkout_ctx *c = data;
    api_cart_reject_and_reply(req, c->user_id, c->command_id, outcome);
}

static void pack_checkout(msgpack_sbuffer *sb, const api_cart *cart, const checkout_ctx *c)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    pk_mp_pack_cstr(&pk, "lines");
    msgpack_pack_array(&pk, cart->n);
    for (size_t i = 0; i < cart->n; i++) {
        msgpack_pack_map(&pk, 3);
        pk_mp_kv_i64(&pk, "product_id", cart->lines[i].product_id);
        pk_mp_kv_i64(&pk, "quantity", cart->lines[i].quantity);
        pk_mp_kv_i64(&pk, "unit_price", cart->lines[i].shown_paise);
    }
    pk_mp_kv_str(&pk, "shipping_address", c->address);
    pk_mp_kv_str(&pk, "shipping_city", c->city);
    pk_mp_kv_str(&pk, "shipping_state", c->state);
    pk_mp_kv_str(&pk, "shipping_pincode", c->pincode);
    pk_mp_kv_str(&pk, "shipping_phone", c->phone);
}

static int by_product(const void *a, const void *b)
{
    int64_t x = ((const api_cart_line *)a)->product_id, y = ((const api_cart_line *)b)->product_id;
    return (x > y) - (x < y);
}

/* "<generation>|pid:qty:shown,…" with the lines in product order (Redis
 * hashes promise no order); NULL when the cart has no generation. */
static const char *intent_of(h2o_req_t *req, const api_cart *cart)
{
    if (!cart->generation[0] || cart->n == 0)
        return NULL;
    api_cart_line sorted[SHOP_CART_MAX_LINES];
    memcpy(sorted, cart->lines, cart->n * sizeof(*sorted));
    qsort(sorted, cart->n, sizeof(*sorted), by_product);
    size_t cap = sizeof(cart->generation) + cart->n * 64, len;
    char *out = h2o_mem_alloc_pool(&req->pool, cap);
    len = (size_t)snprintf(out, cap, "%s|", cart->generation);
    for (size_t i = 0; i < cart->n && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%lld:%d:%lld,", (long long)sorted[i].product_id,
                                (int)sorted[i].quantity, (long long)sorted[i].shown_paise);
    return out;
}

static void on_cart_for_checkout(h2o_req_t *req, const api_cart *cart, void *data)
{
    checkout_ctx *c = data;
    if (!cart) {
        api_reply_problem(req, 503, "redis_unavailable", "Service unavailable", "the cart is unavailable", NULL);
        return;
    }
    if (cart->n == 0 && !c->has_idempotency_key) {
        api_reply_problem(req, 422, "empty_cart", "Empty cart", "the cart is empty", NULL);
        return;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pack_checkout(&sb, cart, c);
    api_command cmd = {.type = "order.checkout", .key_ids = {.order_owner_id = c->user_id}, .actor_id = c->user_id,
                       .actor_role = c->role, .payload = &sb, .intent_key = intent_of(req, cart),
                       .on_applied = on_checkout_applied, .on_rejected = on_checkout_rejected, .hook_data = c,
                       .id_out = c->command_id};
    api_command_submit(req, &cmd);
    msgpack_sbuffer_destroy(&sb);
    if (c->command_id[0])
        api_cart_checkout_pending(req, c->user_id, c->command_id);
}

static checkout_ctx *checkout_new(h2o_req_t *req, const api_match *m)
{
    checkout_ctx *c = h2o_mem_alloc_pool(&req->pool, sizeof(*c));
    memset(c, 0, sizeof(*c));
    c->user_id = m->session->user_id;
    snprintf(c->role, sizeof(c->role), "%s", m->session->role);
    c->has_idempotency_key = api_header(req, "idempotency-key").len > 0;
    return c;
}

/* Validates the address fields of `body` (errors already found come
 * first), then checks the cart out. Takes both references. */
static void checkout_with(h2o_req_t *req, checkout_ctx *c, json_t *body, json_t *errors)
{
    json_t *more = address_errors(body, c);
    json_object_update_missing(errors, more);
    json_decref(more);
    json_decref(body);
    if (json_object_size(errors)) {
        api_reply_problem(req, 422, "validation_error", "Invalid shipping address", "some fields are invalid",
                          errors);
        return;
    }
    json_decref(errors);
    api_cart_load(req, c->user_id, on_cart_for_checkout, c);
}

int api_orders_checkout(h2o_req_t *req, const api_match *m)
{
    json_t *body = api_json_body_or_reply(req);
    if (body)
        checkout_with(req, checkout_new(req, m), body, json_object());
    return 0;
}

/* ---- POST /api/orders/: the seed frontend's checkout (issue 15) ----
 * {shipping_address[, cart_id]}: one line of address, where ours has five
 * fields. The worker needs a city, a state and a PIN to ship, so they are
 * taken from the line ("12 MG Road, Pune, Maharashtra 411001",
 * shop_split_address_line) and the phone from the caller's account; any of
 * our fields sent beside the line are used as sent. Then it is our
 * checkout: the same command, the same validation. */

/* cart_id: absent, null, or the caller's cart id (a JSON integer or its digits). */
static void seed_cart_id(json_t *body, json_t *errors, int64_t user_id)
{
    json_t *v = json_object_get(body, "cart_id");
    char mine[24];
    snprintf(mine, sizeof(mine), "%lld", (long long)user_id);
    if (!v || json_is_null(v) || (json_is_integer(v) && json_integer_value(v) == user_id) ||
        (json_is_string(v) && strcmp(json_string_value(v), mine) == 0))
        return;
    api_field_error(errors, "cart_id", "no such cart: your cart's id is in GET /api/cart/");
}

static void seed_address_line(json_t *body, json_t *errors)
{
    const char *line = json_string_value(json_object_get(body, "shipping_address"));
    char city[CITY_MAX + 1], state[CITY_MAX + 1], pin[7];
    if (!line || json_object_get(body, "shipping_city") || json_object_get(body, "shipping_state") ||
        json_object_get(body, "shipping_pincode"))
        return;   /* our dialect, or nothing to split: address_errors() says what is missing */
    if (shop_split_address_line(line, city, state, sizeof(city), pin) != 0) {
        api_field_error(errors, "shipping_address",
                        "write it as street, city, state and 6-digit PIN: \"12 MG Road, Pune, Maharashtra 411001\"");
        return;
    }
    json_object_set_new(body, "shipping_city", json_string(city));
    json_object_set_new(body, "shipping_state", json_string(state));
    json_object_set_new(body, "shipping_pincode", json_string(pin));
}

typedef struct {
    api_async async;   /* first */
    checkout_ctx *c;   /* req->pool: touched only while the request lives */
    json_t *body, *errors;
} phone_ctx;

static void on_account_phone(void *ctx, const PGresult *res, const char *err)
{
    phone_ctx *p = ctx;
    h2o_req_t *req = p->async.req;
    if (!req) {
        json_decref(p->body);
        json_decref(p->errors);
    } else if (err || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        json_decref(p->body);
        json_decref(p->errors);
        api_reply_db_unavailable(req);
    } else {
        if (PQgetisnull(res, 0, 0) || !*PQgetvalue(res, 0, 0))
            api_field_error(p->errors, "shipping_phone",
                            "this field is required: send it, or add a phone number to your account");
        else
            json_object_set_new(p->body, "shipping_phone", json_string(PQgetvalue(res, 0, 0)));
        checkout_with(req, p->c, p->body, p->errors);
    }
    api_async_free(&p->async);
}

int api_orders_create(h2o_req_t *req, const api_match *m)
{
    json_t *body = api_json_body_or_reply(req);
    if (!body)
        return 0;
    checkout_ctx *c = checkout_new(req, m);
    json_t *errors = json_object();
    seed_cart_id(body, errors, c->user_id);
    seed_address_line(body, errors);
    json_object_del(body, "cart_id");
    if (json_object_get(body, "shipping_phone")) {
        checkout_with(req, c, body, errors);
        return 0;
    }
    phone_ctx *p = api_async_new(req, sizeof(*p));
    p->c = c;
    p->body = body;
    p->errors = errors;
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)c->user_id);
    const char *params[] = {id};
    if (api_pg_query_for(api_thread_of(req)->pg, &p->async, "SELECT phone FROM users WHERE id = $1", 1, params,
                         on_account_phone, p) != 0) {
        json_decref(body);
        json_decref(errors);
        api_reply_overloaded(req);
        api_async_free(&p->async);
    }
    return 0;
}

/* ---- reads ---- */

int api_orders_list(h2o_req_t *req, const api_match *m)
{
    char status[16], owner[24], limit[24], offset[24];
    api_page page;
    if (api_query_text_or_reply(req, "status", status, sizeof(status)) || api_page_or_reply(req, &page))
        return 0;
    if (*status && shop_order_status_parse(status) == ORDER_INVALID) {
        api_reply_field_error(req, "status", "must be pending, confirmed, shipped, delivered or cancelled");
        return 0;
    }
    snprintf(owner, sizeof(owner), "%lld", is_admin(m) ? 0LL : (long long)m->session->user_id);
    snprintf(limit, sizeof(limit), "%lld", (long long)page.size);
    snprintf(offset, sizeof(offset), "%lld", (long long)page.offset);
    const char *params[] = {owner, status, limit, offset};
    /* Two branches, not "$1 = 0 OR user_id = $1": the prepared statement's
     * generic plan would scan every order for every customer's list. */
    api_read_page(req, m, &page,
                  "WITH f AS (SELECT * FROM orders WHERE $1::bigint = 0 AND ($2 = '' OR status = $2)"
                  "  UNION ALL SELECT * FROM orders WHERE $1::bigint <> 0 AND user_id = $1::bigint"
                  "  AND ($2 = '' OR status = $2)),"
                  " pg AS (SELECT * FROM f ORDER BY created_at DESC, id DESC LIMIT $3::bigint OFFSET $4::bigint)"
                  " SELECT (SELECT count(*) FROM f),"
                  " coalesce((SELECT json_agg(" PK_ORDER_JSON " ORDER BY o.created_at DESC, o.id DESC)"
                  "  FROM pg o), '[]')::text",
                  4, params, API_READ_OWN);
    return 0;
}

int api_orders_show(h2o_req_t *req, const api_match *m)
{
    char id[24], owner[24];
    snprintf(id, sizeof(id), "%lld", (long long)api_param_id(m, 0));
    snprintf(owner, sizeof(owner), "%lld", is_admin(m) ? 0LL : (long long)m->session->user_id);
    const char *params[] = {id, owner};
    /* someone else's order is exactly as missing as one never placed */
    api_read_json(req, m,
                  "SELECT " PK_ORDER_JSON "::text FROM orders o"
                  " WHERE o.id = $1 AND ($2::bigint = 0 OR o.user_id = $2::bigint)",
                  2, params, API_READ_OWN, "no such order");
    return 0;
}

/* ---- cancel (owner) and status (admin): find the order's user, then publish ---- */

typedef struct {
    api_async async;
    const char *type;            /* order.cancel | order.set_status */
    int64_t order_id, actor_id;
    char role[16];
    char status[16];             /* set_status */
    char reason[REASON_MAX + 1]; /* cancel, optional */
    bool has_reason;
} order_cmd_ctx;

static void pack_order_cmd(msgpack_sbuffer *sb, const order_cmd_ctx *o)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    int set_status = strcmp(o->type, "order.set_status") == 0;
    msgpack_pack_map(&pk, 1 + (set_status || o->has_reason));
    pk_mp_kv_i64(&pk, "order_id", o->order_id);
    if (set_status)
        pk_mp_kv_str(&pk, "status", o->status);
    else if (o->has_reason)
        pk_mp_kv_str(&pk, "reason", o->reason);
}

static void on_order_owner(void *ctx, const PGresult *res, const char *err)
{
    order_cmd_ctx *o = ctx;
    h2o_req_t *req = o->async.req;
    if (req && (err || PQresultStatus(res) != PGRES_TUPLES_OK)) {
        api_reply_db_unavailable(req);
    } else if (req && PQntuples(res) == 0) {
        api_reply_problem(req, 404, "not_found", "Not found", "no such order", NULL);
    } else if (req) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        pack_order_cmd(&sb, o);
        api_command cmd = {.type = o->type, .key_ids = {.order_owner_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10)},
                           .actor_id = o->actor_id, .actor_role = o->role, .payload = &sb};
        api_command_submit(req, &cmd);
        msgpack_sbuffer_destroy(&sb);
    }
    api_async_free(&o->async);
}

/* owner > 0 scopes the lookup to that user (someone else's order ⇒ 404). */
static void lookup_and_submit(h2o_req_t *req, order_cmd_ctx *o, int64_t owner)
{
    char id[24], scope[24];
    snprintf(id, sizeof(id), "%lld", (long long)o->order_id);
    snprintf(scope, sizeof(scope), "%lld", (long long)owner);
    const char *params[] = {id, scope};
    if (api_pg_query(api_thread_of(req)->pg,
                     "SELECT user_id::text FROM orders WHERE id = $1 AND ($2::bigint = 0 OR user_id = $2::bigint)", 2,
                     params, on_order_owner, o) != 0) {
        api_reply_overloaded(req);
        api_async_free(&o->async);
    }
}

static order_cmd_ctx *order_cmd_new(h2o_req_t *req, const api_match *m, const char *type)
{
    order_cmd_ctx *o = api_async_new(req, sizeof(*o));
    o->type = type;
    o->order_id = api_param_id(m, 0);
    o->actor_id = m->session->user_id;
    snprintf(o->role, sizeof(o->role), "%s", m->session->role);
    return o;
}

/* {reason?}; an empty body is fine (nothing to say). */
int api_orders_cancel(h2o_req_t *req, const api_match *m)
{
    json_t *body = req->entity.len ? api_json_body_or_reply(req) : json_object();
    if (!body)
        return 0;
    json_t *reason = json_object_get(body, "reason");
    const char *msg = NULL;
    if (reason && !json_is_null(reason))
        msg = json_is_string(reason) ? pk_check_text(json_string_value(reason), REASON_MAX) : "must be a string";
    if (msg) {
        api_reply_field_error(req, "reason", msg);
    } else {
        order_cmd_ctx *o = order_cmd_new(req, m, "order.cancel");
        o->has_reason = json_is_string(reason);
        snprintf(o->reason, sizeof(o->reason), "%s", o->has_reason ? json_string_value(reason) : "");
        lookup_and_submit(req, o, m->session->user_id);
    }
    json_decref(body);
    return 0;
}

int api_admin_order_status(h2o_req_t *req, const api_match *m)
{
    json_t *body = api_json_body_or_reply(req);
    if (!body)
        return 0;
    const char *status = json_string_value(json_object_get(body, "status"));
    if (!status || shop_order_status_parse(status) == ORDER_INVALID) {
        api_reply_field_error(req, "status", "must be pending, confirmed, shipped, delivered or cancelled");
    } else {
        order_cmd_ctx *o = order_cmd_new(req, m, "order.set_status");
        snprintf(o->status, sizeof(o->status), "%s", status);
        lookup_and_submit(req, o, 0);
    }
    json_decref(body);
    return 0;
}
