/* it_per_user_reads.c — the caller's own reads (issue 16): GET /api/auth/me/,
 * /api/cart/, /api/bookings/ (and one booking), /api/orders/ (and one
 * order) answer a strong ETag from their body and 304 to a matching
 * If-None-Match, and a change made by SOMEONE ELSE — a customer booking
 * this priest, the priest confirming, an admin moving an order or changing
 * a price — gives the next request a 200 with a new ETag.
 * A caller's bookings and orders come from the API's per-loop cache when
 * they can (api/reads.h, API_READ_OWN): a second API process (X, beside the
 * stack's A) shows that a repeated read costs PostgreSQL nothing, that one
 * user's cached page is never another's, that a change made through A by
 * someone else shows through X within a second (the workers' broadcast),
 * and that a writer reads their own write at once through X.
 * And a session in use is no longer rewritten in Redis on every request
 * (api/session.c, touch_due). Helpers: tests/support/bookings_http.h. */
#include "tests/support/bookings_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "tests/support/calls.h"
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/procs.h"
#include "tests/support/stack_env.h"

#include <time.h>
#include <unistd.h>

static PGconn *db;   /* set by bookings_http_main, with admin and service_id */
static it_actor admin;
static int64_t service_id;
static const char *const tag = bookings_http_tag;

#define ADDRESS                                                                                               \
    "{\"shipping_address\":\"12 Temple Road\",\"shipping_city\":\"Pune\",\"shipping_state\":\"Maharashtra\"," \
    "\"shipping_pincode\":\"411001\",\"shipping_phone\":\"+91 98765 43210\"}"

/* GET path as who, with If-None-Match: etag unless etag is NULL. */
static it_response get_as(const it_actor *who, const char *path, const char *etag)
{
    char headers[512];
    snprintf(headers, sizeof(headers), "%s%s%s%s", who->headers, etag ? "If-None-Match: " : "", etag ? etag : "",
             etag ? "\r\n" : "");
    return it_http("GET", path, headers, NULL, 0);
}

/* The ETag of a 200 answer to path (strong: a quoted hash), into out[64]. */
static void etag_of(const it_actor *who, const char *path, char out[64])
{
    char cc[64];
    it_response r = get_as(who, path, NULL);
    it_expect_status(&r, 200);
    assert_non_null(it_header(&r, "etag", out, 64));
    assert_true(out[0] == '"' && strlen(out) == 34);
    assert_non_null(it_header(&r, "cache-control", cc, sizeof(cc)));
    assert_string_equal(cc, "private, no-cache");   /* never in a shared cache */
    it_response_free(&r);
}

/* If-None-Match with the current ETag ⇒ 304, no body, the same ETag. */
static void expect_not_modified(const it_actor *who, const char *path, const char *etag)
{
    char got[64];
    it_response r = get_as(who, path, etag);
    assert_int_equal(r.status, 304);
    assert_int_equal(r.body_len, 0);
    assert_non_null(it_header(&r, "etag", got, sizeof(got)));
    assert_string_equal(got, etag);
    it_response_free(&r);
}

/* If-None-Match with an old ETag ⇒ 200 with a body and another ETag (into
 * fresh[64]); the answer's JSON is returned (json_decref it). */
static json_t *expect_modified(const it_actor *who, const char *path, const char *old, char fresh[64])
{
    it_response r = get_as(who, path, old);
    it_expect_status(&r, 200);
    assert_non_null(it_header(&r, "etag", fresh, 64));
    assert_string_not_equal(fresh, old);
    json_t *doc = json_incref(r.json);
    it_response_free(&r);
    return doc;
}

