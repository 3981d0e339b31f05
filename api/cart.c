/* cart.c — the shopping cart, Redis state per user (api/shop.h has the keys):
 *   GET  /api/cart/                 lines with current names and prices, line
 *                                   totals, subtotal, shipping, total, warnings
 *   POST /api/cart/add_item/        {product_id, quantity = 1}   adds to the line
 *   POST /api/cart/update_item/     {item_id, quantity}          sets the line
 *   POST /api/cart/remove_item/     {item_id}
 *   POST /api/cart/clear/
 *   PATCH  /api/cart/items/{id}/    {quantity}   the seed frontend's update_item
 *   DELETE /api/cart/items/{id}/                 the seed frontend's remove_item
 * Every write answers the whole cart, as GET does. A line's id is its
 * product's id (item_id, and `id` for the seed frontend), the cart's `id`
 * its owner's user id: one cart per user, as in the seed.
 *
 * Not commands: a cart is not durable business state (DESIGN §3), so writes
 * go straight to Redis, each as one Lua script so the 50-line and 99-unit
 * limits hold under concurrent requests of one user. Every read and write
 * slides the 30-day expiry.
 *
 * Who shops: customers and priests (a priest buys samagri like anyone);
 * admins run the shop and do not buy from it (routes.c). The cart key comes
 * from the session only, so nobody can read or change another user's cart.
 *
 * Prices: a line remembers the unit price shown when it was added or last
 * updated (add_item and update_item both accept the current price). GET
 * always shows today's price; a line whose price went up since says so in
 * its warnings, and checkout will answer `price_changed` until the customer
 * re-confirms the line with update_item. A price that went down is simply
 * charged (never more than shown). Stock is not reserved by a cart: GET
 * warns when a line (or the cart's summed need, kits included) is now
 * short, and checkout decides. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/cache.h"
#include "api/command.h"
#include "api/compress.h"
#include "api/http.h"
#include "api/metrics.h"
#include "api/pg.h"
#include "api/reads.h"
#include "api/redis.h"
#include "api/routes.h"
#include "api/shop.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/money.h"
#include "common/uuid.h"

#define CART_TTL_S "2592000"                        /* 30 days, sliding */
#define PENDING_MAX_AGE_MS (INT64_C(86400) * 1000)   /* a checkout unanswered for a day is dropped */
#define DONE_MAX_AGE_MS (INT64_C(2592000) * 1000)
#define PENDING_PER_LOAD 16

/* ---- keys and scripts ---- */

typedef struct {
    char cart[48], pending[64], done[64], gen[64];
} cart_keys;

static void keys_of(int64_t user_id, cart_keys *k)
{
    snprintf(k->cart, sizeof(k->cart), "punyaka:cart:%lld", (long long)user_id);
    snprintf(k->pending, sizeof(k->pending), "punyaka:cart:%lld:pending", (long long)user_id);
    snprintf(k->done, sizeof(k->done), "punyaka:cart:%lld:done", (long long)user_id);
    snprintf(k->gen, sizeof(k->gen), "punyaka:cart:%lld:gen", (long long)user_id);
}

/* KEYS cart, pending, gen; ARGV ttl, cutoff, a fresh generation for a cart
 * that has none ⇒ {hash pairs, pending ids, generation}. */
static const char LOAD_LUA[] =
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2]) "
    "redis.call('SET', KEYS[3], ARGV[3], 'NX') "
    "for k = 1, 3 do redis.call('EXPIRE', KEYS[k], ARGV[1]) end "
    "return {redis.call('HGETALL', KEYS[1]), redis.call('ZRANGE', KEYS[2], 0, 15),"   /* PENDING_PER_LOAD */
    " redis.call('GET', KEYS[3])}";

/* KEYS cart, pending, done, gen; ARGV ttl, now, done cutoff, then per
 * checkout: command id, n, n × (product id, quantity). A command's lines go
 * only the first time its id enters `done`, and only where the quantity is
 * still the ordered one; that first time also starts a new generation.
 * Answers like LOAD. */
static const char CONSUME_LUA[] =
    "local i = 4 "
    "while i <= #ARGV do "
    "  local id, n = ARGV[i], tonumber(ARGV[i + 1]) "
    "  redis.call('ZREM', KEYS[2], id) "
    "  local fresh = redis.call('ZADD', KEYS[3], 'NX', ARGV[2], id) == 1 "
    "  if fresh then redis.call('SET', KEYS[4], id) end "
    "  for j = 0, n - 1 do "
    "    local pid, qty = ARGV[i + 2 + 2 * j], ARGV[i + 3 + 2 * j] "
    "    local cur = redis.call('HGET', KEYS[1], pid) "
    "    if fresh and cur and string.match(cur, '^%d+') == qty then redis.call('HDEL', KEYS[1], pid) end "
    "  end "
    "  i = i + 2 + 2 * n "
    "end "
    "redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[3]) "
    "for k = 1, 4 do redis.call('EXPIRE', KEYS[k], ARGV[1]) end "
    "return {redis.call('HGETALL', KEYS[1]), redis.call('ZRANGE', KEYS[2], 0, 15), redis.call('GET', KEYS[4])}";

