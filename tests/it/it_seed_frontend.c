/* it_seed_frontend.c — issue 15: the seed's own Next.js frontend works
 * against Punyaka. Each test replays one of its calls with the exact body it
 * sends (docs/seed-frontend.md lists them) and checks every response field
 * its pages read:
 *   GET  /api/priests/, /api/priests/{id}/   user{first_name,last_name,phone ""},
 *        specializations/languages as comma-separated text + *_list arrays
 *   GET  /api/services/                      price
 *   POST /api/bookings/ {priest_id, service_id, booking_date, booking_time,
 *                        location, special_requirements}
 *   GET  /api/cart/  {id, items[{id, quantity, subtotal, product{id, name,
 *                     category_name, effective_price}}], total_items, total_price}
 *   PATCH /api/cart/items/{id}/ {quantity}, DELETE /api/cart/items/{id}/
 *   POST /api/orders/ {shipping_address[, cart_id]}
 *   errors: `message` beside `detail`; GET /admin ⇒ the admin dashboard.
 * A booking without an address is refused in both dialects (422
 * location_address). Writes carry Prefer: wait=10 (it_call), so answers are
 * the worker's outcome, as the seed's synchronous client expects. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "tests/support/calls.h"
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

#define PASSWORD "Tulsi-leaf-42"
#define PHONE "+91 98765 43210"

static char tag[16];
static it_actor admin, pandit, bhakt;
static int64_t service_id, category_id, diya_id, incense_id;
static char category_name[64];

/* ---- helpers ---- */

static it_response expect(const char *method, const char *path, const it_actor *who, const char *body, int status)
{
    it_response r = it_call(method, path, who, body);
    if (r.status != status)
        fail_msg("%s %s: HTTP %d, want %d: %s", method, path, r.status, status, r.body ? r.body : "");
    return r;
}

static int64_t created_id(const char *path, const char *body)
{
    it_response r = expect("POST", path, &admin, body, 201);
    int64_t id = it_num(r.json, "id");
    assert_true(id > 0);
    it_response_free(&r);
    return id;
}

/* The element of array `a` whose member `key` is the integer `id`. */
static json_t *by_id(json_t *a, const char *key, int64_t id)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (json_integer_value(json_object_get(v, key)) == id) return v;
    return NULL;
}

/* A problem with its field named, and `message` (what the seed shows) equal to `detail`. */
static void expect_seed_problem(const it_response *r, int status, const char *field)
{
    it_expect_problem(r, status, NULL, field);
    const char *message = it_str(r->json, "message");
    assert_true(strlen(message) > 0);
    assert_string_equal(message, it_str(r->json, "detail"));
}

