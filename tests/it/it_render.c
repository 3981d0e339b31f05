/* it_render.c — issue 12 "render once": a write's answer and a following
 * GET of the same resource are the same object, key by key.
 *
 * The API's reads and the worker's outcomes both render every resource
 * with common/shapes.h. This test is what fails if they ever drift again
 * (a field added to one side only, a value formatted differently): for
 * each resource it applies a command with Prefer: wait (the answer is the
 * worker's outcome resource), then GETs the resource and compares.
 *
 * Keys a GET adds on purpose, and only those, are allowed beside the
 * outcome's: `csrf_token` (me), `children` (the category tree), `kyc`
 * (the admin's priest list: only the API can open it). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <jansson.h>
#include "common/booking_rules.h"
#include "tests/support/calls.h"
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

#define PASSWORD "Tulsi-leaf-42"
#define DAY_US (INT64_C(86400) * 1000000)
#define ADDRESS                                                                                               \
    "{\"shipping_address\":\"12 Temple Road\",\"shipping_city\":\"Pune\",\"shipping_state\":\"Maharashtra\"," \
    "\"shipping_pincode\":\"411001\",\"shipping_phone\":\"+91 98765 43210\"}"

static char tag[16];   /* keeps names unique across runs against one database */
static it_actor admin;

/* ---- the comparison ---- */

static char *dump(const json_t *v)
{
    return v ? json_dumps(v, JSON_ENCODE_ANY | JSON_SORT_KEYS | JSON_COMPACT) : strdup("(absent)");
}

/* Fails unless `read` (the GET) has exactly the keys of `outcome` (plus
 * the keys listed in `get_only`, NULL-terminated) with equal values.
 * Returns how many keys were compared. */
static size_t expect_same(const char *what, const json_t *outcome, const json_t *read, const char *const *get_only)
{
    if (!json_is_object(outcome) || !json_is_object(read))
        fail_msg("%s: outcome %s, GET %s: not two objects", what, outcome ? "object?" : "NULL", read ? "object?" : "NULL");
    const char *key;
    json_t *value;
    size_t compared = 0;
    json_object_foreach((json_t *)outcome, key, value) {
        json_t *other = json_object_get(read, key);
        if (!json_equal(value, other)) {
            char *a = dump(value), *b = dump(other);
            fail_msg("%s.%s: the write answered %s, the GET shows %s", what, key, a, b);
        }
        compared++;
    }
    json_object_foreach((json_t *)read, key, value) {
        int allowed = 0;
        for (const char *const *k = get_only; k && *k; k++)
            allowed |= strcmp(*k, key) == 0;
        if (!allowed && !json_object_get(outcome, key))
            fail_msg("%s: the GET shows '%s', the write's answer has no such key", what, key);
    }
    return compared;
}

/* The answer was `status` with a JSON body; returns the body (owned). */
static json_t *write_ok(const char *method, const char *path, const it_actor *who, const char *body, int status)
{
    it_response r = it_call(method, path, who, body);
    if (r.status != status || !r.json)
        fail_msg("%s %s: HTTP %d, want %d: %s", method, path, r.status, status, r.body ? r.body : "");
    json_t *j = json_incref(r.json);
    it_response_free(&r);
    return j;
}

static json_t *get_ok(const char *path, const it_actor *who)
{
    return write_ok("GET", path, who, NULL, 200);
}

/* The write's answer and GET `path` are the same object; the answer's id
 * must be `id` (so an empty or wrong object cannot pass). */
static void expect_get_same(const char *what, const json_t *answer, const char *path, const it_actor *who,
                            const char *const *get_only)
{
    json_t *read = get_ok(path, who);
    assert_true(expect_same(what, answer, read, get_only) >= 5);
    json_decref(read);
}

static long long id_of(const json_t *j)
{
    long long id = it_num(j, "id");
    assert_true(id > 0);
    return id;
}

/* ---- people ---- */