static void test_bookings_etag_follows_other_users(void **state)
{
    (void)state;
    it_actor c = customer(), p = priest();
    char date[11], e1[64], e2[64], path[64];
    local_date(5, date);
    etag_of(&p, "/api/bookings/", e1);
    expect_not_modified(&p, "/api/bookings/", e1);
    /* a customer books this priest: the priest's list changes */
    int64_t id = book(&c, &p, date, "09:00");
    json_t *doc = expect_modified(&p, "/api/bookings/", e1, e2);
    assert_int_equal(it_num(doc, "count"), 1);
    json_decref(doc);
    expect_not_modified(&p, "/api/bookings/", e2);
    /* the priest confirms: the customer's list and booking change */
    char c1[64], c2[64], b1[64], b2[64];
    snprintf(path, sizeof(path), "/api/bookings/%lld/", (long long)id);
    etag_of(&c, "/api/bookings/", c1);
    etag_of(&c, path, b1);
    expect_not_modified(&c, path, b1);
    act_ok(&p, id, "confirm", NULL);
    doc = expect_modified(&c, "/api/bookings/", c1, c2);
    assert_string_equal(it_str(json_array_get(json_object_get(doc, "results"), 0), "status"), "confirmed");
    json_decref(doc);
    doc = expect_modified(&c, path, b1, b2);
    assert_string_equal(it_str(doc, "status"), "confirmed");
    json_decref(doc);
    /* someone else's ETag is no key to the priest's list: still 404 */
    it_actor other = customer();
    it_response r = get_as(&other, path, b2);
    assert_int_equal(r.status, 404);
    it_response_free(&r);
}

static int64_t create_product(const char *price)
{
    static int made;
    int n = ++made;
    char body[512];
    snprintf(body, sizeof(body),
             "{\"slug\":\"pur-%s-%d\",\"name\":\"Per-user read %s %d\",\"price\":\"%s\",\"stock\":20,\"category\":null}",
             tag, n, tag, n, price);
    it_response r = it_call("POST", "/api/admin/products/", &admin, body);
    it_expect_status(&r, 201);
    int64_t id = it_num(r.json, "id");
    it_response_free(&r);
    return id;
}

static void add_item(const it_actor *c, int64_t product)
{
    char body[64];
    snprintf(body, sizeof(body), "{\"product_id\":%lld,\"quantity\":1}", (long long)product);
    it_response r = it_call("POST", "/api/cart/add_item/", c, body);
    it_expect_status(&r, 200);
    assert_null(it_header(&r, "etag", (char[64]){0}, 64));   /* a write's answer is not a validator */
    it_response_free(&r);
}

static void test_orders_etag_follows_the_admin(void **state)
{
    (void)state;
    it_actor c = customer();
    int64_t product = create_product("120.00");
    char o1[64], o2[64], d1[64], d2[64], path[64];
    etag_of(&c, "/api/orders/", o1);
    expect_not_modified(&c, "/api/orders/", o1);
    add_item(&c, product);
    it_response r = it_call("POST", "/api/orders/checkout/", &c, ADDRESS);
    it_expect_status(&r, 201);
    int64_t order = it_num(r.json, "id");
    it_response_free(&r);
    json_t *doc = expect_modified(&c, "/api/orders/", o1, o2);
    assert_int_equal(it_num(doc, "count"), 1);
    json_decref(doc);
    snprintf(path, sizeof(path), "/api/orders/%lld/", (long long)order);
    etag_of(&c, path, d1);
    expect_not_modified(&c, path, d1);
    /* the admin moves the order on: the customer's list and order change */
    r = it_callf("POST", &admin, "{\"status\":\"confirmed\"}", "/api/admin/orders/%lld/status/", (long long)order);
    it_expect_status(&r, 200);
    it_response_free(&r);
    char o3[64];
    doc = expect_modified(&c, "/api/orders/", o2, o3);
    assert_string_equal(it_str(json_array_get(json_object_get(doc, "results"), 0), "status"), "confirmed");
    json_decref(doc);
    doc = expect_modified(&c, path, d1, d2);
    assert_string_equal(it_str(doc, "status"), "confirmed");
    json_decref(doc);
    expect_not_modified(&c, path, d2);
}

static void test_me_and_cart_etag(void **state)
{
    (void)state;
    it_actor c = customer();
    char m1[64], m2[64], k1[64], k2[64], k3[64];
    etag_of(&c, "/api/auth/me/", m1);
    expect_not_modified(&c, "/api/auth/me/", m1);
    it_response r = it_call("PATCH", "/api/auth/me/", &c, "{\"first_name\":\"Renamed\"}");
    it_expect_status(&r, 200);
    it_response_free(&r);
    json_t *doc = expect_modified(&c, "/api/auth/me/", m1, m2);
    assert_string_equal(it_str(doc, "first_name"), "Renamed");
    json_decref(doc);
    /* the cart: the caller's own write, then the admin's price change */
    int64_t product = create_product("80.00");
    etag_of(&c, "/api/cart/", k1);
    expect_not_modified(&c, "/api/cart/", k1);
    add_item(&c, product);
    json_decref(expect_modified(&c, "/api/cart/", k1, k2));
    expect_not_modified(&c, "/api/cart/", k2);
    r = it_callf("PATCH", &admin, "{\"price\":\"95.00\"}", "/api/admin/products/%lld/", (long long)product);
    it_expect_status(&r, 200);
    it_response_free(&r);
    doc = expect_modified(&c, "/api/cart/", k2, k3);
    assert_string_equal(it_str(doc, "subtotal"), "95.00");
    json_decref(doc);
}