/* A local date (UTC+05:30) `days` ahead. */
static void date_ahead(int days, char out[11])
{
    time_t t = time(NULL) + days * 86400 + 330 * 60;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* ---- the seed's calls ---- */

/* What the seed's priest card and profile page read. The phone is there
 * for its page to render, empty: a public read never carries contact data. */
static void expect_seed_priest(const json_t *p, const char *body)
{
    json_t *user = json_object_get(p, "user");
    assert_true(json_is_object(user));
    assert_int_equal(it_num(user, "id"), pandit.user_id);
    assert_string_equal(it_str(user, "first_name"), "Pandit");
    assert_string_equal(it_str(user, "last_name"), tag);
    assert_string_equal(it_str(user, "phone"), "");
    assert_null(strstr(body, "98765"));
    char name[96];
    snprintf(name, sizeof(name), "Pandit %s", tag);
    assert_string_equal(it_str(p, "name"), name);   /* ours, beside */
    assert_string_equal(it_str(p, "specializations"), "Griha Pravesh, Satyanarayan Katha");
    assert_string_equal(it_str(p, "languages"), "Hindi, Marathi");
    json_t *specs = json_object_get(p, "specializations_list"), *langs = json_object_get(p, "languages_list");
    assert_int_equal(json_array_size(specs), 2);
    assert_string_equal(json_string_value(json_array_get(specs, 1)), "Satyanarayan Katha");
    assert_int_equal(json_array_size(langs), 2);
    assert_string_equal(json_string_value(json_array_get(langs, 0)), "Hindi");
    assert_int_equal(it_num(p, "experience_years"), 12);
}

static void test_priests(void **state)
{
    (void)state;
    char path[96];
    snprintf(path, sizeof(path), "/api/priests/?q=%s&page_size=50", tag);
    it_response r = expect("GET", path, NULL, NULL, 200);
    json_t *p = by_id(json_object_get(r.json, "results"), "id", pandit.priest_id);
    assert_non_null(p);
    expect_seed_priest(p, r.body);
    it_response_free(&r);

    snprintf(path, sizeof(path), "/api/priests/%lld/", (long long)pandit.priest_id);
    r = expect("GET", path, NULL, NULL, 200);
    expect_seed_priest(r.json, r.body);
    json_t *svc = by_id(json_object_get(r.json, "services"), "id", service_id);
    assert_non_null(svc);
    assert_string_equal(it_str(svc, "price"), "2100.00");
    it_response_free(&r);
}

static void test_services(void **state)
{
    (void)state;
    it_response r = expect("GET", "/api/services/?page_size=100", NULL, NULL, 200);
    json_t *list = json_is_array(r.json) ? r.json : json_object_get(r.json, "results");
    json_t *svc = by_id(list, "id", service_id);
    assert_non_null(svc);
    assert_string_equal(it_str(svc, "price"), "2100.00");
    assert_string_equal(it_str(svc, "base_price"), "2100.00");
    it_response_free(&r);
}

static void test_booking(void **state)
{
    (void)state;
    char body[1024], date[11];
    date_ahead(3, date);
    snprintf(body, sizeof(body),
             "{\"priest_id\":%lld,\"service_id\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"10:00\","
             "\"location\":\"12 MG Road, Pune\",\"special_requirements\":\"Please bring the kalash\"}",
             (long long)pandit.priest_id, (long long)service_id, date);
    it_response r = expect("POST", "/api/bookings/", &bhakt, body, 201);
    assert_true(it_num(r.json, "id") > 0);
    assert_int_equal(it_num(r.json, "priest"), pandit.priest_id);
    assert_int_equal(it_num(r.json, "service"), service_id);
    assert_string_equal(it_str(r.json, "booking_date"), date);
    assert_string_equal(it_str(r.json, "booking_time"), "10:00");
    assert_string_equal(it_str(r.json, "location_address"), "12 MG Road, Pune");
    assert_string_equal(it_str(r.json, "special_instructions"), "Please bring the kalash");
    assert_string_equal(it_str(r.json, "status"), "pending");
    assert_string_equal(it_str(r.json, "service_price"), "2100.00");
    assert_string_equal(it_str(r.json, "advance_payment"), "525.00");
    it_response_free(&r);
    /* The same slot again: the worker's rejection, with the words the seed shows. */
    r = it_call("POST", "/api/bookings/", &bhakt, body);
    it_expect_problem(&r, 409, "slot_taken", NULL);
    expect_seed_problem(&r, 409, NULL);
    it_response_free(&r);
}

/* No address, an empty one or blanks: refused in both dialects, naming our field. */
static void test_booking_needs_an_address(void **state)
{
    (void)state;
    char date[11], body[1024];
    date_ahead(4, date);
    const char *tails[] = {
        "\"special_requirements\":\"none\"",                /* the seed's form, address left out */
        "\"location\":\"\"",                                /* the seed's form, empty */
        "\"location\":\"   \"",
        "\"location\":null",
    };
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        snprintf(body, sizeof(body),
                 "{\"priest_id\":%lld,\"service_id\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"12:00\",%s}",
                 (long long)pandit.priest_id, (long long)service_id, date, tails[i]);
        it_response r = it_call("POST", "/api/bookings/", &bhakt, body);
        expect_seed_problem(&r, 422, "location_address");
        it_response_free(&r);
    }
    const char *ours[] = {"", ",\"location_address\":\"\"", ",\"location_address\":\" \\n \""};
    for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
        snprintf(body, sizeof(body), "{\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"12:00\"%s}",
                 (long long)pandit.priest_id, (long long)service_id, date, ours[i]);
        it_response r = it_call("POST", "/api/bookings/", &bhakt, body);
        expect_seed_problem(&r, 422, "location_address");
        it_response_free(&r);
    }
    /* Both names with different values: which one was meant is unknowable. */
    snprintf(body, sizeof(body),
             "{\"priest_id\":%lld,\"priest\":%lld,\"service_id\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"12:00\","
             "\"location\":\"1 Ghat Road\"}",
             (long long)pandit.priest_id, (long long)pandit.priest_id + 1, (long long)service_id, date);
    it_response r = it_call("POST", "/api/bookings/", &bhakt, body);
    expect_seed_problem(&r, 422, "priest_id");
    it_response_free(&r);
}