/* KEYS pending, done; ARGV id, now, ttl. */
static const char PENDING_LUA[] =
    "if redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end "
    "redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) redis.call('EXPIRE', KEYS[1], ARGV[3]) return 1";

/* KEYS cart; ARGV pid, qty, shown, max lines, max qty, ttl ⇒ {new qty, had}
 * or {-1, 0} (cart full) or {-2, had} (line would pass the maximum). */
static const char ADD_LUA[] =
    "local cur = redis.call('HGET', KEYS[1], ARGV[1]) local had = 0 "
    "if cur then had = tonumber(string.match(cur, '^%d+')) or 0 "
    "elseif redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then return {-1, 0} end "
    "local q = had + tonumber(ARGV[2]) "
    "if q > tonumber(ARGV[5]) then return {-2, had} end "
    "redis.call('HSET', KEYS[1], ARGV[1], string.format('%d:%s', q, ARGV[3])) "
    "redis.call('EXPIRE', KEYS[1], ARGV[6]) return {q, had}";

/* KEYS cart; ARGV pid, qty, shown, ttl ⇒ 1, or 0 when the line is absent. */
static const char UPDATE_LUA[] =
    "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end "
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[3]) "
    "redis.call('EXPIRE', KEYS[1], ARGV[4]) return 1";

/* KEYS cart; ARGV pid, ttl ⇒ lines removed. */
static const char REMOVE_LUA[] =
    "local n = redis.call('HDEL', KEYS[1], ARGV[1]) redis.call('EXPIRE', KEYS[1], ARGV[2]) return n";

/* ---- argv building (scripts with a variable number of arguments) ---- */

typedef struct {
    char **v;
    size_t n, cap;
} argv_buf;

static void argv_add(argv_buf *a, const char *s)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->v = realloc(a->v, a->cap * sizeof(*a->v));
    }
    a->v[a->n++] = strdup(s);
}

static void argv_addi(argv_buf *a, long long v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%lld", v);
    argv_add(a, buf);
}

static void argv_free(argv_buf *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
}

/* hiredis copies the arguments into its output buffer before returning. */
static int argv_send(h2o_req_t *req, argv_buf *a, redisCallbackFn *cb, void *ctx)
{
    int rc = api_redis_argv(api_thread_of(req)->redis, cb, ctx, (int)a->n, (const char **)a->v, NULL);
    argv_free(a);
    return rc;
}

static void consume_head(argv_buf *a, const cart_keys *k)
{
    argv_add(a, "EVAL");
    argv_add(a, CONSUME_LUA);
    argv_add(a, "4");
    argv_add(a, k->cart);
    argv_add(a, k->pending);
    argv_add(a, k->done);
    argv_add(a, k->gen);
    argv_add(a, CART_TTL_S);
    long long now = (long long)api_now_ms();
    argv_addi(a, now);
    argv_addi(a, now - DONE_MAX_AGE_MS);
}

/* ---- parsing ---- */

static int parse_i64(const char *s, size_t len, int64_t min, int64_t max, int64_t *out)
{
    int64_t v = 0;
    if (len == 0 || len > 18)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* One hash entry "pid" ⇒ "qty:shown". Entries we did not write are skipped. */
static int parse_line(const redisReply *field, const redisReply *value, api_cart_line *line)
{
    int64_t pid, qty, shown;
    if (field->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING)
        return -1;
    const char *colon = memchr(value->str, ':', value->len);
    if (!colon || parse_i64(field->str, field->len, 1, INT64_MAX, &pid) ||
        parse_i64(value->str, (size_t)(colon - value->str), SHOP_QTY_MIN, SHOP_QTY_MAX, &qty) ||
        parse_i64(colon + 1, value->len - (size_t)(colon + 1 - value->str), 0, MONEY_MAX_PAISE, &shown))
        return -1;
    *line = (api_cart_line){pid, (int32_t)qty, shown};
    return 0;
}

/* {hash pairs, pending ids, generation} ⇒ cart; returns the pending array
 * or NULL when malformed. */
static const redisReply *parse_loaded(const redisReply *r, api_cart *cart)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 || r->element[0]->type != REDIS_REPLY_ARRAY ||
        r->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    const redisReply *gen = r->element[2];
    pk_uuid u;
    cart->generation[0] = 0;
    if (gen->type == REDIS_REPLY_STRING && pk_uuid_parse(gen->str, gen->len, &u) == 0)
        pk_uuid_format(&u, cart->generation);
    const redisReply *h = r->element[0];
    cart->n = 0;
    for (size_t i = 0; i + 1 < h->elements && cart->n < SHOP_CART_MAX_LINES; i += 2)
        if (parse_line(h->element[i], h->element[i + 1], &cart->lines[cart->n]) == 0)
            cart->n++;
    return r->element[1];
}

/* ---- loading, with reconciliation of unanswered checkouts ---- */

typedef struct {
    api_async async;
    int64_t user_id;
    cart_keys keys;
    api_cart_cb cb;
    void *data;
    api_cart cart;
} load_ctx;

