/* it_shop_http.c — issue 5 over real HTTP: catalog reads, the Redis cart,
 * checkout through Kafka and the workers, orders, and the admin catalog.
 * Customers and priests register over HTTP (keeping the session that
 * registration opens), the admin comes from the punyaka-admin CLI and builds
 * the catalog through the admin endpoints.
 *
 * Writes are sent with `Prefer: wait=10`, so the answer is the worker's
 * final outcome (201/200 or the rejection), never a 202. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include <sodium.h>
#include "tests/support/db.h"
#include "tests/support/calls.h"
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

#define PASSWORD "Tulsi-leaf-42"
#define ADDRESS                                                                                               \
    "{\"shipping_address\":\"12 Temple Road\",\"shipping_city\":\"Pune\",\"shipping_state\":\"Maharashtra\"," \
    "\"shipping_pincode\":\"411001\",\"shipping_phone\":\"+91 98765 43210\"}"

static PGconn *db;
static char tag[16];   /* keeps names unique across runs against one database */

static const it_actor ANONYMOUS = {0};
static it_actor admin;
static int64_t root_category, child_category;

/* ---- HTTP ---- */

static it_response call_with(const char *method, const char *path, const it_actor *who, const char *body,
                             const char *extra)
{
    char headers[1024];
    snprintf(headers, sizeof(headers), "%s%sPrefer: wait=10\r\n%s", who ? who->headers : "",
             body ? "Content-Type: application/json\r\n" : "", extra ? extra : "");
    return it_http(method, path, headers, body, body ? strlen(body) : 0);
}

static void expect_call(const char *method, const char *path, const it_actor *who, const char *body, int status)
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
static it_actor register_quiet(const char *base, const char *role)
{
    static atomic_int counter;
    it_actor a = {0};
    snprintf(a.name, sizeof(a.name), "%s%s%d", base, tag, atomic_fetch_add(&counter, 1));
    if (it_sign_up(&a, role, PASSWORD, NULL) != 201)
        a.user_id = 0;
    return a;
}

static it_actor register_as(const char *base, const char *role)
{
    it_actor a = register_quiet(base, role);
    assert_true(a.user_id > 0);
    return a;
}

static it_actor customer(void)
{
    return register_as("shopper", "customer");
}

static void create_admin(void)
{
    snprintf(admin.name, sizeof(admin.name), "shopadmin%s", tag);
    assert_int_equal(it_sign_in_admin(&admin, PASSWORD), 200);
}

/* ---- catalog (through the admin endpoints) ---- */

static int64_t create_category(const char *base, int64_t parent)
{
    char body[512], p[24];
    snprintf(p, sizeof(p), "%lld", (long long)parent);
    snprintf(body, sizeof(body), "{\"name\":\"%s %s\",\"slug\":\"%s-%s\",\"parent\":%s}", base, tag, base, tag,
             parent ? p : "null");
    it_response r = it_call("POST", "/api/admin/categories/", &admin, body);
    it_expect_status(&r, 201);
    int64_t id = it_num(r.json, "id");
    it_response_free(&r);
    return id;
}

/* A product "<base>-<tag>-<n>"; `extra` adds JSON members (or NULL). */
static int64_t create_product_in(const char *base, const char *price, int stock, int64_t category, const char *extra,
                                 char *slug_out)
{
    static int n;
    char body[1024], slug[128], cat[24];
    snprintf(slug, sizeof(slug), "%s-%s-%d", base, tag, ++n);
    snprintf(cat, sizeof(cat), "%lld", (long long)category);
    snprintf(body, sizeof(body),
             "{\"slug\":\"%s\",\"name\":\"%s %s\",\"price\":\"%s\",\"stock\":%d,\"category\":%s%s%s}", slug,
             base, slug, price, stock, category ? cat : "null", extra ? "," : "", extra ? extra : "");
    it_response r = it_call("POST", "/api/admin/products/", &admin, body);
    it_expect_status(&r, 201);
    int64_t id = it_num(r.json, "id");
    assert_string_equal(it_str(r.json, "price"), price);
    it_response_free(&r);
    if (slug_out)
        strcpy(slug_out, slug);
    return id;
}

static int64_t create_product(const char *base, const char *price, int stock)
{
    return create_product_in(base, price, stock, 0, NULL, NULL);
}

static long long stock_of(int64_t product)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)product);
    return it_db_scalar(db, "SELECT stock FROM products WHERE id = $1", id, NULL);
}

static long long orders_of(const it_actor *a)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)a->user_id);
    return it_db_scalar(db, "SELECT count(*) FROM orders WHERE user_id = $1", id, NULL);
}

static void patch_product(int64_t id, const char *body)
{
    it_response r = it_callf("PATCH", &admin, body, "/api/admin/products/%lld/", (long long)id);
    it_expect_status(&r, 200);
    it_response_free(&r);
}

/* ---- cart and checkout ---- */

static it_response add_item(const it_actor *a, int64_t product, int qty)
{
    char body[128];
    snprintf(body, sizeof(body), "{\"product_id\":%lld,\"quantity\":%d}", (long long)product, qty);
    return it_call("POST", "/api/cart/add_item/", a, body);
}

static void add_ok(const it_actor *a, int64_t product, int qty)
{
    it_response r = add_item(a, product, qty);
    it_expect_status(&r, 200);
    it_response_free(&r);
}

static it_response checkout(const it_actor *a)
{
    return it_call("POST", "/api/orders/checkout/", a, ADDRESS);
}

static char *cart_text(const it_actor *a)
{
    it_response r = it_call("GET", "/api/cart/", a, NULL);
    it_expect_status(&r, 200);
    char *text = strdup(r.body);
    it_response_free(&r);
    return text;
}

static json_t *cart_json(const it_actor *a)
{
    it_response r = it_call("GET", "/api/cart/", a, NULL);
    it_expect_status(&r, 200);
    json_t *j = json_incref(r.json);
    it_response_free(&r);
    return j;
}

static json_t *line_of(json_t *cart, int64_t product)
{
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(cart, "items"), i, item) {
        if (it_num(item, "item_id") == product)
            return item;
    }
    return NULL;
}

/* Money string ⇒ paise (tests parse independently of the API's code). */
static long long paise(const char *s)
{
    long long whole = 0, frac = 0;
    assert_int_equal(sscanf(s, "%lld.%2lld", &whole, &frac), 2);
    assert_int_equal(strlen(strchr(s, '.') + 1), 2);
    return whole * 100 + frac;
}

/* ---- tests: catalog reads ---- */

static int list_has_as(const it_actor *who, const char *query, int64_t id)
{
    it_response r = it_call("GET", query, who, NULL);
    it_expect_status(&r, 200);
    size_t i;
    json_t *p;
    int found = 0;
    json_array_foreach(json_object_get(r.json, "results"), i, p) found |= it_num(p, "id") == id;
    it_response_free(&r);
    return found;
}