static it_actor sign_up(const char *base, const char *role, const char *extra, json_t **user)
{
    static int counter;
    it_actor a = {0};
    char body[2048];
    snprintf(a.name, sizeof(a.name), "%s%s%d", base, tag, ++counter);
    snprintf(body, sizeof(body),
             "{\"username\":\"%s\",\"email\":\"%s@example.com\",\"password\":\"%s\",\"password_confirm\":\"%s\","
             "\"role\":\"%s\",\"first_name\":\"Render\",\"last_name\":\"Once\",\"phone\":\"+91 98765 43210\","
             "\"date_of_birth\":\"1990-04-02\",\"time_of_birth\":\"05:30:00\",\"place_of_birth\":\"Varanasi\"%s%s}",
             a.name, a.name, PASSWORD, PASSWORD, role, extra ? "," : "", extra ? extra : "");
    it_response r = it_post_json("/api/auth/register/", body, "Prefer: wait=10\r\n");
    if (r.status != 201 || it_actor_session(&a, &r) != 0)
        fail_msg("register %s: HTTP %d: %s", a.name, r.status, r.body ? r.body : "");
    *user = json_incref(json_object_get(r.json, "user"));
    a.user_id = id_of(*user);
    json_t *profile = json_object_get(*user, "priest_profile");
    a.priest_id = json_is_object(profile) ? it_num(profile, "id") : 0;
    it_response_free(&r);
    return a;
}

/* ---- tests ---- */

/* user.register (a priest with a profile) and user.update. */
static void test_me(void **state)
{
    (void)state;
    static const char *const csrf[] = {"csrf_token", NULL};
    json_t *user;
    it_actor p = sign_up("rpriest", "priest", "\"specializations\":[\"havan\"],\"languages\":[\"Hindi\"],"
                         "\"experience_years\":7,\"service_radius_km\":20", &user);
    assert_true(json_is_object(json_object_get(user, "priest_profile")));
    expect_get_same("user.register (priest)", user, "/api/auth/me/", &p, csrf);
    json_decref(user);

    it_actor c = sign_up("rcustomer", "customer", NULL, &user);
    assert_true(json_is_null(json_object_get(user, "priest_profile")));
    expect_get_same("user.register (customer)", user, "/api/auth/me/", &c, csrf);
    json_decref(user);

    /* PATCH me answers with a GET of its own; the outcome itself is what
     * GET /api/commands/{id} shows. */
    it_response r = it_call("PATCH", "/api/auth/me/", &c, "{\"first_name\":\"Rendered\",\"address\":\"Ghat 4\"}");
    it_expect_status(&r, 200);
    char id[64], path[128];
    assert_non_null(it_header(&r, "x-command-id", id, sizeof(id)));
    it_response_free(&r);
    snprintf(path, sizeof(path), "/api/commands/%s", id);
    json_t *status = get_ok(path, &c);
    assert_string_equal(it_str(status, "type"), "user.update");
    json_t *outcome = json_object_get(status, "resource");
    assert_string_equal(it_str(outcome, "first_name"), "Rendered");
    expect_get_same("user.update", outcome, "/api/auth/me/", &c, csrf);
    json_decref(status);
}

/* priest.update_account (the priest's own view: me's priest_profile) and
 * priest.verify (the admin's view: an admin list item). */
static void test_priest(void **state)
{
    (void)state;
    json_t *user;
    it_actor p = sign_up("rpriest", "priest", "\"specializations\":[\"puja\"],\"languages\":[\"Tamil\"]", &user);
    json_decref(user);

    it_response r = it_call("PATCH", "/api/auth/me/", &p, "{\"bio\":\"Vedic scholar\",\"experience_years\":9}");
    it_expect_status(&r, 200);
    char id[64], path[128];
    assert_non_null(it_header(&r, "x-command-id", id, sizeof(id)));   /* one command: priest.update_account */
    it_response_free(&r);
    snprintf(path, sizeof(path), "/api/commands/%s", id);
    json_t *status = get_ok(path, &p);
    assert_string_equal(it_str(status, "type"), "priest.update_account");
    json_t *me = get_ok("/api/auth/me/", &p);
    json_t *outcome = json_object_get(json_object_get(status, "resource"), "priest_profile");
    assert_string_equal(it_str(outcome, "bio"), "Vedic scholar");
    assert_true(expect_same("priest.update_account", outcome, json_object_get(me, "priest_profile"), NULL) >= 5);
    json_decref(me);
    json_decref(status);

    snprintf(path, sizeof(path), "/api/admin/priests/%lld/verify/", (long long)p.priest_id);
    json_t *verified = write_ok("POST", path, &admin, "{\"verified\":true,\"notes\":\"documents seen\"}", 200);
    assert_int_equal(id_of(verified), p.priest_id);
    /* The newest verified priest is the last of the admin's list (by created_at). */
    json_t *first = get_ok("/api/admin/priests/?verified=true&page_size=1", &admin);
    snprintf(path, sizeof(path), "/api/admin/priests/?verified=true&page_size=1&page=%lld", it_num(first, "count"));
    json_t *page = get_ok(path, &admin);
    json_t *item = json_array_get(json_object_get(page, "results"), 0);
    assert_int_equal(it_num(item, "id"), p.priest_id);
    static const char *const kyc[] = {"kyc", NULL};
    assert_true(expect_same("priest.verify", verified, item, kyc) >= 5);
    json_decref(page);
    json_decref(first);
    json_decref(verified);
}