static void load_done(load_ctx *l, int ok)
{
    if (l->async.req)
        l->cb(l->async.req, ok ? &l->cart : NULL, l->data);
    api_async_free(&l->async);
}

static void on_consumed(redisAsyncContext *ac, void *reply, void *privdata)
{
    load_ctx *l = privdata;
    (void)ac;
    load_done(l, parse_loaded(reply, &l->cart) != NULL);
}

/* Each row: command id, status, "pid:qty,pid:qty" of an applied order.
 * Commands without an outcome yet stay pending. */
static void add_outcome(argv_buf *a, const PGresult *res, int row)
{
    const char *items = PQgetvalue(res, row, 2);
    size_t n = 0;
    int64_t pairs[2 * SHOP_CART_MAX_LINES];
    for (const char *p = items; *p && n < SHOP_CART_MAX_LINES;) {
        char *end;
        pairs[2 * n] = strtoll(p, &end, 10);
        if (*end != ':')
            break;
        pairs[2 * n + 1] = strtoll(end + 1, &end, 10);
        n++;
        p = *end == ',' ? end + 1 : end;
    }
    argv_add(a, PQgetvalue(res, row, 0));
    argv_addi(a, (long long)n);
    for (size_t i = 0; i < 2 * n; i++)
        argv_addi(a, pairs[i]);
}

static void on_outcomes(void *ctx, const PGresult *res, const char *err)
{
    load_ctx *l = ctx;
    if (!l->async.req || err || PQresultStatus(res) != PGRES_TUPLES_OK) {
        load_done(l, 0);
        return;
    }
    if (PQntuples(res) == 0) {   /* still in flight: nothing to remove yet */
        load_done(l, 1);
        return;
    }
    argv_buf a = {0};
    consume_head(&a, &l->keys);
    for (int i = 0; i < PQntuples(res); i++)
        add_outcome(&a, res, i);
    if (argv_send(l->async.req, &a, on_consumed, l) != 0)
        load_done(l, 0);
}

/* "{id,id}" of the pending ids that are real UUIDs (Redis is not trusted to
 * hold only what we wrote). Empty when none. */
static void pending_array(const redisReply *pending, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = 0;
    for (size_t i = 0; i < pending->elements && len + PK_UUID_STR_LEN + 3 < cap; i++) {
        const redisReply *e = pending->element[i];
        pk_uuid u;
        if (e->type != REDIS_REPLY_STRING || pk_uuid_parse(e->str, e->len, &u) != 0)
            continue;
        len += (size_t)snprintf(out + len, cap - len, "%c%.*s", len ? ',' : '{', (int)e->len, e->str);
    }
    if (len)
        snprintf(out + len, cap - len, "}");
}

static void on_loaded(redisAsyncContext *ac, void *reply, void *privdata)
{
    load_ctx *l = privdata;
    (void)ac;
    const redisReply *pending = parse_loaded(reply, &l->cart);
    if (!l->async.req || !pending) {
        load_done(l, 0);
        return;
    }
    char ids[PENDING_PER_LOAD * (PK_UUID_STR_LEN + 1) + 4];
    pending_array(pending, ids, sizeof(ids));
    if (!ids[0]) {
        load_done(l, 1);
        return;
    }
    const char *params[] = {ids};
    if (api_pg_query(api_thread_of(l->async.req)->pg,
                     "SELECT o.command_id::text, o.status, CASE WHEN o.status = 'applied' THEN"
                     " (SELECT string_agg((i->>'product') || ':' || (i->>'quantity'), ',')"
                     "  FROM jsonb_array_elements(o.resource->'items') i) END"
                     " FROM command_outcomes o WHERE o.command_id = ANY($1::uuid[]) AND o.type = 'order.checkout'",
                     1, params, on_outcomes, l) != 0)
        load_done(l, 0);
}

void api_cart_load(h2o_req_t *req, int64_t user_id, api_cart_cb cb, void *data)
{
    load_ctx *l = api_async_new(req, sizeof(*l));
    l->user_id = user_id;
    l->cart.user_id = user_id;
    l->cb = cb;
    l->data = data;
    keys_of(user_id, &l->keys);
    char cutoff[24], fresh[PK_UUID_STR_LEN + 1];
    snprintf(cutoff, sizeof(cutoff), "%lld", (long long)api_now_ms() - (long long)PENDING_MAX_AGE_MS);
    pk_uuid g;
    pk_uuid_v7(&g, api_now_ms());
    pk_uuid_format(&g, fresh);
    const char *argv[] = {"EVAL", LOAD_LUA, "3", l->keys.cart, l->keys.pending, l->keys.gen, CART_TTL_S, cutoff, fresh};
    if (api_redis_argv(api_thread_of(req)->redis, on_loaded, l, 9, argv, NULL) != 0)
        load_done(l, 0);
}

void api_cart_checkout_pending(h2o_req_t *req, int64_t user_id, const char *command_id)
{
    cart_keys k;
    char now[24];
    keys_of(user_id, &k);
    snprintf(now, sizeof(now), "%lld", (long long)api_now_ms());
    const char *argv[] = {"EVAL", PENDING_LUA, "2", k.pending, k.done, command_id, now, CART_TTL_S};
    api_redis_argv(api_thread_of(req)->redis, NULL, NULL, 8, argv, NULL);   /* best effort: see shop.h */
}