static int list_has(const char *query, int64_t id)
{
    return list_has_as(NULL, query, id);
}

static void test_catalog_reads(void **state)
{
    (void)state;
    char q[512], slug[128];
    int64_t grand = create_category("grand", child_category);   /* root > child > grand */
    int64_t in_root = create_product_in("rootitem", "100.00", 5, root_category, NULL, NULL);
    int64_t in_grand = create_product_in("granditem", "250.50", 0, grand, "\"product_type\":\"gift\"", slug);
    int64_t featured = create_product_in("featureditem", "75.00", 3, child_category,
                                         "\"is_featured\":true,\"discount_price\":\"60.00\"", NULL);
    /* The category filter walks down the tree. */
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&page_size=100", tag);
    assert_true(list_has(q, in_root) && list_has(q, in_grand) && list_has(q, featured));
    snprintf(q, sizeof(q), "/api/products/?category=child-%s&page_size=100", tag);
    assert_true(!list_has(q, in_root) && list_has(q, in_grand) && list_has(q, featured));
    snprintf(q, sizeof(q), "/api/products/?category=%lld&page_size=100", (long long)grand);
    assert_true(!list_has(q, in_root) && list_has(q, in_grand) && !list_has(q, featured));
    assert_false(list_has("/api/products/?category=no-such-category&page_size=100", in_root));
    /* type, featured, in_stock, q, prices */
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&type=gift&page_size=100", tag);
    assert_true(list_has(q, in_grand) && !list_has(q, in_root));
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&featured=true&page_size=100", tag);
    assert_true(list_has(q, featured) && !list_has(q, in_root));
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&in_stock=true&page_size=100", tag);
    assert_true(list_has(q, in_root) && !list_has(q, in_grand));
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&in_stock=false&page_size=100", tag);
    assert_true(!list_has(q, in_root) && list_has(q, in_grand));
    snprintf(q, sizeof(q), "/api/products/?q=GRANDITEM-%s&page_size=100", tag);
    assert_true(list_has(q, in_grand) && !list_has(q, in_root));
    /* price bounds apply to the price paid (the discount: 60.00) */
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&min_price=60&max_price=60.00&page_size=100", tag);
    assert_true(list_has(q, featured) && !list_has(q, in_root) && !list_has(q, in_grand));
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&min_price=100.00&page_size=100", tag);
    assert_true(list_has(q, in_root) && list_has(q, in_grand) && !list_has(q, featured));
    /* ordering by the price paid, both ways, and paging */
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&ordering=price&page_size=2", tag);
    it_response r = it_call("GET", q, NULL, NULL);
    it_expect_status(&r, 200);
    assert_int_equal(it_num(r.json, "count"), 3);
    json_t *results = json_object_get(r.json, "results");
    assert_int_equal(json_array_size(results), 2);
    assert_int_equal(it_num(json_array_get(results, 0), "id"), featured);
    assert_int_equal(it_num(json_array_get(results, 1), "id"), in_root);
    assert_true(json_is_string(json_object_get(r.json, "next")));
    it_response_free(&r);
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&ordering=-price", tag);
    r = it_call("GET", q, NULL, NULL);
    assert_int_equal(it_num(json_array_get(json_object_get(r.json, "results"), 0), "id"), in_grand);
    it_response_free(&r);
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&ordering=newest", tag);
    r = it_call("GET", q, NULL, NULL);
    assert_int_equal(it_num(json_array_get(json_object_get(r.json, "results"), 0), "id"), featured);
    it_response_free(&r);
    /* one product by id and by slug: the same document */
    r = it_callf("GET", NULL, NULL, "/api/products/%lld/", (long long)in_grand);
    it_expect_status(&r, 200);
    assert_string_equal(it_str(r.json, "price"), "250.50");
    assert_true(json_is_null(json_object_get(r.json, "discount_price")));
    assert_int_equal(it_num(r.json, "stock"), 0);
    assert_true(json_is_false(json_object_get(r.json, "is_in_stock")));
    assert_int_equal(it_num(r.json, "category"), grand);
    it_response r2 = it_callf("GET", NULL, NULL, "/api/products/%s/", slug);
    it_expect_status(&r2, 200);
    assert_string_equal(r.body, r2.body);
    it_response_free(&r);
    it_response_free(&r2);
    expect_call("GET", "/api/products/999999999/", NULL, NULL, 404);
    expect_call("GET", "/api/products/no-such-product/", NULL, NULL, 404);
    /* bad parameters: 422 naming the parameter */
    const char *bad[][2] = {{"ordering=cheapest", "ordering"}, {"min_price=abc", "min_price"},
                            {"max_price=1.234", "max_price"}, {"type=toy", "type"}, {"in_stock=yes", "in_stock"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(q, sizeof(q), "/api/products/?%s", bad[i][0]);
        r = it_call("GET", q, NULL, NULL);
        it_expect_problem(&r, 422, NULL, bad[i][1]);
        it_response_free(&r);
    }
    /* A deactivated product leaves the catalog. */
    patch_product(in_root, "{\"is_active\":false}");
    r = it_callf("GET", NULL, NULL, "/api/products/%lld/", (long long)in_root);
    it_expect_status(&r, 404);
    it_response_free(&r);
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&page_size=100", tag);
    assert_false(list_has(q, in_root));
    /* The admin list keeps it (so it can be activated again), filtered by
     * is_active; nobody else may read that list. */
    snprintf(q, sizeof(q), "/api/admin/products/?category=root-%s&page_size=100", tag);
    assert_true(list_has_as(&admin, q, in_root));
    snprintf(q, sizeof(q), "/api/admin/products/?category=root-%s&is_active=false&page_size=100", tag);
    assert_true(list_has_as(&admin, q, in_root));
    snprintf(q, sizeof(q), "/api/admin/products/?category=root-%s&is_active=true&page_size=100", tag);
    assert_false(list_has_as(&admin, q, in_root));
    r = it_call("GET", "/api/admin/products/?is_active=maybe", &admin, NULL);
    it_expect_problem(&r, 422, NULL, "is_active");
    it_response_free(&r);
    expect_call("GET", "/api/admin/products/", NULL, NULL, 401);
    patch_product(in_root, "{\"is_active\":true}");
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&page_size=100", tag);
    assert_true(list_has(q, in_root));
}

static json_t *category_node(json_t *list, int64_t id)
{
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) {
        if (it_num(c, "id") == id)
            return c;
        json_t *deeper = category_node(json_object_get(c, "children"), id);
        if (deeper)
            return deeper;
    }
    return NULL;
}

