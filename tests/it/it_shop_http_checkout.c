/* it_shop_http_checkout.c — checkout and orders over real HTTP (issue 5):
 * kits, an Idempotency-Key, an unanswered (202) checkout, a double submit
 * that is one order, 200 buyers for 50 units, cancelling and the admin's
 * status steps, and who may do what. Helpers and the group setup:
 * tests/support/shop_http.h. */
#include "tests/support/shop_http.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "tests/support/calls.h"
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

#define ADDRESS SHOP_HTTP_ADDRESS

static PGconn *db;   /* set by shop_http_main, with admin */
static it_actor admin;
static const char *const tag = shop_http_tag;

static const it_actor ANONYMOUS = {0};

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kits),
        cmocka_unit_test(test_idempotent_checkout),
        cmocka_unit_test(test_unanswered_checkout_reconciles_cart),
        cmocka_unit_test(test_double_submit_is_one_order),
        cmocka_unit_test(test_two_hundred_buyers_fifty_units),
        cmocka_unit_test(test_orders_cancel_and_status),
        cmocka_unit_test(test_role_matrix),
    };
    return shop_http_main("shop_http_checkout", tests, sizeof(tests) / sizeof(tests[0]), &db, &admin, NULL, NULL);
}
