/* it_role_matrix.c — every endpoint of the route table against every kind of
 * caller: anonymous, customer A (owner of the booking and order), customer B,
 * priest A (the booking's priest), priest B, admin. Expected: 401 without a
 * session, 403 for a role the route does not allow, 404 for someone else's
 * booking or order (its existence is not revealed), and otherwise "passes
 * authorization" (any other status: 200, 201, 409, 422 … depending on state). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

#define PASSWORD "Rudraksha-108"
enum { ANON, CUST_A, CUST_B, PRIEST_A, PRIEST_B, ADMIN, NCALLERS };
enum { P = 1 };   /* passes authorization */
static const char *const CALLER_NAMES[] = {"anonymous", "customer A", "customer B", "priest A", "priest B", "admin"};

static char headers[NCALLERS][256];   /* Cookie + X-CSRF-Token per caller ("" for anonymous) */
static long long priest_a, priest_b, service, booking, product, category, order;
static char tag[16];

static void login(int who, const char *username)
{
    char body[256], token[64];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"" PASSWORD "\"}", username);
    it_response r = it_post_json("/api/auth/login/", body, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(it_cookie(&r, "punyaka_session", token, sizeof(token), NULL, 0));
    snprintf(headers[who], sizeof(headers[who]), "Cookie: punyaka_session=%s\r\nX-CSRF-Token: %s\r\n", token,
             json_string_value(json_object_get(r.json, "csrf_token")));
    it_response_free(&r);
}

static json_t *call(int who, const char *method, const char *path, const char *body, int want)
{
    char h[512];
    snprintf(h, sizeof(h), "%.255sContent-Type: application/json\r\nPrefer: wait=10\r\n", headers[who]);
    it_response r = it_http(method, path, h, body, body ? strlen(body) : 0);
    if (r.status != want)
        fail_msg("%s %s as %s: %d, want %d: %s", method, path, CALLER_NAMES[who], r.status, want, r.body);
    json_t *j = json_incref(r.json);
    it_response_free(&r);
    return j;
}

static long long register_user(const char *username, const char *role)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"username\":\"%s\",\"email\":\"%s@example.com\",\"password\":\"" PASSWORD "\",\"role\":\"%s\","
             "\"specializations\":[\"Griha Pravesh\"],\"languages\":[\"Hindi\"],\"experience_years\":5}",
             username, username, role);
    it_response r = it_post_json("/api/auth/register/", body, "Prefer: wait=10\r\n");
    assert_int_equal(r.status, 201);
    json_t *profile = json_object_get(json_object_get(r.json, "user"), "priest_profile");
    long long id = profile ? json_integer_value(json_object_get(profile, "id")) : 0;
    it_response_free(&r);
    return id;
}

static long long id_of(json_t *j)
{
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    assert_true(id > 0);
    return id;
}

/* A date two days ahead in the platform's zone (UTC+05:30), for a 10:00 booking. */
static void booking_date(char out[11])
{
    time_t t = time(NULL) + 2 * 86400 + 330 * 60;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static int setup(void **state)
{
    (void)state;
    char name[64], cmd[4096], body[1024], date[11];
    snprintf(name, sizeof(name), "rmadmin%s", tag);
    snprintf(cmd, sizeof(cmd), "PUNYAKA_ADMIN_PASSWORD='" PASSWORD "' %s/workers/punyaka-admin create-admin %s %s@example.com >/dev/null 2>&1",
             it_env("PUNYAKA_BUILD_DIR"), name, name);
    assert_int_equal(system(cmd), 0);
    login(ADMIN, name);
    const char *kinds[] = {NULL, "rmcusta", "rmcustb", "rmpriesta", "rmpriestb"};
    for (int who = CUST_A; who <= PRIEST_B; who++) {
        snprintf(name, sizeof(name), "%s%s", kinds[who], tag);
        long long profile = register_user(name, who >= PRIEST_A ? "priest" : "customer");
        if (who == PRIEST_A)
            priest_a = profile;
        if (who == PRIEST_B)
            priest_b = profile;
        login(who, name);
    }
    char path[128];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "/api/admin/priests/%lld/verify/", i ? priest_b : priest_a);
        json_decref(call(ADMIN, "POST", path, "{\"verified\":true}", 200));
    }
    snprintf(body, sizeof(body), "{\"name\":\"Matrix Puja %s\",\"service_type\":\"matrix\",\"duration_minutes\":60,"
                                 "\"base_price\":\"1000.00\"}", tag);
    service = id_of(call(ADMIN, "POST", "/api/admin/services/", body, 201));
    booking_date(date);
    snprintf(body, sizeof(body), "{\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"10:00\","
                                 "\"location_address\":\"1 Temple Road\"}", priest_a, service, date);
    booking = id_of(call(CUST_A, "POST", "/api/bookings/", body, 201));
    snprintf(body, sizeof(body), "{\"name\":\"Matrix %s\",\"slug\":\"matrix-%s\"}", tag, tag);
    category = id_of(call(ADMIN, "POST", "/api/admin/categories/", body, 201));
    snprintf(body, sizeof(body), "{\"name\":\"Matrix Diya %s\",\"slug\":\"matrix-diya-%s\",\"product_type\":\"samagri\","
                                 "\"category\":%lld,\"price\":\"120.00\",\"stock\":100}", tag, tag, category);
    product = id_of(call(ADMIN, "POST", "/api/admin/products/", body, 201));
    snprintf(body, sizeof(body), "{\"product_id\":%lld,\"quantity\":1}", product);
    json_decref(call(CUST_A, "POST", "/api/cart/add_item/", body, 200));
    order = id_of(call(CUST_A, "POST", "/api/orders/checkout/",
                       "{\"shipping_address\":\"1 Temple Road\",\"shipping_city\":\"Pune\",\"shipping_state\":\"MH\","
                       "\"shipping_pincode\":\"411001\",\"shipping_phone\":\"+91 98450 12345\"}", 201));
    return 0;
}