static void test_category_tree(void **state)
{
    (void)state;
    int64_t leaf = create_category("leaf", child_category);
    it_response r = it_call("GET", "/api/categories/", NULL, NULL);
    it_expect_status(&r, 200);
    json_t *root = category_node(r.json, root_category);
    assert_non_null(root);
    assert_true(json_is_null(json_object_get(root, "parent")));
    json_t *child = category_node(json_object_get(root, "children"), child_category);
    assert_non_null(child);
    assert_non_null(category_node(json_object_get(child, "children"), leaf));
    it_response_free(&r);
    /* A deactivated category hides its subtree. */
    it_response p = it_callf("PATCH", &admin, "{\"is_active\":false}", "/api/admin/categories/%lld/", (long long)leaf);
    it_expect_status(&p, 200);
    it_response_free(&p);
    r = it_call("GET", "/api/categories/", NULL, NULL);
    assert_null(category_node(r.json, leaf));
    assert_non_null(category_node(r.json, child_category));
    it_response_free(&r);
    /* The admin tree still shows it, marked inactive. */
    r = it_call("GET", "/api/admin/categories/", &admin, NULL);
    it_expect_status(&r, 200);
    json_t *hidden = category_node(r.json, leaf);
    assert_non_null(hidden);
    assert_true(json_is_false(json_object_get(hidden, "is_active")));
    it_response_free(&r);
}

static void test_etag(void **state)
{
    (void)state;
    int64_t id = create_product("etagged", "99.00", 7);
    char path[64], etag[80], etag2[80], inm[128];
    snprintf(path, sizeof(path), "/api/products/%lld/", (long long)id);
    const char *paths[] = {path, "/api/products/?page_size=100", "/api/categories/"};
    for (size_t i = 0; i < 3; i++) {
        it_response r = it_call("GET", paths[i], NULL, NULL);
        it_expect_status(&r, 200);
        assert_non_null(it_header(&r, "etag", etag, sizeof(etag)));
        snprintf(inm, sizeof(inm), "If-None-Match: %s\r\n", etag);
        it_response again = call_with("GET", paths[i], NULL, NULL, inm);
        it_expect_status(&again, 304);
        assert_int_equal(again.body_len, 0);
        it_response_free(&r);
        it_response_free(&again);
    }
    /* A change is visible at once (well within the 1 s allowed): 200 with a new ETag. */
    it_response r = it_call("GET", path, NULL, NULL);
    assert_non_null(it_header(&r, "etag", etag, sizeof(etag)));
    it_response_free(&r);
    patch_product(id, "{\"price\":\"101.00\"}");
    snprintf(inm, sizeof(inm), "If-None-Match: %s\r\n", etag);
    r = call_with("GET", path, NULL, NULL, inm);
    it_expect_status(&r, 200);
    assert_string_equal(it_str(r.json, "price"), "101.00");
    assert_non_null(it_header(&r, "etag", etag2, sizeof(etag2)));
    assert_string_not_equal(etag, etag2);
    it_response_free(&r);
}

/* ---- tests: the cart ---- */

static void test_cart_lines_and_totals(void **state)
{
    (void)state;
    it_actor c = customer();
    int64_t cheap = create_product("cheap", "499.99", 10), penny = create_product("penny", "0.01", 10);
    json_t *cart = cart_json(&c);
    assert_int_equal(json_array_size(json_object_get(cart, "items")), 0);
    assert_string_equal(it_str(cart, "total"), "0.00");
    json_decref(cart);
    add_ok(&c, cheap, 1);
    cart = cart_json(&c);
    assert_string_equal(it_str(cart, "subtotal"), "499.99");
    assert_string_equal(it_str(cart, "shipping"), "50.00");   /* below ₹500 */
    assert_string_equal(it_str(cart, "total"), "549.99");
    json_decref(cart);
    add_ok(&c, penny, 1);   /* exactly ₹500: ships free */
    add_ok(&c, penny, 2);   /* adding again adds to the line */
    cart = cart_json(&c);
    json_t *line = line_of(cart, penny);
    assert_int_equal(it_num(line, "quantity"), 3);
    assert_string_equal(it_str(line, "unit_price"), "0.01");
    assert_string_equal(it_str(line, "line_total"), "0.03");
    assert_int_equal(it_num(json_object_get(line, "product"), "id"), penny);
    assert_string_equal(it_str(cart, "subtotal"), "500.02");
    assert_string_equal(it_str(cart, "shipping"), "0.00");
    assert_string_equal(it_str(cart, "total"), "500.02");
    json_decref(cart);
    /* update sets, remove drops, clear empties */
    it_response r = it_call("POST", "/api/cart/update_item/", &c, "{\"item_id\":0,\"quantity\":1}");
    it_expect_problem(&r, 422, NULL, "item_id");
    it_response_free(&r);
    char body[96];
    snprintf(body, sizeof(body), "{\"item_id\":%lld,\"quantity\":1}", (long long)penny);
    r = it_call("POST", "/api/cart/update_item/", &c, body);
    it_expect_status(&r, 200);
    assert_string_equal(it_str(r.json, "subtotal"), "500.00");
    it_response_free(&r);
    snprintf(body, sizeof(body), "{\"item_id\":%lld}", (long long)cheap);
    r = it_call("POST", "/api/cart/remove_item/", &c, body);
    it_expect_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_string_equal(it_str(r.json, "shipping"), "50.00");
    it_response_free(&r);
    r = it_call("POST", "/api/cart/remove_item/", &c, body);   /* not in the cart any more */
    it_expect_problem(&r, 404, "not_found", NULL);
    it_response_free(&r);
    /* a stock warning per short line; checkout decides */
    snprintf(body, sizeof(body), "{\"item_id\":%lld,\"quantity\":11}", (long long)penny);
    r = it_call("POST", "/api/cart/update_item/", &c, body);
    it_expect_status(&r, 200);
    json_t *w = json_array_get(json_object_get(line_of(r.json, penny), "warnings"), 0);
    assert_string_equal(it_str(w, "code"), "out_of_stock");
    it_response_free(&r);
    r = it_call("POST", "/api/cart/clear/", &c, NULL);
    it_expect_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    it_response_free(&r);
    /* the order's totals, exact: sum(unit × qty) + shipping */
    add_ok(&c, cheap, 1);
    add_ok(&c, penny, 3);
    r = checkout(&c);
    it_expect_status(&r, 201);
    long long sum = 0;
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(r.json, "items"), i, item) {
        assert_int_equal(paise(it_str(item, "unit_price")) * it_num(item, "quantity"), paise(it_str(item, "line_total")));
        sum += paise(it_str(item, "line_total"));
    }
    assert_int_equal(sum, 50002);
    assert_int_equal(paise(it_str(r.json, "subtotal")), sum);
    assert_int_equal(paise(it_str(r.json, "shipping_charge")), 0);
    assert_int_equal(paise(it_str(r.json, "total_amount")), sum);
    assert_string_equal(it_str(r.json, "status"), "pending");
    assert_string_equal(it_str(r.json, "payment_status"), "paid");
    assert_non_null(strstr(it_str(r.json, "order_number"), "PUN-"));
    it_response_free(&r);
    cart = cart_json(&c);
    assert_int_equal(json_array_size(json_object_get(cart, "items")), 0);   /* the ordered lines are gone */
    json_decref(cart);
    add_ok(&c, cheap, 1);
    r = checkout(&c);
    it_expect_status(&r, 201);
    assert_string_equal(it_str(r.json, "shipping_charge"), "50.00");
    assert_string_equal(it_str(r.json, "total_amount"), "549.99");
    it_response_free(&r);
}