/* The cart page's reads: every line and total it shows. */
static void expect_seed_cart(const json_t *cart, int64_t diya_qty, int64_t incense_qty)
{
    assert_int_equal(it_num(cart, "id"), bhakt.user_id);
    json_t *items = json_object_get(cart, "items");
    assert_int_equal(json_array_size(items), (diya_qty > 0) + (incense_qty > 0));
    json_t *diya = by_id(items, "id", diya_id), *incense = by_id(items, "id", incense_id);
    long long paise = 0;
    if (diya_qty) {
        assert_non_null(diya);
        assert_int_equal(it_num(diya, "quantity"), diya_qty);
        json_t *p = json_object_get(diya, "product");
        assert_int_equal(it_num(p, "id"), diya_id);
        assert_true(strncmp(it_str(p, "name"), "Brass diya", 10) == 0);
        assert_string_equal(it_str(p, "category_name"), category_name);
        assert_string_equal(it_str(p, "effective_price"), "120.00");   /* the discount price */
        char want[32];
        snprintf(want, sizeof(want), "%lld.00", 120LL * diya_qty);
        assert_string_equal(it_str(diya, "subtotal"), want);
        paise += 12000 * diya_qty;
    } else {
        assert_null(diya);
    }
    if (incense_qty) {
        assert_non_null(incense);
        json_t *p = json_object_get(incense, "product");
        assert_string_equal(it_str(p, "effective_price"), "45.50");    /* no discount: the price */
        assert_string_equal(it_str(p, "category_name"), category_name);
        paise += 4550 * incense_qty;
    } else {
        assert_null(incense);
    }
    char total[32];
    snprintf(total, sizeof(total), "%lld.%02lld", paise / 100, paise % 100);
    assert_string_equal(it_str(cart, "total_price"), total);
    assert_int_equal(it_num(cart, "total_items"), diya_qty + incense_qty);
}

static void test_cart_and_checkout(void **state)
{
    (void)state;
    char body[256], path[64];
    snprintf(body, sizeof(body), "{\"product_id\":%lld,\"quantity\":2}", (long long)diya_id);
    it_response r = expect("POST", "/api/cart/add_item/", &bhakt, body, 200);
    it_response_free(&r);
    snprintf(body, sizeof(body), "{\"product_id\":%lld,\"quantity\":1}", (long long)incense_id);
    r = expect("POST", "/api/cart/add_item/", &bhakt, body, 200);
    it_response_free(&r);
    r = expect("GET", "/api/cart/", &bhakt, NULL, 200);
    expect_seed_cart(r.json, 2, 1);
    it_response_free(&r);

    snprintf(path, sizeof(path), "/api/cart/items/%lld/", (long long)diya_id);
    r = expect("PATCH", path, &bhakt, "{\"quantity\":5}", 200);
    expect_seed_cart(r.json, 5, 1);
    it_response_free(&r);
    r = it_call("PATCH", path, &bhakt, "{\"quantity\":0}");
    expect_seed_problem(&r, 422, "quantity");
    it_response_free(&r);

    snprintf(path, sizeof(path), "/api/cart/items/%lld/", (long long)incense_id);
    r = expect("DELETE", path, &bhakt, NULL, 200);
    expect_seed_cart(r.json, 5, 0);
    it_response_free(&r);
    r = it_call("DELETE", path, &bhakt, NULL);   /* gone already */
    expect_seed_problem(&r, 404, "item_id");
    it_response_free(&r);
    r = it_call("PATCH", path, &bhakt, "{\"quantity\":1}");
    expect_seed_problem(&r, 404, "item_id");
    it_response_free(&r);

    /* Checkout, one line of address: a line we cannot ship to is refused
     * before anything is ordered, and so is somebody else's cart. */
    r = it_call("POST", "/api/orders/", &bhakt, "{\"shipping_address\":\"near the temple\"}");
    expect_seed_problem(&r, 422, "shipping_address");
    it_response_free(&r);
    snprintf(body, sizeof(body), "{\"shipping_address\":\"12 MG Road, Pune, Maharashtra 411001\",\"cart_id\":%lld}",
             (long long)admin.user_id);
    r = it_call("POST", "/api/orders/", &bhakt, body);
    expect_seed_problem(&r, 422, "cart_id");
    it_response_free(&r);

    snprintf(body, sizeof(body), "{\"shipping_address\":\"12 MG Road, Pune, Maharashtra 411001\",\"cart_id\":%lld}",
             (long long)bhakt.user_id);
    r = expect("POST", "/api/orders/", &bhakt, body, 201);
    assert_true(it_num(r.json, "id") > 0);
    assert_string_equal(it_str(r.json, "status"), "pending");
    assert_string_equal(it_str(r.json, "shipping_address"), "12 MG Road, Pune, Maharashtra 411001");
    assert_string_equal(it_str(r.json, "shipping_city"), "Pune");
    assert_string_equal(it_str(r.json, "shipping_state"), "Maharashtra");
    assert_string_equal(it_str(r.json, "shipping_pincode"), "411001");
    assert_string_equal(it_str(r.json, "shipping_phone"), PHONE);   /* from the account */
    assert_string_equal(it_str(r.json, "subtotal"), "600.00");
    assert_string_equal(it_str(r.json, "total_amount"), "600.00");  /* free shipping from ₹500 */
    it_response_free(&r);

    r = expect("GET", "/api/cart/", &bhakt, NULL, 200);
    expect_seed_cart(r.json, 0, 0);
    it_response_free(&r);
}