/* ---- taking in a checkout's outcome, then answering it ---- */

typedef struct {
    api_async async;
    int status;
    char *body;           /* malloc'd order JSON (applied) */
    json_t *rejection;    /* the outcome message (rejected), or NULL */
} consume_ctx;

static void on_hook_consumed(redisAsyncContext *ac, void *reply, void *privdata)
{
    consume_ctx *c = privdata;
    (void)ac;
    if (!reply)   /* the id stays pending: the next cart load takes it in */
        pk_warn(NULL, "cart: could not take in a checkout outcome now; the next cart read will");
    if (c->async.req && c->rejection)
        api_command_reply_rejected(c->async.req, c->rejection);
    else if (c->async.req)
        api_reply_raw(c->async.req, c->status, "application/json", c->body, strlen(c->body));
    api_async_detach(&c->async);
    json_decref(c->rejection);
    free(c->body);
    free(c);
}

/* Takes in one checkout's outcome — its ordered `items` (product,
 * quantity) leave the cart, none when NULL — then answers from
 * on_hook_consumed. */
static void take_in_outcome(h2o_req_t *req, consume_ctx *c, int64_t user_id, const char *command_id,
                            json_t *items)
{
    if (!command_id || !*command_id) {   /* cannot happen after a publish; answer anyway */
        on_hook_consumed(NULL, NULL, c);
        return;
    }
    cart_keys k;
    keys_of(user_id, &k);
    argv_buf a = {0};
    consume_head(&a, &k);
    argv_add(&a, command_id);
    argv_addi(&a, (long long)json_array_size(items));   /* 0 for NULL */
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) {
        argv_addi(&a, (long long)json_integer_value(json_object_get(item, "product")));
        argv_addi(&a, (long long)json_integer_value(json_object_get(item, "quantity")));
    }
    if (argv_send(req, &a, on_hook_consumed, c) != 0)
        on_hook_consumed(NULL, NULL, c);
}

void api_cart_reject_and_reply(h2o_req_t *req, int64_t user_id, const char *command_id, json_t *outcome)
{
    consume_ctx *c = api_async_new(req, sizeof(*c));
    c->rejection = json_incref(outcome);
    take_in_outcome(req, c, user_id, command_id, NULL);
}

void api_cart_consume_and_reply(h2o_req_t *req, int64_t user_id, const char *command_id, json_t *order,
                                int status)
{
    consume_ctx *c = api_async_new(req, sizeof(*c));
    c->status = status;
    c->body = json_dumps(order, JSON_COMPACT);
    if (!c->body)
        c->body = strdup("{}");
    take_in_outcome(req, c, user_id, command_id, json_object_get(order, "items"));
}

/* ---- showing the cart ---- */

typedef struct {
    int64_t id, price, discount, stock, avail;
    bool active, kit;
    json_t *json;   /* the product resource */
} cart_product;

/* The cache key of a cart's answer: its owner, its checkout generation and
 * every line as Redis holds it now ("cart:<user>:<gen>:<id>.<qty>.<shown>,…"),
 * so a cart change in any API process is a different key, and a product's
 * change (a command) drops the entry with the cache's generation. */
#define CART_KEY_MAX (96 + SHOP_CART_MAX_LINES * 64)

typedef struct {
    api_async async;
    api_cart cart;
    uint64_t generation;   /* of the cache, when the products were asked for */
    size_t key_len;        /* 0: not kept */
    char key[CART_KEY_MAX];
} show_ctx;

/* GET by a caller who may use the cache (api/reads.h, API_READ_OWN's rules). */
typedef struct {
    bool cacheable;
} show_opts;

static size_t cart_key(const api_cart *cart, char *out)
{
    int n = snprintf(out, CART_KEY_MAX, "cart:%lld:%s:", (long long)cart->user_id, cart->generation);
    for (size_t i = 0; i < cart->n && n > 0 && n < CART_KEY_MAX; i++)
        n += snprintf(out + n, CART_KEY_MAX - (size_t)n, "%lld.%d.%lld,", (long long)cart->lines[i].product_id,
                      (int)cart->lines[i].quantity, (long long)cart->lines[i].shown_paise);
    return n > 0 && n < CART_KEY_MAX ? (size_t)n : 0;
}

static const cart_product *product_of(const cart_product *ps, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ps[i].id == id)
            return &ps[i];
    return NULL;
}

static json_t *money(int64_t paise)
{
    char buf[MONEY_FMT_CAP];
    money_format(paise, buf, sizeof(buf));
    return json_string(buf);
}

static int has_warning(json_t *item, const char *code)
{
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(item, "warnings"), i, w) {
        const char *c = json_string_value(json_object_get(w, "code"));
        if (c && strcmp(c, code) == 0)
            return 1;
    }
    return 0;
}

static void warn(json_t *item, const char *code, const char *detail)
{
    json_t *w = json_object_get(item, "warnings");
    json_array_append_new(w, json_pack("{s:s, s:s}", "code", code, "detail", detail));
}