static void test_cart_limits(void **state)
{
    (void)state;
    it_actor c = customer();
    int64_t p = create_product("limited", "10.00", 100);
    const char *bad[] = {"{\"product_id\":%lld,\"quantity\":0}", "{\"product_id\":%lld,\"quantity\":100}",
                         "{\"product_id\":%lld,\"quantity\":\"2\"}", "{\"product_id\":%lld,\"quantity\":2.0}",
                         "{\"product_id\":%lld,\"quantity\":-1}"};
    char body[128];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(body, sizeof(body), bad[i], (long long)p);
        it_response r = it_call("POST", "/api/cart/add_item/", &c, body);
        it_expect_problem(&r, 422, NULL, "quantity");
        it_response_free(&r);
    }
    it_response r = it_call("POST", "/api/cart/add_item/", &c, "{\"product_id\":\"1\",\"quantity\":1}");
    it_expect_problem(&r, 422, NULL, "product_id");
    it_response_free(&r);
    /* 99 per line, counting what the line already holds */
    add_ok(&c, p, 98);
    r = add_item(&c, p, 2);
    it_expect_problem(&r, 422, NULL, "quantity");
    it_response_free(&r);
    add_ok(&c, p, 1);
    snprintf(body, sizeof(body), "{\"item_id\":%lld,\"quantity\":0}", (long long)p);
    r = it_call("POST", "/api/cart/update_item/", &c, body);
    it_expect_problem(&r, 422, NULL, "quantity");
    it_response_free(&r);
    /* unknown ⇒ 404, inactive ⇒ 422 */
    r = add_item(&c, 999999999, 1);
    it_expect_problem(&r, 404, "not_found", "product_id");
    it_response_free(&r);
    int64_t gone = create_product("retired", "10.00", 5);
    patch_product(gone, "{\"is_active\":false}");
    r = add_item(&c, gone, 1);
    it_expect_problem(&r, 422, "inactive_product", "product_id");
    it_response_free(&r);
    /* 50 lines, and not one more */
    for (int i = 1; i < 50; i++)
        add_ok(&c, create_product("bulk", "1.00", 5), 1);
    json_t *cart = cart_json(&c);
    assert_int_equal(json_array_size(json_object_get(cart, "items")), 50);
    json_decref(cart);
    int64_t fifty_first = create_product("bulk", "1.00", 5);
    r = add_item(&c, fifty_first, 1);
    it_expect_problem(&r, 422, "cart_full", "product_id");
    it_response_free(&r);
}

