/* it_shop_http_cart.c — the Redis cart over real HTTP (issue 5): lines,
 * totals and shipping, the per-line and per-cart limits, one customer's
 * cart invisible to another, and a checkout the worker rejects (a short
 * last line, a changed price) leaving the cart exactly as it was. Helpers
 * and the group setup: tests/support/shop_http.h. */
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

static char *cart_text(const it_actor *a)
{
    it_response r = it_call("GET", "/api/cart/", a, NULL);
    it_expect_status(&r, 200);
    char *text = strdup(r.body);
    it_response_free(&r);
    return text;
}

/* Money string ⇒ paise (tests parse independently of the API's code). */
static long long paise(const char *s)
{
    long long whole = 0, frac = 0;
    assert_int_equal(sscanf(s, "%lld.%2lld", &whole, &frac), 2);
    assert_int_equal(strlen(strchr(s, '.') + 1), 2);
    return whole * 100 + frac;
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cart_lines_and_totals),
        cmocka_unit_test(test_cart_limits),
        cmocka_unit_test(test_cart_isolation),
        cmocka_unit_test(test_short_last_line_changes_nothing),
        cmocka_unit_test(test_price_changes),
    };
    return shop_http_main("shop_http_cart", tests, sizeof(tests) / sizeof(tests[0]), NULL, NULL, NULL, NULL);
}