/* Kit parts of every kit row ("cid:qty:stock,…"), and each part's stock. */
static size_t read_parts(const PGresult *res, shop_kit_part *parts, int64_t *stocks, size_t cap)
{
    size_t n = 0;
    for (int r = 0; r < PQntuples(res); r++) {
        int64_t kit = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        for (const char *p = PQgetvalue(res, r, 7); *p && n < cap;) {
            char *end;
            parts[n].kit_id = kit;
            parts[n].component_id = strtoll(p, &end, 10);
            parts[n].quantity = (int32_t)strtol(end + (*end == ':'), &end, 10);
            stocks[n] = strtoll(end + (*end == ':'), &end, 10);
            n++;
            if (*end != ',')
                break;
            p = end + 1;
        }
    }
    return n;
}

static int64_t stock_of(int64_t id, const cart_product *ps, size_t np, const shop_kit_part *parts,
                        const int64_t *stocks, size_t nparts)
{
    const cart_product *p = product_of(ps, np, id);
    if (p)
        return p->stock;
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].component_id == id)
            return stocks[i];
    return 0;
}

/* Marks every line that draws on a product whose summed need (kits
 * expanded, shop_cart_needs()) is above its stock, as checkout would. */
static void warn_short(json_t *items, const api_cart *cart, const cart_product *ps, size_t np, const PGresult *res)
{
    size_t cap = (size_t)PQntuples(res) * SHOP_KIT_MAX_COMPONENTS + 1;
    shop_kit_part *parts = calloc(cap, sizeof(*parts));
    int64_t *stocks = calloc(cap, sizeof(*stocks));
    size_t nparts = read_parts(res, parts, stocks, cap);
    shop_line lines[SHOP_CART_MAX_LINES];
    size_t nl = 0;
    for (size_t i = 0; i < cart->n; i++) {
        const cart_product *p = product_of(ps, np, cart->lines[i].product_id);
        lines[nl++] = (shop_line){cart->lines[i].product_id, cart->lines[i].quantity, p && p->kit};
    }
    shop_need *needs = calloc(nl + nparts + 1, sizeof(*needs));
    size_t nn = shop_cart_needs(lines, nl, parts, nparts, needs);
    for (size_t k = 0; k < nn; k++) {
        needs[k].stock = stock_of(needs[k].product_id, ps, np, parts, stocks, nparts);
        if (needs[k].need <= needs[k].stock)
            continue;
        for (size_t i = 0; i < nl; i++) {
            json_t *item = json_array_get(items, i);
            const cart_product *p = product_of(ps, np, lines[i].product_id);
            if (!p || !shop_line_uses(&lines[i], parts, nparts, needs[k].product_id) ||
                has_warning(item, "out_of_stock"))
                continue;
            char detail[160];
            if (lines[i].quantity > p->avail)
                snprintf(detail, sizeof(detail), "only %lld in stock", (long long)p->avail);
            else
                snprintf(detail, sizeof(detail), "not enough stock for this line together with the rest of your cart");
            warn(item, "out_of_stock", detail);
        }
    }
    free(needs);
    free(parts);
    free(stocks);
}

/* One line: the product, its current unit price and total, and whether the
 * price went up since the customer agreed to it. Adds to *subtotal. */
static json_t *line_json(const api_cart_line *l, const cart_product *p, int64_t *subtotal)
{
    json_t *item = json_pack("{s:I, s:O?, s:i}", "item_id", (json_int_t)l->product_id, "product",
                             p ? p->json : NULL, "quantity", (int)l->quantity);
    int64_t unit = p ? shop_unit_price(p->price, p->discount) : l->shown_paise;
    json_object_set_new(item, "unit_price", money(unit));
    json_object_set_new(item, "line_total", money(unit * l->quantity));
    json_object_set_new(item, "price_when_added", money(l->shown_paise));
    /* The seed frontend's names for the line's id and total (issue 15). */
    json_object_set_new(item, "id", json_integer((json_int_t)l->product_id));
    json_object_set_new(item, "subtotal", money(unit * l->quantity));
    json_object_set_new(item, "warnings", json_array());
    if (!p || !p->active) {
        warn(item, "inactive_product", "this product is no longer available; remove it to check out");
        return item;
    }
    *subtotal += unit * l->quantity;
    if (unit > l->shown_paise) {
        char detail[160], was[MONEY_FMT_CAP], now[MONEY_FMT_CAP];
        money_format(l->shown_paise, was, sizeof(was));
        money_format(unit, now, sizeof(now));
        snprintf(detail, sizeof(detail), "the price went up from %s to %s; update the line to accept it", was, now);
        warn(item, "price_changed", detail);
    }
    return item;
}