static void test_cart_isolation(void **state)
{
    (void)state;
    it_actor a = customer(), b = customer();
    int64_t p = create_product("mine", "20.00", 10), q = create_product("theirs", "30.00", 10);
    add_ok(&a, p, 2);
    char *before = cart_text(&a);
    json_t *bc = cart_json(&b);
    assert_int_equal(json_array_size(json_object_get(bc, "items")), 0);   /* B never sees A's lines */
    json_decref(bc);
    char body[96];
    snprintf(body, sizeof(body), "{\"item_id\":%lld}", (long long)p);
    it_response r = it_call("POST", "/api/cart/remove_item/", &b, body);
    it_expect_status(&r, 404);   /* B names A's line: it is not in B's cart */
    it_response_free(&r);
    snprintf(body, sizeof(body), "{\"item_id\":%lld,\"quantity\":5}", (long long)p);
    r = it_call("POST", "/api/cart/update_item/", &b, body);
    it_expect_status(&r, 404);
    it_response_free(&r);
    add_ok(&b, q, 1);
    r = it_call("POST", "/api/cart/clear/", &b, NULL);
    it_expect_status(&r, 200);
    it_response_free(&r);
    r = checkout(&b);   /* B's empty cart: nothing of A's is bought */
    it_expect_problem(&r, 422, "empty_cart", NULL);
    it_response_free(&r);
    char *after = cart_text(&a);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* ---- tests: checkout ---- */

static void test_short_last_line_changes_nothing(void **state)
{
    (void)state;
    it_actor c = customer();
    int64_t a = create_product("linea", "10.00", 5), b = create_product("lineb", "20.00", 5),
            s = create_product("lines", "30.00", 1);
    add_ok(&c, a, 1);
    add_ok(&c, b, 2);
    add_ok(&c, s, 2);
    char *before = cart_text(&c);
    it_response r = checkout(&c);
    char field[64];
    snprintf(field, sizeof(field), "items.%lld.quantity", (long long)s);
    it_expect_problem(&r, 409, "out_of_stock", field);
    assert_non_null(strstr(it_str(r.json, "detail"), "lines"));   /* names the product */
    it_response_free(&r);
    assert_int_equal(orders_of(&c), 0);
    assert_int_equal(stock_of(a), 5);
    assert_int_equal(stock_of(b), 5);
    assert_int_equal(stock_of(s), 1);
    char *after = cart_text(&c);
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* bad addresses are refused before anything is published */
    const char *bad[][2] = {
        {"{\"shipping_address\":\"x\",\"shipping_city\":\"Pune\",\"shipping_state\":\"MH\",\"shipping_pincode\":\"01234\","
         "\"shipping_phone\":\"+91 98765 43210\"}", "shipping_pincode"},
        {"{\"shipping_address\":\"x\",\"shipping_city\":\"Pune\",\"shipping_state\":\"MH\",\"shipping_pincode\":\"411001\","
         "\"shipping_phone\":\"call me\"}", "shipping_phone"},
        {"{\"shipping_city\":\"Pune\",\"shipping_state\":\"MH\",\"shipping_pincode\":\"411001\","
         "\"shipping_phone\":\"+91 98765 43210\"}", "shipping_address"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = it_call("POST", "/api/orders/checkout/", &c, bad[i][0]);
        it_expect_problem(&r, 422, NULL, bad[i][1]);
        it_response_free(&r);
    }
    it_actor empty = customer();
    r = checkout(&empty);
    it_expect_problem(&r, 422, "empty_cart", NULL);
    it_response_free(&r);
}

static void test_price_changes(void **state)
{
    (void)state;
    it_actor c = customer();
    int64_t up = create_product("pricey", "100.00", 10);
    add_ok(&c, up, 2);
    patch_product(up, "{\"price\":\"120.00\"}");
    char *before = cart_text(&c);
    json_t *cart = cart_json(&c);
    json_t *line = line_of(cart, up);
    assert_string_equal(it_str(line, "unit_price"), "120.00");
    assert_string_equal(it_str(line, "price_when_added"), "100.00");
    assert_string_equal(it_str(json_array_get(json_object_get(line, "warnings"), 0), "code"), "price_changed");
    json_decref(cart);
    it_response r = checkout(&c);
    char field[64];
    snprintf(field, sizeof(field), "items.%lld.unit_price", (long long)up);
    it_expect_problem(&r, 409, "price_changed", field);
    it_response_free(&r);
    assert_int_equal(orders_of(&c), 0);
    assert_int_equal(stock_of(up), 10);
    char *after = cart_text(&c);
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* update_item accepts today's price; then checkout goes through at it */
    char body[96];
    snprintf(body, sizeof(body), "{\"item_id\":%lld,\"quantity\":2}", (long long)up);
    r = it_call("POST", "/api/cart/update_item/", &c, body);
    it_expect_status(&r, 200);
    it_response_free(&r);
    r = checkout(&c);
    it_expect_status(&r, 201);
    assert_string_equal(it_str(json_array_get(json_object_get(r.json, "items"), 0), "unit_price"), "120.00");
    it_response_free(&r);
    /* lowered: the customer pays the lower price (never more than shown) */
    int64_t down = create_product("sale", "100.00", 10);
    add_ok(&c, down, 3);
    patch_product(down, "{\"discount_price\":\"80.00\"}");
    r = checkout(&c);
    it_expect_status(&r, 201);
    json_t *item = json_array_get(json_object_get(r.json, "items"), 0);
    assert_string_equal(it_str(item, "unit_price"), "80.00");
    assert_string_equal(it_str(item, "line_total"), "240.00");
    assert_string_equal(it_str(r.json, "subtotal"), "240.00");
    assert_string_equal(it_str(r.json, "shipping_charge"), "50.00");
    assert_string_equal(it_str(r.json, "total_amount"), "290.00");
    it_response_free(&r);
}

static void set_kit(int64_t kit, const char *components)
{
    it_response r = it_callf("POST", &admin, components, "/api/admin/products/%lld/kit/", (long long)kit);
    it_expect_status(&r, 200);
    it_response_free(&r);
}

static void test_kits(void **state)
{
    (void)state;
    it_actor c = customer();
    int64_t x = create_product("kitx", "10.00", 10), y = create_product("kity", "5.00", 9);
    char slug[128], body[256];
    int64_t kit = create_product_in("kit", "100.00", 0, 0, "\"product_type\":\"kit\"", slug);
    snprintf(body, sizeof(body),
             "{\"components\":[{\"product_id\":%lld,\"quantity\":2},{\"product_id\":%lld,\"quantity\":3}]}",
             (long long)x, (long long)y);
    set_kit(kit, body);
    /* derived: min(floor(10 / 2), floor(9 / 3)) = 3, with its components */
    it_response r = it_callf("GET", NULL, NULL, "/api/products/%s/", slug);
    it_expect_status(&r, 200);
    assert_int_equal(it_num(r.json, "stock"), 3);
    assert_int_equal(json_array_size(json_object_get(r.json, "components")), 2);
    it_response_free(&r);
    assert_int_equal(stock_of(kit), 0);   /* a kit's own column stays 0 */
    /* two kits take 2 × qty of each component */
    add_ok(&c, kit, 2);
    r = checkout(&c);
    it_expect_status(&r, 201);
    it_response_free(&r);
    assert_int_equal(stock_of(x), 6);
    assert_int_equal(stock_of(y), 3);
    r = it_callf("GET", NULL, NULL, "/api/products/%lld/", (long long)kit);
    assert_int_equal(it_num(r.json, "stock"), 1);
    it_response_free(&r);
    /* a kit and one of its components are checked against the summed need:
     * kit needs 3 y, plus one y = 4 > 3, though each line alone fits */
    add_ok(&c, kit, 1);
    add_ok(&c, y, 1);
    json_t *cart = cart_json(&c);
    assert_int_equal(json_array_size(json_object_get(line_of(cart, y), "warnings")), 1);
    json_decref(cart);
    r = checkout(&c);
    it_expect_problem(&r, 409, "out_of_stock", NULL);
    it_response_free(&r);
    assert_int_equal(stock_of(x), 6);
    assert_int_equal(stock_of(y), 3);
    /* the kit with 4 x on top: x needs 2 + 4 = 6 of 6, y 3 of 3 */
    char rm[64];
    snprintf(rm, sizeof(rm), "{\"item_id\":%lld}", (long long)y);
    r = it_call("POST", "/api/cart/remove_item/", &c, rm);
    it_expect_status(&r, 200);
    it_response_free(&r);
    add_ok(&c, x, 4);
    r = checkout(&c);
    it_expect_status(&r, 201);
    it_response_free(&r);
    assert_int_equal(stock_of(x), 0);
    assert_int_equal(stock_of(y), 0);
    r = it_callf("GET", NULL, NULL, "/api/products/%lld/", (long long)kit);
    assert_int_equal(it_num(r.json, "stock"), 0);
    assert_true(json_is_false(json_object_get(r.json, "is_in_stock")));
    it_response_free(&r);
}

static void test_idempotent_checkout(void **state)
{
    (void)state;
    it_actor c = customer();
    int64_t p = create_product("once", "25.00", 10);
    add_ok(&c, p, 2);
    char key[128];
    snprintf(key, sizeof(key), "Idempotency-Key: checkout-%s-1\r\n", tag);
    it_response first = call_with("POST", "/api/orders/checkout/", &c, ADDRESS, key);
    it_expect_status(&first, 201);
    /* The retry finds the cart empty, yet gets the same order back. */
    it_response again = call_with("POST", "/api/orders/checkout/", &c, ADDRESS, key);
    it_expect_status(&again, 201);
    assert_int_equal(it_num(first.json, "id"), it_num(again.json, "id"));
    it_response_free(&first);
    it_response_free(&again);
    assert_int_equal(orders_of(&c), 1);
    assert_int_equal(stock_of(p), 8);
    /* and re-adding the same line afterwards is not eaten by the replay */
    add_ok(&c, p, 2);
    again = call_with("POST", "/api/orders/checkout/", &c, ADDRESS, key);
    it_expect_status(&again, 201);
    it_response_free(&again);
    json_t *cart = cart_json(&c);
    assert_int_equal(it_num(line_of(cart, p), "quantity"), 2);
    json_decref(cart);
    assert_int_equal(orders_of(&c), 1);
}

/* ---- tests: a double submit is one order ---- */

enum { CLICKS = 8 };

typedef struct {
    const it_actor *who;
    pthread_barrier_t *start;
    int status;
    long long order;
    char code[32];
} click;

static void *click_checkout(void *arg)
{
    click *k = arg;
    pthread_barrier_wait(k->start);
    it_response r = checkout(k->who);
    k->status = r.status;
    k->order = r.status == 201 ? it_num(r.json, "id") : 0;
    snprintf(k->code, sizeof(k->code), "%s", r.status >= 400 ? it_str(r.json, "code") : "");
    it_response_free(&r);
    return NULL;
}

/* Eight "place order" clicks at once, no Idempotency-Key: one order; every
 * click is answered with it, or finds the cart already ordered (empty). */
static void test_double_submit_is_one_order(void **state)
{
    (void)state;
    it_actor c = customer();
    int64_t p = create_product("twice", "40.00", 10);
    add_ok(&c, p, 2);
    click clicks[CLICKS];
    pthread_t threads[CLICKS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, CLICKS);
    for (int i = 0; i < CLICKS; i++) {
        clicks[i] = (click){.who = &c, .start = &start};
        assert_int_equal(pthread_create(&threads[i], NULL, click_checkout, &clicks[i]), 0);
    }
    long long order = 0;
    int answered = 0;
    for (int i = 0; i < CLICKS; i++) {
        pthread_join(threads[i], NULL);
        if (clicks[i].status == 201) {
            if (order && clicks[i].order != order)
                fail_msg("click %d got order %lld, another got %lld", i, clicks[i].order, order);
            order = clicks[i].order;
            answered++;
        } else if (!(clicks[i].status == 422 && strcmp(clicks[i].code, "empty_cart") == 0)) {
            fail_msg("click %d: HTTP %d %s", i, clicks[i].status, clicks[i].code);
        }
    }
    pthread_barrier_destroy(&start);
    assert_true(answered >= 1);
    assert_int_equal(orders_of(&c), 1);
    assert_int_equal(stock_of(p), 8);

    /* The same line again later is a new intent: a second order. */
    add_ok(&c, p, 2);
    it_response r = checkout(&c);
    it_expect_status(&r, 201);
    assert_true(it_num(r.json, "id") != order);
    it_response_free(&r);
    assert_int_equal(orders_of(&c), 2);

    /* A rejected checkout is not replayed: after a restock the unchanged
     * cart orders. */
    int64_t s = create_product("restock", "30.00", 1);
    add_ok(&c, s, 2);
    r = checkout(&c);
    it_expect_problem(&r, 409, "out_of_stock", NULL);
    it_response_free(&r);
    /* ... even when the note that this checkout is pending got lost (a Redis
     * hiccup): answering the rejection already started a new generation. */
    char forget[512];
    snprintf(forget, sizeof(forget), "redis-cli --no-auth-warning -u '%s' DEL punyaka:cart:%lld:pending >/dev/null", it_env("REDIS_URL"),
             (long long)c.user_id);
    assert_int_equal(system(forget), 0);
    r = it_callf("POST", &admin, "{\"delta\":5,\"reason\":\"restock\"}", "/api/admin/products/%lld/stock/",
                 (long long)s);
    it_expect_status(&r, 200);
    it_response_free(&r);
    r = checkout(&c);
    it_expect_status(&r, 201);
    it_response_free(&r);
    assert_int_equal(orders_of(&c), 3);
    assert_int_equal(stock_of(s), 4);
}

static void test_unanswered_checkout_reconciles_cart(void **state)
{
    (void)state;
    it_actor c = customer();
    int64_t p = create_product("async", "15.00", 10), q = create_product("later", "5.00", 10);
    add_ok(&c, p, 1);
    char headers[512];
    snprintf(headers, sizeof(headers), "%sContent-Type: application/json\r\nPrefer: respond-async\r\n", c.headers);
    it_response r = it_http("POST", "/api/orders/checkout/", headers, ADDRESS, strlen(ADDRESS));
    it_expect_status(&r, 202);
    it_response_free(&r);
    add_ok(&c, q, 1);   /* added meanwhile: stays */
    assert_int_equal(it_db_wait_for(db, 1, 10000, "SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id"
                                                  " WHERE u.username = $1", c.name, NULL), 1);
    json_t *cart = cart_json(&c);
    assert_int_equal(json_array_size(json_object_get(cart, "items")), 1);
    assert_non_null(line_of(cart, q));
    json_decref(cart);
}

/* ---- tests: 200 customers, 50 units ---- */

enum { BUYERS = 200, UNITS = 50 };

typedef struct {
    int64_t product;
    pthread_barrier_t *start;
    int add_status, status;
    char code[32];
} buyer;

static void *buy(void *arg)
{
    buyer *b = arg;
    it_actor a = register_quiet("buyer", "customer");
    if (a.user_id) {
        it_response r = add_item(&a, b->product, 1);
        b->add_status = r.status;
        it_response_free(&r);
    }
    pthread_barrier_wait(b->start);   /* every checkout at once */
    if (a.user_id && b->add_status == 200) {
        it_response r = checkout(&a);
        b->status = r.status;
        snprintf(b->code, sizeof(b->code), "%s", r.status == 409 ? it_str(r.json, "code") : "");
        it_response_free(&r);
    }
    return NULL;
}

static void test_two_hundred_buyers_fifty_units(void **state)
{
    (void)state;
    static buyer buyers[BUYERS];
    pthread_t threads[BUYERS];
    pthread_barrier_t start;
    int64_t p = create_product("rush", "199.00", UNITS);
    pthread_barrier_init(&start, NULL, BUYERS);
    for (int i = 0; i < BUYERS; i++) {
        buyers[i] = (buyer){.product = p, .start = &start};
        assert_int_equal(pthread_create(&threads[i], NULL, buy, &buyers[i]), 0);
    }
    int created = 0, out = 0, other = 0;
    for (int i = 0; i < BUYERS; i++) {
        pthread_join(threads[i], NULL);
        created += buyers[i].status == 201;
        out += buyers[i].status == 409 && strcmp(buyers[i].code, "out_of_stock") == 0;
        if (buyers[i].status != 201 && !(buyers[i].status == 409 && strcmp(buyers[i].code, "out_of_stock") == 0))
            other++, print_error("buyer %d: add %d, checkout %d %s\n", i, buyers[i].add_status, buyers[i].status,
                                 buyers[i].code);
    }
    pthread_barrier_destroy(&start);
    if (created != UNITS || out != BUYERS - UNITS)
        fail_msg("%d orders, %d out_of_stock, %d other (want %d and %d)", created, out, other, UNITS, BUYERS - UNITS);
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)p);
    assert_int_equal(stock_of(p), 0);
    assert_int_equal(it_db_scalar(db, "SELECT sum(quantity) FROM order_items WHERE product_id = $1", id, NULL), UNITS);
    assert_int_equal(it_db_scalar(db, "SELECT count(DISTINCT order_id) FROM order_items WHERE product_id = $1", id,
                                  NULL),
                     UNITS);
    /* The stock never went below zero at any step of its history. */
    assert_true(it_db_scalar(db, "SELECT min(s) FROM (SELECT sum(delta) OVER (ORDER BY id) AS s"
                                 " FROM stock_movements WHERE product_id = $1) m", id, NULL) >= 0);
    assert_int_equal(it_db_scalar(db, "SELECT sum(delta) FROM stock_movements WHERE product_id = $1", id, NULL), 0);
}