/* service.create, service.update, booking.create, booking.confirm. */
static void test_service_and_booking(void **state)
{
    (void)state;
    char body[1024], path[128];
    snprintf(body, sizeof(body),
             "{\"name\":\"Render havan %s\",\"description\":\"with samagri\",\"service_type\":\"havan\","
             "\"duration_minutes\":90,\"base_price\":\"2100.50\"}", tag);
    json_t *service = write_ok("POST", "/api/admin/services/", &admin, body, 201);
    long long sid = id_of(service);
    snprintf(path, sizeof(path), "/api/services/%lld/", sid);
    expect_get_same("service.create", service, path, NULL, NULL);
    json_decref(service);
    char patch_path[128];
    snprintf(patch_path, sizeof(patch_path), "/api/admin/services/%lld/", sid);
    service = write_ok("PATCH", patch_path, &admin, "{\"description\":\"with samagri and prasad\"}", 200);
    expect_get_same("service.update", service, path, NULL, NULL);
    json_decref(service);

    json_t *user;
    it_actor p = sign_up("rpandit", "priest", "\"specializations\":[\"havan\"],\"languages\":[\"Hindi\"]", &user);
    json_decref(user);
    snprintf(path, sizeof(path), "/api/admin/priests/%lld/verify/", (long long)p.priest_id);
    json_decref(write_ok("POST", path, &admin, "{\"verified\":true}", 200));
    it_actor c = sign_up("rbhakt", "customer", NULL, &user);
    json_decref(user);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    booking_date d;
    int minute;
    char date[11];
    booking_us_to_local((int64_t)tv.tv_sec * 1000000 + 3 * DAY_US, BOOKING_TZ_OFFSET_DEFAULT, &d, &minute);
    booking_format_date(d, date);
    snprintf(body, sizeof(body),
             "{\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"10:00\","
             "\"location_address\":\"12 Temple Road, Pune\",\"location_latitude\":18.52043,"
             "\"location_longitude\":73.856744,\"special_instructions\":\"Please bring kalash\"}",
             (long long)p.priest_id, sid, date);
    json_t *booking = write_ok("POST", "/api/bookings/", &c, body, 201);
    snprintf(path, sizeof(path), "/api/bookings/%lld/", id_of(booking));
    assert_true(json_is_object(json_object_get(booking, "priest_details")));
    expect_get_same("booking.create", booking, path, &c, NULL);
    char action[160];
    snprintf(action, sizeof(action), "%sconfirm/", path);
    json_t *confirmed = write_ok("POST", action, &p, NULL, 200);
    assert_string_equal(it_str(confirmed, "status"), "confirmed");
    expect_get_same("booking.confirm", confirmed, path, &p, NULL);
    json_decref(confirmed);
    json_decref(booking);
}

/* Finds category `id` anywhere in the tree `nodes`. */
static json_t *find_category(json_t *nodes, long long id)
{
    size_t i;
    json_t *node;
    json_array_foreach(nodes, i, node) {
        if (it_num(node, "id") == id)
            return node;
        json_t *found = find_category(json_object_get(node, "children"), id);
        if (found)
            return found;
    }
    return NULL;
}

static long long product(const char *base, const char *price, int stock, long long category, const char *extra)
{
    char body[1024], path[64];
    snprintf(body, sizeof(body),
             "{\"slug\":\"%s-%s\",\"name\":\"%s %s\",\"description\":\"pure\",\"price\":\"%s\",\"stock\":%d,"
             "\"category\":%lld%s%s}",
             base, tag, base, tag, price, stock, category, extra ? "," : "", extra ? extra : "");
    json_t *created = write_ok("POST", "/api/admin/products/", &admin, body, 201);
    long long id = id_of(created);
    snprintf(path, sizeof(path), "/api/products/%lld/", id);
    expect_get_same("product.create", created, path, NULL, NULL);
    json_decref(created);
    return id;
}