static size_t read_products(const PGresult *res, cart_product *ps)
{
    json_error_t e;
    size_t n = 0;
    for (int r = 0; r < PQntuples(res) && n < SHOP_CART_MAX_LINES; r++, n++) {
        ps[n] = (cart_product){
            .id = strtoll(PQgetvalue(res, r, 0), NULL, 10),
            .active = PQgetvalue(res, r, 1)[0] == 't',
            .kit = PQgetvalue(res, r, 2)[0] == 't',
            .price = strtoll(PQgetvalue(res, r, 3), NULL, 10),
            .discount = PQgetisnull(res, r, 4) ? SHOP_NO_DISCOUNT : strtoll(PQgetvalue(res, r, 4), NULL, 10),
            .stock = strtoll(PQgetvalue(res, r, 5), NULL, 10),
            .avail = strtoll(PQgetvalue(res, r, 6), NULL, 10),
            .json = json_loads(PQgetvalue(res, r, 8), 0, &e),
        };
    }
    return n;
}

/* The seed frontend's totals beside ours (issue 15): total_items counts
 * units, total_price is the lines' sum before shipping, as its cart page
 * shows them. */
static void add_seed_totals(json_t *doc, int64_t user_id, int64_t units, int64_t subtotal)
{
    json_object_set_new(doc, "id", json_integer((json_int_t)user_id));
    json_object_set_new(doc, "total_items", json_integer((json_int_t)units));
    json_object_set_new(doc, "total_price", money(subtotal));
}

/* The cart document; `res` NULL for an empty cart. */
static json_t *cart_doc(const api_cart *cart, const PGresult *res)
{
    cart_product ps[SHOP_CART_MAX_LINES];
    size_t np = res ? read_products(res, ps) : 0;
    int64_t subtotal = 0, units = 0;
    json_t *items = json_array();
    for (size_t i = 0; i < cart->n; i++) {
        json_array_append_new(items, line_json(&cart->lines[i], product_of(ps, np, cart->lines[i].product_id),
                                               &subtotal));
        units += cart->lines[i].quantity;
    }
    if (res)
        warn_short(items, cart, ps, np, res);
    int64_t shipping = cart->n ? shop_shipping(subtotal) : 0;   /* nothing to ship, nothing to pay */
    json_t *doc = json_pack("{s:o, s:I, s:I}", "items", items, "count", (json_int_t)cart->n, "total_quantity",
                            (json_int_t)units);
    json_object_set_new(doc, "subtotal", money(subtotal));
    json_object_set_new(doc, "shipping", money(shipping));
    json_object_set_new(doc, "total", money(subtotal + shipping));
    json_object_set_new(doc, "free_shipping_from", money(SHOP_FREE_SHIPPING_FROM_PAISE));
    add_seed_totals(doc, cart->user_id, units, subtotal);
    for (size_t i = 0; i < np; i++)
        json_decref(ps[i].json);
    return doc;
}

static void on_cart_products(void *ctx, const PGresult *res, const char *err)
{
    show_ctx *s = ctx;
    h2o_req_t *req = s->async.req;
    if (req && (err || PQresultStatus(res) != PGRES_TUPLES_OK)) {
        api_reply_db_unavailable(req);
    } else if (req) {   /* GET: ETag/304; a write's answer: 200 */
        json_t *doc = cart_doc(&s->cart, res);
        char *text = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        if (!text) {
            api_reply_overloaded(req);
        } else {
            if (s->key_len)
                api_cache_put(h2o_iovec_init(s->key, s->key_len), text, strlen(text), s->generation);
            api_reply_json_private(req, text, strlen(text));
            free(text);
        }
    }
    api_async_free(&s->async);
}

static void on_cart_for_show(h2o_req_t *req, const api_cart *cart, void *data)
{
    const show_opts *opts = data;
    if (!cart) {
        api_reply_problem(req, 503, "redis_unavailable", "Service unavailable", "the cart is unavailable", NULL);
        return;
    }
    if (cart->n == 0) {
        api_reply_json_private_doc(req, cart_doc(cart, NULL));
        return;
    }
    char key[CART_KEY_MAX];
    size_t key_len = opts && opts->cacheable ? cart_key(cart, key) : 0, body_len;
    const char *body = key_len ? api_cache_get(h2o_iovec_init(key, key_len), &body_len) : NULL;
    if (body) {
        api_metrics_cache_hit(api_thread_of(req)->metrics, true);
        api_compress_reply_cached(req, h2o_iovec_init(key, key_len), body, body_len, true);
        return;
    }
    show_ctx *s = api_async_new(req, sizeof(*s));
    s->cart = *cart;
    s->key_len = key_len;
    memcpy(s->key, key, key_len);
    s->generation = api_cache_generation();
    char ids[SHOP_CART_MAX_LINES * 21 + 3];
    size_t len = 0;
    for (size_t i = 0; i < cart->n; i++)
        len += (size_t)snprintf(ids + len, sizeof(ids) - len, "%c%lld", i ? ',' : '{',
                                (long long)cart->lines[i].product_id);
    snprintf(ids + len, sizeof(ids) - len, "}");
    const char *params[] = {ids};
    if (api_pg_query(api_thread_of(req)->pg,
                     "SELECT p.id, p.is_active, p.product_type = 'kit', p.price_paise, p.discount_price_paise,"
                     " p.stock, a.avail, coalesce((SELECT string_agg(kc.component_id || ':' || kc.quantity || ':'"
                     " || CASE WHEN c.is_active THEN c.stock ELSE 0 END, ',') FROM kit_components kc JOIN products c ON c.id = kc.component_id"
                     " WHERE kc.kit_id = p.id), ''), " PK_PRODUCT_JSON("p", "a.avail") "::text"
                     " FROM products p" PK_PRODUCT_AVAIL_JOIN " WHERE p.id = ANY($1::bigint[])",
                     1, params, on_cart_products, s) != 0) {
        api_reply_overloaded(req);
        api_async_free(&s->async);
    }
}