/* ---- the per-loop cache of a caller's own reads, through a second API ---- */

#define OWN_HITS "punyaka_api_cache_hits_total{kind=\"own\"}"
#define PRIMARY_READS "punyaka_api_reads_total{target=\"primary\"}"
#define X_WINDOW_MS 300   /* X's PUNYAKA_READ_PRIMARY_AFTER_WRITE_MS */

static char x_metrics[16];

static long long x_metric(const char *series)
{
    it_response r = it_http_port(x_metrics, "GET", "/metrics", NULL);
    assert_int_equal(r.status, 200);
    long long v = -1;
    size_t n = strlen(series);
    for (const char *p = r.body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            v = strtoll(p + n + 1, NULL, 10);
    it_response_free(&r);
    return v;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* The status of the first booking in who's list, read through the current API. */
static void first_status(const it_actor *who, char out[24])
{
    it_response r = get_as(who, "/api/bookings/", NULL);
    it_expect_status(&r, 200);
    snprintf(out, 24, "%s", it_str(json_array_get(json_object_get(r.json, "results"), 0), "status"));
    it_response_free(&r);
}

static void test_own_reads_cached_but_never_stale_for_the_writer(void **state)
{
    (void)state;
    int port_a = atoi(it_env("PUNYAKA_HTTP_PORT"));
    snprintf(x_metrics, sizeof(x_metrics), "%d", it_unused_port());
    char env_metrics[64];
    snprintf(env_metrics, sizeof(env_metrics), "PUNYAKA_API_METRICS_PORT=%s", x_metrics);
    const char *env[] = {env_metrics, "PUNYAKA_READ_PRIMARY_AFTER_WRITE_MS=300", "PUNYAKA_CACHE_MS=1000", NULL};
    pid_t x = it_api_spawn("own-cache-api", env);
    assert_true(x > 0);
    int port_x = atoi(it_env("PUNYAKA_HTTP_PORT"));
    it_http_rotate((int[]){port_x}, 1);

    it_actor c = customer(), p = priest(), other = customer();
    char date[11], status[24], body[2][64 * 1024];
    local_date(6, date);
    int64_t id = book(&c, &p, date, "10:00");   /* through X: c's reads skip X's cache for 300 ms */
    usleep((X_WINDOW_MS + 200) * 1000);

    /* Read twice: PostgreSQL answers the first only. */
    long long hits0 = x_metric(OWN_HITS), reads0 = x_metric(PRIMARY_READS);
    assert_true(hits0 >= 0);
    for (int i = 0; i < 2; i++) {
        it_response r = get_as(&c, "/api/bookings/", NULL);
        it_expect_status(&r, 200);
        assert_int_equal(it_num(r.json, "count"), 1);
        snprintf(body[i], sizeof(body[i]), "%.*s", (int)r.body_len, r.body);
        it_response_free(&r);
    }
    assert_string_equal(body[0], body[1]);
    assert_int_equal(x_metric(OWN_HITS), hits0 + 1);
    assert_int_equal(x_metric(PRIMARY_READS), reads0 + 1);
    /* The same path for someone else is their page, not c's. */
    it_response r = get_as(&other, "/api/bookings/", NULL);
    it_expect_status(&r, 200);
    assert_int_equal(it_num(r.json, "count"), 0);
    it_response_free(&r);
    /* `me` too: the user part from the cache, the session's CSRF token spliced in. */
    char csrf[2][96];
    hits0 = x_metric(OWN_HITS);
    for (int i = 0; i < 2; i++) {
        it_actor *who = i ? &other : &c;
        for (int j = 0; j < 2; j++) {
            r = get_as(who, "/api/auth/me/", NULL);
            it_expect_status(&r, 200);
            assert_string_equal(it_str(r.json, "username"), who->name);
            assert_non_null(strstr(who->headers, it_str(r.json, "csrf_token")));   /* this session's token */
            snprintf(csrf[i], sizeof(csrf[i]), "%s", it_str(r.json, "csrf_token"));
            it_response_free(&r);
        }
    }
    assert_string_not_equal(csrf[0], csrf[1]);
    assert_int_equal(x_metric(OWN_HITS), hits0 + 2);
    /* The cart: its lines are read from Redis on every request and are part
     * of the key, so a line added through A (a Redis write, no command, no
     * broadcast) shows through X at once; the products' part is cached. */
    int64_t diya = create_product("40.00"), bell = create_product("60.00");
    add_item(&other, diya);
    hits0 = x_metric(OWN_HITS);
    for (int i = 0; i < 2; i++) {
        r = get_as(&other, "/api/cart/", NULL);
        it_expect_status(&r, 200);
        assert_string_equal(it_str(r.json, "subtotal"), "40.00");
        it_response_free(&r);
    }
    assert_int_equal(x_metric(OWN_HITS), hits0 + 1);
    it_http_rotate((int[]){port_a}, 1);
    add_item(&other, bell);
    it_http_rotate((int[]){port_x}, 1);
    r = get_as(&other, "/api/cart/", NULL);
    it_expect_status(&r, 200);
    assert_string_equal(it_str(r.json, "subtotal"), "100.00");
    it_response_free(&r);

    /* The priest confirms through A: X drops c's page on the workers'
     * broadcast (or, were it lost, after PUNYAKA_CACHE_MS). */
    it_http_rotate(NULL, 0);
    double since = now_ms();
    act_ok(&p, id, "confirm", NULL);
    it_http_rotate((int[]){port_x}, 1);
    do {
        first_status(&c, status);
    } while (strcmp(status, "confirmed") != 0 && now_ms() - since < 2000 && usleep(5000) == 0);
    print_message("another user's change through A showed through X after %.1f ms\n", now_ms() - since);
    assert_string_equal(status, "confirmed");
    assert_true(now_ms() - since <= 1100);

    /* c cancels through A, then reads through X at once: their own write. */
    usleep((X_WINDOW_MS + 200) * 1000);
    first_status(&c, status);   /* X has c's page again */
    it_http_rotate((int[]){port_a}, 1);
    act_ok(&c, id, "cancel", "{\"reason\":\"family emergency\"}");
    it_http_rotate((int[]){port_x}, 1);
    first_status(&c, status);
    assert_string_equal(status, "cancelled");
    it_http_rotate(NULL, 0);
    assert_int_equal(it_api_stop(x), 0);
}

/* Redis's count of EVAL calls so far (INFO commandstats). */
static long long redis_evals(void)
{
    char cmd[1024], line[512];
    long long calls = 0;
    snprintf(cmd, sizeof(cmd), "redis-cli --no-auth-warning -u '%s' INFO commandstats", it_env("REDIS_URL"));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p))
        if (strncmp(line, "cmdstat_eval:calls=", 19) == 0)
            calls = atoll(line + 19);
    pclose(p);
    return calls;
}

/* A session in use is refreshed at most every tenth of its idle life (at
 * most every minute), not on every request: 20 reads of a fresh session
 * cost no session write. */
static void test_session_not_rewritten_on_every_read(void **state)
{
    (void)state;
    it_actor c = customer();
    long long before = redis_evals();
    for (int i = 0; i < 20; i++) {
        it_response r = get_as(&c, "/api/auth/me/", NULL);
        it_expect_status(&r, 200);
        it_response_free(&r);
    }
    assert_true(redis_evals() - before < 5);   /* was 20: one refresh script per request */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bookings_etag_follows_other_users),
        cmocka_unit_test(test_orders_etag_follows_the_admin),
        cmocka_unit_test(test_me_and_cart_etag),
        cmocka_unit_test(test_session_not_rewritten_on_every_read),
        cmocka_unit_test(test_own_reads_cached_but_never_stale_for_the_writer),
    };
    return bookings_http_main("per_user_reads", tests, sizeof(tests) / sizeof(tests[0]), &db, &admin, &service_id);
}