/* ---- tests: orders ---- */

static void set_status(int64_t order, const char *status, int want)
{
    char body[64];
    snprintf(body, sizeof(body), "{\"status\":\"%s\"}", status);
    it_response r = it_callf("POST", &admin, body, "/api/admin/orders/%lld/status/", (long long)order);
    it_expect_status(&r, want);
    if (want == 200)
        assert_string_equal(it_str(r.json, "status"), status);
    it_response_free(&r);
}

static int64_t place_order(const it_actor *c, int64_t product, int qty)
{
    add_ok(c, product, qty);
    it_response r = checkout(c);
    it_expect_status(&r, 201);
    int64_t id = it_num(r.json, "id");
    it_response_free(&r);
    return id;
}

static void test_orders_cancel_and_status(void **state)
{
    (void)state;
    it_actor c = customer(), other = customer();
    int64_t p = create_product("cancellable", "40.00", 10);
    int64_t order = place_order(&c, p, 3);
    assert_int_equal(stock_of(p), 7);
    /* someone else's order does not exist for them */
    it_response r = it_callf("GET", &other, NULL, "/api/orders/%lld/", (long long)order);
    it_expect_problem(&r, 404, "not_found", NULL);
    it_response_free(&r);
    r = it_callf("POST", &other, "{}", "/api/orders/%lld/cancel/", (long long)order);
    it_expect_status(&r, 404);
    it_response_free(&r);
    r = it_call("GET", "/api/orders/", &other, NULL);
    assert_int_equal(it_num(r.json, "count"), 0);
    it_response_free(&r);
    r = it_call("GET", "/api/orders/", &c, NULL);
    assert_int_equal(it_num(r.json, "count"), 1);
    assert_int_equal(it_num(json_array_get(json_object_get(r.json, "results"), 0), "id"), order);
    it_response_free(&r);
    /* the owner cancels before it ships: restocked, refunded */
    r = it_callf("POST", &c, "{\"reason\":\"ordered twice\"}", "/api/orders/%lld/cancel/", (long long)order);
    it_expect_status(&r, 200);
    assert_string_equal(it_str(r.json, "status"), "cancelled");
    assert_string_equal(it_str(r.json, "payment_status"), "refunded");
    it_response_free(&r);
    assert_int_equal(stock_of(p), 10);
    r = it_callf("POST", &c, NULL, "/api/orders/%lld/cancel/", (long long)order);
    it_expect_problem(&r, 409, "invalid_transition", NULL);
    it_response_free(&r);
    /* the admin moves an order one step at a time; shipped cannot be cancelled */
    int64_t second = place_order(&c, p, 1);
    set_status(second, "shipped", 409);
    set_status(second, "confirmed", 200);
    set_status(second, "shipped", 200);
    r = it_callf("POST", &c, NULL, "/api/orders/%lld/cancel/", (long long)second);
    it_expect_problem(&r, 409, "invalid_transition", NULL);
    it_response_free(&r);
    assert_int_equal(stock_of(p), 9);
    set_status(second, "delivered", 200);
    set_status(999999999, "confirmed", 404);
    it_response bad =
        it_callf("POST", &admin, "{\"status\":\"lost\"}", "/api/admin/orders/%lld/status/", (long long)second);
    it_expect_problem(&bad, 422, NULL, "status");
    it_response_free(&bad);
    /* the admin sees everyone's orders, filtered by status */
    r = it_callf("GET", &admin, NULL, "/api/orders/%lld/", (long long)second);
    it_expect_status(&r, 200);
    assert_string_equal(it_str(r.json, "status"), "delivered");
    it_response_free(&r);
    r = it_call("GET", "/api/orders/?status=cancelled&page_size=100", &admin, NULL);
    it_expect_status(&r, 200);
    size_t i;
    json_t *o;
    int seen = 0;
    json_array_foreach(json_object_get(r.json, "results"), i, o) {
        assert_string_equal(it_str(o, "status"), "cancelled");
        seen |= it_num(o, "id") == order;
    }
    assert_true(seen);
    it_response_free(&r);
}

