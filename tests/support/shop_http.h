/* shop_http.h — the shop family's HTTP tests (it_shop_http_catalog,
 * it_shop_http_cart, it_shop_http_checkout): issue 5 over real HTTP.
 * Customers and priests register over HTTP (keeping the session that
 * registration opens), the admin comes from the punyaka-admin CLI and builds
 * the catalog through the admin endpoints; checkout goes through Kafka and
 * the workers, and the outcome is read back over HTTP and from PostgreSQL.
 *
 * Writes are sent with `Prefer: wait=10`, so the answer is the worker's
 * final outcome (201/200 or the rejection), never a 202.
 *
 * The helpers are shop_http_…; the short names the tests have always used
 * are static inline aliases at the end (they clash with tests/support/
 * shop.h's worker-level helpers: include this header only in the
 * it_shop_http_* files). Helpers that assert fail the running cmocka test. */
#ifndef PUNYAKA_TEST_SHOP_HTTP_H
#define PUNYAKA_TEST_SHOP_HTTP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <libpq-fe.h>
#include "tests/support/calls.h"
#include "tests/support/http.h"

/* The shipping address every checkout sends (a JSON body). */
#define SHOP_HTTP_ADDRESS                                                                                     \
    "{\"shipping_address\":\"12 Temple Road\",\"shipping_city\":\"Pune\",\"shipping_state\":\"Maharashtra\"," \
    "\"shipping_pincode\":\"411001\",\"shipping_phone\":\"+91 98765 43210\"}"

extern PGconn *shop_http_db;       /* the stack's database (it_db) */
extern char shop_http_tag[16];     /* keeps names unique across runs against one database */
extern it_actor shop_http_admin;   /* "shopadmin<tag>", signed in: every catalog write runs as it */
extern int64_t shop_http_root_category, shop_http_child_category;   /* "root-<tag>" > "child-<tag>" */

/* The whole of a shop HTTP test's main(): it_start and the database; then
 * the group runs with a group setup that makes the admin (punyaka-admin,
 * then a login) and the categories root > child, and copies them into
 * *admin, *root_category and *child_category (the test file's own names;
 * any may be NULL, as may db). Returns what main returns: 1 when the stack
 * is not usable, else the failed tests. */
int shop_http_main(const char *group, const struct CMUnitTest *tests, size_t n, PGconn **db, it_actor *admin,
                   int64_t *root_category, int64_t *child_category);

/* ---- HTTP ---- */

/* One request as `who` with Prefer: wait=10 and `extra` header lines. */
it_response shop_http_call_with(const char *method, const char *path, const it_actor *who, const char *body,
                                 const char *extra);
/* One request (it_call), which must answer `status`. */
void shop_http_expect_call(const char *method, const char *path, const it_actor *who, const char *body,
                           int status);

/* ---- people ---- */

/* "<base><tag><n>" registered over HTTP with its session. Thread safe (no
 * cmocka assertions): user_id stays 0 when it failed. */
it_actor shop_http_register_quiet(const char *base, const char *role);
/* The same, which must succeed. */
it_actor shop_http_register_as(const char *base, const char *role);
/* A new customer "shopper<tag><n>". */
it_actor shop_http_customer(void);

/* ---- catalog (through the admin endpoints) ---- */

/* Category "<base> <tag>", slug "<base>-<tag>", under parent (0: none); its id. */
int64_t shop_http_create_category(const char *base, int64_t parent);
/* A product "<base>-<tag>-<n>"; `extra` adds JSON members (or NULL); its
 * slug goes into slug_out (≥ 128 bytes) unless NULL; its id. */
int64_t shop_http_create_product_in(const char *base, const char *price, int stock, int64_t category,
                                    const char *extra, char *slug_out);
/* shop_http_create_product_in without a category. */
int64_t shop_http_create_product(const char *base, const char *price, int stock);
/* The product's stock column in the database. */
long long shop_http_stock_of(int64_t product);
/* How many orders the actor has in the database. */
long long shop_http_orders_of(const it_actor *a);
/* PATCH /api/admin/products/<id>/ as the admin, which must answer 200. */
void shop_http_patch_product(int64_t id, const char *body);

/* ---- cart and checkout ---- */

/* POST /api/cart/add_item/; the answer. */
it_response shop_http_add_item(const it_actor *a, int64_t product, int qty);
/* The same, which must answer 200. */
void shop_http_add_ok(const it_actor *a, int64_t product, int qty);
/* POST /api/orders/checkout/ with SHOP_HTTP_ADDRESS; the answer. */
it_response shop_http_checkout(const it_actor *a);
/* GET /api/cart/ (must be 200); json_decref() it. */
json_t *shop_http_cart_json(const it_actor *a);
/* The cart's line for `product`, or NULL (borrowed from cart). */
json_t *shop_http_line_of(json_t *cart, int64_t product);

/* ---- the short names ---- */

static inline it_response call_with(const char *method, const char *path, const it_actor *who, const char *body,
                                    const char *extra)
{
    return shop_http_call_with(method, path, who, body, extra);
}
static inline void expect_call(const char *method, const char *path, const it_actor *who, const char *body,
                               int status)
{
    shop_http_expect_call(method, path, who, body, status);
}
static inline it_actor register_quiet(const char *base, const char *role)
{
    return shop_http_register_quiet(base, role);
}
static inline it_actor register_as(const char *base, const char *role)
{
    return shop_http_register_as(base, role);
}
static inline it_actor customer(void)
{
    return shop_http_customer();
}
static inline int64_t create_category(const char *base, int64_t parent)
{
    return shop_http_create_category(base, parent);
}
static inline int64_t create_product_in(const char *base, const char *price, int stock, int64_t category,
                                        const char *extra, char *slug_out)
{
    return shop_http_create_product_in(base, price, stock, category, extra, slug_out);
}
static inline int64_t create_product(const char *base, const char *price, int stock)
{
    return shop_http_create_product(base, price, stock);
}
static inline long long stock_of(int64_t product)
{
    return shop_http_stock_of(product);
}
static inline long long orders_of(const it_actor *a)
{
    return shop_http_orders_of(a);
}
static inline void patch_product(int64_t id, const char *body)
{
    shop_http_patch_product(id, body);
}
static inline it_response add_item(const it_actor *a, int64_t product, int qty)
{
    return shop_http_add_item(a, product, qty);
}
static inline void add_ok(const it_actor *a, int64_t product, int qty)
{
    shop_http_add_ok(a, product, qty);
}
static inline it_response checkout(const it_actor *a)
{
    return shop_http_checkout(a);
}
static inline json_t *cart_json(const it_actor *a)
{
    return shop_http_cart_json(a);
}
static inline json_t *line_of(json_t *cart, int64_t product)
{
    return shop_http_line_of(cart, product);
}

#endif
