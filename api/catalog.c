/* catalog.c — the shop's public reads (DESIGN §5):
 *   GET /api/categories/                 active categories as a tree (children nested)
 *   GET /api/products/?…                 active products, filtered, ordered, paged
 *   GET /api/products/{id}/ | {slug}/    one active product
 *   GET /api/admin/categories/           admin: every category, inactive ones too
 *   GET /api/admin/products/?…           admin: the same filters plus
 *                                        is_active=true|false (absent: both)
 *
 * Every public answer carries a strong ETag and honours If-None-Match (304),
 * and may come from the ≤ 500 ms per-thread read cache (cache.h), so a
 * catalog change is visible well inside the 1 s the issue allows. The admin
 * reads are never cached: whoever just deactivated a product sees it so at
 * once. The queries are index-backed (0003_shop.sql).
 *
 * Product filters (seed-compatible aliases in brackets):
 *   category=<slug or id>    that category and all its active sub-categories
 *   type=samagri|gift|kit|other  [product_type]
 *   featured=true|false      [is_featured]
 *   in_stock=true|false      on the sellable count (kits: derived)
 *   q=text                   [search] case-insensitive, in name or description
 *   min_price=, max_price=   decimal rupees ("99.50"), on the price paid
 *                            (discount price when set)
 *   ordering=price|-price|name|-name|newest|oldest  [-created_at, created_at];
 *                            default: featured first, then by name
 *   page=, page_size=        (api/query.h) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/cache.h"
#include "api/compress.h"
#include "api/http.h"
#include "api/metrics.h"
#include "api/pg.h"
#include "api/replica.h"
#include "api/routes.h"
#include "api/shop.h"
#include "common/money.h"

/* ---- categories ---- */

#define CATEGORY_DEPTH_MAX 32   /* the worker forbids cycles; this only bounds recursion */

typedef struct {
    api_async async;
    uint64_t generation;   /* of the read cache when the query was sent */
    bool public_read;      /* cacheable, with an ETag; admin reads are neither */
} categories_ctx;

static int is_child_of(json_t *node, json_int_t parent_id)
{
    json_t *parent = json_object_get(node, "parent");
    return parent_id == 0 ? json_is_null(parent) : json_integer_value(parent) == parent_id;
}

/* Moves every node under `parent_id` (0: the roots) into `into`, each with
 * its own children; moved entries of nodes[] become NULL. A node whose
 * parent is inactive is never reached (its parent is not in the list), so
 * deactivating a category hides its whole subtree. */
static void attach_children(json_t **nodes, size_t n, json_int_t parent_id, json_t *into, int depth)
{
    for (size_t i = 0; i < n && depth < CATEGORY_DEPTH_MAX; i++) {
        if (!nodes[i] || !is_child_of(nodes[i], parent_id))
            continue;
        json_t *node = nodes[i];
        nodes[i] = NULL;
        json_t *children = json_array();
        attach_children(nodes, n, json_integer_value(json_object_get(node, "id")), children, depth + 1);
        json_object_set_new(node, "children", children);
        json_array_append_new(into, node);
    }
}

static void reply_tree(h2o_req_t *req, const char *flat_text, uint64_t generation, bool public_read)
{
    json_error_t e;
    json_t *flat = json_loads(flat_text, 0, &e);
    size_t n = json_array_size(flat);
    json_t **nodes = calloc(n + 1, sizeof(*nodes));
    for (size_t i = 0; i < n; i++)
        nodes[i] = json_incref(json_array_get(flat, i));
    json_t *tree = json_array();
    attach_children(nodes, n, 0, tree, 0);
    for (size_t i = 0; i < n; i++)
        json_decref(nodes[i]);   /* orphans under inactive parents */
    free(nodes);
    json_decref(flat);
    char *text = json_dumps(tree, JSON_COMPACT);
    json_decref(tree);
    if (text) {
        if (public_read) {
            api_cache_put(req->path, text, strlen(text), generation);   /* the same for everyone */
            api_compress_reply_cached(req, req->path, text, strlen(text), false);
        } else {
            api_reply_raw(req, 200, "application/json", text, strlen(text));
        }
    } else {
        api_reply_overloaded(req);
    }
    free(text);
}

static void on_categories(void *ctx, const PGresult *res, const char *err)
{
    categories_ctx *c = ctx;
    h2o_req_t *req = c->async.req;
    if (req && (err || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1))
        api_reply_db_unavailable(req);
    else if (req)
        reply_tree(req, PQgetvalue(res, 0, 0), c->generation, c->public_read);
    api_async_free(&c->async);
}

/* Siblings in the order admins set (sort_order, then name); the tree is
 * assembled here because SQL cannot aggregate inside a recursive CTE. */
#define CATEGORIES_SQL(where)                                                                                  \
    "SELECT coalesce(json_agg(" PK_CATEGORY_JSON("c") " ORDER BY c.sort_order, c.name, c.id), '[]')::text"   \
    " FROM categories c" where

