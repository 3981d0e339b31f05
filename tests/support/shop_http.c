/* shop_http.c — the shop family's HTTP helpers (tests/support/shop_http.h),
 * moved out of it_shop_http.c when it was split (issue 12). */
#include "tests/support/shop_http.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/support/db.h"
#include "tests/support/stack_env.h"

#define SHOP_HTTP_PASSWORD "Tulsi-leaf-42"

PGconn *shop_http_db;
char shop_http_tag[16];
it_actor shop_http_admin;
int64_t shop_http_root_category, shop_http_child_category;

static it_actor *main_admin;
static int64_t *main_root_category, *main_child_category;

/* ---- HTTP ---- */

it_response shop_http_call_with(const char *method, const char *path, const it_actor *who, const char *body,
                                 const char *extra)
{
    char headers[1024];
    snprintf(headers, sizeof(headers), "%s%sPrefer: wait=10\r\n%s", who ? who->headers : "",
             body ? "Content-Type: application/json\r\n" : "", extra ? extra : "");
    return it_http(method, path, headers, body, body ? strlen(body) : 0);
}

void shop_http_expect_call(const char *method, const char *path, const it_actor *who, const char *body,
                           int status)
{
    it_response r = it_call(method, path, who, body);
    if (r.status != status)
        fail_msg("%s %s as %s: HTTP %d, want %d: %s", method, path, who && who->name[0] ? who->name : "anonymous",
                 r.status, status, r.body ? r.body : "");
    it_response_free(&r);
}

/* ---- people ---- */

/* Registers over HTTP and keeps the session registration opened. Thread
 * safe (no cmocka assertions): user_id stays 0 when it failed. */
it_actor shop_http_register_quiet(const char *base, const char *role)
{
    static atomic_int counter;
    it_actor a = {0};
    snprintf(a.name, sizeof(a.name), "%s%s%d", base, shop_http_tag, atomic_fetch_add(&counter, 1));
    if (it_sign_up(&a, role, SHOP_HTTP_PASSWORD, NULL) != 201)
        a.user_id = 0;
    return a;
}

it_actor shop_http_register_as(const char *base, const char *role)
{
    it_actor a = shop_http_register_quiet(base, role);
    assert_true(a.user_id > 0);
    return a;
}

it_actor shop_http_customer(void)
{
    return shop_http_register_as("shopper", "customer");
}

static void create_admin(void)
{
    snprintf(shop_http_admin.name, sizeof(shop_http_admin.name), "shopadmin%s", shop_http_tag);
    assert_int_equal(it_sign_in_admin(&shop_http_admin, SHOP_HTTP_PASSWORD), 200);
}

/* ---- catalog (through the admin endpoints) ---- */

int64_t shop_http_create_category(const char *base, int64_t parent)
{
    char body[512], p[24];
    snprintf(p, sizeof(p), "%lld", (long long)parent);
    snprintf(body, sizeof(body), "{\"name\":\"%s %s\",\"slug\":\"%s-%s\",\"parent\":%s}", base, shop_http_tag, base,
             shop_http_tag, parent ? p : "null");
    it_response r = it_call("POST", "/api/admin/categories/", &shop_http_admin, body);
    it_expect_status(&r, 201);
    int64_t id = it_num(r.json, "id");
    it_response_free(&r);
    return id;
}

/* A product "<base>-<tag>-<n>"; `extra` adds JSON members (or NULL). */
int64_t shop_http_create_product_in(const char *base, const char *price, int stock, int64_t category,
                                    const char *extra, char *slug_out)
{
    static int n;
    char body[1024], slug[128], cat[24];
    snprintf(slug, sizeof(slug), "%s-%s-%d", base, shop_http_tag, ++n);
    snprintf(cat, sizeof(cat), "%lld", (long long)category);
    snprintf(body, sizeof(body),
             "{\"slug\":\"%s\",\"name\":\"%s %s\",\"price\":\"%s\",\"stock\":%d,\"category\":%s%s%s}", slug,
             base, slug, price, stock, category ? cat : "null", extra ? "," : "", extra ? extra : "");
    it_response r = it_call("POST", "/api/admin/products/", &shop_http_admin, body);
    it_expect_status(&r, 201);
    int64_t id = it_num(r.json, "id");
    assert_string_equal(it_str(r.json, "price"), price);
    it_response_free(&r);
    if (slug_out)
        strcpy(slug_out, slug);
    return id;
}

int64_t shop_http_create_product(const char *base, const char *price, int stock)
{
    return shop_http_create_product_in(base, price, stock, 0, NULL, NULL);
}

long long shop_http_stock_of(int64_t product)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)product);
    return it_db_scalar(shop_http_db, "SELECT stock FROM products WHERE id = $1", id, NULL);
}

long long shop_http_orders_of(const it_actor *a)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)a->user_id);
    return it_db_scalar(shop_http_db, "SELECT count(*) FROM orders WHERE user_id = $1", id, NULL);
}

void shop_http_patch_product(int64_t id, const char *body)
{
    it_response r = it_callf("PATCH", &shop_http_admin, body, "/api/admin/products/%lld/", (long long)id);
    it_expect_status(&r, 200);
    it_response_free(&r);
}

/* ---- cart and checkout ---- */

it_response shop_http_add_item(const it_actor *a, int64_t product, int qty)
{
    char body[128];
    snprintf(body, sizeof(body), "{\"product_id\":%lld,\"quantity\":%d}", (long long)product, qty);
    return it_call("POST", "/api/cart/add_item/", a, body);
}

void shop_http_add_ok(const it_actor *a, int64_t product, int qty)
{
    it_response r = shop_http_add_item(a, product, qty);
    it_expect_status(&r, 200);
    it_response_free(&r);
}

it_response shop_http_checkout(const it_actor *a)
{
    return it_call("POST", "/api/orders/checkout/", a, SHOP_HTTP_ADDRESS);
}

json_t *shop_http_cart_json(const it_actor *a)
{
    it_response r = it_call("GET", "/api/cart/", a, NULL);
    it_expect_status(&r, 200);
    json_t *j = json_incref(r.json);
    it_response_free(&r);
    return j;
}

json_t *shop_http_line_of(json_t *cart, int64_t product)
{
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(cart, "items"), i, item) {
        if (it_num(item, "item_id") == product)
            return item;
    }
    return NULL;
}


/* ---- main ---- */

/* The group setup: the admin and the two categories the catalog tests
 * build under. */
static int setup(void **state)
{
    (void)state;
    create_admin();
    shop_http_root_category = shop_http_create_category("root", 0);
    shop_http_child_category = shop_http_create_category("child", shop_http_root_category);
    if (main_admin)
        *main_admin = shop_http_admin;
    if (main_root_category)
        *main_root_category = shop_http_root_category;
    if (main_child_category)
        *main_child_category = shop_http_child_category;
    return 0;
}

int shop_http_main(const char *group, const struct CMUnitTest *tests, size_t n, PGconn **db, it_actor *admin,
                   int64_t *root_category, int64_t *child_category)
{
    if (it_start(shop_http_tag, sizeof(shop_http_tag)) != 0)
        return 1;
    shop_http_db = it_db();
    if (db)
        *db = shop_http_db;
    main_admin = admin;
    main_root_category = root_category;
    main_child_category = child_category;
    int failed = _cmocka_run_group_tests(group, tests, n, setup, NULL);
    PQfinish(shop_http_db);
    return failed;
}