void api_cart_reply(h2o_req_t *req, int64_t user_id)
{
    api_cart_load(req, user_id, on_cart_for_show, NULL);
}

int api_cart_show(h2o_req_t *req, const api_match *m)
{
    char key[API_OWN_KEY_MAX];
    show_opts *opts = h2o_mem_alloc_pool(&req->pool, sizeof(*opts));
    opts->cacheable = api_read_own_key(req, m, key) != 0;
    api_cart_load(req, m->session->user_id, on_cart_for_show, opts);
    return 0;
}

/* ---- writes ---- */

typedef enum { OP_ADD, OP_UPDATE } cart_op;

typedef struct {
    api_async async;
    cart_op op;
    int64_t user_id, product_id, quantity;
    cart_keys keys;
} write_ctx;

static void write_free(write_ctx *w)
{
    api_async_free(&w->async);
}

static void reply_redis_down(h2o_req_t *req)
{
    api_reply_problem(req, 503, "redis_unavailable", "Service unavailable", "the cart is unavailable", NULL);
}

static void on_written(redisAsyncContext *ac, void *reply, void *privdata)
{
    write_ctx *w = privdata;
    redisReply *r = reply;
    (void)ac;
    h2o_req_t *req = w->async.req;
    const char *field = w->op == OP_ADD ? "product_id" : "item_id";
    if (!req) {
        /* gone */
    } else if (!r || (r->type != REDIS_REPLY_ARRAY && r->type != REDIS_REPLY_INTEGER)) {
        reply_redis_down(req);
    } else if (r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
        api_reply_problem(req, 404, "not_found", "Not found", "that product is not in your cart",
                          json_pack("{s:[s]}", field, "not in your cart"));
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->integer == -1) {
        api_reply_problem(req, 422, "cart_full", "Cart full", "a cart holds at most 50 different products",
                          json_pack("{s:[s]}", "product_id", "a cart holds at most 50 different products"));
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->integer == -2) {
        char msg[96];
        snprintf(msg, sizeof(msg), "at most %d per line; the cart already holds %lld", SHOP_QTY_MAX,
                 (long long)r->element[1]->integer);
        api_reply_field_error(req, "quantity", msg);
    } else {
        api_cart_reply(req, w->user_id);
    }
    write_free(w);
}

/* The product exists and is sold: now write the line with its current price. */
static void write_line(write_ctx *w, int64_t shown)
{
    char pid[24], qty[24], price[24], lines[8], max[8];
    snprintf(pid, sizeof(pid), "%lld", (long long)w->product_id);
    snprintf(qty, sizeof(qty), "%lld", (long long)w->quantity);
    snprintf(price, sizeof(price), "%lld", (long long)shown);
    snprintf(lines, sizeof(lines), "%d", SHOP_CART_MAX_LINES);
    snprintf(max, sizeof(max), "%d", SHOP_QTY_MAX);
    const char *add[] = {"EVAL", ADD_LUA, "1", w->keys.cart, pid, qty, price, lines, max, CART_TTL_S};
    const char *upd[] = {"EVAL", UPDATE_LUA, "1", w->keys.cart, pid, qty, price, CART_TTL_S};
    int rc = w->op == OP_ADD ? api_redis_argv(api_thread_of(w->async.req)->redis, on_written, w, 10, add, NULL)
                             : api_redis_argv(api_thread_of(w->async.req)->redis, on_written, w, 8, upd, NULL);
    if (rc != 0) {
        reply_redis_down(w->async.req);
        write_free(w);
    }
}

static void on_product(void *ctx, const PGresult *res, const char *err)
{
    write_ctx *w = ctx;
    h2o_req_t *req = w->async.req;
    const char *field = w->op == OP_ADD ? "product_id" : "item_id";
    if (!req) {
        write_free(w);
    } else if (err || PQresultStatus(res) != PGRES_TUPLES_OK) {
        api_reply_db_unavailable(req);
        write_free(w);
    } else if (PQntuples(res) == 0) {
        api_reply_problem(req, 404, "not_found", "Not found", "no such product",
                          json_pack("{s:[s]}", field, "no such product"));
        write_free(w);
    } else if (PQgetvalue(res, 0, 0)[0] != 't') {
        api_reply_problem(req, 422, "inactive_product", "Product unavailable", "this product is no longer sold",
                          json_pack("{s:[s]}", field, "this product is no longer sold"));
        write_free(w);
    } else {
        int64_t discount = PQgetisnull(res, 0, 2) ? SHOP_NO_DISCOUNT : strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        write_line(w, shop_unit_price(strtoll(PQgetvalue(res, 0, 1), NULL, 10), discount));
    }
}