static void list_categories(h2o_req_t *req, const api_match *m, const char *sql, bool public_read)
{
    size_t len;
    const char *cached = public_read && api_read_cache_ok(m) ? api_cache_get(req->path, &len) : NULL;
    if (cached) {
        api_metrics_cache_hit(api_thread_of(req)->metrics, false);
        api_compress_reply_cached(req, req->path, cached, len, false);
        return;
    }
    categories_ctx *c = api_async_new(req, sizeof(*c));
    c->generation = api_cache_generation();
    c->public_read = public_read;
    if (api_pg_query_for(api_read_pool(req, m), &c->async, sql, 0, NULL, on_categories, c) != 0) {
        api_reply_overloaded(req);
        api_async_free(&c->async);
    }
}

int api_categories_list(h2o_req_t *req, const api_match *m)
{
    list_categories(req, m, CATEGORIES_SQL(" WHERE c.is_active"), true);
    return 0;
}

int api_admin_categories_list(h2o_req_t *req, const api_match *m)
{
    list_categories(req, m, CATEGORIES_SQL(""), false);
    return 0;
}

/* ---- products ---- */

typedef struct {
    char category[SHOP_SLUG_MAX + 1];
    char type[16];
    char featured[6];
    char in_stock[6];
    char active[6];                      /* "true" for the public list */
    char q[201];
    char min_price[24], max_price[24];   /* paise as decimal text */
    const char *order;                   /* a whitelisted ORDER BY list */
} product_filter;

typedef struct {
    const char *name;
    const char *sql;
} ordering;

/* Every order ends with the id, so pages never overlap or skip rows. */
static const ordering ORDERINGS[] = {
    {"", "is_featured DESC, name, id"},
    {"price", "unit, id"},
    {"-price", "unit DESC, id DESC"},
    {"name", "name, id"},
    {"-name", "name DESC, id DESC"},
    {"newest", "created_at DESC, id DESC"},
    {"-created_at", "created_at DESC, id DESC"},
    {"oldest", "created_at, id"},
    {"created_at", "created_at, id"},
};

/* First of the parameter names that is present (aliases), else the first. */
static int text_param(h2o_req_t *req, const char *name, const char *alias, char *out, size_t cap)
{
    char probe[256];
    const char *use = alias && api_query_get(req, name, probe, sizeof(probe)) == 0 &&
                              api_query_get(req, alias, probe, sizeof(probe)) != 0
                          ? alias
                          : name;
    return api_query_text_or_reply(req, use, out, cap);
}

static int one_of(const char *v, const char *const *allowed, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v, allowed[i]) == 0)
            return 1;
    return 0;
}

static int bool_param_or_reply(h2o_req_t *req, const char *name, const char *alias, char out[6])
{
    char probe[8];
    int use_alias = alias && api_query_get(req, name, probe, sizeof(probe)) == 0 &&
                    api_query_get(req, alias, probe, sizeof(probe)) != 0;
    return api_query_bool_or_reply(req, use_alias ? alias : name, out);
}

/* A decimal-rupee bound ⇒ paise text; absent ⇒ def. */
static int price_param_or_reply(h2o_req_t *req, const char *name, int64_t def, char *out, size_t cap)
{
    char raw[32];
    int64_t paise = def;
    if (api_query_text_or_reply(req, name, raw, sizeof(raw)))
        return -1;
    money_err e = *raw ? money_parse(raw, strlen(raw), &paise) : MONEY_OK;
    if (e != MONEY_OK) {
        api_reply_field_error(req, name, money_strerror(e));
        return -1;
    }
    snprintf(out, cap, "%lld", (long long)paise);
    return 0;
}

static int ordering_or_reply(h2o_req_t *req, product_filter *f)
{
    char o[16];
    if (api_query_text_or_reply(req, "ordering", o, sizeof(o)))
        return -1;
    for (size_t i = 0; i < sizeof(ORDERINGS) / sizeof(ORDERINGS[0]); i++)
        if (strcmp(o, ORDERINGS[i].name) == 0) {
            f->order = ORDERINGS[i].sql;
            return 0;
        }
    api_reply_field_error(req, "ordering", "must be one of price, -price, name, -name, newest, oldest");
    return -1;
}

static int filter_or_reply(h2o_req_t *req, product_filter *f)
{
    static const char *const TYPES[] = {"", "samagri", "gift", "kit", "other"};
    memset(f, 0, sizeof(*f));
    if (api_query_text_or_reply(req, "category", f->category, sizeof(f->category)) ||
        text_param(req, "type", "product_type", f->type, sizeof(f->type)))
        return -1;
    if (!one_of(f->type, TYPES, 5)) {
        api_reply_field_error(req, "type", "must be samagri, gift, kit or other");
        return -1;
    }
    if (bool_param_or_reply(req, "featured", "is_featured", f->featured) ||
        bool_param_or_reply(req, "in_stock", NULL, f->in_stock) ||
        text_param(req, "q", "search", f->q, sizeof(f->q)) ||
        price_param_or_reply(req, "min_price", 0, f->min_price, sizeof(f->min_price)) ||
        price_param_or_reply(req, "max_price", MONEY_MAX_PAISE, f->max_price, sizeof(f->max_price)))
        return -1;
    return ordering_or_reply(req, f);
}