/* category.create, product.create, product.set_kit, product.update, order.checkout, order.cancel. */
static void test_catalog_and_order(void **state)
{
    (void)state;
    char body[512], path[128];
    snprintf(body, sizeof(body), "{\"name\":\"Render %s\",\"slug\":\"render-%s\",\"description\":\"all\"}", tag, tag);
    json_t *category = write_ok("POST", "/api/admin/categories/", &admin, body, 201);
    long long cat = id_of(category);
    json_t *tree = get_ok("/api/admin/categories/", &admin);
    static const char *const children[] = {"children", NULL};
    assert_true(expect_same("category.create", category, find_category(tree, cat), children) >= 5);
    json_decref(tree);
    json_decref(category);

    long long ghee = product("ghee", "250.00", 40, cat, NULL);
    long long diya = product("diya", "20.00", 90, cat, "\"discount_price\":\"15.50\"");
    long long kit = product("kit", "400.00", 0, cat, "\"product_type\":\"kit\"");
    snprintf(body, sizeof(body),
             "{\"components\":[{\"product_id\":%lld,\"quantity\":2},{\"product_id\":%lld,\"quantity\":10}]}", ghee,
             diya);
    snprintf(path, sizeof(path), "/api/admin/products/%lld/kit/", kit);
    json_t *set = write_ok("POST", path, &admin, body, 200);
    assert_int_equal(json_array_size(json_object_get(set, "components")), 2);
    assert_int_equal(it_num(set, "stock"), 9);   /* min(40 / 2, 90 / 10) */
    snprintf(path, sizeof(path), "/api/products/%lld/", kit);
    expect_get_same("product.set_kit", set, path, NULL, NULL);
    json_decref(set);
    snprintf(path, sizeof(path), "/api/admin/products/%lld/", diya);
    json_t *updated = write_ok("PATCH", path, &admin, "{\"is_featured\":true,\"image\":\"/img/diya.png\"}", 200);
    snprintf(path, sizeof(path), "/api/products/%lld/", diya);
    expect_get_same("product.update", updated, path, NULL, NULL);
    json_decref(updated);

    json_t *user;
    it_actor c = sign_up("rshopper", "customer", NULL, &user);
    json_decref(user);
    snprintf(body, sizeof(body), "{\"product_id\":%lld,\"quantity\":1}", kit);
    it_response r = it_call("POST", "/api/cart/add_item/", &c, body);
    it_expect_status(&r, 200);
    it_response_free(&r);
    snprintf(body, sizeof(body), "{\"product_id\":%lld,\"quantity\":3}", diya);
    r = it_call("POST", "/api/cart/add_item/", &c, body);
    it_expect_status(&r, 200);
    it_response_free(&r);
    json_t *order = write_ok("POST", "/api/orders/checkout/", &c, ADDRESS, 201);
    assert_int_equal(json_array_size(json_object_get(order, "items")), 2);
    snprintf(path, sizeof(path), "/api/orders/%lld/", id_of(order));
    expect_get_same("order.checkout", order, path, &c, NULL);
    char action[160];
    snprintf(action, sizeof(action), "%scancel/", path);
    json_t *cancelled = write_ok("POST", action, &c, "{\"reason\":\"changed my mind\"}", 200);
    assert_string_equal(it_str(cancelled, "status"), "cancelled");
    expect_get_same("order.cancel", cancelled, path, &c, NULL);
    json_decref(cancelled);
    json_decref(order);
}

static int setup(void **state)
{
    (void)state;
    snprintf(admin.name, sizeof(admin.name), "radmin%s", tag);
    assert_int_equal(it_sign_in_admin(&admin, PASSWORD), 200);
    return 0;
}

int main(void)
{
    if (it_start(tag, sizeof(tag)) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_me),
        cmocka_unit_test(test_priest),
        cmocka_unit_test(test_service_and_booking),
        cmocka_unit_test(test_catalog_and_order),
    };
    return cmocka_run_group_tests_name("render", tests, setup, NULL);
}