typedef struct {
    const char *method;
    const char *path;   /* %B booking, %O order, %P priest A, %S service, %R product, %C category */
    const char *body;
    int want[NCALLERS];
} row;

static const row ROWS[] = {
    /* public */
    {"GET", "/healthz", NULL, {P, P, P, P, P, P}},
    {"GET", "/api/priests/", NULL, {P, P, P, P, P, P}},
    {"GET", "/api/priests/%P/", NULL, {P, P, P, P, P, P}},
    {"GET", "/api/priests/%P/availability/?date=2030-01-01&service=%S", NULL, {P, P, P, P, P, P}},
    {"GET", "/api/services/", NULL, {P, P, P, P, P, P}},
    {"GET", "/api/services/%S/", NULL, {P, P, P, P, P, P}},
    {"GET", "/api/categories/", NULL, {P, P, P, P, P, P}},
    {"GET", "/api/products/", NULL, {P, P, P, P, P, P}},
    {"GET", "/api/products/%R/", NULL, {P, P, P, P, P, P}},
    {"GET", "/api/auth/csrf/", NULL, {P, P, P, P, P, P}},
    {"POST", "/api/auth/register/", "{}", {P, P, P, P, P, P}},
    {"POST", "/api/auth/login/", "{}", {P, P, P, P, P, P}},
    /* any signed-in user */
    {"GET", "/api/auth/me/", NULL, {401, P, P, P, P, P}},
    {"PATCH", "/api/auth/me/", "{\"last_name\":\"Matrix\"}", {401, P, P, P, P, P}},
    {"POST", "/api/auth/change_password/", "{\"old_password\":\"wrong-one-1\",\"new_password\":\"whatever-2\"}", {401, P, P, P, P, P}},
    {"GET", "/api/bookings/", NULL, {401, P, P, P, P, P}},
    {"GET", "/api/orders/", NULL, {401, P, P, P, P, P}},
    /* bookings: role, then ownership */
    {"POST", "/api/bookings/", "{}", {401, P, P, 403, 403, 403}},
    {"GET", "/api/bookings/%B/", NULL, {401, P, 404, P, 404, P}},
    {"POST", "/api/bookings/%B/confirm/", "{}", {401, 403, 403, P, 404, 403}},
    {"POST", "/api/bookings/%B/complete/", "{}", {401, 403, 403, P, 404, 403}},
    {"POST", "/api/bookings/%B/customer_confirm/", "{}", {401, P, 404, 403, 403, 403}},
    {"POST", "/api/bookings/%B/rate/", "{\"rating\":5}", {401, P, 404, 403, 403, 403}},
    {"POST", "/api/bookings/%B/cancel/", "{\"reason\":\"matrix\"}", {401, P, 404, P, 404, P}},
    /* shop */
    {"GET", "/api/cart/", NULL, {401, P, P, P, P, 403}},
    {"POST", "/api/cart/add_item/", "{\"product_id\":%R,\"quantity\":1}", {401, P, P, P, P, 403}},
    {"POST", "/api/cart/update_item/", "{\"item_id\":%R,\"quantity\":2}", {401, P, P, P, P, 403}},
    {"PATCH", "/api/cart/items/%R/", "{\"quantity\":2}", {401, P, P, P, P, 403}},   /* the seed frontend's (issue 15) */
    {"POST", "/api/cart/remove_item/", "{\"item_id\":%R}", {401, P, P, P, P, 403}},
    {"POST", "/api/cart/add_item/", "{\"product_id\":%R,\"quantity\":1}", {401, P, P, P, P, 403}},
    {"DELETE", "/api/cart/items/%R/", NULL, {401, P, P, P, P, 403}},                  /* the seed frontend's */
    {"POST", "/api/cart/clear/", "{}", {401, P, P, P, P, 403}},
    {"POST", "/api/orders/checkout/", "{}", {401, P, P, P, P, 403}},
    {"POST", "/api/orders/", "{}", {401, P, P, P, P, 403}},
    {"GET", "/api/orders/%O/", NULL, {401, P, 404, 404, 404, P}},
    {"POST", "/api/orders/%O/cancel/", "{}", {401, P, 404, 404, 404, 403}},
    /* admin */
    {"GET", "/api/admin/priests/", NULL, {401, 403, 403, 403, 403, P}},
    {"POST", "/api/admin/priests/%P/verify/", "{\"verified\":true}", {401, 403, 403, 403, 403, P}},
    {"POST", "/api/admin/priests/%P/kyc/", NULL, {401, 403, 403, 403, 403, P}},
    {"GET", "/api/admin/services/", NULL, {401, 403, 403, 403, 403, P}},
    {"GET", "/api/admin/categories/", NULL, {401, 403, 403, 403, 403, P}},
    {"GET", "/api/admin/products/", NULL, {401, 403, 403, 403, 403, P}},
    {"POST", "/api/admin/services/", "{}", {401, 403, 403, 403, 403, P}},
    {"PATCH", "/api/admin/services/%S/", "{\"description\":\"matrix\"}", {401, 403, 403, 403, 403, P}},
    {"POST", "/api/admin/orders/%O/status/", "{\"status\":\"confirmed\"}", {401, 403, 403, 403, 403, P}},
    {"POST", "/api/admin/categories/", "{}", {401, 403, 403, 403, 403, P}},
    {"PATCH", "/api/admin/categories/%C/", "{\"description\":\"matrix\"}", {401, 403, 403, 403, 403, P}},
    {"POST", "/api/admin/products/", "{}", {401, 403, 403, 403, 403, P}},
    {"PATCH", "/api/admin/products/%R/", "{\"description\":\"matrix\"}", {401, 403, 403, 403, 403, P}},
    {"POST", "/api/admin/products/%R/stock/", "{\"delta\":1,\"reason\":\"matrix\"}", {401, 403, 403, 403, 403, P}},
    {"POST", "/api/admin/products/%R/kit/", "{\"components\":[]}", {401, 403, 403, 403, 403, P}},
    /* last: ends each caller's session */
    {"POST", "/api/auth/logout/", NULL, {401, P, P, P, P, P}},
};