/* The category filter walks down from the named category through its
 * active sub-categories (recursive CTE), so "Puja Samagri" lists Incense
 * and Lamps too. An unknown or inactive category matches nothing. */
#define PRODUCTS_SQL                                                                                          \
    "WITH RECURSIVE cats AS ("                                                                                \
    "  SELECT id FROM categories WHERE $1 <> '' AND is_active AND (slug = $1 OR id::text = $1)"              \
    "  UNION SELECT c.id FROM categories c JOIN cats ON c.parent_id = cats.id WHERE c.is_active),"           \
    " f AS (SELECT p.*, a.avail, coalesce(p.discount_price_paise, p.price_paise) AS unit"                     \
    "  FROM products p" PK_PRODUCT_AVAIL_JOIN " WHERE ($10 = '' OR p.is_active = ($10 = 'true'))"           \
    "  AND ($1 = '' OR p.category_id IN (SELECT id FROM cats))"                                               \
    "  AND ($2 = '' OR p.product_type = $2)"                                                                  \
    "  AND ($3 = '' OR p.is_featured = ($3 = 'true'))"                                                        \
    "  AND ($4 = '' OR (a.avail > 0) = ($4 = 'true'))"                                                        \
    "  AND ($5 = '' OR strpos(lower(p.name), lower($5)) > 0 OR strpos(lower(p.description), lower($5)) > 0)"  \
    "  AND coalesce(p.discount_price_paise, p.price_paise) BETWEEN $6::bigint AND $7::bigint),"              \
    " pg AS (SELECT * FROM f ORDER BY %s LIMIT $8::bigint OFFSET $9::bigint)"                                \
    " SELECT (SELECT count(*) FROM f),"                                                                       \
    " coalesce((SELECT json_agg(" PK_PRODUCT_JSON("p", "p.avail") " ORDER BY %s) FROM pg p), '[]')::text"

/* `f->active` must be set: "true" (public), or the admin's filter. */
static void list_products(h2o_req_t *req, const api_match *m, const product_filter *f, const api_page *page, bool public_read)
{
    char limit[24], offset[24], sql[sizeof(PRODUCTS_SQL) + 128];
    snprintf(limit, sizeof(limit), "%lld", (long long)page->size);
    snprintf(offset, sizeof(offset), "%lld", (long long)page->offset);
    snprintf(sql, sizeof(sql), PRODUCTS_SQL, f->order, f->order);   /* whitelisted text only */
    const char *params[] = {f->category, f->type, f->featured, f->in_stock, f->q,
                            f->min_price, f->max_price, limit, offset, f->active};
    api_read_page(req, m, page, sql, 10, params, public_read ? API_READ_PUBLIC : API_READ_PLAIN);
}

int api_products_list(h2o_req_t *req, const api_match *m)
{
    product_filter f;
    api_page page;
    if (filter_or_reply(req, &f) || api_page_or_reply(req, &page))
        return 0;
    snprintf(f.active, sizeof(f.active), "true");
    list_products(req, m, &f, &page, true);
    return 0;
}

int api_admin_products_list(h2o_req_t *req, const api_match *m)
{
    product_filter f;
    api_page page;
    if (filter_or_reply(req, &f) || api_query_bool_or_reply(req, "is_active", f.active) ||
        api_page_or_reply(req, &page))
        return 0;
    list_products(req, m, &f, &page, false);
    return 0;
}

#define PRODUCT_SQL(where) \
    "SELECT " PK_PRODUCT_JSON("p", "a.avail") "::text FROM products p" PK_PRODUCT_AVAIL_JOIN " WHERE " where

int api_products_show(h2o_req_t *req, const api_match *m)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)api_param_id(m, 0));
    const char *params[] = {id};
    api_read_json(req, m, PRODUCT_SQL("p.id = $1 AND p.is_active"), 1, params, API_READ_PUBLIC, "no such product");
    return 0;
}

/* Slugs are never all digits (shop_slug_valid), so /api/products/12/ is
 * always the id route and this one only ever sees real slugs. */
int api_products_show_slug(h2o_req_t *req, const api_match *m)
{
    char slug[SHOP_SLUG_MAX + 1];
    size_t n = m->params[0].len < SHOP_SLUG_MAX ? m->params[0].len : SHOP_SLUG_MAX;
    memcpy(slug, m->params[0].base, n);
    slug[n] = 0;
    const char *params[] = {slug};
    api_read_json(req, m, PRODUCT_SQL("p.slug = $1 AND p.is_active"), 1, params, API_READ_PUBLIC, "no such product");
    return 0;
}
