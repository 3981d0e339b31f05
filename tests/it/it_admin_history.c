/* it_admin_history.c — issue 17 "audit trail in the browser": GET
 * /api/admin/history/?entity=TYPE:ID (api/admin_history.c) lists the
 * journal's entries for an entity, oldest first, with actor and decision.
 * Real commands over HTTP (a booking created and confirmed, an order
 * checked out and its status set by the admin) must appear in seq order
 * with who did them; a customer or a priest is 403, no session 401, a
 * malformed entity 422 naming `entity`. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "tests/support/bookings_http.h"
#include "tests/support/calls.h"
#include "tests/support/http.h"

static it_actor admin;

static json_t *history(const char *entity, const char *extra_query)
{
    it_response r = it_callf("GET", &admin, NULL, "/api/admin/history/?entity=%s%s", entity,
                             extra_query ? extra_query : "");
    it_expect_status(&r, 200);
    json_t *doc = json_incref(r.json);
    it_response_free(&r);
    return doc;
}

/* Entry i is `type` by `who` (role), applied. */
static void expect_entry(json_t *results, size_t i, const char *type, const it_actor *who, const char *role)
{
    json_t *e = json_array_get(results, i);
    assert_non_null(e);
    assert_string_equal(it_str(e, "type"), type);
    assert_string_equal(it_str(e, "status"), "applied");
    assert_true(json_is_null(json_object_get(e, "code")));
    assert_int_equal(strlen(it_str(e, "command_id")), 36);
    assert_non_null(strchr(it_str(e, "at"), 'T'));
    json_t *actor = json_object_get(e, "actor");
    assert_int_equal(it_num(actor, "id"), who->user_id);
    assert_string_equal(it_str(actor, "role"), role);
    assert_string_equal(it_str(actor, "username"), who->name);
    if (i > 0)
        assert_true(it_num(e, "seq") > it_num(json_array_get(results, i - 1), "seq"));
}

static void test_booking_history(void **state)
{
    (void)state;
    it_actor c = bookings_http_customer(), p = bookings_http_priest();
    char date[11], entity[48];
    bookings_http_local_date(5, date);
    int64_t booking = bookings_http_book(&c, &p, date, "10:00");
    bookings_http_act_ok(&p, booking, "confirm", "{}");
    snprintf(entity, sizeof(entity), "booking:%lld", (long long)booking);
    json_t *doc = history(entity, NULL);
    assert_int_equal(it_num(doc, "count"), 2);
    json_t *results = json_object_get(doc, "results");
    assert_int_equal(json_array_size(results), 2);
    expect_entry(results, 0, "booking.create", &c, "customer");
    expect_entry(results, 1, "booking.confirm", &p, "priest");
    json_decref(doc);
    /* Paginated like every list. */
    doc = history(entity, "&page_size=1&page=2");
    assert_int_equal(it_num(doc, "count"), 2);
    assert_int_equal(json_array_size(json_object_get(doc, "results")), 1);
    assert_string_equal(it_str(json_array_get(json_object_get(doc, "results"), 0), "type"), "booking.confirm");
    assert_true(json_is_string(json_object_get(doc, "previous")));
    json_decref(doc);
}

static void test_order_history(void **state)
{
    (void)state;
    it_actor c = bookings_http_customer();
    char body[512];
    snprintf(body, sizeof(body), "{\"slug\":\"histlamp-%s\",\"name\":\"Lamp %s\",\"price\":\"120.00\",\"stock\":5}",
             bookings_http_tag, bookings_http_tag);
    it_response r = it_call("POST", "/api/admin/products/", &admin, body);
    it_expect_status(&r, 201);
    int64_t product = it_num(r.json, "id");
    it_response_free(&r);
    snprintf(body, sizeof(body), "{\"product_id\":%lld,\"quantity\":2}", (long long)product);
    r = it_call("POST", "/api/cart/add_item/", &c, body);
    it_expect_status(&r, 200);
    it_response_free(&r);
    r = it_call("POST", "/api/orders/checkout/", &c,
                "{\"shipping_address\":\"12 Temple Road\",\"shipping_city\":\"Pune\",\"shipping_state\":"
                "\"Maharashtra\",\"shipping_pincode\":\"411001\",\"shipping_phone\":\"+91 98765 43210\"}");
    it_expect_status(&r, 201);
    long long order = it_num(r.json, "id");
    it_response_free(&r);
    r = it_callf("POST", &admin, "{\"status\":\"confirmed\"}", "/api/admin/orders/%lld/status/", order);
    it_expect_status(&r, 200);
    it_response_free(&r);
    char entity[48];
    snprintf(entity, sizeof(entity), "order:%lld", order);
    json_t *doc = history(entity, NULL);
    json_t *results = json_object_get(doc, "results");
    assert_int_equal(it_num(doc, "count"), 2);
    expect_entry(results, 0, "order.checkout", &c, "customer");
    expect_entry(results, 1, "order.set_status", &admin, "admin");
    json_decref(doc);
    /* A product's history: its creation by the admin. */
    snprintf(entity, sizeof(entity), "product:%lld", (long long)product);
    doc = history(entity, NULL);
    assert_true(it_num(doc, "count") >= 1);
    expect_entry(json_object_get(doc, "results"), 0, "product.create", &admin, "admin");
    json_decref(doc);
    /* Nothing recorded: an empty page. */
    doc = history("order:999999999999", NULL);
    assert_int_equal(it_num(doc, "count"), 0);
    json_decref(doc);
}

static void test_admins_only(void **state)
{
    (void)state;
    it_actor c = bookings_http_customer(), p = bookings_http_priest();
    it_response r = it_call("GET", "/api/admin/history/?entity=booking:1", &c, NULL);
    it_expect_problem(&r, 403, "forbidden", NULL);
    it_response_free(&r);
    r = it_call("GET", "/api/admin/history/?entity=booking:1", &p, NULL);
    it_expect_problem(&r, 403, "forbidden", NULL);
    it_response_free(&r);
    r = it_call("GET", "/api/admin/history/?entity=booking:1", NULL, NULL);
    it_expect_problem(&r, 401, "not_authenticated", NULL);
    it_response_free(&r);
}

static void test_bad_entity_is_422(void **state)
{
    (void)state;
    const char *bad[] = {"", "booking", "booking:", "booking:0", "booking:x1", "booking:-1", "ticket:1",
                         ":1", "booking:1234567890123456789", "booking:1:2", "BOOKING:1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        it_response r = it_callf("GET", &admin, NULL, "/api/admin/history/?entity=%s", bad[i]);
        it_expect_problem(&r, 422, "validation_error", "entity");
        it_response_free(&r);
    }
    it_response r = it_call("GET", "/api/admin/history/", &admin, NULL);
    it_expect_problem(&r, 422, "validation_error", "entity");
    it_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_booking_history),
        cmocka_unit_test(test_order_history),
        cmocka_unit_test(test_admins_only),
        cmocka_unit_test(test_bad_entity_is_422),
    };
    return bookings_http_main("admin_history", tests, sizeof(tests) / sizeof(tests[0]), NULL, &admin, NULL);
}