static void test_admin_link(void **state)
{
    (void)state;
    const char *paths[] = {"/admin", "/admin/"};
    for (size_t i = 0; i < 2; i++) {
        it_response r = it_http("GET", paths[i], NULL, NULL, 0);
        char location[128];
        assert_int_equal(r.status, 302);
        assert_non_null(it_header(&r, "location", location, sizeof(location)));
        assert_string_equal(location, "/dashboard.html#priests");
        it_response_free(&r);
    }
}

/* ---- fixture ---- */

static int setup(void **state)
{
    (void)state;
    char extra[512], body[512];
    snprintf(admin.name, sizeof(admin.name), "seedadmin%s", tag);
    assert_int_equal(it_sign_in_admin(&admin, PASSWORD), 200);

    snprintf(pandit.name, sizeof(pandit.name), "seedpandit%s", tag);
    snprintf(extra, sizeof(extra),
             "\"first_name\":\"Pandit\",\"last_name\":\"%s\",\"phone\":\"" PHONE "\","
             "\"specializations\":[\"Griha Pravesh\",\"Satyanarayan Katha\"],\"languages\":[\"Hindi\",\"Marathi\"],"
             "\"experience_years\":12",
             tag);
    assert_int_equal(it_sign_up(&pandit, "priest", PASSWORD, extra), 201);
    it_response r = it_callf("POST", &admin, "{\"verified\":true}", "/api/admin/priests/%lld/verify/",
                             (long long)pandit.priest_id);
    it_expect_status(&r, 200);
    it_response_free(&r);

    snprintf(bhakt.name, sizeof(bhakt.name), "seedbhakt%s", tag);
    assert_int_equal(it_sign_up(&bhakt, "customer", PASSWORD, "\"first_name\":\"Bhakt\",\"phone\":\"" PHONE "\""), 201);

    snprintf(body, sizeof(body),
             "{\"name\":\"Griha Pravesh %s\",\"service_type\":\"griha_pravesh\",\"duration_minutes\":90,"
             "\"base_price\":\"2100.00\"}",
             tag);
    service_id = created_id("/api/admin/services/", body);
    snprintf(category_name, sizeof(category_name), "Lamps %s", tag);
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"slug\":\"lamps-%s\",\"parent\":null}", category_name, tag);
    category_id = created_id("/api/admin/categories/", body);
    snprintf(body, sizeof(body),
             "{\"slug\":\"diya-%s\",\"name\":\"Brass diya %s\",\"price\":\"150.00\",\"discount_price\":\"120.00\","
             "\"stock\":20,\"category\":%lld}",
             tag, tag, (long long)category_id);
    diya_id = created_id("/api/admin/products/", body);
    snprintf(body, sizeof(body),
             "{\"slug\":\"incense-%s\",\"name\":\"Incense %s\",\"price\":\"45.50\",\"stock\":20,\"category\":%lld}", tag,
             tag, (long long)category_id);
    incense_id = created_id("/api/admin/products/", body);
    return 0;
}

int main(void)
{
    if (it_start(tag, sizeof(tag)) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_priests),
        cmocka_unit_test(test_services),
        cmocka_unit_test(test_booking),
        cmocka_unit_test(test_booking_needs_an_address),
        cmocka_unit_test(test_cart_and_checkout),
        cmocka_unit_test(test_admin_link),
    };
    return cmocka_run_group_tests_name("seed_frontend", tests, setup, NULL);
}