/* ---- tests: admin catalog ---- */

static void test_admin_catalog_validation(void **state)
{
    (void)state;
    const char *bad[][3] = {
        {"/api/admin/products/", "{\"slug\":\"no-price\",\"name\":\"x\"}", "price"},
        {"/api/admin/products/", "{\"slug\":\"Bad Slug\",\"name\":\"x\",\"price\":\"1.00\"}", "slug"},
        {"/api/admin/products/", "{\"slug\":\"12345\",\"name\":\"x\",\"price\":\"1.00\"}", "slug"},
        {"/api/admin/products/", "{\"slug\":\"cheap-x\",\"name\":\"x\",\"price\":\"1.005\"}", "price"},
        {"/api/admin/products/", "{\"slug\":\"disc-x\",\"name\":\"x\",\"price\":\"10.00\",\"discount_price\":\"10.00\"}",
         "discount_price"},
        {"/api/admin/products/", "{\"slug\":\"kit-x\",\"name\":\"x\",\"price\":\"10.00\",\"product_type\":\"kit\",\"stock\":3}",
         "stock"},
        {"/api/admin/products/", "{\"slug\":\"type-x\",\"name\":\"x\",\"price\":\"10.00\",\"product_type\":\"toy\"}",
         "product_type"},
        {"/api/admin/categories/", "{\"slug\":\"c-x\"}", "name"},
        {"/api/admin/categories/", "{\"slug\":\"c-x\",\"name\":\"C\",\"sort_order\":\"1\"}", "sort_order"},
    };
    long long before = it_db_scalar(db, "SELECT count(*) FROM processed_commands", NULL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        it_response r = it_call("POST", bad[i][0], &admin, bad[i][1]);
        it_expect_problem(&r, 422, NULL, bad[i][2]);
        it_response_free(&r);
    }
    int64_t p = create_product("adjusted", "10.00", 2);
    it_response r = it_callf("PATCH", &admin, "{\"stock\":5}", "/api/admin/products/%lld/", (long long)p);
    it_expect_problem(&r, 422, NULL, "stock");
    it_response_free(&r);
    r = it_callf("PATCH", &admin, "{}", "/api/admin/products/%lld/", (long long)p);
    it_expect_status(&r, 422);
    it_response_free(&r);
    r = it_callf("POST", &admin, "{\"delta\":0,\"reason\":\"x\"}", "/api/admin/products/%lld/stock/", (long long)p);
    it_expect_problem(&r, 422, NULL, "delta");
    it_response_free(&r);
    r = it_callf("POST", &admin, "{\"delta\":1}", "/api/admin/products/%lld/stock/", (long long)p);
    it_expect_problem(&r, 422, NULL, "reason");
    it_response_free(&r);
    char body[128];
    snprintf(body, sizeof(body), "{\"components\":[{\"product_id\":%lld,\"quantity\":1}]}", (long long)p);
    r = it_callf("POST", &admin, body, "/api/admin/products/%lld/kit/", (long long)p);
    it_expect_problem(&r, 422, NULL, "components");
    it_response_free(&r);
    usleep(300 * 1000);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM processed_commands", NULL), before + 1);   /* the create */
    /* what only the worker knows comes back with its reason code */
    r = it_callf("POST", &admin, "{\"delta\":-3,\"reason\":\"breakage\"}", "/api/admin/products/%lld/stock/",
              (long long)p);
    it_expect_problem(&r, 409, "insufficient_stock", NULL);
    it_response_free(&r);
    r = it_callf("POST", &admin, "{\"delta\":5,\"reason\":\"restock\"}", "/api/admin/products/%lld/stock/", (long long)p);
    it_expect_status(&r, 200);
    assert_int_equal(it_num(r.json, "stock"), 7);
    it_response_free(&r);
    r = it_callf("POST", &admin, "{\"components\":[]}", "/api/admin/products/%lld/kit/", (long long)p);
    it_expect_problem(&r, 422, "invalid_kit", NULL);   /* not a kit */
    it_response_free(&r);
    r = it_callf("GET", NULL, NULL, "/api/products/%lld/", (long long)p);
    char slugged[256];
    snprintf(slugged, sizeof(slugged), "{\"slug\":\"%s\",\"name\":\"again\",\"price\":\"1.00\"}", it_str(r.json, "slug"));
    it_response_free(&r);
    r = it_call("POST", "/api/admin/products/", &admin, slugged);
    it_expect_problem(&r, 409, "slug_taken", NULL);
    it_response_free(&r);
    snprintf(body, sizeof(body), "{\"parent\":999999999}");
    r = it_callf("PATCH", &admin, body, "/api/admin/categories/%lld/", (long long)child_category);
    it_expect_problem(&r, 422, "invalid_parent", NULL);
    it_response_free(&r);
}