/* Expands %B %O %P %S %R %C into ids. */
static void expand(const char *tmpl, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = tmpl; *p && n + 24 < cap; p++) {
        if (*p != '%') {
            out[n++] = *p;
            continue;
        }
        long long v = 0;
        switch (*++p) {
        case 'B': v = booking; break;
        case 'O': v = order; break;
        case 'P': v = priest_a; break;
        case 'S': v = service; break;
        case 'R': v = product; break;
        case 'C': v = category; break;
        default: break;
        }
        n += (size_t)snprintf(out + n, cap - n, "%lld", v);
    }
    out[n] = 0;
}

static void test_every_endpoint_every_caller(void **state)
{
    (void)state;
    int checked = 0;
    for (size_t i = 0; i < sizeof(ROWS) / sizeof(ROWS[0]); i++) {
        char path[256], body[256];
        expand(ROWS[i].path, path, sizeof(path));
        if (ROWS[i].body)
            expand(ROWS[i].body, body, sizeof(body));
        for (int who = 0; who < NCALLERS; who++) {
            char h[512];
            snprintf(h, sizeof(h), "%.255sContent-Type: application/json\r\nPrefer: wait=10\r\n", headers[who]);
            it_response r = it_http(ROWS[i].method, path, h, ROWS[i].body ? body : NULL, ROWS[i].body ? strlen(body) : 0);
            int want = ROWS[i].want[who];
            int ok = want == P ? (r.status != 401 && r.status != 403 && r.status != 404 && r.status > 0 && r.status < 500)
                               : r.status == want;
            if (!ok)
                fail_msg("%s %s as %s: %d, want %s%d: %s", ROWS[i].method, path, CALLER_NAMES[who], r.status,
                         want == P ? "not 401/403/404, got " : "", want == P ? r.status : want, r.body);
            it_response_free(&r);
            checked++;
        }
    }
    assert_int_equal(checked, (int)(sizeof(ROWS) / sizeof(ROWS[0])) * NCALLERS);
}

int main(void)
{
    if (it_start(tag, sizeof(tag)) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_endpoint_every_caller),
    };
    return cmocka_run_group_tests_name("role_matrix", tests, setup, NULL);
}