/* Integer in [min, max] (JSON integers only: "2" and 2.0 are refused);
 * absent ⇒ def, or "required" when def is below min. */
static int int_field_or_reply(h2o_req_t *req, json_t *body, const char *name, int64_t min, int64_t max,
                              int64_t def, int64_t *out)
{
    int rc = pk_json_get_int(body, name, out);
    if (rc == -1 && def >= min) {
        *out = def;
        return 0;
    }
    if (rc == 0 && *out >= min && *out <= max)
        return 0;
    char msg[64];
    if (rc == -1)
        snprintf(msg, sizeof(msg), "this field is required");
    else
        snprintf(msg, sizeof(msg), "must be an integer from %lld to %lld", (long long)min, (long long)max);
    api_reply_field_error(req, name, msg);
    return -1;
}

/* path_pid: the line's id from the path (PATCH /api/cart/items/{id}/), or NULL: from the body. */
static int write_item(h2o_req_t *req, const api_match *m, cart_op op, const int64_t *path_pid)
{
    json_t *body = api_json_body_or_reply(req);
    if (!body)
        return 0;
    int64_t pid = path_pid ? *path_pid : 0, qty;
    const char *field = op == OP_ADD ? "product_id" : "item_id";
    if ((!path_pid && int_field_or_reply(req, body, field, 1, INT64_MAX, 0, &pid)) ||
        int_field_or_reply(req, body, "quantity", SHOP_QTY_MIN, SHOP_QTY_MAX, op == OP_ADD ? 1 : 0, &qty)) {
        json_decref(body);
        return 0;
    }
    json_decref(body);
    write_ctx *w = api_async_new(req, sizeof(*w));
    w->op = op;
    w->user_id = m->session->user_id;
    w->product_id = pid;
    w->quantity = qty;
    keys_of(w->user_id, &w->keys);
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)pid);
    const char *params[] = {id};
    if (api_pg_query(api_thread_of(req)->pg,
                     "SELECT is_active, price_paise, discount_price_paise FROM products WHERE id = $1", 1, params,
                     on_product, w) != 0) {
        api_reply_overloaded(req);
        write_free(w);
    }
    return 0;
}

int api_cart_add_item(h2o_req_t *req, const api_match *m)
{
    return write_item(req, m, OP_ADD, NULL);
}

/* Sets the quantity, and accepts the product's current price. */
int api_cart_update_item(h2o_req_t *req, const api_match *m)
{
    return write_item(req, m, OP_UPDATE, NULL);
}

/* The seed frontend's update_item: the line in the path, {quantity} in the body. */
int api_cart_item_patch(h2o_req_t *req, const api_match *m)
{
    int64_t pid = api_param_id(m, 0);
    return write_item(req, m, OP_UPDATE, &pid);
}

typedef struct {
    api_async async;
    int64_t user_id;
} remove_ctx;

static void on_removed(redisAsyncContext *ac, void *reply, void *privdata)
{
    remove_ctx *x = privdata;
    redisReply *r = reply;
    (void)ac;
    h2o_req_t *req = x->async.req;
    if (req && (!r || r->type != REDIS_REPLY_INTEGER))
        reply_redis_down(req);
    else if (req && r->integer == 0)
        api_reply_problem(req, 404, "not_found", "Not found", "that product is not in your cart",
                          json_pack("{s:[s]}", "item_id", "not in your cart"));
    else if (req)
        api_cart_reply(req, x->user_id);
    api_async_free(&x->async);
}

static void remove_line(h2o_req_t *req, int64_t user_id, int64_t product_id)
{
    remove_ctx *x = api_async_new(req, sizeof(*x));
    x->user_id = user_id;
    cart_keys k;
    keys_of(user_id, &k);
    char pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)product_id);
    const char *argv[] = {"EVAL", REMOVE_LUA, "1", k.cart, pid, CART_TTL_S};
    if (api_redis_argv(api_thread_of(req)->redis, on_removed, x, 6, argv, NULL) != 0) {
        reply_redis_down(req);
        api_async_free(&x->async);
    }
}

int api_cart_remove_item(h2o_req_t *req, const api_match *m)
{
    json_t *body = api_json_body_or_reply(req);
    if (!body)
        return 0;
    int64_t pid;
    if (int_field_or_reply(req, body, "item_id", 1, INT64_MAX, 0, &pid) == 0)
        remove_line(req, m->session->user_id, pid);
    json_decref(body);
    return 0;
}

/* The seed frontend's remove_item: the line in the path, no body. */
int api_cart_item_delete(h2o_req_t *req, const api_match *m)
{
    remove_line(req, m->session->user_id, api_param_id(m, 0));
    return 0;
}

/* Answers the (now empty) cart, also when it was empty already. */
int api_cart_clear(h2o_req_t *req, const api_match *m)
{
    cart_keys k;
    keys_of(m->session->user_id, &k);
    const char *argv[] = {"DEL", k.cart};
    if (api_redis_argv(api_thread_of(req)->redis, NULL, NULL, 2, argv, NULL) != 0)
        reply_redis_down(req);
    else
        api_cart_reply(req, m->session->user_id);   /* same connection: runs after the DEL */
    return 0;
}