/* ---- tests: who may do what ---- */

typedef struct {
    const char *method;
    char path[96];
    const char *body;
    int want[5];   /* anonymous, customer (owner), other customer, priest, admin */
} rule;

static void test_role_matrix(void **state)
{
    (void)state;
    it_actor owner = customer(), other = customer(), priest = register_as("shoppriest", "priest");
    int64_t p = create_product("matrix", "10.00", 50);
    int64_t order = place_order(&owner, p, 1);
    add_ok(&priest, p, 1);   /* priests shop too */
    it_response r = checkout(&priest);
    it_expect_status(&r, 201);
    it_response_free(&r);
    char add[64];
    snprintf(add, sizeof(add), "{\"product_id\":%lld,\"quantity\":1}", (long long)p);
    rule rules[] = {
        {"GET", "/api/products/", NULL, {200, 200, 200, 200, 200}},
        {"GET", "/api/categories/", NULL, {200, 200, 200, 200, 200}},
        {"GET", "/api/cart/", NULL, {401, 200, 200, 200, 403}},
        {"POST", "/api/cart/add_item/", add, {401, 200, 200, 200, 403}},
        {"POST", "/api/cart/clear/", NULL, {401, 200, 200, 200, 403}},
        {"POST", "/api/orders/checkout/", "{}", {401, 422, 422, 422, 403}},
        {"GET", "/api/orders/", NULL, {401, 200, 200, 200, 200}},
        {"GET", "", NULL, {401, 200, 404, 404, 200}},                   /* the owner's order */
        {"POST", "", "{\"status\":\"confirmed\"}", {401, 403, 403, 403, 200}},   /* admin status */
        {"POST", "", "{}", {401, 0, 404, 404, 403}},                    /* cancel (owner last) */
        {"POST", "/api/admin/categories/", "{}", {401, 403, 403, 403, 422}},
        {"POST", "/api/admin/products/", "{}", {401, 403, 403, 403, 422}},
        {"PATCH", "", "{}", {401, 403, 403, 403, 422}},
        {"POST", "", "{}", {401, 403, 403, 403, 422}},
        {"POST", "", "{}", {401, 403, 403, 403, 422}},
    };
    snprintf(rules[7].path, sizeof(rules[7].path), "/api/orders/%lld/", (long long)order);
    snprintf(rules[8].path, sizeof(rules[8].path), "/api/admin/orders/%lld/status/", (long long)order);
    snprintf(rules[9].path, sizeof(rules[9].path), "/api/orders/%lld/cancel/", (long long)order);
    snprintf(rules[12].path, sizeof(rules[12].path), "/api/admin/products/%lld/", (long long)p);
    snprintf(rules[13].path, sizeof(rules[13].path), "/api/admin/products/%lld/stock/", (long long)p);
    snprintf(rules[14].path, sizeof(rules[14].path), "/api/admin/products/%lld/kit/", (long long)p);
    const it_actor *who[] = {&ANONYMOUS, &owner, &other, &priest, &admin};
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        for (int k = 0; k < 5; k++)
            if (rules[i].want[k])
                expect_call(rules[i].method, rules[i].path, who[k], rules[i].body, rules[i].want[k]);
    /* the owner cancels last (the order was confirmed above: still before shipping) */
    expect_call("POST", rules[9].path, &owner, "{}", 200);
    /* unsafe requests need the CSRF token */
    char headers[320];
    int cookie_only = (int)(strstr(owner.headers, "X-CSRF-Token") - owner.headers);
    snprintf(headers, sizeof(headers), "%.*s", cookie_only, owner.headers);
    it_response no = it_http("POST", "/api/cart/clear/", headers, NULL, 0);
    it_expect_problem(&no, 403, "csrf_failed", NULL);
    it_response_free(&no);
}

static int setup(void **state)
{
    (void)state;
    create_admin();
    root_category = create_category("root", 0);
    child_category = create_category("child", root_category);
    return 0;
}

int main(void)
{
    if (it_start(tag, sizeof(tag)) != 0)
        return 1;
    db = it_db();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalog_reads),
        cmocka_unit_test(test_category_tree),
        cmocka_unit_test(test_etag),
        cmocka_unit_test(test_cart_lines_and_totals),
        cmocka_unit_test(test_cart_limits),
        cmocka_unit_test(test_cart_isolation),
        cmocka_unit_test(test_short_last_line_changes_nothing),
        cmocka_unit_test(test_price_changes),
        cmocka_unit_test(test_kits),
        cmocka_unit_test(test_idempotent_checkout),
        cmocka_unit_test(test_unanswered_checkout_reconciles_cart),
        cmocka_unit_test(test_double_submit_is_one_order),
        cmocka_unit_test(test_two_hundred_buyers_fifty_units),
        cmocka_unit_test(test_orders_cancel_and_status),
        cmocka_unit_test(test_admin_catalog_validation),
        cmocka_unit_test(test_role_matrix),
    };
    int failed = cmocka_run_group_tests_name("shop_http", tests, setup, NULL);
    PQfinish(db);
    return failed;
}
